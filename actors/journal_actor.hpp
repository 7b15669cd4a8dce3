// The journal actor owns the node's durable writes: it group-commits every append waiting
// in its mailbox into one synced write batch and assigns the outbox seqs of each peer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/peer_manager_actor.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

/// A put into another column (room log, room state, ...), written with the outbox
/// entries of the same append.
struct journal_put {
  uint8_t column = 0;  // a storage::column
  std::string key;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_put& x) {
  return f(caf::meta::type_name("journal_put"), x.column, x.key, x.value);
}

/// An event to queue for one remote domain.
struct journal_outbound {
  std::string destination;  // the remote domain
  std::string event;        // a compact JSON object with a string "id"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_outbound& x) {
  return f(caf::meta::type_name("journal_outbound"), x.destination, x.event);
}

/// One atomic change: all of it is on disk, or none of it.
struct journal_entry {
  std::vector<journal_put> puts;
  std::vector<journal_outbound> outbound;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_entry& x) {
  return f(caf::meta::type_name("journal_entry"), x.puts, x.outbound);
}

using journal_actor = caf::typed_actor<
    // Writes the entry (synced, grouped with the appends queued beside it) and replies
    // with the outbox seq given to each outbound event, in order; then wakes the peer
    // manager for each destination. Errors: bad_request (unknown column, an event that
    // is not a JSON object with a string "id", an empty destination), storage_failed
    // (the write failed; the journal then refuses every later append until restart).
    caf::replies_to<append_atom, journal_entry>::with<std::vector<uint64_t>>,
    // Replies with (synced writes done, appends written): group commit shows as fewer
    // writes than appends.
    caf::replies_to<stats_atom>::with<uint64_t, uint64_t>>;

/// Spawns the journal. Its writes block on fsync, so app passes `detached` = true (a
/// thread of its own); tests spawn it on the scheduler. `manager` may be null.
/// REQUIRES: `store` outlives the actor.
journal_actor spawn_journal(caf::actor_system& sys, storage::store& store,
                            peer_manager_actor manager, bool detached = false);

}  // namespace fedrelay::actors
