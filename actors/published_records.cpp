#include "actors/published_records.hpp"

#include <charconv>

#include "actors/errc.hpp"
#include "crypto/pem.hpp"

namespace fedrelay::actors {

std::optional<url_parts> split_base_url(std::string_view url) {
  url_parts parts;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  parts.scheme = std::string{url.substr(0, scheme_end)};
  if (parts.scheme != "http" && parts.scheme != "https") return std::nullopt;
  auto rest = url.substr(scheme_end + 3);
  auto path = rest.find('/');
  if (path != std::string_view::npos) {
    if (rest.substr(path) != "/") return std::nullopt;
    rest = rest.substr(0, path);
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(1, close - 1);
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  parts.host = std::string{host};
  parts.port = parts.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    parts.port = static_cast<uint16_t>(value);
  }
  return parts;
}

std::vector<std::string> split_txt_strings(std::string_view text, size_t max) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size(); pos += max) out.emplace_back(text.substr(pos, max));
  if (out.empty()) out.emplace_back();
  return out;
}

std::string quote_txt_strings(const std::vector<std::string>& strings) {
  std::string out;
  for (const auto& s : strings) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

caf::expected<published_records> records_to_publish(const config::settings& s,
                                                    const crypto::public_key& key) {
  auto url = split_base_url(s.public_url);
  if (!url)
    return caf::make_error(errc::bad_request, "federation.public_url: \"" + s.public_url +
                                                  "\" is not http(s)://host[:port]");
  published_records r;
  r.srv_name = "_rocketchat._tcp." + s.domain;
  r.srv_port = url->port;
  r.srv_target = url->host;
  r.key_name = "rocketchat-public-key." + s.domain;
  r.key_strings = split_txt_strings(crypto::public_key_pem_line(key));
  r.protocol_name = "rocketchat-protocol." + s.domain;
  r.protocol = url->scheme;
  return r;
}

std::string srv_zone_line(const published_records& r) {
  return r.srv_name + ". " + std::to_string(r.ttl) + " IN SRV " + std::to_string(r.srv_priority) +
         " " + std::to_string(r.srv_weight) + " " + std::to_string(r.srv_port) + " " +
         r.srv_target + ".";
}

std::string key_zone_line(const published_records& r) {
  return r.key_name + ". " + std::to_string(r.ttl) + " IN TXT " + quote_txt_strings(r.key_strings);
}

std::string protocol_zone_line(const published_records& r) {
  return r.protocol_name + ". " + std::to_string(r.ttl) + " IN TXT " +
         quote_txt_strings({r.protocol});
}

std::string zone_file_form(const published_records& r) {
  return srv_zone_line(r) + "\n" + key_zone_line(r) + "\n" + protocol_zone_line(r) + "\n";
}

std::string provider_form(const published_records& r) {
  return r.srv_name + "  SRV  " + std::to_string(r.srv_priority) + " " +
         std::to_string(r.srv_weight) + " " + std::to_string(r.srv_port) + " " + r.srv_target +
         "\n" + r.key_name + "  TXT  " + quote_txt_strings(r.key_strings) + "\n" + r.protocol_name +
         "  TXT  " + quote_txt_strings({r.protocol}) + "\n";
}

std::string printed_form(const published_records& r, const std::string& domain) {
  auto text = "; DNS records for " + domain + ": add these to the zone of " + domain +
              "\n; zone-file form\n" + zone_file_form(r) +
              "\n; provider form (name, type, value as quoted strings; e.g. Route 53)\n" +
              provider_form(r);
  // A comment, so the text can still be pasted into a zone file whole.
  if (config::is_ip_address(r.srv_target))
    text += "\n; warning: public_url names the address " + r.srv_target +
            ", but an SRV record's target must be a host name (RFC 2782), and many DNS servers "
            "and resolvers refuse an address there: give it a name (an A or AAAA record such as "
            "relay." +
            domain + ") and use that name in public_url\n";
  return text;
}

}  // namespace fedrelay::actors
