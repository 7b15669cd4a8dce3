#include "app/idle_memory_return.hpp"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "actors/metrics.hpp"
#include "net/logger.hpp"

namespace fedrelay::app {
namespace {

using std::chrono::nanoseconds;
using std::chrono::steady_clock;

/// jemalloc's mallctl, looked up in the process: only the fedrelay binary links jemalloc,
/// and the app library is linked into tests without it.
using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);

mallctl_fn mallctl() {
  static const auto fn = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

// Every arena at once (MALLCTL_ARENAS_ALL): the binary makes one (app/main.cpp), but
// MALLOC_CONF may make more.
constexpr const char* freed_pages_stat = "stats.arenas.4096.pdirty";
constexpr const char* purge_all = "arena.4096.purge";

nanoseconds process_cpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + nanoseconds(t.tv_nsec);
}

}  // namespace

bool should_return_memory(nanoseconds cpu_used, nanoseconds interval, size_t freed_bytes,
                          const memory_return_options& o) {
  if (freed_bytes > o.max_kept_bytes) return true;
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

idle_memory_return::idle_memory_return(memory_return_options o, std::atomic<uint64_t>& returned)
    : options_(o), returned_(returned) {
  // Without jemalloc there is nothing to hand back, and nothing to wake up for.
  if (!mallctl()) return;
  // The thread takes the signal mask it is started with: none of the signals a command
  // waits for (sigwait) may be delivered to it.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

idle_memory_return::~idle_memory_return() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void idle_memory_return::run() {
  auto last_check = steady_clock::now();
  auto last_cpu = process_cpu();
  bool failure_logged = false;
  std::unique_lock<std::mutex> lock{mutex_};
  while (!wake_.wait_for(lock, options_.check_every, [this] { return stopping_; })) {
    auto now = steady_clock::now();
    auto cpu = process_cpu();
    auto freed = allocator_freed_bytes();
    if (freed && should_return_memory(cpu - last_cpu, now - last_check, *freed, options_)) {
      if (return_freed_memory()) {
        // What is left freed now was freed or reused meanwhile, not handed back.
        auto left = allocator_freed_bytes().value_or(0);
        auto handed_back = *freed > left ? *freed - left : 0;
        returned_.fetch_add(handed_back, std::memory_order_relaxed);
        net::log()->debug("memory: handed {} bytes of freed pages back", handed_back);
      } else if (!failure_logged) {
        failure_logged = true;
        net::log()->warn("memory: jemalloc refused to hand freed pages back ({})", purge_all);
      }
      // What handing them back cost is not counted against the next interval.
      cpu = process_cpu();
    }
    last_check = now;
    last_cpu = cpu;
  }
}

std::shared_ptr<idle_memory_return> share_idle_memory_return() {
  static std::mutex mutex;
  static std::weak_ptr<idle_memory_return> shared;
  std::lock_guard<std::mutex> guard{mutex};
  auto current = shared.lock();
  if (!current) {
    current = std::make_shared<idle_memory_return>(memory_return_options{},
                                                   actors::memory_returned_bytes());
    shared = current;
  }
  return current;
}

}  // namespace fedrelay::app
