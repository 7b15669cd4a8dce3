// WebSocket sessions on Beast for connections the HTTP server upgraded: a read loop that
// pauses while nobody listens, an ordered write queue bounded in bytes, and a close
// handshake with a backstop timer. Everything but send/close/open runs on the strand.
#include "net/websocket_session.hpp"

#include <atomic>
#include <deque>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace fedrelay::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

// RFC 6455 5.5: a control frame's payload is at most 125 bytes, two of them the code.
constexpr size_t max_close_reason = 123;
// Room a read of a message's next piece asks for.
constexpr size_t message_piece_bytes = 64u << 10;
// How long a stopping server waits for a client to answer its close frame.
constexpr std::chrono::milliseconds stop_close_timeout{1000};

template <class Stream>
class websocket_session;

// What the application holds. It refers to the session weakly, so a handle kept after the
// end pins no socket (and may outlive the io_runtime); the session lives as long as it has
// an operation in flight, which is always, except while reading is paused.
template <class Stream>
class connection_handle final : public websocket_connection {
 public:
  connection_handle(std::weak_ptr<websocket_session<Stream>> session,
                    std::shared_ptr<const http_request> request, size_t max_queue_bytes)
      : session_(std::move(session)),
        request_(std::move(request)),
        max_queue_bytes_(max_queue_bytes) {}

  ~connection_handle() override {
    if (auto s = session_.lock()) s->handle_dropped();
  }

  void send(std::string text) override {
    if (auto s = session_.lock()) s->send(std::move(text));
  }

  void close(std::string reason) override {
    if (auto s = session_.lock()) s->close(std::move(reason));
  }

  bool open() const override {
    auto s = session_.lock();
    return s && s->is_open();
  }

  size_t pending_bytes() const override {
    auto s = session_.lock();
    return s ? s->pending_bytes() : 0;
  }

  size_t queue_limit() const override { return max_queue_bytes_; }

  void when_drained(size_t at_most, std::function<void()> callback) override {
    if (auto s = session_.lock()) s->add_drain_waiter(at_most, std::move(callback));
  }

  const std::string& remote_address() const override { return request_->remote_address; }

  const http_request& request() const override { return *request_; }

  void on_message(std::function<void(std::string)> callback) override {
    if (auto s = session_.lock()) s->set_on_message(std::move(callback));
  }

  void pause_reading() override {
    if (auto s = session_.lock()) s->pause_reading();
  }

  void resume_reading() override {
    if (auto s = session_.lock()) s->resume_reading();
  }

  void on_close(std::function<void()> callback) override {
    if (auto s = session_.lock()) return s->set_on_close(std::move(callback));
    // The session is gone, so it had finished; its io threads may be gone too.
    if (callback) callback();
  }

  std::shared_ptr<void> hold_memory(size_t bytes) override {
    auto s = session_.lock();
    if (!s || !s->is_open()) return nullptr;
    auto hold = std::make_shared<body_hold>(s->budget());
    if (!hold->grow_to(bytes)) return nullptr;
    return hold;
  }

 private:
  std::weak_ptr<websocket_session<Stream>> session_;
  std::shared_ptr<const http_request> request_;
  size_t max_queue_bytes_;
};

