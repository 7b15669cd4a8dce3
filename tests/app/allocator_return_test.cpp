// jemalloc's side of app/idle_memory_return.hpp, in a test binary that allocates with
// jemalloc and the fedrelay binary's settings (app/main.cpp): freed pages are kept, counted,
// and handed back on request, and by the idle check once the process idles.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "app/idle_memory_return.hpp"

extern "C" {
const char* malloc_conf = fedrelay::app::jemalloc_options;
}

namespace fedrelay::app {
namespace {

using namespace std::chrono_literals;

/// The process's resident memory in bytes, from /proc/self/statm.
size_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int read = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return read == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

constexpr size_t block = 1u << 20;

/// Allocates, fills and frees `blocks` blocks of 1 MiB.
void allocate_and_free(size_t blocks) {
  std::vector<std::unique_ptr<char[]>> held;
  for (size_t i = 0; i < blocks; ++i) {
    held.emplace_back(new char[block]);
    std::memset(held.back().get(), 1, block);
  }
  // Read back, so the allocations cannot be left out.
  static volatile char sink = 0;
  for (const auto& b : held) sink = sink + b[block - 1];
}

TEST(AllocatorReturnTest, FreedPagesAreKeptUntilHandedBack) {
  constexpr size_t blocks = 64;
  auto before = allocator_freed_bytes();
  ASSERT_TRUE(before.has_value());
  allocate_and_free(blocks);
  auto kept = allocator_freed_bytes();
  ASSERT_TRUE(kept.has_value());
  // Without a decay the 64 MiB stay with the process, freed.
  EXPECT_GE(*kept, *before + blocks * block * 9 / 10);
  auto resident_kept = resident_bytes();
  ASSERT_TRUE(return_freed_memory());
  auto after = allocator_freed_bytes();
  ASSERT_TRUE(after.has_value());
  EXPECT_LT(*after, 1u << 20);
  EXPECT_LE(resident_bytes() + blocks * block * 9 / 10, resident_kept);
}

TEST(AllocatorReturnTest, TheIdleCheckHandsFreedPagesBack) {
  memory_return_options o;
  o.check_every = 50ms;
  o.min_freed_bytes = 1;
  std::atomic<uint64_t> returned{0};
  {
    idle_memory_return check{o, returned};
    allocate_and_free(8);
    // This thread sleeps meanwhile: the process is idle.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (returned.load() == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(returned.load(), 8 * block * 9 / 10);
  EXPECT_LT(allocator_freed_bytes().value_or(SIZE_MAX), 1u << 20);
}

}  // namespace
}  // namespace fedrelay::app
