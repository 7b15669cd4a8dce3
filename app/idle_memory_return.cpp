#include "app/idle_memory_return.hpp"

#include <dlfcn.h>
#include <time.h>

#include <string>

#include "net/logger.hpp"

namespace fedrelay::app {
namespace {

using namespace std::chrono;

/// jemalloc's mallctl, looked up in the process: only the fedrelay binary links jemalloc,
/// and the app library is linked into tests without it.
using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);

mallctl_fn mallctl() {
  static const auto fn = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

// Every arena at once (MALLCTL_ARENAS_ALL); the binary has one.
constexpr const char* freed_pages_stat = "stats.arenas.4096.pdirty";
constexpr const char* purge_all = "arena.4096.purge";

nanoseconds process_cpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return seconds(t.tv_sec) + nanoseconds(t.tv_nsec);
}

}  // namespace

bool should_return_memory(nanoseconds cpu_used, nanoseconds interval, size_t freed_bytes,
                          const memory_return_options& o) {
  if (interval <= nanoseconds::zero() || freed_bytes < o.min_freed_bytes) return false;
  return static_cast<double>(cpu_used.count()) <=
         o.idle_cpu_share * static_cast<double>(interval.count());
}

std::optional<size_t> allocator_freed_bytes() {
  auto ctl = mallctl();
  if (!ctl) return std::nullopt;
  // The statistics are a snapshot taken when the epoch advances.
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  if (ctl("epoch", &epoch, &size, &epoch, sizeof(epoch)) != 0) return std::nullopt;
  size_t pages = 0;
  size = sizeof(pages);
  if (ctl(freed_pages_stat, &pages, &size, nullptr, 0) != 0) return std::nullopt;
  size_t page = 0;
  size = sizeof(page);
  if (ctl("arenas.page", &page, &size, nullptr, 0) != 0) return std::nullopt;
  return pages * page;
}

bool return_freed_memory() {
  auto ctl = mallctl();
  return ctl && ctl(purge_all, nullptr, nullptr, nullptr, 0) == 0;
}

struct idle_memory_state {
  net::io_runtime* io = nullptr;
  memory_return_options options;
  std::shared_ptr<std::atomic<uint64_t>> returned;
  std::atomic<bool> stopped{false};
  steady_clock::time_point last_check;
  nanoseconds last_cpu{};
};

namespace {

void schedule(const std::shared_ptr<idle_memory_state>& s);

void check(const std::shared_ptr<idle_memory_state>& s) {
  if (s->stopped.load()) return;
  auto now = steady_clock::now();
  auto cpu = process_cpu();
  auto freed = allocator_freed_bytes();
  if (freed && should_return_memory(cpu - s->last_cpu, now - s->last_check, *freed, s->options) &&
      return_freed_memory()) {
    if (s->returned) s->returned->fetch_add(*freed, std::memory_order_relaxed);
    net::log()->debug("memory: idle, handed {} bytes of freed pages back", *freed);
    // What handing them back cost is not counted against the next interval.
    cpu = process_cpu();
  }
  s->last_check = now;
  s->last_cpu = cpu;
  schedule(s);
}

void schedule(const std::shared_ptr<idle_memory_state>& s) {
  s->io->run_at(steady_clock::now() + s->options.check_every, [s] { check(s); });
}

}  // namespace

idle_memory_return::idle_memory_return(net::io_runtime& io, memory_return_options o,
                                       std::shared_ptr<std::atomic<uint64_t>> returned_bytes)
    : state_(std::make_shared<idle_memory_state>()) {
  state_->io = &io;
  state_->options = o;
  state_->returned = std::move(returned_bytes);
  state_->last_check = steady_clock::now();
  state_->last_cpu = process_cpu();
  // Without jemalloc there is nothing to hand back, and nothing to wake up for.
  if (mallctl()) schedule(state_);
}

idle_memory_return::~idle_memory_return() {
  state_->stopped.store(true);
}

}  // namespace fedrelay::app