template <class Stream>
class websocket_session final : public session_base,
                                public std::enable_shared_from_this<websocket_session<Stream>> {
 public:
  websocket_session(Stream&& stream, http_request request, websocket_handler handler,
                    websocket_limits limits, std::unique_ptr<connection_slot> slot)
      : ws_(std::move(stream)),
        executor_(ws_.get_executor()),
        timer_(executor_),
        message_timer_(executor_),
        request_(std::make_shared<const http_request>(std::move(request))),
        handler_(std::move(handler)),
        limits_(limits),
        budget_(slot->budget()),
        message_hold_(budget_),
        slot_(std::move(slot)) {}

  using std::enable_shared_from_this<websocket_session<Stream>>::shared_from_this;

  // From now on stop() reaches this session instead of the HTTP session it came from.
  void attach_to_server() { slot_->attach(this->weak_from_this()); }

  // On the strand. Beast's own timeouts (handshake, idle pings) replace the TCP stream's,
  // which must then be off.
  void run(upgrade_message&& upgrade) {
    upgrade_ = std::move(upgrade);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "fedrelay"); }));
    ws_.read_message_max(limits_.max_message_bytes);
    ws_.text(true);
    ws_.async_accept(*upgrade_,
                     beast::bind_front_handler(&websocket_session::on_accept, shared_from_this()));
  }

  // ---- for connection_handle, any thread ----

  void send(std::string text) {
    if (!open_) return;
    auto size = text.size();
    if (pending_.fetch_add(size) + size > limits_.max_queue_bytes) {
      pending_ -= size;
      if (open_.exchange(false))
        asio::post(executor_, [self = shared_from_this()] {
          spdlog::warn("websocket {} {}: peer too slow, over {} bytes queued; dropped",
                       self->request_->remote_address, self->request_->path(),
                       self->limits_.max_queue_bytes);
          self->finish();
        });
      return;
    }
    asio::post(executor_, [self = shared_from_this(), text = std::move(text)]() mutable {
      self->enqueue(std::move(text));
    });
  }

  void close(std::string reason) {
    if (!open_.exchange(false)) return;
    // Posted, not dispatched: sends posted before it from this thread stay ahead of it.
    asio::post(executor_, [self = shared_from_this(), reason = std::move(reason)]() mutable {
      self->begin_close(websocket::close_code::normal, std::move(reason), true);
    });
  }

  bool is_open() const { return open_; }

  size_t pending_bytes() const { return pending_; }

  const std::shared_ptr<body_budget>& budget() const { return budget_; }

  // Dispatched, so a callback set inside the handler (on the strand) is in place before
  // the handler returns and the first read starts.
  void set_on_message(std::function<void(std::string)> callback) {
    asio::dispatch(executor_,
                   [self = shared_from_this(), callback = std::move(callback)]() mutable {
                     self->install_on_message(std::move(callback));
                   });
  }

  // Posted, so a callback that asks again from inside one is looked at after the others.
  void add_drain_waiter(size_t at_most, std::function<void()> callback) {
    asio::post(executor_,
               [self = shared_from_this(), at_most, callback = std::move(callback)]() mutable {
                 if (self->finished_ || !callback) return;
                 self->drain_waiters_.emplace_back(at_most, std::move(callback));
                 self->run_drain_waiters();
               });
  }

  void set_on_close(std::function<void()> callback) {
    asio::dispatch(executor_,
                   [self = shared_from_this(), callback = std::move(callback)]() mutable {
                     if (!self->finished_) {
                       self->on_close_ = std::move(callback);
                       return;
                     }
                     if (callback) self->run_on_close(std::move(callback));
                   });
  }

  // Dispatched, so that from inside the message callback (on the strand) it holds before
  // the next read starts.
  void pause_reading() {
    asio::dispatch(executor_, [self = shared_from_this()] { self->read_paused_ = true; });
  }

  void resume_reading() {
    asio::post(executor_, [self = shared_from_this()] {
      if (!self->read_paused_) return;
      self->read_paused_ = false;
      // Without a callback, on_read holds the message that comes and stops (held_).
      if (!self->held_) self->read_next();
    });
  }

  // Nobody can set on_message or resume reading any more, so a paused connection would stay
  // paused for good.
  void handle_dropped() {
    asio::post(executor_, [self = shared_from_this()] {
      self->handle_gone_ = true;
      if ((self->held_ && !self->on_message_) || self->read_paused_) self->finish();
    });
  }

  // ---- session_base ----

  // The server stops: the client is told (1001) rather than cut off, but not waited for
  // long, since the node is going.
  void close_from_server() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (!self->open_) return self->finish();
      self->begin_close(websocket::close_code::going_away, "the node is stopping", false,
                        stop_close_timeout);
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    upgrade_.reset();
    if (ec || finished_) {
      spdlog::debug("websocket {}: handshake failed: {}", request_->remote_address, ec.message());
      return finish();
    }
    open_ = true;
    auto handler = std::move(handler_);
    handler_ = nullptr;
    try {
      handler(std::make_shared<connection_handle<Stream>>(this->weak_from_this(), request_,
                                                          limits_.max_queue_bytes));
    } catch (const std::exception& e) {
      spdlog::error("websocket {} {}: handler threw: {}", request_->remote_address,
                    request_->path(), e.what());
      begin_close(websocket::close_code::internal_error, "internal error", false);
    } catch (...) {
      begin_close(websocket::close_code::internal_error, "internal error", false);
    }
    read_next();
  }

  // ---- reading ----

  // Reads the next message unless reading is paused: then nothing but self_ holds the
  // session until resume_reading().
  void read_next() {
    if (finished_ || reading_) return;
    if (read_paused_) {
      self_ = shared_from_this();
      return;
    }
    auto keep_alive = std::move(self_);
    do_read();
  }

  // A message is read a piece at a time, so the time it takes and the reads it needs are
  // bounded (websocket_limits::message_timeout, max_message_pieces); read_message_max
  // bounds its size as with a whole read.
  void do_read() {
    reading_ = true;
    ws_.async_read_some(
        buffer_, message_piece_bytes,
        beast::bind_front_handler(&websocket_session::on_read_piece, shared_from_this()));
  }

  void on_read_piece(beast::error_code ec, size_t n) {
    bool ended = ec || finished_ || ws_.is_message_done();  // whole, or no more to read
    // The message's memory counts with the listener's request bodies: 30 sockets, each
    // sending a message of 16 MiB and holding back its last bytes, held 537 MB.
    if (!ec && !finished_ && !message_hold_.grow_to(buffer_.capacity())) {
      message_pieces_ = 0;
      message_timer_.cancel();
      spdlog::debug("websocket {}: a message past the memory for bodies; closed",
                    request_->remote_address);
      drop_message();
      reading_ = false;
      return begin_close(websocket::close_code::try_again_later,
                         "too many request bodies in memory; try again", false);
    }
    if (!ended) {
      if (message_pieces_++ == 0) start_message_timer();
      if (message_pieces_ < limits_.max_message_pieces) return do_read();
    }
    message_pieces_ = 0;
    message_timer_.cancel();
    if (ended) return on_read(ec, n);
    spdlog::info("websocket {}: a message in over {} pieces; closed", request_->remote_address,
                 limits_.max_message_pieces);
    drop_message();
    reading_ = false;
    begin_close(websocket::close_code::policy_error, "a message in too many pieces", false);
  }

  // The message under way is not whole in time: its bytes go with the connection.
  void start_message_timer() {
    message_timer_.expires_after(limits_.message_timeout);
    message_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_ || self->message_pieces_ == 0) return;
      spdlog::info("websocket {}: a message did not arrive whole within {} s; closed",
                   self->request_->remote_address, self->limits_.message_timeout.count());
      self->finish();
    });
  }

  // Gives back the memory of the message read (or dropped): a socket that once took a
  // large message keeps no more than a piece's room for the next.
  void drop_message() {
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > 2 * message_piece_bytes) buffer_.shrink_to_fit();
    message_hold_.release();
  }

  void on_read(beast::error_code ec, size_t) {
    reading_ = false;
    if (finished_) return;
    if (ec) {
      // A close frame from the peer, a timeout, a reset, or a message over the limit
      // (Beast has answered that one with close code 1009 already).
      if (ec != websocket::error::closed)
        spdlog::debug("websocket {}: read ended: {}", request_->remote_address, ec.message());
      return finish();
    }
    if (!ws_.got_text()) {
      // The API speaks JSON text; a binary frame is a client bug, refused by policy rather
      // than guessed at as UTF-8.
      drop_message();
      return begin_close(websocket::close_code::policy_error, "text frames only", false);
    }
    auto text = beast::buffers_to_string(buffer_.data());
    drop_message();
    if (!on_message_) {
      if (handle_gone_) return finish();
      // Reading pauses until on_message is set; no operation holds the session meanwhile.
      held_ = std::move(text);
      self_ = shared_from_this();
      return;
    }
    deliver(std::move(text));
    read_next();
  }

  void install_on_message(std::function<void(std::string)> callback) {
    if (finished_) return;
    on_message_ = callback ? std::make_shared<std::function<void(std::string)>>(std::move(callback))
                           : nullptr;
    if (!on_message_ || !held_) return;
    auto text = std::move(*held_);
    held_.reset();
    auto keep_alive = std::move(self_);
    deliver(std::move(text));
    read_next();
  }

  // Through a shared copy: the callback may replace itself via on_message().
  void deliver(std::string text) {
    auto callback = on_message_;
    try {
      (*callback)(std::move(text));
    } catch (const std::exception& e) {
      spdlog::error("websocket {} {}: message callback threw: {}", request_->remote_address,
                    request_->path(), e.what());
      begin_close(websocket::close_code::internal_error, "internal error", false);
    } catch (...) {
      begin_close(websocket::close_code::internal_error, "internal error", false);
    }
  }

  // ---- writing ----

  void enqueue(std::string text) {
    if (finished_ || close_pending_) {
      pending_ -= text.size();
      return;
    }
    queue_.push_back(std::move(text));
    if (!writing_) do_write();
  }

  void do_write() {
    if (finished_) return;
    if (queue_.empty()) {
      if (close_pending_ && !closing_) do_close();
      return;
    }
    writing_ = true;
    ws_.async_write(asio::buffer(queue_.front()),
                    beast::bind_front_handler(&websocket_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    writing_ = false;
    pending_ -= queue_.front().size();
    queue_.pop_front();
    if (finished_) return;
    if (ec) {
      spdlog::debug("websocket {}: write failed: {}", request_->remote_address, ec.message());
      return finish();
    }
    do_write();
    run_drain_waiters();
  }

  // Each waiter is checked as its turn comes: one run before it may have sent (pending_
  // grows at once) and so keep the next waiting.
  void run_drain_waiters() {
    for (size_t i = 0; i < drain_waiters_.size() && !finished_;) {
      if (pending_ > drain_waiters_[i].first) {
        ++i;
        continue;
      }
      auto callback = std::move(drain_waiters_[i].second);
      drain_waiters_.erase(drain_waiters_.begin() + static_cast<std::ptrdiff_t>(i));
      run_callback("drain", callback);
    }
  }

  // Drops what is queued, except a message being written (its buffer is in use).
  void discard_queue() {
    size_t keep = writing_ ? 1 : 0;
    while (queue_.size() > keep) {
      pending_ -= queue_.back().size();
      queue_.pop_back();
    }
  }

  // ---- closing ----

  // `drain`: write what is queued first (a close() by the application); otherwise the
  // close frame follows the message being written, if any.
  void begin_close(websocket::close_code code, std::string reason, bool drain) {
    begin_close(code, std::move(reason), drain, limits_.close_timeout);
  }

  void begin_close(websocket::close_code code, std::string reason, bool drain,
                   std::chrono::milliseconds timeout) {
    if (finished_ || close_pending_) return;
    open_ = false;
    close_pending_ = true;
    if (reason.size() > max_close_reason) reason.resize(max_close_reason);
    reason_ = websocket::close_reason{code, reason};
    if (!drain) discard_queue();
    // A peer that neither reads the queue nor answers the close frame is cut off.
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return;
      spdlog::debug("websocket {}: close handshake timed out", self->request_->remote_address);
      self->finish();
    });
    if (!writing_) do_write();
  }

  void do_close() {
    closing_ = true;
    ws_.async_close(
        reason_, beast::bind_front_handler(&websocket_session::on_close_done, shared_from_this()));
  }

  void on_close_done(beast::error_code ec) {
    if (ec && !finished_)
      spdlog::debug("websocket {}: close failed: {}", request_->remote_address, ec.message());
    finish();
  }

  // Ends the connection once: closes the socket (a pending read or write completes with an
  // error and finds finished_ set), gives the server slot back, runs on_close and releases
  // both callbacks, which may hold the handle. Every caller holds the session.
  void finish() {
    if (finished_) return;
    finished_ = true;
    open_ = false;
    timer_.cancel();
    message_timer_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    discard_queue();
    held_.reset();
    self_.reset();
    message_hold_.release();
    slot_.reset();
    on_message_.reset();
    drain_waiters_.clear();  // what they hold (the producer) may hold the handle
    auto callback = std::move(on_close_);
    on_close_ = nullptr;
    if (callback) run_on_close(std::move(callback));
  }

  void run_on_close(std::function<void()> callback) { run_callback("close", callback); }

  void run_callback(const char* what, const std::function<void()>& callback) {
    try {
      callback();
    } catch (const std::exception& e) {
      spdlog::error("websocket {}: {} callback threw: {}", request_->remote_address, what,
                    e.what());
    } catch (...) {
      spdlog::error("websocket {}: {} callback threw", request_->remote_address, what);
    }
  }

  websocket::stream<Stream, false> ws_;  // no permessage-deflate: less code, no zlib state
  asio::any_io_executor executor_;       // the connection's strand; fixed, so any thread may post
  asio::steady_timer timer_;
  asio::steady_timer message_timer_;                   // while a message is read in pieces
  size_t message_pieces_ = 0;                          // reads of the message being read
  const std::shared_ptr<const http_request> request_;  // shared with the handle
  websocket_handler handler_;
  const websocket_limits limits_;
  const std::shared_ptr<body_budget> budget_;  // the listener's, for this connection's address
  body_hold message_hold_;                     // the message being read (on the strand)
  std::unique_ptr<connection_slot> slot_;
  std::optional<upgrade_message> upgrade_;  // until the handshake completes
  std::atomic<bool> open_{false};
  std::atomic<size_t> pending_{0};  // bytes accepted by send() and not yet written
  // The rest is used on the strand only.
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;  // front: being written while writing_
  std::shared_ptr<std::function<void(std::string)>> on_message_;
  std::function<void()> on_close_;
  std::vector<std::pair<size_t, std::function<void()>>> drain_waiters_;  // (at_most, callback)
  std::optional<std::string> held_;
  std::shared_ptr<websocket_session> self_;  // only while reading is paused
  bool handle_gone_ = false;
  bool read_paused_ = false;  // pause_reading() until resume_reading()
  websocket::close_reason reason_;
  bool reading_ = false;
  bool writing_ = false;
  bool close_pending_ = false;  // the close frame goes out once the queue is written
  bool closing_ = false;        // async_close started
  bool finished_ = false;
};

