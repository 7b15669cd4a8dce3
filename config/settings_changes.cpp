#include "config/settings_changes.hpp"

#include <algorithm>
#include <functional>
#include <tuple>

namespace fedrelay::config {
namespace {

auto tied(const endpoint& e) {
  return std::tie(e.host, e.port);
}

bool same(const endpoint& a, const endpoint& b) {
  return tied(a) == tied(b);
}

bool same(const std::optional<endpoint>& a, const std::optional<endpoint>& b) {
  return a.has_value() == b.has_value() && (!a || same(*a, *b));
}

bool same(const std::vector<static_peer>& a, const std::vector<static_peer>& b) {
  auto tied_peer = [](const static_peer& p) { return std::tie(p.domain, p.url, p.public_key_pem); };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const auto& x, const auto& y) { return tied_peer(x) == tied_peer(y); });
}

template <class T>
bool same(const T& a, const T& b) {
  return a == b;
}

/// One key of the file and where its value is held.
struct key_of_file {
  const char* name;
  std::function<bool(const settings&, const settings&)> same_in;
};

/// Pairs `name` with the member `field` picks out of a settings object.
template <class Pick>
key_of_file key(const char* name, Pick field) {
  return {name, [field](const settings& a, const settings& b) { return same(field(a), field(b)); }};
}

const std::vector<key_of_file>& keys_of_file() {
  // clang-format off
  static const std::vector<key_of_file> keys{
      key("federation.enabled", [](const settings& s) -> auto& { return s.enabled; }),
      key("federation.domain", [](const settings& s) -> auto& { return s.domain; }),
      key("federation.discovery", [](const settings& s) -> auto& { return s.discovery; }),
      key("federation.hub_url", [](const settings& s) -> auto& { return s.hub_url; }),
      key("federation.public_url", [](const settings& s) -> auto& { return s.public_url; }),
      key("listen.federation", [](const settings& s) -> auto& { return s.listen_federation; }),
      key("listen.local", [](const settings& s) -> auto& { return s.listen_local; }),
      key("storage.dir", [](const settings& s) -> auto& { return s.storage_dir; }),
      key("storage.sync", [](const settings& s) -> auto& { return s.storage_sync; }),
      key("storage.sync_period_ms", [](const settings& s) -> auto& { return s.storage_sync_period; }),
      key("storage.receipts_kept_hours", [](const settings& s) -> auto& { return s.storage_receipts_kept; }),
      key("storage.marks_kept_hours", [](const settings& s) -> auto& { return s.storage_marks_kept; }),
      key("dns.resolver", [](const settings& s) -> auto& { return s.dns_resolver; }),
      key("dns.timeout_ms", [](const settings& s) -> auto& { return s.dns_timeout; }),
      key("dns.negative_ttl_s", [](const settings& s) -> auto& { return s.dns_negative_ttl; }),
      key("local_api.token", [](const settings& s) -> auto& { return s.local_api_token; }),
      key("tls.cert", [](const settings& s) -> auto& { return s.tls.cert; }),
      key("tls.key", [](const settings& s) -> auto& { return s.tls.key; }),
      key("tls.ca", [](const settings& s) -> auto& { return s.tls.ca; }),
      key("peers.allow", [](const settings& s) -> auto& { return s.allow; }),
      key("peers.deny", [](const settings& s) -> auto& { return s.deny; }),
      key("peers.static", [](const settings& s) -> auto& { return s.static_peers; }),
      key("peers.addresses", [](const settings& s) -> auto& { return s.peer_addresses; }),
      key("transport.batch_max_events", [](const settings& s) -> auto& { return s.transport.batch_max_events; }),
      key("transport.batch_max_bytes", [](const settings& s) -> auto& { return s.transport.batch_max_bytes; }),
      key("transport.window", [](const settings& s) -> auto& { return s.transport.window; }),
      key("transport.backoff_initial_ms", [](const settings& s) -> auto& { return s.transport.backoff_initial; }),
      key("transport.backoff_max_ms", [](const settings& s) -> auto& { return s.transport.backoff_max; }),
      key("transport.request_timeout_ms", [](const settings& s) -> auto& { return s.transport.request_timeout; }),
      key("limits.max_body_bytes", [](const settings& s) -> auto& { return s.limits.max_body_bytes; }),
      key("limits.max_content_bytes", [](const settings& s) -> auto& { return s.limits.max_content_bytes; }),
      key("limits.max_connections", [](const settings& s) -> auto& { return s.limits.max_connections; }),
      key("limits.read_timeout_s", [](const settings& s) -> auto& { return s.limits.read_timeout; }),
      key("limits.clock_skew_s", [](const settings& s) -> auto& { return s.limits.clock_skew; }),
      key("files.max_bytes", [](const settings& s) -> auto& { return s.files.max_bytes; }),
      key("files.allowed_types", [](const settings& s) -> auto& { return s.files.allowed_types; }),
      key("files.fetch_chunk_bytes", [](const settings& s) -> auto& { return s.files.fetch_chunk_bytes; }),
      key("files.fetch_max_bytes_per_s", [](const settings& s) -> auto& { return s.files.fetch_max_bytes_per_s; }),
      key("files.fetch_attempts", [](const settings& s) -> auto& { return s.files.fetch_attempts; }),
  };
  // clang-format on
  return keys;
}

}  // namespace

std::vector<std::string> compared_keys() {
  std::vector<std::string> names;
  for (const auto& k : keys_of_file()) names.emplace_back(k.name);
  return names;
}

std::vector<std::string> changed_keys(const settings& before, const settings& after) {
  std::vector<std::string> changed;
  for (const auto& k : keys_of_file())
    if (!k.same_in(before, after)) changed.emplace_back(k.name);
  return changed;
}

}  // namespace fedrelay::config
