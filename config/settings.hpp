// The node's settings, read from one TOML file (DESIGN.md section 7). Every field says
// its TOML key, meaning and default; load_settings() validates all of them.
//
// How values are read (examples/node.toml shows every key):
// - Domains (federation.domain, peers.allow/deny, peers.static domain) are DNS names:
//   labels of letters, digits and '-' (not first or last), separated by single dots, at
//   most 63 characters a label and 253 in all. Uppercase is accepted and lowercased,
//   since DNS compares names case-insensitively; a trailing dot is not accepted.
// - An empty string for a required key (domain, public_url, hub_url, storage.dir,
//   local_api.token) means "not set", as in a fresh admin form: missing_keys() reports
//   it, load_settings() does not.
// - URLs: public_url and peers.static url are http(s)://host[:port] with no path but "/";
//   hub_url may carry a path prefix. A trailing '/' is dropped, so "/api/v1/..." can be
//   appended. hub.smtp_url is smtp(s)://[user:pass@]host[:port].
// - Endpoints are "host:port" or "[v6]:port", port 1-65535. dns.resolver must be an IP
//   address (ldns asks an address, not a name); without a port it means port 53, as in
//   resolv.conf, and a bare IPv6 address ("::1") is accepted there.
// - Relative paths (storage.dir, tls.*, hub.dir) are relative to the file's directory,
//   not the cwd, and are stored absolute and normalized. "~" is not expanded. Files are
//   not opened here: whoever uses them reports a missing one.
// - Problems are reported in file order; array indices in keys count from 0
//   ("peers.deny[0]" is the first entry).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fedrelay::config {

enum class discovery_method { dns, hub, static_table };

/// "dns", "hub" or "static".
std::string to_string(discovery_method m);

/// When an accepted write reaches the disk: "always" answers after the write-ahead log's
/// fsync; "periodic" answers once the operating system has the write, and syncs the log
/// every storage.sync_period_ms (a power failure or OS crash can lose up to that much of
/// what was accepted; a crash of the process loses nothing).
enum class sync_mode { always, periodic };

/// "always" or "periodic".
std::string to_string(sync_mode m);

/// peers.addresses: which addresses a peer that DNS or a Hub names may be reached at.
/// Records are anyone's to write, and a node that sent its requests wherever they point
/// could be made to reach services inside its own network. `private_networks`: public
/// addresses and private networks' (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7);
/// `public_only`: public ones; `any`: loopback and link-local too.
enum class address_reach { public_only, private_networks, any };

/// "public", "private" or "any".
std::string to_string(address_reach r);

/// A host and port to listen on or to ask, written "host:port" ("[::1]:53" for IPv6).
struct endpoint {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;
};

/// Parses "host:port" or "[v6]:port"; nullopt when the host or port is missing, the port is
/// not a number or over 65535, or an IPv6 address lacks brackets. Port 0 is accepted here
/// (load_settings rejects it).
std::optional<endpoint> parse_endpoint(const std::string& text);