template <class Stream>
std::shared_ptr<session_base> start(Stream stream, upgrade_message&& upgrade, http_request request,
                                    websocket_handler handler, websocket_limits limits,
                                    std::unique_ptr<connection_slot> slot) {
  auto session = std::make_shared<websocket_session<Stream>>(
      std::move(stream), std::move(request), std::move(handler), limits, std::move(slot));
  session->attach_to_server();
  session->run(std::move(upgrade));
  return session;
}

}  // namespace

std::shared_ptr<session_base> start_websocket_session(
    beast::tcp_stream&& stream, upgrade_message&& upgrade, http_request request,
    websocket_handler handler, websocket_limits limits, std::unique_ptr<connection_slot> slot) {
  return start<beast::tcp_stream>(std::move(stream), std::move(upgrade), std::move(request),
                                  std::move(handler), limits, std::move(slot));
}

std::shared_ptr<session_base> start_websocket_session(
    beast::ssl_stream<beast::tcp_stream>&& stream, upgrade_message&& upgrade, http_request request,
    websocket_handler handler, websocket_limits limits, std::unique_ptr<connection_slot> slot) {
  return start<beast::ssl_stream<beast::tcp_stream>>(std::move(stream), std::move(upgrade),
                                                     std::move(request), std::move(handler), limits,
                                                     std::move(slot));
}

}  // namespace fedrelay::net
