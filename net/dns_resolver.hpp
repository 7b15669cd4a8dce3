// The DNS port of discovery: spawns the actor that implements actors::dns_resolver_actor
// with blocking ldns lookups (net/dns_client.hpp) on a few workers of its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include <caf/actor_system.hpp>

#include "actors/dns_resolver_actor.hpp"
#include "config/settings.hpp"

namespace fedrelay::net {

/// How many lookups run at once; one slow or dead domain only ties up one of them.
constexpr size_t dns_resolver_workers = 4;

/// Spawns a resolver that answers (lookup_atom, domain) with the domain's dns_records,
/// as dns_client::lookup does (same errors: actors::errc::resolver_timeout after
/// `timeout`, actors::errc::resolver_failed otherwise). `server` nullopt asks the
/// resolv.conf nameservers.
///
/// The returned actor never blocks: it queues each request and hands it to an idle
/// worker, of which there are dns_resolver_workers, linked to it. The workers block in
/// ldns for up to `timeout`, so they are spawned detached (own threads) unless `detached`
/// is false (tests on the testing scheduler). A request waits in the queue while every
/// worker is busy, so a caller's request timeout should allow for that.
/// Stop it with send_exit (a non-normal reason): the workers follow through the links,
/// each after at most its current lookup.
[[nodiscard]] actors::dns_resolver_actor spawn_dns_resolver(caf::actor_system& sys,
                                                            std::optional<config::endpoint> server,
                                                            std::chrono::milliseconds timeout,
                                                            bool detached = true);

}  // namespace fedrelay::net
