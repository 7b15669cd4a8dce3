// The node's settings, read from one TOML file (DESIGN.md section 7). Every field says
// its TOML key, meaning and default; load_settings() validates all of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fedrelay::config {

enum class discovery_method { dns, hub, static_table };

/// "dns", "hub" or "static".
std::string to_string(discovery_method m);

/// A host and port to listen on or to ask, written "host:port" ("[::1]:53" for IPv6).
struct endpoint {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;
};

/// Parses "host:port"; nullopt when the port is missing, not a number or over 65535.
std::optional<endpoint> parse_endpoint(const std::string& text);

/// One entry of [[peers.static]]: answers discovery for `domain` without DNS or Hub.
struct static_peer {
  std::string domain;          // "b.example"
  std::string url;             // base URL, "http://127.0.0.1:8002"
  std::string public_key_pem;  // the peer's Ed25519 key as PEM
};

struct tls_settings {
  std::string cert;  // [tls] cert: PEM certificate chain served on the federation port
  std::string key;   // [tls] key: its private key
  std::string ca;    // [tls] ca: CA bundle to verify peers; empty: the system store
  bool enabled() const { return !cert.empty(); }
};

/// [transport]: how the peer queues send. Defaults suit a node on a normal link.
struct transport_settings {
  size_t batch_max_events = 2048;           // events in one transaction at most
  size_t batch_max_bytes = 4u << 20;        // bytes of events in one transaction at most
  size_t window = 4;                        // transactions in flight per peer
  std::chrono::milliseconds backoff_initial{500};   // first retry delay
  std::chrono::milliseconds backoff_max{60'000};    // cap of the exponential backoff
  std::chrono::milliseconds request_timeout{30'000};  // one transaction's round trip
};

/// [limits]: what the federation and local listeners accept.
struct limit_settings {
  size_t max_body_bytes = 16u << 20;     // larger request bodies get 413
  size_t max_connections = 1024;         // concurrent inbound connections per listener
  std::chrono::seconds read_timeout{30};  // a request must arrive within this
  std::chrono::seconds clock_skew{300};   // accepted age/skew of a transaction's time
};

/// [hub]: only for `fedrelay hub`.
struct hub_settings {
  std::string listen;      // "127.0.0.1:8600"
  std::string public_url;  // base of the confirmation link
  std::string dir;         // the Hub's own data directory
  std::string smtp_url;    // "smtp://127.0.0.1:2525" or "smtps://…"
  std::string mail_from;   // "hub@hub.example"
};

struct settings {
  // [federation]
  bool enabled = true;                                 // enabled
  std::string domain;                                  // domain (required)
  discovery_method discovery = discovery_method::dns;  // discovery
  std::string hub_url;                                 // hub_url (required with hub)
  std::string public_url;                              // public_url (required)
  // [listen]
  endpoint listen_federation{"0.0.0.0", 8443};  // federation
  endpoint listen_local{"127.0.0.1", 3100};     // local
  // [storage]
  std::string storage_dir;  // dir (required); relative paths are relative to the file
  // [dns]
  std::optional<endpoint> dns_resolver;  // resolver; nullopt: the system's resolv.conf
  std::chrono::milliseconds dns_timeout{2000};  // timeout: the bound on one lookup
  std::chrono::seconds dns_negative_ttl{60};    // negative_ttl: how long failures are cached
  // [local_api]
  std::string local_api_token;  // token (required)
  // [tls]
  tls_settings tls;
  // [peers]
  std::vector<std::string> allow;  // allow: empty means every domain
  std::vector<std::string> deny;   // deny: always wins
  std::vector<static_peer> static_peers;  // [[peers.static]]
  transport_settings transport;
  limit_settings limits;
  hub_settings hub;

  std::string source_path;  // the file these came from (absolute)
};

/// Reads and validates `path`. On failure the error is config::errc::parse_failed (not
/// TOML, unreadable) or config::errc::invalid; its context holds one string per problem,
/// each "FILE:LINE: KEY: what is wrong (what is expected)". Unknown keys are problems too,
/// so a typo never passes silently. Missing required keys are NOT errors here: see
/// missing_keys(), since a half-set file is a state ("not fully set"), not a mistake.
[[nodiscard]] caf::expected<settings> load_settings(const std::string& path);

/// Same, from TOML text (tests, the admin screen); `name` stands in for the file name.
[[nodiscard]] caf::expected<settings> parse_settings(const std::string& text,
                                                     const std::string& name);

/// The required keys that are unset, e.g. {"federation.domain", "storage.dir"}; empty
/// when the node can enable federation.
std::vector<std::string> missing_keys(const settings& s);

}  // namespace fedrelay::config
