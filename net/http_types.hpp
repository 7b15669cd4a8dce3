// Plain HTTP values shared by the server, the client and the route handlers: requests,
// responses, URLs and query strings. No Beast here, so any folder above net may include it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace fedrelay::net {

/// Header fields in the order they were received or are to be sent; names keep their
/// spelling, lookups ignore case.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive lookup of a header; "" when absent (the first one wins when repeated).
std::string_view find_header(const header_list& headers, std::string_view name);

/// What a request whose body found no room on the node's disk is answered, with 507.
inline constexpr const char* no_room_for_body =
    "no room on the node's disk for this body; try again once there is";

/// Receives a request body piece by piece instead of as one string, so a large upload is
/// never held in memory (server_options::stream_body). Called on the connection's io
/// thread, in order, never concurrently.
class body_sink {
 public:
  virtual ~body_sink() = default;
  /// One piece of the body. An error ends the request: it is answered 500 with the error's
  /// text and the rest of the body is not read.
  [[nodiscard]] virtual caf::error write(std::string_view bytes) = 0;
};

/// Part of a file sent as a response body, read in pieces while it is written.
struct file_part {
  std::string path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

/// One HTTP request, as the server hands it to a handler or as a client sends it.
struct http_request {
  std::string method = "GET";  // "GET", "POST", ... as sent on the wire
  std::string target = "/";    // origin form, "/api/v1/events?after=3"
  header_list headers;         // client side: Host, User-Agent and Content-Length are added
  std::string body;
  std::string remote_address;  // server side: the peer, "127.0.0.1:54321" or "[::1]:54321"
  // Server side: the sink that received the body when it was streamed (body is then empty).
  std::shared_ptr<body_sink> streamed_body;

  /// Case-insensitive; "" when absent.
  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  /// The target without its "?query".
  std::string path() const;
  /// The first query parameter called `name`, percent-decoded ('+' is a space);
  /// nullopt when absent, "" for "?name" or "?name=".
  std::optional<std::string> query(std::string_view name) const;
};

/// One HTTP response. Server side: `headers` are extra fields; Content-Type, Content-Length,
/// Connection and Server are set by the server. Client side: `headers` holds every field
/// received and `content_type` the Content-Type ("" when absent).
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  header_list headers;
  std::string body;
  // Server side, instead of `body`: these bytes of a file, read while they are sent. A file
  // that cannot be opened is answered 404; one that ends early closes the connection.
  std::optional<file_part> file;

  /// Case-insensitive; "" when absent.
  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

/// Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string url_encode(std::string_view text);

/// Decodes %XX escapes, and '+' as a space when `plus_is_space` (query strings). A '%' not
/// followed by two hex digits is kept as it is, so decoding never fails.
std::string url_decode(std::string_view text, bool plus_is_space = true);

/// "a=1&b=x%20y" from {{"a","1"},{"b","x y"}}, names and values url_encode()d.
std::string make_query(const std::vector<std::pair<std::string, std::string>>& params);

/// `path` followed by "?" and make_query(params) when there are params.
std::string make_target(std::string_view path,
                        const std::vector<std::pair<std::string, std::string>>& params);

/// An absolute http or https URL, split.
struct url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 0;   // explicit, or 80 / 443 by scheme
  std::string path;    // everything after the authority, query included; "" when absent

  bool tls() const { return scheme == "https"; }
  /// The request target for this URL: path, or "/" when it is empty.
  std::string target() const { return path.empty() ? "/" : path; }
  /// "scheme://host:port" (IPv6 hosts in brackets), the key of a connection pool.
  std::string origin() const;
  /// origin() + path
  std::string to_string() const { return origin() + path; }
};

/// Parses "http://host[:port][/path][?query]" (a "#fragment" is dropped). Errors:
/// net::errc::bad_url naming the text and what is wrong (unknown scheme, empty host,
/// user info, bad port, spaces or control characters).
[[nodiscard]] caf::expected<url> parse_url(std::string_view text);

/// The Host header for requests to `u`: the host (IPv6 in brackets), with ":port" unless
/// the port is the scheme's default.
std::string host_header(const url& u);

/// Whether `host` is an IPv4 or IPv6 address rather than a name (no SNI for addresses).
bool is_ip_literal(const std::string& host);

}  // namespace fedrelay::net
