// Starts and joins the threads that run net's io_context.
#include "net/io_runtime.hpp"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

#include <boost/asio/defer.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/http_internal.hpp"

namespace fedrelay::net {

namespace {

void run_logging_exceptions(boost::asio::io_context& context) {
  // A handler that throws is a bug; log it and keep serving the other sockets rather
  // than taking the node down with one bad connection.
  for (;;) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("net: io thread caught an exception: {}", e.what());
    } catch (...) {
      spdlog::error("net: io thread caught an unknown exception");
    }
  }
}

/// The threads a runtime asked for `threads` starts (at least one), which is also what
/// its io_context is told to expect.
int thread_count_for(size_t threads) {
  return static_cast<int>(std::max<size_t>(threads, 1));
}

}  // namespace

io_runtime::io_runtime(size_t threads) : impl_(std::make_unique<impl>(thread_count_for(threads))) {
  impl_->work.emplace(impl_->context.get_executor());
  std::lock_guard<std::mutex> guard{impl_->mutex};
  for (int i = 0; i < thread_count_for(threads); ++i)
    impl_->threads.emplace_back([ctx = &impl_->context] { run_logging_exceptions(*ctx); });
}

io_runtime::io_runtime(lent_threads) : impl_(std::make_unique<impl>(1)) {
  impl_->work.emplace(impl_->context.get_executor());
}

void io_runtime::run_here() {
  run_logging_exceptions(impl_->context);
}

void io_runtime::run_soon(void (*fn)(void*), void* arg) {
  // defer: a continuation of the running handler, kept on its thread (Asio's private
  // queue) instead of waking another; from outside the io threads it is a plain post.
  boost::asio::defer(impl_->context.get_executor(), [fn, arg] { fn(arg); });
}

void io_runtime::run_at(std::chrono::steady_clock::time_point when, std::function<void()> fn) {
  auto timer = std::make_shared<boost::asio::steady_timer>(impl_->context, when);
  // The handler holds its timer: nothing else has to keep it until it fires.
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

io_runtime::~io_runtime() {
  stop();
  // Left only when an io thread destroys its own runtime, which the header forbids; detach
  // so the process does not terminate on a joinable thread.
  std::lock_guard<std::mutex> guard{impl_->mutex};
  for (auto& t : impl_->threads)
    if (t.joinable()) t.detach();
}

void io_runtime::close() {
  stop();
  std::unique_ptr<boost::asio::io_context> closing;
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    closing = std::move(impl_->owned);
  }
  // Outside the lock: the handlers' destructors run here.
  closing.reset();
}

void io_runtime::stop() {
  std::vector<std::thread> to_join;
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->work.reset();
    if (!impl_->owned) return;  // closed
    impl_->context.stop();
    auto self = std::this_thread::get_id();
    for (auto it = impl_->threads.begin(); it != impl_->threads.end();) {
      if (it->get_id() == self) {
        ++it;
      } else {
        to_join.push_back(std::move(*it));
        it = impl_->threads.erase(it);
      }
    }
  }
  for (auto& t : to_join)
    if (t.joinable()) t.join();
}

size_t io_runtime::thread_count() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->threads.size();
}

}  // namespace fedrelay::net
