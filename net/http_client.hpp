// An asynchronous HTTP/1.1 and HTTPS client with a keep-alive pool per origin, for the
// peer transport and the Hub client; plus a blocking wrapper for the command line.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "config/settings.hpp"

#include "net/http_types.hpp"
#include "net/io_runtime.hpp"

namespace fedrelay::net {

struct client_options {
  // Connections open at once to one scheme+host+port; further requests queue for one
  // (their timeout runs while they wait). More parallelism per peer, more sockets.
  size_t max_connections_per_host = 8;
  // Bound on resolving and connecting (TCP); within the request's own timeout.
  std::chrono::milliseconds connect_timeout{5000};
  // PEM bundle of the CAs that https peers are verified against; empty: the system's
  // default verify paths. Peers are always verified (certificate chain and host name).
  std::string ca_file;
  // Larger response bodies fail the request with bad_response.
  size_t max_response_body_bytes = 64u << 20;
  // An idle pooled connection older than this is closed (at the next request to its
  // origin) instead of reused; keep it below the servers' keep-alive timeout (fedrelay's
  // default is 60 s) so reuse rarely meets a socket the server has closed.
  std::chrono::seconds idle_timeout{30};
  // Which addresses a host may be connected at (peers.addresses); the addresses a host
  // name resolves to that it refuses are skipped, and a host with none left fails with
  // connect_failed naming them. Default: any.
  config::address_reach reach = config::address_reach::any;
  // Origins (url::origin(): scheme, host and port) connected to at any address, whatever
  // `reach` says: the ones the operator named (static peers, the Hub). Only the origin as
  // named: a record naming another port of the same host is checked like any other.
  std::vector<std::string> trusted_origins;
};

using response_callback = std::function<void(caf::expected<http_response>)>;

/// Sends requests over pooled connections; all of its work runs on one strand of the
/// runtime. Thread-safe: request() may be called from any thread.
/// REQUIRES: the io_runtime outlives the client.
class http_client {
 public:
  http_client(io_runtime& runtime, client_options options = {});
  /// Closes idle connections; requests in flight still complete and call `done`.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req` (method, target, headers, body; Host, User-Agent and Content-Length are
  /// added) to the origin of `base` (its path is ignored) and calls `done` exactly once, on
  /// an io thread (or, when the runtime is destroyed first, on the thread destroying it),
  /// with the response, whatever its status, or an error naming the URL:
  /// - net::errc::connect_failed: resolving or connecting failed or took longer than
  ///   connect_timeout, or the connection broke while sending; the request was not
  ///   delivered;
  /// - net::errc::tls_failed: TLS handshake or certificate verification failed, or the
  ///   CA file could not be loaded;
  /// - net::errc::timeout: no complete response within `timeout` (counted from this call,
  ///   queueing included), or the runtime stopped first; the peer may have acted on it;
  /// - net::errc::bad_response: not HTTP, over max_response_body_bytes, or the connection
  ///   closed before a complete response.
  /// A pooled connection that turns out to be closed by the server (EOF or reset before
  /// any response byte) is retried once on a new connection, whatever the method: fedrelay
  /// requests are idempotent by transaction id, and a server closing an idle keep-alive
  /// connection did not read the request.
  void request(const url& base, http_request req, std::chrono::milliseconds timeout,
               response_callback done);

  /// Verifies https servers against `ca_file` (empty: the system's CAs) from the next
  /// connection on; idle connections are closed and busy ones not reused. A file that does
  /// not load changes nothing and is the error (net::errc::tls_failed).
  [[nodiscard]] caf::error reload_ca(const std::string& ca_file);

  struct core;

 private:
  std::shared_ptr<core> core_;
};

/// request() on a private runtime, waiting for the result; for the command line (e.g.
/// `fedrelay status` asking a running node). Never call it from an io thread.
[[nodiscard]] caf::expected<http_response> http_request_blocking(const url& base, http_request req,
                                                                 std::chrono::milliseconds timeout,
                                                                 client_options options = {});

/// GET of an absolute URL with extra `headers`; errors of parse_url or request().
[[nodiscard]] caf::expected<http_response> http_get_blocking(std::string_view url_text,
                                                             std::chrono::milliseconds timeout,
                                                             header_list headers = {},
                                                             client_options options = {});

}  // namespace fedrelay::net
