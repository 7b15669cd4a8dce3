// The inbound actor owns the receiving side of federation.events.dispatch and
// federation.events.since (DESIGN.md section 4): it opens and checks each transaction,
// answers a replayed one with its stored receipt, hands each new event (dedup by
// transaction id, by message id, and for the host's sequenced events by seq in the room)
// to the room manager and stores the receipt of the room manager's answers; and it opens
// catch-up requests and seals the room manager's answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/discovery_actor.hpp"
#include "actors/room_manager_actor.hpp"
#include "actors/transport_actor.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

struct inbound_options {
  std::string own_domain;                            // transactions must be addressed to it
  std::shared_ptr<const crypto::identity> identity;  // REQUIRES: not null
  /// A transaction whose created_ms is further than this from our clock is refused (422).
  std::chrono::milliseconds clock_skew{300'000};
  /// Bound on one discovery request.
  std::chrono::milliseconds lookup_timeout{10'000};
  /// Bound on the room manager's answer to one event or catch-up; past it the sender is
  /// told 503 and retries.
  std::chrono::milliseconds room_timeout{30'000};
  /// A body that does not open makes the actor ask discovery afresh for the origin's key
  /// (it may have rotated), at most once per origin in this interval, so forged requests
  /// cannot turn into a flood of lookups.
  std::chrono::milliseconds refresh_interval{30'000};
  /// Whether an origin may federate with us ([peers] allow/deny); empty: every origin.
  std::function<bool(const std::string&)> allowed;
};

struct inbound_ports {
  storage::store* store = nullptr;  // REQUIRES: not null, outlives the actor
  discovery_actor discovery;        // REQUIRES: valid
  room_manager_actor rooms;         // applies each event, answers catch-up. REQUIRES: valid
};

using inbound_actor = caf::typed_actor<
    // Handles one dispatch: (origin header, version header, sealed body). Always replies
    // with an HTTP answer: 200 and the sealed receipt; 400 unsupported version (the body
    // names the versions spoken), missing origin or malformed transaction; 401 the body
    // does not open with the origin's key; 403 origin not allowed, or origin/destination
    // not matching; 422 created_ms outside the clock-skew window; 503 the origin cannot
    // be resolved, the store failed or the room manager did not answer (the sender
    // retries). Error bodies are {"success":false,"error":"..."}.
    caf::replies_to<dispatch_atom, std::string, std::string, std::string>::with<inbound_reply>,
    // Handles one catch-up: (origin header, version header, body sealed like a dispatch
    // holding {"room_id","after","limit"}). Replies 200 and the sealed JSON array of the
    // room's events after `after`; 400 unsupported version or malformed request; 401 the
    // body does not open; 403 origin not allowed or without a member in the room; 404 no
    // such room hosted here; 503 the origin cannot be resolved or the room manager failed.
    caf::replies_to<since_atom, std::string, std::string, std::string>::with<inbound_reply>>;

/// Spawns the inbound actor on the scheduler. Its writes are buffered (the rooms' appends
/// are the synced ones), so it needs no thread of its own, which cost a thread hand-off
/// each way per transaction.
inbound_actor spawn_inbound(caf::actor_system& sys, inbound_options options, inbound_ports ports);

/// The key in column `dedup` of a handled room message ("e\0" message id; the value is the
/// room id with the time of the mark, actors/message_marks.hpp), which the rooms write with
/// the message's effect and this actor reads before handing over a message that is not a
/// sequenced event (those a room drops by their seq).
std::string dedup_event_key(std::string_view event_id);

}  // namespace fedrelay::actors
