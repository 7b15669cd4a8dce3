// The local bridge owns what the node hands to its local server (DESIGN.md section 8):
// the durable inbox with its cursors, long-poll waiters, and the registry of local users.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using fetch_whole_atom = caf::atom_constant<caf::atom("fetchwhole")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using search_atom = caf::atom_constant<caf::atom("search")>;

using local_bridge_actor = caf::typed_actor<
    // Inbox events after cursor `after`, at most `limit`; when there are none, waits up to
    // `wait_ms` for new ones. Replies with the JSON object {"events":[...],"next":CURSOR}
    // (each event has "cursor"); next = after when nothing came.
    caf::replies_to<fetch_atom, uint64_t, uint32_t, uint32_t>::with<std::string>,
    // As fetch, but an event the inbox holds as a reference to the room log (a large
    // message, see inbox.hpp) is passed over unread: the page holds the events stored
    // whole, and "next" moves past both. For the files actor, which acts on no message.
    caf::replies_to<fetch_whole_atom, uint64_t, uint32_t, uint32_t>::with<std::string>,
    // New events reached the inbox up to `last_cursor`: wake the waiters. No reply.
    caf::reacts_to<inbox_atom, uint64_t>,
    // Registers a local user (username, display name) so peers can find it. Replies true
    // when the user is new. Errors: bad_request (empty or invalid username).
    caf::replies_to<register_atom, std::string, std::string>::with<bool>,
    // Local users whose username starts with the query (a peer's users.search), as a
    // JSON array of {"username","name"}.
    caf::replies_to<search_atom, std::string>::with<std::string>>;

/// Spawns the bridge. It reads the inbox that the journal writes (the journal's inbox
/// listener should be this actor), showing the room events it refers to as the local
/// server sees them on `own_domain`, and keeps the users in column `meta` under
/// local_user_key. A fetch's `limit` of 0 means 100; at most 1000 events come at once.
/// REQUIRES: `store` outlives the actor.
local_bridge_actor spawn_local_bridge(caf::actor_system& sys, storage::store& store,
                                      std::string own_domain);

/// The key of a registered user in column `meta` ("user\0" + username -> JSON
/// {"username","name"}).
std::string local_user_key(std::string_view username);

}  // namespace fedrelay::actors
