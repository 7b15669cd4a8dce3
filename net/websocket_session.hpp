// Internal to net/: how the HTTP server hands a connection that asked for an upgrade over
// to a WebSocket session (net/websocket_session.cpp). Pulls in Beast; only for net's .cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/http_types.hpp"
#include "net/websocket.hpp"

namespace fedrelay::net {

/// The part of a connection the server sees: http_server::stop() closes it from any thread.
class session_base {
 public:
  virtual ~session_base() = default;
  virtual void close_from_server() = 0;
};

/// Where the bytes of request bodies and WebSocket messages held in memory are counted: the
/// listener's budget (server_options::max_pending_body_bytes) and the share of the
/// connection's address. Thread-safe; it lives as long as a hold on it, which may be past
/// the connection.
class body_budget {
 public:
  virtual ~body_budget() = default;
  /// Counts `bytes`; false (nothing counted) when they would pass the budget or the share.
  virtual bool take(size_t bytes) = 0;
  virtual void give_back(size_t bytes) = 0;
};

/// Bytes counted against a budget until release() or the end of the hold.
class body_hold {
 public:
  explicit body_hold(std::shared_ptr<body_budget> budget) : budget_(std::move(budget)) {}
  ~body_hold() { release(); }
  body_hold(const body_hold&) = delete;
  body_hold& operator=(const body_hold&) = delete;

  /// Counts up to `total` bytes in all; false (the hold as it was) when the bytes more
  /// would pass the budget.
  bool grow_to(size_t total) {
    if (total <= bytes_) return true;
    if (!budget_->take(total - bytes_)) return false;
    bytes_ = total;
    return true;
  }

  void release() {
    if (bytes_ > 0) budget_->give_back(bytes_);
    bytes_ = 0;
  }

  size_t bytes() const { return bytes_; }

 private:
  std::shared_ptr<body_budget> budget_;
  size_t bytes_ = 0;
};

/// A connection's place in the server's accounting (open and served counts, the list that
/// stop() closes). The session that owns it counts; destroying it gives the place back.
class connection_slot {
 public:
  virtual ~connection_slot() = default;
  /// Makes `session` the one stop() closes for this connection.
  virtual void attach(std::weak_ptr<session_base> session) = 0;
  /// Where the connection's bodies and messages are counted while they are in memory.
  virtual std::shared_ptr<body_budget> budget() const = 0;
};

struct websocket_limits {
  size_t max_message_bytes = 0;            // incoming; larger closes with 1009
  size_t max_queue_bytes = 0;              // outgoing, not yet written; larger drops the connection
  std::chrono::seconds close_timeout{30};  // a close handshake that takes longer drops it
  // An incoming message must arrive whole within this once its first bytes did, in at
  // most max_message_pieces reads (a read takes one frame, or what came of one): a message
  // trickled a fragment at a time would hold its bytes (and a core, at a few µs a
  // fragment) for as long as the peer likes.
  std::chrono::seconds message_timeout{30};
  size_t max_message_pieces = 65'536;
};

using upgrade_message = boost::beast::http::request<boost::beast::http::string_body>;

/// Completes the WebSocket handshake for `upgrade` on `stream` (already read from it, on
/// the stream's strand, with nothing after it in the read buffer that matters: a client
/// sends no frame before the 101) and then runs the connection; `handler` gets it once
/// the handshake succeeded. `slot` moves into the session and is attached to it. Returns
/// the session so a stop() racing with the hand-over can still reach it. Call on the
/// stream's strand.
std::shared_ptr<session_base> start_websocket_session(
    boost::beast::tcp_stream&& stream, upgrade_message&& upgrade, http_request request,
    websocket_handler handler, websocket_limits limits, std::unique_ptr<connection_slot> slot);

std::shared_ptr<session_base> start_websocket_session(
    boost::beast::ssl_stream<boost::beast::tcp_stream>&& stream, upgrade_message&& upgrade,
    http_request request, websocket_handler handler, websocket_limits limits,
    std::unique_ptr<connection_slot> slot);

}  // namespace fedrelay::net
