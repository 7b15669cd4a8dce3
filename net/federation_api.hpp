// The federation API peers call (DESIGN.md section 4), as a route table from requests to
// the actors that own the answers. No socket here: net/node_listeners wires it to a server.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/discovery_actor.hpp"
#include "actors/inbound_actor.hpp"
#include "actors/local_bridge_actor.hpp"
#include "config/peer_filter.hpp"
#include "crypto/identity.hpp"
#include "net/files_api.hpp"
#include "net/http_server.hpp"

namespace fedrelay::net {

struct federation_api_context {
  caf::actor_system* system = nullptr;  // REQUIRES: not null, outlives the handler
  actors::inbound_actor inbound;
  actors::discovery_actor discovery;
  actors::local_bridge_actor bridge;
  /// [peers] allow/deny: refused origins get 403 before any decryption or storage work,
  /// logged once per domain and minute. Null: every domain.
  std::shared_ptr<config::peer_filter> filter;
  std::string own_domain;                            // answers federation.self
  std::shared_ptr<const crypto::identity> identity;  // signs federation.self; may be null
  /// What GET federation.keys answers (actors/previous_keys.hpp); null: 404.
  std::shared_ptr<const std::string> previous_keys;
  std::chrono::milliseconds timeout{30'000};      // bound on one actor call
  std::chrono::milliseconds clock_skew{300'000};  // accepted age of a signed request
  std::optional<files_api_context> files;         // federation.files.get; none: 404
};

/// POST federation.events.dispatch, POST federation.events.since (sealed bodies, opened
/// by the inbound actor), GET federation.users.search and GET federation.files.get (signed
/// requests) and, with an identity, GET federation.self (net/federation_self.hpp).
request_handler make_federation_handler(federation_api_context ctx);

}  // namespace fedrelay::net
