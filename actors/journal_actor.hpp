// The journal actor owns the node's durable writes: it group-commits every append waiting
// in its mailbox into one synced write batch, assigns the outbox seqs of each peer and the
// node-wide cursors of the local server's inbox.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/metrics.hpp"
#include "actors/outbox.hpp"
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
  std::string id = {};      // that "id", when the caller knows it; else the journal parses it
  /// Instead of `event`: the key in column room_log of a sequenced event put by the same
  /// entry, whose event message (event_message(id, logged text)) the outbox rebuilds when
  /// it is sent; `id` is then required and `event` stays empty. The queues of all member
  /// servers then share the one copy in the log.
  std::string log_key = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_outbound& x) {
  return f(caf::meta::type_name("journal_outbound"), x.destination, x.event, x.id, x.log_key);
}

/// One atomic change: all of it is on disk, or none of it.
struct journal_entry {
  std::vector<journal_put> puts;
  std::vector<journal_outbound> outbound;
  /// Events for the local server, in order, each a compact JSON object without a "cursor"
  /// member, or an encode_inbox_reference (inbox.hpp) to a sequenced event put in column
  /// room_log by the same entry, which the local server reads as its local view. The
  /// journal gives each the next inbox cursor (spliced into an object as its first member,
  /// "cursor") and stores it in column `inbox` under encode_u64(cursor).
  std::vector<std::string> inbox;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_entry& x) {
  return f(caf::meta::type_name("journal_entry"), x.puts, x.outbound, x.inbox);
}

using journal_actor = caf::typed_actor<
    // Writes the entry (synced, grouped with the appends queued beside it) and replies
    // with the outbox seq given to each outbound event, in order; then wakes the peer
    // manager for each destination and the inbox listener with the last inbox cursor.
    // Errors: bad_request (unknown column, an event that is not a JSON object with a
    // string "id", an empty destination, an inbox event that is neither a JSON object nor
    // a reference with a key),
    // storage_failed (the write failed; the journal then refuses every later append
    // until restart).
    caf::replies_to<append_atom, journal_entry>::with<std::vector<uint64_t>>,
    // Replies with (synced writes done, appends written): group commit shows as fewer
    // writes than appends.
    caf::replies_to<stats_atom>::with<uint64_t, uint64_t>>;

/// Spawns the journal. Its writes block on fsync, so app passes `detached` = true (a
/// thread of its own); tests spawn it on the scheduler. `manager` may be null.
/// `inbox_listener` (the local bridge; may be null) receives (inbox_atom, last_cursor)
/// after each write that added inbox events.
/// `metrics` (may be null) gets the latency of every synced write.
/// `max_run` bounds the events of one outbox run (outbox.hpp): a peer takes a run whole,
/// so app passes transport.batch_max_events when that is lower.
/// REQUIRES: `store` outlives the actor.
journal_actor spawn_journal(caf::actor_system& sys, storage::store& store,
                            peer_manager_actor manager, caf::actor inbox_listener = {},
                            bool detached = false, std::shared_ptr<node_metrics> metrics = nullptr,
                            size_t max_run = max_run_events);

}  // namespace fedrelay::actors
