// When the node hands freed memory back (app/idle_memory_return.hpp): the idleness rule,
// and that a process without jemalloc, as this test is, hands nothing back. The binary's
// counter of what it handed back is checked in metrics_test.cpp, jemalloc's side in
// allocator_return_test.cpp.
#include <gtest/gtest.h>

#include "app/idle_memory_return.hpp"

namespace fedrelay::app {
namespace {

using namespace std::chrono_literals;

TEST(IdleMemoryReturnTest, ReturnsOnlyWhenIdleAndThereIsEnoughToReturn) {
  memory_return_options o;
  o.idle_cpu_share = 0.02;
  o.min_freed_bytes = 1u << 20;
  // 10 s with 100 ms of CPU is 1 % of a core: idle.
  EXPECT_TRUE(should_return_memory(100ms, 10s, 8u << 20, o));
  // 2 % exactly is still idle; above it is not.
  EXPECT_TRUE(should_return_memory(200ms, 10s, 8u << 20, o));
  EXPECT_FALSE(should_return_memory(201ms, 10s, 8u << 20, o));
  EXPECT_FALSE(should_return_memory(5s, 10s, 64u << 20, o));
  // Idle, but less freed than is worth a call.
  EXPECT_FALSE(should_return_memory(0ms, 10s, (1u << 20) - 1, o));
  EXPECT_TRUE(should_return_memory(0ms, 10s, 1u << 20, o));
  // No time has passed: no rate to judge by.
  EXPECT_FALSE(should_return_memory(0ms, 0s, 8u << 20, o));
}

TEST(IdleMemoryReturnTest, ReturnsBusyOrNotPastWhatItMayKeep) {
  memory_return_options o;
  o.max_kept_bytes = 128u << 20;
  EXPECT_FALSE(should_return_memory(10s, 10s, 128u << 20, o));
  EXPECT_TRUE(should_return_memory(10s, 10s, (128u << 20) + 1, o));
  EXPECT_TRUE(should_return_memory(0ms, 0s, 1u << 30, o));
}

TEST(IdleMemoryReturnTest, WithoutJemallocThereIsNothingToReturn) {
  EXPECT_FALSE(allocator_freed_bytes().has_value());
  EXPECT_FALSE(return_freed_memory());
}

}  // namespace
}  // namespace fedrelay::app
