// The Hub's HTTP API (DESIGN.md section 5, docs/HUB.md) as a route table: signed
// registration, the confirmation link of the mail, lookups; rate limited per client address.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include <caf/actor_system.hpp>

#include "actors/hub_registry.hpp"
#include "net/http_server.hpp"

namespace fedrelay::net {

/// Token buckets per client address (IP, port ignored): each holds `burst` requests and
/// refills at `per_minute`. Behind a reverse proxy every client shares the proxy's bucket.
/// `fedrelay hub` takes the rates and bursts from [hub] registrations_per_minute and
/// lookups_per_minute (config::hub_settings).
struct hub_rate_limits {
  // POST hub.register: each may mail a stranger's webmaster, so few.
  double registrations_per_minute = 10;
  double registration_burst = 10;
  // GET hub.lookup and hub.confirm: enough for a busy peer, too few to walk a dictionary
  // of domain names.
  double lookups_per_minute = 120;
  double lookup_burst = 120;
  // Addresses remembered at most; idle full buckets are forgotten first.
  size_t max_clients = 100'000;
};

struct hub_api_context {
  caf::actor_system* system = nullptr;  // REQUIRES: not null, outlives the handler
  actors::hub_registry_actor registry;
  std::chrono::milliseconds clock_skew{300'000};  // accepted age of X-Fedrelay-Time
  hub_rate_limits limits;
  std::chrono::milliseconds timeout{120'000};  // bound on one registry call (mail included)
  size_t max_body_bytes = 8192;                // a registration is well under 1 KiB
};

/// The Hub's routes:
///   POST /api/v1/hub.register  {"domain","url","public_key"(PEM)}, headers X-Fedrelay-Origin
///        (= domain), X-Fedrelay-Time, X-Fedrelay-Signature (actors/request_auth.hpp over
///        "POST", "/api/v1/hub.register", the time and the body, with that public key)
///        -> 200 {"success":true,"status":"pending"|"confirmed","mail_to","mailed","expires"}
///        400 malformed, 401 bad signature or time, 429 rate or mail limit (with
///        "retry_after" seconds and Retry-After), 503 mail or store failed.
///   GET  /api/v1/hub.confirm?token=T -> text/html page: 200 naming what the link would
///        confirm, with a button that posts the token; 404 unknown link, 410 expired or
///        used. It confirms nothing.
///   POST /api/v1/hub.confirm, form body token=T -> text/html page: 200 confirmed, 404,
///        410.
///   GET  /api/v1/hub.lookup?domain=D -> 200 {"success":true,"domain","url","public_key"
///        (PEM),"ttl"}; 404 the same for unknown and unconfirmed domains; 429.
request_handler make_hub_handler(hub_api_context ctx);

/// The client a request counts against in the Hub's rate limits, from its remote address
/// ("192.0.2.7:5000" -> "192.0.2.7"): an IPv6 address's /64 ("[2001:db8:0:1::7]:5000" ->
/// "2001:db8:0:1::/64"), since one subscriber commonly holds a whole /64 and could
/// otherwise use a bucket per address; an IPv4 address mapped into IPv6 counts as itself.
std::string rate_limit_client(const std::string& remote_address);

}  // namespace fedrelay::net
