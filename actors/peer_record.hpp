// What discovery knows about one remote domain: where to reach it and its key.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace fedrelay::actors {

/// Which source answered a lookup.
enum class record_source : uint8_t { dns, hub, static_table, cache };

/// "dns", "hub", "static" or "cache".
std::string to_string(record_source s);

struct peer_record {
  std::string domain;      // "b.example"
  std::string base_url;    // "https://chat.b.example:443" (no trailing slash)
  std::string protocol;    // "http" or "https"
  std::string public_key;  // the raw 32-byte Ed25519 key
  uint32_t ttl = 0;        // seconds the answer may be cached, as published
  int64_t expires_at = 0;  // Unix seconds when the cached answer expires
  record_source source = record_source::dns;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_record& x) {
  return f(caf::meta::type_name("peer_record"), x.domain, x.base_url, x.protocol, x.public_key,
           x.ttl, x.expires_at, x.source);
}

}  // namespace fedrelay::actors
