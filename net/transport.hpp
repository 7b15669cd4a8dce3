// The transport port of actors/transport_actor.hpp over HTTP(S): one actor that turns
// each outbound_request into a POST with the node's pooled http_client.
#pragma once

#include <chrono>

#include <caf/actor_system.hpp>

#include "actors/transport_actor.hpp"
#include "net/http_client.hpp"

namespace fedrelay::net {

/// Spawns the transport. REQUIRES: `client` outlives the actor. Each request gets at
/// most `timeout`; failures without an answer are actors::errc::unavailable naming the
/// URL and the reason.
[[nodiscard]] actors::transport_actor spawn_transport(caf::actor_system& sys, http_client& client,
                                                      std::chrono::milliseconds timeout);

}  // namespace fedrelay::net
