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

/// A connection's place in the server's accounting (open and served counts, the list that
/// stop() closes). The session that owns it counts; destroying it gives the place back.
class connection_slot {
 public:
  virtual ~connection_slot() = default;
  /// Makes `session` the one stop() closes for this connection.
  virtual void attach(std::weak_ptr<session_base> session) = 0;
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
