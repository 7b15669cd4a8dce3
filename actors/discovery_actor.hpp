// The discovery actor owns the map domain -> peer record (DESIGN.md sections 2 and 5):
// static table first, then DNS or the Hub, with positive and negative caching persisted
// in the store so a restart does not hammer DNS.
#pragma once

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/dns_resolver_actor.hpp"
#include "actors/hub_lookup_actor.hpp"
#include "actors/peer_record.hpp"
#include "config/settings.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

using discovery_actor = caf::typed_actor<
    // Resolves a domain to its peer record. Errors (actors::errc): nxdomain, no_srv_record,
    // no_key_record, bad_key_record, bad_protocol, resolver_timeout, resolver_failed,
    // not_found (static discovery, unknown domain), unavailable (Hub unreachable),
    // domain_not_allowed (refused by [peers]).
    caf::replies_to<resolve_atom, std::string>::with<peer_record>,
    // Drops what is cached for a domain, so the next resolve asks again (a peer's key
    // may have rotated). Replies true when something was cached. At most once per domain
    // in discovery_options::forget_interval; within it, nothing is dropped (false).
    caf::replies_to<forget_atom, std::string>::with<bool>,
    // Counters: lookups asked of DNS or the Hub, answers served from the cache.
    caf::replies_to<stats_atom>::with<uint64_t, uint64_t>>;

struct discovery_options {
  config::discovery_method method = config::discovery_method::dns;
  std::vector<config::static_peer> static_peers;      // always answer first, for their domains
  std::chrono::seconds negative_ttl{60};              // how long a failed lookup is cached
  std::chrono::seconds max_ttl{86400};                // published TTLs are capped at this
  std::chrono::milliseconds lookup_timeout{3000};     // bound on one DNS or Hub request
  std::chrono::milliseconds forget_interval{10'000};  // least time between forgets of a domain
  // Domains whose answers are cached in memory, at most (about 520 bytes each): requests
  // may name any number of made-up origins, and a flood of 230,000 in 25 s held 120 MB.
  // Past it (expired entries swept first, a record taking a failure's place) an answer
  // is given but not kept.
  size_t max_cached_domains = 65'536;
  /// [peers] allow/deny: a refused domain is answered domain_not_allowed before any
  /// lookup. Null: every domain.
  std::function<bool(const std::string&)> allowed;
};

/// The ports discovery uses; any may be null: a null dns or hub port is a method not
/// available (the answer is resolver_failed), a null store means no persistence.
struct discovery_ports {
  dns_resolver_actor dns;
  hub_lookup_actor hub;
  storage::store* store = nullptr;  // REQUIRES: outlives the actor
};

/// Spawns the discovery actor. Static peers whose key is not a valid PEM are a
/// programming error here: the config layer validated the armour, and app checks keys.
discovery_actor spawn_discovery(caf::actor_system& sys, discovery_options options,
                                discovery_ports ports);

/// Turns what DNS published for `domain` into a record (the SRV target picked by
/// priority, then weight, with `rng`), or into the precise reason it cannot be used.
caf::expected<peer_record> record_from_dns(const std::string& domain, const dns_records& dns,
                                           std::minstd_rand& rng);

}  // namespace fedrelay::actors
