// What only net's .cpp files see of the io runtime: the Asio io_context behind io_runtime.
// Including this header pulls in Asio; never include it from a public header.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "net/io_runtime.hpp"

namespace fedrelay::net {

struct io_runtime::impl {
  explicit impl(int concurrency_hint)
      : owned(std::make_unique<boost::asio::io_context>(concurrency_hint)), context(*owned) {}

  // Destroyed by close(), with every handler still queued; `context` refers to it until then.
  std::unique_ptr<boost::asio::io_context> owned;
  boost::asio::io_context& context;
  // Keeps run() from returning while no socket is open; reset by stop().
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::mutex mutex;  // guards threads
  std::vector<std::thread> threads;
};

/// The io_context of `runtime`.
inline boost::asio::io_context& io_context_of(io_runtime& runtime) {
  return runtime.internals().context;
}

}  // namespace fedrelay::net
