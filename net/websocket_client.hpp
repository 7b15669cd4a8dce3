// A blocking WebSocket client (ws and wss, text messages) for the command line's
// `fedrelay tail` and for tests; each client runs its own io_context in the calling thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "net/http_types.hpp"

namespace fedrelay::net {

struct websocket_client_options {
  // PEM bundle of the CAs a wss server is verified against; empty: the system's default
  // verify paths. Servers are always verified (certificate chain and host name), as by
  // http_client.
  std::string ca_file;
  // Larger incoming messages fail receive() with bad_response and close the connection.
  size_t max_message_bytes = 16u << 20;
};

/// One client connection. Not thread-safe: use it from one thread at a time (any thread
/// but an io thread of an io_runtime). Between calls nothing runs, so control frames (the
/// server's pings) are answered only inside receive(): call it regularly, or a server with
/// an idle timeout drops the connection.
class websocket_client {
 public:
  /// Connects to `base_url` ("ws://host[:port]", "wss://...", or the http/https spelling)
  /// and asks for an upgrade of `target` (empty: the URL's path and query) with extra
  /// `headers` (e.g. Authorization); resolve, connect, TLS and the WebSocket handshake
  /// together within `timeout`. Errors: net::errc::bad_url; net::errc::connect_failed;
  /// net::errc::tls_failed (handshake, verification, or an unloadable CA file);
  /// net::errc::timeout; net::errc::http_status when the server answers with an HTTP
  /// response instead of 101 (context: the status as uint32_t, then the body);
  /// net::errc::bad_response for any other failed handshake.
  [[nodiscard]] static caf::expected<std::unique_ptr<websocket_client>> connect(
      std::string_view base_url, std::string target, header_list headers,
      std::chrono::milliseconds timeout, websocket_client_options options = {});

  /// Drops the connection without a close handshake (call close() first to be polite).
  ~websocket_client();
  websocket_client(const websocket_client&) = delete;
  websocket_client& operator=(const websocket_client&) = delete;

  /// Sends one text message, waiting up to `timeout` for it to be written. Errors:
  /// net::errc::connect_failed when the connection is closed or broke; net::errc::timeout
  /// (the connection is then dropped: a half-written frame cannot be taken back).
  [[nodiscard]] caf::error send(std::string_view text,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// The next text message (binary ones are returned as they are), waiting up to
  /// `timeout`. Errors: net::errc::timeout, after which the connection stays usable (the
  /// read goes on and the next receive() continues it); net::errc::connect_failed when
  /// the server closed the connection (the text names its close code and reason) or it
  /// broke; net::errc::bad_response for a message over max_message_bytes.
  [[nodiscard]] caf::expected<std::string> receive(std::chrono::milliseconds timeout);

  /// Close handshake with code 1000 and `reason`, waiting up to `timeout` for the server's
  /// close frame; the connection is dropped in any case. Messages the server sent before
  /// its close frame are discarded. Errors: net::errc::timeout; net::errc::connect_failed
  /// when the connection had already ended. Idempotent after success.
  caf::error close(std::string reason = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// False once the connection ended (either side closed it, an error, a dropped send).
  bool open() const;

  struct impl;

 private:
  explicit websocket_client(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace fedrelay::net
