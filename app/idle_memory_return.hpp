// Hands the allocator's freed pages back to the kernel once the process has gone idle. The
// binary runs jemalloc keeping the pages it frees for reuse (app/main.cpp): under load that
// spares a page fault per reused page, but after a burst (a drain, a crowd of rooms stopped
// for idleness) the pages would stay with the process for good. Every `check_every`, the
// CPU the process used since the last check says whether it is idle; when it is and
// jemalloc holds at least `min_freed_bytes` of freed pages, they go back, and so they do
// busy or not once it holds more than `max_kept_bytes`. In a process without jemalloc (the
// tests that link the app library) nothing is handed back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace fedrelay::app {

/// The jemalloc options the fedrelay binary runs with (its malloc_conf, app/main.cpp, where
/// the reasons are); the allocator's test binary runs with them too.
inline constexpr char jemalloc_options[] = "narenas:1,oversize_threshold:0,dirty_decay_ms:-1";

struct memory_return_options {
  std::chrono::milliseconds check_every{10'000};
  double idle_cpu_share = 0.02;  // of one core over check_every, at most
  size_t min_freed_bytes = 1u << 20;
  // Handed back busy or not past this: a receiver under a long load of 4 KiB messages came
  // to keep up to 354 MiB freed that it did not reuse (docs/PERFORMANCE.md).
  size_t max_kept_bytes = 128u << 20;
};

/// Whether to hand freed pages back: the process used at most `o.idle_cpu_share` of one core
/// over `interval` and the allocator holds at least `o.min_freed_bytes` freed, or it holds
/// more than `o.max_kept_bytes` freed.
bool should_return_memory(std::chrono::nanoseconds cpu_used, std::chrono::nanoseconds interval,
                          size_t freed_bytes, const memory_return_options& o);

/// The bytes of pages jemalloc holds freed and not handed back; nullopt without jemalloc.
std::optional<size_t> allocator_freed_bytes();

/// Hands jemalloc's freed pages back to the kernel; false without jemalloc.
bool return_freed_memory();

/// Checks on a thread of its own (one wake-up per check, no signal delivered to it) until
/// destroyed, adding the bytes it hands back to `returned`. Does not start without jemalloc.
class idle_memory_return {
 public:
  idle_memory_return(memory_return_options o, std::atomic<uint64_t>& returned);
  ~idle_memory_return();
  idle_memory_return(const idle_memory_return&) = delete;
  idle_memory_return& operator=(const idle_memory_return&) = delete;

 private:
  void run();

  memory_return_options options_;
  std::atomic<uint64_t>& returned_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

/// The process's one idle_memory_return, with the default options and counting into
/// actors::memory_returned_bytes(): made by the first caller, shared with the others (a
/// process running several nodes, as `fedrelay demo` does), stopped with the last handle.
/// The CPU it measures and the pages it hands back are the whole process's.
std::shared_ptr<idle_memory_return> share_idle_memory_return();

}  // namespace fedrelay::app
