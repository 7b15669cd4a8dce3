// The DNS records a node asks its operator to publish (DESIGN.md section 5), built from
// its settings and key, in zone-file form and in the quoted-strings form providers want.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "config/settings.hpp"
#include "crypto/keys.hpp"

namespace fedrelay::actors {

/// scheme://host[:port] split; the port defaults to 80 for http, 443 for https.
struct url_parts {
  std::string scheme;
  std::string host;
  uint16_t port = 0;
};

/// nullopt unless `url` is http(s)://host[:port] with at most "/" as its path.
std::optional<url_parts> split_base_url(std::string_view url);

/// Splits `text` into DNS character-strings of at most `max` bytes (255 is the DNS
/// limit); joining them gives back `text` exactly. REQUIRES: max > 0.
std::vector<std::string> split_txt_strings(std::string_view text, size_t max = 255);

/// Quotes character-strings for a zone file: "a" "b", escaping '"' and '\'.
std::string quote_txt_strings(const std::vector<std::string>& strings);

struct published_records {
  std::string srv_name;  // _rocketchat._tcp.<domain>
  uint16_t srv_priority = 1;
  uint16_t srv_weight = 1;
  uint16_t srv_port = 0;
  std::string srv_target;                // host of the public URL
  std::string key_name;                  // rocketchat-public-key.<domain>
  std::vector<std::string> key_strings;  // the one-line PEM, split at 255 bytes
  std::string protocol_name;             // rocketchat-protocol.<domain>
  std::string protocol;                  // scheme of the public URL
  uint32_t ttl = 3600;
};

/// The records for these settings and key; actors::errc::bad_request naming
/// federation.public_url when it is not a base URL.
[[nodiscard]] caf::expected<published_records> records_to_publish(const config::settings& s,
                                                                  const crypto::public_key& key);

/// One record as a zone-file line, without the newline: what `fedrelay check` names as
/// the fix for a missing or wrong record.
std::string srv_zone_line(const published_records& r);
std::string key_zone_line(const published_records& r);
std::string protocol_zone_line(const published_records& r);

/// Zone-file lines (absolute names, trailing dots), one record per line.
std::string zone_file_form(const published_records& r);

/// One record per line as "NAME  TYPE  VALUE", the form provider consoles such as
/// Route 53 take (TXT values as quoted strings, SRV as "priority weight port target").
std::string provider_form(const published_records& r);

/// What `fedrelay dns-records` prints: a heading naming `domain`, then both forms.
std::string printed_form(const published_records& r, const std::string& domain);

}  // namespace fedrelay::actors
