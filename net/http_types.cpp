// Header lookup, query strings and URL parsing for the plain HTTP values; no Beast, so this
// file compiles in a second.
#include "net/http_types.hpp"

#include <arpa/inet.h>

#include <cctype>

#include "config/ascii_case.hpp"
#include "net/errc.hpp"

namespace fedrelay::net {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

caf::error bad_url(std::string_view text, std::string_view what) {
  return caf::make_error(errc::bad_url, "\"" + std::string{text} + "\": " + std::string{what});
}

}  // namespace

std::string_view find_header(const header_list& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (config::equal_ignoring_case(key, name)) return value;
  return {};
}

std::string http_request::path() const {
  return target.substr(0, target.find('?'));
}

std::optional<std::string> http_request::query(std::string_view name) const {
  auto mark = target.find('?');
  if (mark == std::string::npos) return std::nullopt;
  std::string_view rest{target};
  rest.remove_prefix(mark + 1);
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = pair.substr(0, eq);
    if (url_decode(key) != name) continue;
    return eq == std::string_view::npos ? std::string{} : url_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string url_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xF];
    }
  }
  return out;
}

std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (c == '+' && plus_is_space) ? ' ' : c;
  }
  return out;
}

std::string make_query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += url_encode(name);
    out += '=';
    out += url_encode(value);
  }
  return out;
}

std::string make_target(std::string_view path,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out{path};
  if (!params.empty()) {
    out += '?';
    out += make_query(params);
  }
  return out;
}

std::string url::origin() const {
  bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

caf::expected<url> parse_url(std::string_view text) {
  for (unsigned char c : text)
    if (c <= ' ' || c == 0x7F) return bad_url(text, "contains a space or a control character");
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return bad_url(text, "no scheme (expected http:// or https://)");
  url result;
  for (char c : text.substr(0, sep))
    result.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (result.scheme == "http")
    result.port = 80;
  else if (result.scheme == "https")
    result.port = 443;
  else
    return bad_url(text, "unknown scheme \"" + result.scheme + "\" (expected http or https)");
  auto rest = text.substr(sep + 3);
  rest = rest.substr(0, rest.find('#'));
  auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  if (path_start != std::string_view::npos) {
    result.path = std::string{rest.substr(path_start)};
    if (result.path.front() == '?') result.path.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos)
    return bad_url(text, "user info is not supported");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(text, "unclosed '[' in the host");
    result.host = std::string{authority.substr(1, close - 1)};
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(text, "unexpected text after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return bad_url(text, "empty port");
    }
  } else {
    auto colon = authority.find(':');
    result.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad_url(text, "empty port");
      if (port_text.find(':') != std::string_view::npos)
        return bad_url(text, "IPv6 hosts must be written in brackets");
    }
  }
  if (result.host.empty()) return bad_url(text, "empty host");
  if (!port_text.empty()) {
    unsigned long port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port_text.size() > 5) return bad_url(text, "bad port");
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) return bad_url(text, "port out of range (1-65535)");
    result.port = static_cast<uint16_t>(port);
  }
  for (auto& c : result.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string host_header(const url& u) {
  auto host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  bool default_port = (u.tls() && u.port == 443) || (!u.tls() && u.port == 80);
  return default_port ? host : host + ":" + std::to_string(u.port);
}

bool is_ip_literal(const std::string& host) {
  in6_addr buffer{};
  return inet_pton(AF_INET, host.c_str(), &buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &buffer) == 1;
}

}  // namespace fedrelay::net
