// The threads that run every socket of net/: one Asio io_context behind a plain interface,
// so callers start and stop networking without including Asio.
#pragma once

#include <cstddef>
#include <memory>

namespace fedrelay::net {

/// Owns an io_context and `threads` threads running it, from construction until stop().
/// REQUIRES: it outlives every http_server and http_client built on it (destroy those
/// first); app/ decides the thread count.
class io_runtime {
 public:
  explicit io_runtime(size_t threads = 1);
  /// Calls stop(). REQUIRES: not called from one of its own io threads.
  ~io_runtime();
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  /// Stops the io_context and joins its threads (except the calling one, when called from
  /// an io thread). Handlers still queued are not run. Idempotent.
  void stop();

  /// The threads still running the io_context (0 after stop()).
  size_t thread_count() const;

  /// The Asio side, defined in net/http_internal.hpp; only net's .cpp files use it.
  struct impl;
  impl& internals() { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace fedrelay::net
