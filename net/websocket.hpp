// The server side of a WebSocket as route handlers see it: a connection handle to send and
// close on, and the decider that accepts or refuses an upgrade request. No Beast here.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "net/http_types.hpp"

namespace fedrelay::net {

/// One accepted WebSocket connection (text frames only). Every member is thread-safe and
/// may be called from any thread, also after the connection ended (then it does nothing).
/// Holding the handle keeps only the handle alive, not the socket: the connection ends
/// when either side closes it, on an error or timeout, or when the server stops. Binary
/// frames from the peer close the connection with code 1008 (policy violation).
class websocket_connection {
 public:
  virtual ~websocket_connection() = default;

  /// Queues `text` as one text message. Messages go out in the order of the calls (calls
  /// from different threads: in whatever order they happened). When the bytes queued but
  /// not yet written would exceed server_options::max_websocket_queue_bytes, the peer is
  /// too slow: the connection is dropped at once (no close frame, the queue is discarded)
  /// and on_close runs. Does nothing once the connection is closing or closed.
  virtual void send(std::string text) = 0;

  /// Sends what is already queued, then a close frame (code 1000 with `reason`, cut to
  /// 123 bytes) and waits for the peer's; the socket is dropped if that takes longer than
  /// server_options::read_timeout. Sends after this call are ignored. Idempotent.
  virtual void close(std::string reason = {}) = 0;

  /// False once close() was called or the connection ended.
  virtual bool open() const = 0;

  /// Bytes queued by send() and not yet written, so a producer can slow down early.
  virtual size_t pending_bytes() const = 0;

  /// server_options::max_websocket_queue_bytes: past it send() drops the connection.
  virtual size_t queue_limit() const = 0;

  /// Runs `callback` once on an io thread when pending_bytes() is at most `at_most`: soon
  /// (posted) when it is already, else once writes have brought it down. A producer that
  /// sends its next message from there never has more than `at_most` plus that message
  /// queued, so a reader slower than the producer is waited for instead of dropped.
  /// Dropped unrun when the connection ends first (or has ended). A callback that throws
  /// is logged; the connection goes on.
  virtual void when_drained(size_t at_most, std::function<void()> callback) = 0;

  /// The peer, "127.0.0.1:54321" or "[::1]:54321".
  virtual const std::string& remote_address() const = 0;

  /// The HTTP request that asked for the upgrade (target, headers; empty body).
  virtual const http_request& request() const = 0;

  /// Sets the callback for incoming text messages, called on an io thread, one message at
  /// a time and in order; it must not block. Set it inside the websocket_handler (it then
  /// takes effect before the first read completes). Until it is set, the connection reads
  /// at most one message, holds it, and stops reading (no message is lost, and a client
  /// cannot make the server buffer more); the held message is delivered when it is set. A
  /// handler that wants no messages should set a no-op, or a closing peer goes unnoticed
  /// until a send fails; once every handle is gone, a message nobody can take closes the
  /// connection. A callback that throws closes the connection (code 1011).
  virtual void on_message(std::function<void(std::string)> callback) = 0;

  /// Stops reading the peer's messages after the one being delivered, until
  /// resume_reading(): a consumer that has taken all the work it will lets the peer's
  /// further messages wait in TCP, so the peer's sends block instead of being refused.
  /// Called from the on_message callback, it holds before the next message is read. While
  /// paused, the peer's pings and close frame are seen only once reading resumes; writes
  /// go on. Idempotent; a connection whose handles are all gone while paused ends.
  virtual void pause_reading() = 0;

  /// Reads the peer's messages again after pause_reading(). Any thread; idempotent.
  virtual void resume_reading() = 0;

  /// Sets the callback run once when the connection has ended, for whatever reason, on an
  /// io thread; set after the end, it runs at once (on an io thread, or on the calling
  /// thread once the connection's session is gone). Both callbacks are released after it
  /// ran, so they may capture the connection's shared_ptr without a cycle outliving the
  /// connection. Not run when the io_runtime stops before the connection ended.
  virtual void on_close(std::function<void()> callback) = 0;

  /// Counts `bytes` the application holds for this connection (a call made over it, until
  /// its answer) against what the listener lets bodies hold in memory
  /// (server_options::max_pending_body_bytes, and the share of one address), until the
  /// returned handle is dropped, which may be after the connection ended. nullptr when
  /// they would pass it, or the connection has ended: answer 503 and let the client try
  /// again, as the server does for a request's body.
  virtual std::shared_ptr<void> hold_memory(size_t bytes) = 0;
};

/// Called once on an io thread when an upgrade completed; must not block. Set on_message
/// and on_close on the connection before returning; keep the shared_ptr to send later.
/// An exception thrown here closes the connection (code 1011).
using websocket_handler = std::function<void(std::shared_ptr<websocket_connection>)>;

/// The answer to an upgrade request: a handler accepts it (the server completes the
/// WebSocket handshake on the same connection, plain or TLS); an http_response refuses it
/// and is sent instead (e.g. 401 for a bad token, 404 for an unknown path), after which
/// the connection goes on as an HTTP keep-alive connection.
using upgrade_decision = std::variant<websocket_handler, http_response>;

/// Delivers the decision on one upgrade request. Call it exactly once, from any thread;
/// further calls are ignored. If every copy is destroyed without a call, the connection is
/// closed without an answer. An empty websocket_handler is answered 500.
using upgrade_responder = std::function<void(upgrade_decision)>;

/// Called on an io thread for every request that asks for a WebSocket upgrade (GET with
/// "Connection: Upgrade" and "Upgrade: websocket"), with the same header and body limits as
/// any request; must not block (ask an actor and answer through the responder). Runs the
/// application's checks (token, path) and decides. An exception thrown here answers 500.
using upgrade_decider = std::function<void(http_request&&, upgrade_responder)>;

}  // namespace fedrelay::net
