// jemalloc's side of app/idle_memory_return.hpp, in a test binary that allocates with
// jemalloc and the fedrelay binary's settings (app/main.cpp): freed pages are kept, counted,
// and handed back on request.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstring>
#include <memory>
#include <vector>

#include "app/idle_memory_return.hpp"

extern "C" {
const char* malloc_conf = "narenas:1,dirty_decay_ms:-1";
}

namespace fedrelay::app {
namespace {

/// The process's resident memory in bytes, from /proc/self/statm.
size_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int read = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return read == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

TEST(AllocatorReturnTest, FreedPagesAreKeptUntilHandedBack) {
  constexpr size_t block = 1u << 20, blocks = 64;
  auto before = allocator_freed_bytes();
  ASSERT_TRUE(before.has_value());
  {
    std::vector<std::unique_ptr<char[]>> held;
    for (size_t i = 0; i < blocks; ++i) {
      held.emplace_back(new char[block]);
      std::memset(held.back().get(), 1, block);
    }
    // Read back, so the allocations cannot be left out.
    static volatile char sink = 0;
    for (const auto& b : held) sink = sink + b[block - 1];
  }
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

}  // namespace
}  // namespace fedrelay::app
