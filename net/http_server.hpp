// An HTTP/1.1 (optionally HTTPS) server: accepts connections, reads requests within limits
// and timeouts, and hands each request to a callback that answers whenever it is ready.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "config/settings.hpp"
#include "net/http_types.hpp"
#include "net/io_runtime.hpp"
#include "net/websocket.hpp"

namespace fedrelay::net {

/// Sends the response to one request. Call it exactly once, from any thread: the response
/// is posted to the connection's own executor, and the connection stays alive until then
/// (the responder holds it). Further calls are ignored. If every copy is destroyed without
/// a call, the connection is closed without an answer.
using responder = std::function<void(http_response)>;

/// Called on an io thread for every complete request; must not block (hand the work to an
/// actor and answer through the responder). An exception thrown here answers 500.
using request_handler = std::function<void(http_request&&, responder)>;

/// How the body of one request is read (see server_options::stream_body).
struct body_stream {
  std::shared_ptr<body_sink> sink;       // null: the body is read whole into a string
  uint64_t max_bytes = 0;                // with a sink: a longer body is answered 413
  std::optional<http_response> refusal;  // answered at once; the body is not read
};

/// Looks at a request's head (method, target, headers; the body not read yet) on an io
/// thread; must not block.
using body_stream_decider = std::function<body_stream(const http_request& head)>;

struct server_options {
  config::endpoint listen;  // address and port to bind; port 0 picks a free one (see port())
  // Larger bodies are answered 413 and the connection is closed. A Content-Length over the
  // limit is refused before the body is read. Also the largest incoming WebSocket message:
  // a larger one closes that connection (code 1009).
  size_t max_body_bytes = 16u << 20;
  // Request line plus header fields; more is answered 431 and the connection is closed.
  // Also the most bytes of chunk extensions one request may carry (431 past it).
  size_t max_header_bytes = 16u << 10;
  // Bytes of request bodies held in memory at once, over all connections: each body's
  // bytes as they arrive, until its answer is written. A request whose body passes it
  // gets 503 with Retry-After (413 when it alone is larger) and the connection closes.
  // Bodies are read before anyone can tell who sent them (a signature covers the body),
  // so without it max_connections bodies of max_body_bytes each could fill the memory.
  // Streamed bodies (stream_body) go to their sink and do not count.
  size_t max_pending_body_bytes = 256u << 20;
  // Of those, the bytes one address may hold (an address as max_connections_per_address
  // counts it; 0: no share; nothing when that bound is off): one client with a few
  // connections otherwise filled them all, and every peer's transaction got 503.
  size_t max_pending_body_bytes_per_address = 0;
  // Open connections at most, WebSockets included. The next ones are accepted, read one
  // request and get 503 with Retry-After (so a peer backs off instead of hanging in the
  // backlog); past max_connections + 64 a new connection is closed at once without a word.
  size_t max_connections = 1024;
  // Open connections from one address (an IPv6 one by its /64, which one client has
  // whole), at most (0: no bound). A connection past it is closed at once: one client
  // sending a byte a second on a thousand connections otherwise held every place for
  // read_timeout, again and again. Loopback (127.0.0.0/8, ::1), where a reverse proxy
  // connects from, is not bounded unless bound_loopback (for tests).
  size_t max_connections_per_address = 0;
  bool bound_loopback = false;
  // A whole request (headers and body) must arrive within this once its first byte did
  // (on a new connection: once it was accepted); also bounds the TLS handshake and the
  // write of each response. A client sending byte by byte is cut off by it.
  std::chrono::seconds read_timeout{30};
  // How long a keep-alive connection may wait for the first byte of its next request.
  std::chrono::seconds idle_timeout{60};
  // PEM certificate chain and private key: when both are set the port speaks only TLS.
  std::string tls_cert_file, tls_key_file;
  // Decides on requests asking for a WebSocket upgrade (see net/websocket.hpp); null: such
  // requests are ordinary requests for the request handler. An accepted WebSocket uses
  // Beast's suggested server timeouts (handshake 30 s; a ping after 150 s without traffic,
  // closed after 300 s without an answer) instead of read_timeout and idle_timeout.
  upgrade_decider websocket_upgrade;
  // Per WebSocket connection: bytes queued by send() and not yet written, at most; past
  // it the peer is too slow and the connection is dropped. Bounds the memory one stuck
  // client can pin; it should hold a few of the largest messages the application sends.
  size_t max_websocket_queue_bytes = 8u << 20;
  // Decides, per request, whether its body goes piece by piece to a sink (uploads) instead
  // of into http_request::body; null: every body is read whole. A streamed body is bounded
  // by the decision's max_bytes instead of max_body_bytes (a Content-Length over it is
  // refused before the body is read), and read_timeout bounds each piece rather than the
  // whole request, so a large upload on a slow link is not cut off. The handler gets the
  // request once the whole body went to the sink, with http_request::streamed_body set.
  body_stream_decider stream_body;
};

/// A listening HTTP server. Each connection is a session on its own strand: read a
/// request, call the handler, write the response, then wait for the next request
/// (keep-alive, no pipelining). A request accepted as a WebSocket upgrade turns the
/// connection into a WebSocket on the same strand. No handler runs after stop() returns,
/// apart from those already running.
class http_server {
 public:
  /// Binds and starts accepting on `runtime`. Errors: net::errc::bind_failed naming the
  /// address and the OS reason; net::errc::tls_failed when the certificate or key cannot be
  /// loaded (or only one of them is set).
  [[nodiscard]] static caf::expected<std::unique_ptr<http_server>> start(io_runtime& runtime,
                                                                         server_options options,
                                                                         request_handler handler);
  /// Calls stop().
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The bound port (the real one when the options asked for port 0).
  uint16_t port() const;

  /// Stops accepting and closes every open connection, WebSockets included (their
  /// on_close runs unless the io_runtime stops first); responses still pending are dropped.
  /// Waits (up to a few seconds) for the io threads to do it unless called from one of
  /// them. Idempotent.
  void stop();

  /// Loads the certificate chain and key of these files for the connections accepted from
  /// now on (a renewed certificate); those open keep theirs. errc::tls_failed when they do
  /// not load, do not match, or the server was started without TLS; the server then keeps
  /// the certificate it had. Thread-safe.
  [[nodiscard]] caf::error reload_tls(const std::string& cert_file, const std::string& key_file);

  /// When the certificate new connections get expires (Unix seconds); nullopt without TLS.
  std::optional<int64_t> certificate_expiry() const;

  /// Connections accepted since start (for tests and metrics).
  uint64_t accepted_connections() const;
  /// Connections open right now.
  size_t open_connections() const;
  /// Bytes of request bodies held right now (see server_options::max_pending_body_bytes).
  size_t pending_body_bytes() const;

  struct state;

 private:
  explicit http_server(std::shared_ptr<state> st);
  std::shared_ptr<state> state_;
};

}  // namespace fedrelay::net
