// An io runtime run on lent threads: what run_soon() queues runs on one of them, after the
// handler that queued it rather than inside it, also when queued from outside; stop() ends
// run_here(). What run_at() sets runs on an io thread, in the order of its times, never
// before its time.
#include "net/io_runtime.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

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

TEST(IoRuntimeTest, RunAtRunsEachCallOnTheIoThreadNoEarlierThanItsTime) {
  using clock = std::chrono::steady_clock;
  struct call {
    clock::time_point due;
    clock::time_point ran;
    std::thread::id thread;
  };
  std::mutex mutex;
  std::vector<int> order;
  std::vector<call> calls(3);
  std::promise<void> all_ran;
  // After what the calls use: a failed assertion returns with the runtime stopped first.
  io_runtime runtime{1};
  auto start = clock::now();
  // Set out of order: the latest first.
  const std::chrono::milliseconds delays[] = {60ms, 0ms, 25ms};
  for (int i = 0; i < 3; ++i) {
    calls[i].due = start + delays[i];
    runtime.run_at(calls[i].due, [&, i] {
      std::lock_guard<std::mutex> lock(mutex);
      calls[i].ran = clock::now();
      calls[i].thread = std::this_thread::get_id();
      order.push_back(i);
      if (order.size() == 3) all_ran.set_value();
    });
  }
  ASSERT_EQ(all_ran.get_future().wait_for(10s), std::future_status::ready);
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 0}));
  for (const auto& c : calls) {
    EXPECT_GE(c.ran, c.due);
    EXPECT_NE(c.thread, std::this_thread::get_id());
    EXPECT_EQ(c.thread, calls[0].thread);
  }
  runtime.stop();
}

TEST(IoRuntimeTest, RunAtDropsWhatIsStillWaitingWhenTheRuntimeStops) {
  auto ran = std::make_shared<std::atomic<bool>>(false);
  {
    io_runtime runtime{1};
    runtime.run_at(std::chrono::steady_clock::now() + 1h, [ran] { *ran = true; });
    runtime.stop();
  }
  EXPECT_FALSE(*ran);
  // The call is destroyed with what it held, not kept: only this reference is left.
  EXPECT_EQ(ran.use_count(), 1);
}

}  // namespace
}  // namespace fedrelay::net
