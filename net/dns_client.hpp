// A blocking DNS client that reads the three federation records of a domain (SRV and two
// TXT, DESIGN.md section 5). Plain C++ on the outside; ldns lives only in dns_client.cpp.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "actors/dns_resolver_actor.hpp"
#include "config/settings.hpp"

namespace fedrelay::net {

/// Asks one DNS server (or the system's resolv.conf servers) for
///   SRV _rocketchat._tcp.<domain>, TXT rocketchat-public-key.<domain> and
///   TXT rocketchat-protocol.<domain>.
///
/// Blocking: a lookup waits for the network, so call it from a detached actor or a thread
/// of its own (see spawn_dns_resolver). lookup() is const and keeps no state between
/// calls (every lookup builds its own ldns resolver), so one instance may serve several
/// threads, and a server that timed out once is asked again by the next lookup.
class dns_client {
 public:
  /// `server`: an IPv4 or IPv6 address and port ("127.0.0.1:5353", "::1:53"); nullopt
  /// means the nameservers of /etc/resolv.conf on port 53.
  /// `timeout`: the bound on one whole lookup (all three queries together). The queries
  /// run one after the other against a shared deadline, each with whatever time is left,
  /// split evenly between the nameservers (one attempt each), so a dead server costs
  /// `timeout` once, not three times. Only a truncated answer that falls back to TCP may
  /// overrun the bound by up to one more per-query timeout.
  dns_client(std::optional<config::endpoint> server, std::chrono::milliseconds timeout);

  /// The federation records of `domain` ("b.example", with or without a trailing dot).
  /// A record that does not exist (NXDOMAIN or NODATA) is reported absent, not an error;
  /// NXDOMAIN on the SRV name also sets `nxdomain`. TXT character-strings are returned as
  /// published, in order, without validation (that is discovery's job). `ttl` is the
  /// smallest TTL of the records found; when none was found, the negative-caching TTL of
  /// the SOA in the authority section (RFC 2308: min of its TTL and MINIMUM), else 0.
  /// Errors: actors::errc::resolver_timeout when the server does not answer within the
  /// bound; actors::errc::resolver_failed for SERVFAIL, REFUSED, any other rcode, a
  /// malformed answer, an invalid domain or server address, or an unreadable resolv.conf.
  [[nodiscard]] caf::expected<actors::dns_records> lookup(const std::string& domain) const;

  /// The server as written in errors: "127.0.0.1:5353" or "the resolv.conf nameservers".
  const std::string& server_name() const { return server_name_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::optional<config::endpoint> server_;
  std::chrono::milliseconds timeout_;
  std::string server_name_;
};

}  // namespace fedrelay::net
