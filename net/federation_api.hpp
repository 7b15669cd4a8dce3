// The federation API peers call (DESIGN.md section 4), as a route table from requests to
// the actors that own the answers. No socket here: net/node_listeners wires it to a server.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/discovery_actor.hpp"
#include "actors/inbound_actor.hpp"
#include "actors/local_bridge_actor.hpp"
#include "net/http_server.hpp"

namespace fedrelay::net {

struct federation_api_context {
  caf::actor_system* system = nullptr;  // REQUIRES: not null, outlives the handler
  actors::inbound_actor inbound;
  actors::discovery_actor discovery;
  actors::local_bridge_actor bridge;
  /// Whether a domain may federate with us; refused origins get 403 before any
  /// decryption or storage work. Null: every domain.
  std::function<bool(const std::string&)> allowed;
  std::chrono::milliseconds timeout{30'000};     // bound on one actor call
  std::chrono::milliseconds clock_skew{300'000};  // accepted age of a signed request
};

/// POST federation.events.dispatch, POST federation.events.since (sealed bodies, opened
/// by the inbound actor) and GET federation.users.search (a signed request).
request_handler make_federation_handler(federation_api_context ctx);

}  // namespace fedrelay::net
