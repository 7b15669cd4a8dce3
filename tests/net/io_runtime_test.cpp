// An io runtime run on lent threads: what run_soon() queues runs on one of them, after the
// handler that queued it rather than inside it, also when queued from outside; stop() ends
// run_here().
#include "net/io_runtime.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace fedrelay::net {
namespace {

using namespace std::chrono_literals;

/// Runs `runtime` on one lent thread until stop(); joins it on destruction.
struct lent_thread {
  explicit lent_thread(io_runtime& runtime) : thread([&runtime] { runtime.run_here(); }) {}
  ~lent_thread() {
    if (thread.joinable()) thread.join();
  }
  std::thread thread;
};

/// What one queued call saw.
struct probe {
  io_runtime* runtime = nullptr;
  std::atomic<bool> queuer_returned{false};
  std::promise<std::pair<std::thread::id, bool>>
      seen;  // its thread; whether the queuer had returned
};

void second(void* arg) {
  auto* p = static_cast<probe*>(arg);
  p->seen.set_value({std::this_thread::get_id(), p->queuer_returned.load()});
}

void first(void* arg) {
  auto* p = static_cast<probe*>(arg);
  p->runtime->run_soon(&second, p);
  // Had run_soon() run `second` inside the call, it would have seen false.
  std::this_thread::sleep_for(20ms);
  p->queuer_returned = true;
}

TEST(IoRuntimeTest, WhatAHandlerQueuesRunsOnTheLentThreadAfterTheHandlerReturns) {
  io_runtime runtime{io_runtime::lent_threads{}};
  EXPECT_EQ(runtime.thread_count(), 0u);
  lent_thread lent{runtime};
  probe p;
  p.runtime = &runtime;
  auto seen = p.seen.get_future();
  runtime.run_soon(&first, &p);
  ASSERT_EQ(seen.wait_for(10s), std::future_status::ready);
  auto [thread, after] = seen.get();
  EXPECT_EQ(thread, lent.thread.get_id());
  EXPECT_TRUE(after);
  runtime.stop();
}

TEST(IoRuntimeTest, StopEndsRunHereOnEveryLentThread) {
  io_runtime runtime{io_runtime::lent_threads{}};
  std::atomic<int> ended{0};
  std::thread a([&] { runtime.run_here(), ++ended; });
  std::thread b([&] { runtime.run_here(), ++ended; });
  // Both keep running with nothing to do (the runtime holds work until stop()).
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ended.load(), 0);
  runtime.stop();
  a.join();
  b.join();
  EXPECT_EQ(ended.load(), 2);
}

}  // namespace
}  // namespace fedrelay::net
