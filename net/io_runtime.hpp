// The threads that run every socket of net/: one Asio io_context behind a plain interface,
// so callers start and stop networking without including Asio.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace fedrelay::net {

/// Owns an io_context and `threads` threads running it, from construction until stop(), or
/// none when made with `lent_threads` (then whoever made it calls run_here() on threads of
/// its own).
/// REQUIRES: it outlives every http_server and http_client built on it (destroy those
/// first); app/ decides the thread count.
class io_runtime {
 public:
  /// Made this way, the runtime starts no thread of its own, and its io_context is told to
  /// expect one (Asio's concurrency hint 1): a handler posted from a handler is kept on that
  /// thread until the handler returns, and no other thread is woken for it. Asio stays
  /// thread-safe when more threads run it; an idle one is woken for what is posted from
  /// outside (and takes it while the first waits on the sockets).
  struct lent_threads {};

  explicit io_runtime(size_t threads = 1);
  explicit io_runtime(lent_threads lent);
  /// Calls stop(). REQUIRES: not called from one of its own io threads.
  ~io_runtime();
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  /// Stops the io_context and joins its threads (except the calling one, when called from
  /// an io thread). Handlers still queued are not run. Idempotent.
  void stop();

  /// Stops, and destroys every handler still queued now, with what they hold (handles of
  /// actors, among others), rather than when the runtime is destroyed. REQUIRES: every
  /// server and client built on it is gone and nothing runs it; afterwards only stop() and
  /// the destructor may be called.
  void close();

  /// The threads still running the io_context (0 after stop()). Lent threads are not counted.
  size_t thread_count() const;

  /// Runs the io_context on the calling thread until stop(), for a runtime made with
  /// `lent_threads`; a handler that throws is logged, as on the runtime's own threads.
  void run_here();

  /// Runs `fn(arg)` on a thread running the io_context, never inside the call. Called from
  /// such a thread of a `lent_threads` runtime, it is queued behind the running handler
  /// and wakes no other thread; from any other thread it wakes an idle one.
  void run_soon(void (*fn)(void*), void* arg);

  /// Runs `fn` on a thread running the io_context once `when` has come (soon when it
  /// already has), never inside the call. A timer of the io_context, so the thread that
  /// waits on the sockets waits for it too, and no other is woken for it. Not run when the
  /// runtime stops first.
  void run_at(std::chrono::steady_clock::time_point when, std::function<void()> fn);

  /// The Asio side, defined in net/http_internal.hpp; only net's .cpp files use it.
  struct impl;
  impl& internals() { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace fedrelay::net
