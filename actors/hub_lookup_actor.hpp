// The port through which discovery asks a Hub for a domain's record (implemented in net/
// as an HTTP GET of /api/v1/hub.lookup).
#pragma once

#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/peer_record.hpp"

namespace fedrelay::actors {

/// Answers (lookup_atom, domain) with the Hub's confirmed record for the domain (source
/// hub, public_key raw bytes, ttl as the Hub says); errors: actors::errc::not_found when
/// the Hub has no confirmed record, actors::errc::unavailable when it cannot be reached.
using hub_lookup_actor =
    caf::typed_actor<caf::replies_to<lookup_atom, std::string>::with<peer_record>>;

}  // namespace fedrelay::actors