/// Whether `host` is an IPv4 or IPv6 address (an IPv6 one with or without brackets), not a
/// name.
bool is_ip_address(const std::string& host);

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
  size_t batch_max_events = 2048;                     // events in one transaction at most
  size_t batch_max_bytes = 4u << 20;                  // bytes of events in one transaction at most
  size_t window = 4;                                  // transactions in flight per peer
  std::chrono::milliseconds backoff_initial{500};     // first retry delay
  std::chrono::milliseconds backoff_max{60'000};      // cap of the exponential backoff
  std::chrono::milliseconds request_timeout{30'000};  // one transaction's round trip

  /// The delay after `failures` consecutive failures (0 counts as 1): backoff_initial,
  /// doubled for each further failure, at most backoff_max. The shift is bounded so it
  /// cannot overflow.
  std::chrono::milliseconds backoff_after(uint32_t failures) const {
    auto doubled =
        backoff_initial * (int64_t{1} << std::min<uint32_t>(failures > 0 ? failures - 1 : 0, 30));
    return std::min<std::chrono::milliseconds>(doubled, backoff_max);
  }
};

/// What an event's content travels with in a transaction at most, in bytes: the event's
/// ids, user, time and signature, its audit path, and the transaction and box around it.
inline constexpr size_t event_overhead_bytes = 4096;

/// [limits]: what the federation and local listeners accept. Validated so that
/// max_content_bytes + event_overhead_bytes <= max_body_bytes.
struct limit_settings {
  size_t max_body_bytes = 16u << 20;  // larger request bodies get 413
  // The JSON content of one event a local user sends, in bytes at most (413 above it): an
  // event must fit in one request to every peer, whose max_body_bytes may be below ours.
  // When the file does not set it and max_body_bytes is below 1 MiB + event_overhead_bytes,
  // max_body_bytes - event_overhead_bytes.
  size_t max_content_bytes = 1u << 20;
  size_t max_connections = 1024;          // concurrent inbound connections per listener
  std::chrono::seconds read_timeout{30};  // a request must arrive within this
  std::chrono::seconds clock_skew{300};   // accepted age/skew of a transaction's time
};

/// [files]: files shared in rooms (files.upload, and what member servers fetch).
struct file_settings {
  // Largest file accepted by files.upload (bytes); larger ones get 413 before their body
  // is read. Member servers refuse to fetch a file announced as larger.
  uint64_t max_bytes = 100u << 20;
  // MIME types files.upload accepts: "type/subtype" or "type/*" ("*/*" for any), compared
  // without case and without parameters (";charset=..."). Empty: every type.
  std::vector<std::string> allowed_types;
  // Bytes asked for in one ranged request when fetching from the origin. Larger: fewer
  // round trips; smaller: less re-sent after a broken transfer, less memory per request.
  uint64_t fetch_chunk_bytes = 4u << 20;
  // Cap on the fetch rate of one file (bytes per second); 0: as fast as the link goes.
  uint64_t fetch_max_bytes_per_s = 0;
  // A fetch whose bytes do not match the file id, or that the origin refuses, is retried
  // with backoff up to this many times; then the file is given up (file.failed). Network
  // failures (origin down) are retried without limit.
  uint32_t fetch_attempts = 5;
};

/// Whether `mime` (a Content-Type, parameters ignored) is allowed by `allowed_types`.
bool file_type_allowed(const file_settings& f, const std::string& mime);

/// [hub]: only for `fedrelay hub`.
struct hub_settings {
  std::string listen;      // "127.0.0.1:8600"
  std::string public_url;  // base of the confirmation link
  std::string dir;         // the Hub's own data directory
  std::string smtp_url;    // "smtp://127.0.0.1:2525" or "smtps://…"
  std::string mail_from;   // "hub@hub.example"
  // Per client address, each also the burst (a minute's worth at once). Optional.
  uint32_t registrations_per_minute = 10;  // each may mail a stranger's webmaster: few
  uint32_t lookups_per_minute = 120;       // hub.lookup and hub.confirm
  // Confirmation mails, at most: to one domain in any 24 hours (1-288: one every 5
  // minutes is the most the Hub sends a domain anyway), and in all in one UTC day.
  uint32_t mails_per_domain_per_day = 6;
  uint32_t mails_per_day = 1000;
  // Confirmation mails one client address (an IPv6 /64) may cause in any 24 hours; also,
  // one client may cause at most half of a domain's. Behind a reverse proxy every client
  // is the proxy.
  uint32_t mails_per_client_per_day = 20;
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
  sync_mode storage_sync = sync_mode::always;           // sync
  std::chrono::milliseconds storage_sync_period{1000};  // sync_period_ms: with "periodic"
  std::chrono::hours storage_receipts_kept{168};        // receipts_kept_hours
  std::chrono::hours storage_marks_kept{720};           // marks_kept_hours
  // [dns]
  std::optional<endpoint> dns_resolver;         // resolver; nullopt: the system's resolv.conf
  std::chrono::milliseconds dns_timeout{2000};  // timeout: the bound on one lookup
  std::chrono::seconds dns_negative_ttl{60};    // negative_ttl: how long failures are cached
  // [local_api]
  std::string local_api_token;  // token (required)
  // [tls]
  tls_settings tls;
  // [peers]
  // allow / deny: domains ("b.example") or wildcards ("*.example.com": every name below
  // example.com, not example.com itself). See peer_allowed().
  std::vector<std::string> allow;         // allow: empty means every domain
  std::vector<std::string> deny;          // deny: always wins
  std::vector<static_peer> static_peers;  // [[peers.static]]
  address_reach peer_addresses = address_reach::private_networks;  // addresses
  transport_settings transport;
  limit_settings limits;
  file_settings files;
  hub_settings hub;

  std::string source_path;  // the file these came from (absolute); parse_settings: `name`
                            // made absolute, whose directory anchors relative paths
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

/// Every key a node's file may hold, as "table.key" in file order ([[peers.static]] as
/// "peers.static"; not [hub], which `fedrelay hub` reads).
std::vector<std::string> node_file_keys();

/// The required keys that are unset, in file order, from federation.domain,
/// federation.hub_url (only with discovery = "hub"), federation.public_url, storage.dir
/// and local_api.token; empty when the node can enable federation.
std::vector<std::string> missing_keys(const settings& s);

/// Whether the node may federate with `domain` (any case): not matched by `deny`, and
/// matched by `allow` unless `allow` is empty.
bool peer_allowed(const settings& s, const std::string& domain);

/// `url` with the password of its user info replaced by "***" ("smtp://u:***@host"), for
/// messages and logs. The user info runs to the last '@' of the authority, as the URL is
/// read.
std::string redacted_url(const std::string& url);

/// One line per problem of an error from load_settings()/parse_settings(), for printing;
/// any other error gives the single line caf::to_string(err).
std::vector<std::string> error_lines(const caf::error& err);

}  // namespace fedrelay::config
