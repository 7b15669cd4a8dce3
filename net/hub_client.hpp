// The Hub port of actors/hub_lookup_actor.hpp: looks a domain up with
// GET <hub_url>/api/v1/hub.lookup?domain=… (DESIGN.md section 5).
#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/hub_lookup_actor.hpp"
#include "net/http_client.hpp"

namespace fedrelay::net {

/// The Hub's lookup path.
inline constexpr const char* hub_lookup_path = "/api/v1/hub.lookup";

/// The record in a Hub's answer to a lookup of `domain`: a reply 200
/// {"success":true,"domain","url","public_key"(PEM),"ttl"} is a record; 404 is
/// actors::errc::not_found; a malformed reply or another status actors::errc::unavailable;
/// a bad key actors::errc::bad_key_record.
[[nodiscard]] caf::expected<actors::peer_record> hub_record_from_reply(const std::string& domain,
                                                                       const http_response& res);

/// Spawns the Hub client. REQUIRES: `client` outlives the actor. A reply 200
/// {"success":true,"domain","url","public_key"(PEM),"ttl"} is a record; 404 is
/// actors::errc::not_found; anything else, or no answer, actors::errc::unavailable.
[[nodiscard]] actors::hub_lookup_actor spawn_hub_client(caf::actor_system& sys, http_client& client,
                                                        std::string hub_url,
                                                        std::chrono::milliseconds timeout);

}  // namespace fedrelay::net
