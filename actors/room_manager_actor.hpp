// The room manager owns the node's rooms (DESIGN.md sections 2 and 3): it spawns one room
// actor per room on demand and routes the local server's calls and the peers' room events
// to them. Bodies that carry room data are JSON text, so net/ passes them through.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/discovery_actor.hpp"
#include "actors/journal_actor.hpp"
#include "actors/log_budget.hpp"
#include "actors/metrics.hpp"
#include "actors/previous_keys.hpp"
#include "actors/previous_keys_book.hpp"
#include "actors/room_event.hpp"
#include "actors/transaction.hpp"
#include "actors/transport_actor.hpp"
#include "config/settings.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

using create_atom = caf::atom_constant<caf::atom("create")>;
using dm_atom = caf::atom_constant<caf::atom("dm")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using apply_atom = caf::atom_constant<caf::atom("apply")>;
using since_atom = caf::atom_constant<caf::atom("since")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;

/// One call of the local server that changes a room. `user` is the acting local user's
/// name (no domain); `type` an event type of DESIGN.md section 3 as written on the wire
/// ("message.sent", "user.invited", ...); `content` a JSON object with the type's fields;
/// `id` the local server's own event id, or empty to have one made.
///
/// The manager signs the events of a batch that spans rooms together, one Ed25519
/// signature per group of them, and hands each room its events made and signed: then
/// `event_id` (with the domain), `ts` and `sig` are set, and the room makes the same event
/// from them (make_local_event) instead of signing one group per room.
struct local_submission {
  std::string room_id;
  std::string type;
  std::string user;
  std::string content;
  std::string id;
  std::string event_id{};  // empty: not made yet
  int64_t ts = 0;
  std::string sig{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, local_submission& x) {
  return f(caf::meta::type_name("local_submission"), x.room_id, x.type, x.user, x.content, x.id,
           x.event_id, x.ts, x.sig);
}

/// The event `sub` asks for in room `room_id` of `own_domain`, unsigned: its id and time
/// made now, or taken from `sub` when it was made before (sub.event_id set).
/// errc::bad_request naming what is wrong with the submission.
[[nodiscard]] caf::expected<room_event> make_local_event(const local_submission& sub,
                                                         const std::string& room_id,
                                                         const std::string& own_domain);

/// event_result (transaction.hpp) travels as a reply of apply_atom.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_result& x) {
  return f(caf::meta::type_name("event_result"), x.id, x.accepted, x.reason);
}

using room_manager_actor = caf::typed_actor<
    // Creates a room hosted here: (name, type "public"|"private"|"broadcast", owner local
    // name); replies with the room id. Errors: bad_request.
    caf::replies_to<create_atom, std::string, std::string, std::string>::with<std::string>,
    // Opens (or finds) the direct chat of local user `from` with `to` ("name@domain");
    // replies with the room id. Errors: bad_request, domain_not_allowed.
    caf::replies_to<dm_atom, std::string, std::string>::with<std::string>,
    // Submits a local user's event; replies with the event id once it is durable (and,
    // when this node hosts the room, sequenced). Errors: not_found (room), rejected
    // (the reason: not a member, muted, broadcast, deleted, ...), bad_request.
    caf::replies_to<submit_atom, local_submission>::with<std::string>,
    // Submits many local events at once: each room's share in one append. Replies with one
    // result per submission, in order: accepted with the event id, or refused with the
    // reason (a refusal is a result here, never an error of the whole batch).
    caf::replies_to<submit_atom, std::vector<local_submission>>::with<std::vector<event_result>>,
    // The room's state as a JSON object (rooms.info). Errors: not_found.
    caf::replies_to<info_atom, std::string>::with<std::string>,
    // Whether room `room id` is here, not deleted, and has a member on `domain` (room id,
    // domain): what a file fetch asks, without the room's member list in JSON (600 KB in
    // a room of 20,000 members, for each range fetched). Never an error.
    caf::replies_to<info_atom, std::string, std::string>::with<bool>,
    // The room's log after seq `after`, at most `limit` events, as a JSON array
    // (rooms.history). Errors: not_found.
    caf::replies_to<history_atom, std::string, uint64_t, uint32_t>::with<std::string>,
    // Applies one room event a peer sent (origin domain, event JSON from a transaction);
    // replies with its fate for the receipt. Never an error: a refusal is a result.
    caf::replies_to<apply_atom, std::string, std::string>::with<event_result>,
    // Applies the room events of one transaction (origin domain, event JSON texts in the
    // transaction's order, and parallel to them each one's room as decode_transaction
    // gives it in transaction::event_rooms: "event"."room_id" of a sequenced event, empty
    // for any other message); replies with the fate of each, in order. Each room gets its
    // share in order (runs of sequenced events in one message, so in one append). Errors
    // when one of them cannot be judged now (as for a single event): the sender retries
    // the whole transaction, and what was taken is deduplicated.
    caf::replies_to<apply_atom, std::string, std::vector<std::string>,
                    std::vector<std::string>>::with<std::vector<event_result>>,
    // Catch-up for a member server (origin domain, room id, after seq, limit, max bytes as
    // for a room's since_atom): the sequenced events as a JSON array. Errors: not_found,
    // rejected (origin has no member).
    caf::replies_to<since_atom, std::string, std::string, uint64_t, uint32_t,
                    uint64_t>::with<std::string>,
    // The [peers] lists changed: every member of a refused domain is removed from the rooms
    // hosted here, by one of the room's local owners, so the other members see it. Replies
    // with the number of removals submitted.
    caf::replies_to<forget_atom>::with<uint32_t>,
    // A peer refused a message we queued for it for good (peer domain, message id,
    // reason, the message's JSON text): a submission of a local user to a room the peer
    // hosts reaches the local server as a `rejected` event, as a host's refusal does.
    // Replies with what became of it (an empty result when nothing was to be told).
    caf::replies_to<rejected_atom, std::string, std::string, std::string,
                    std::string>::with<event_result>>;

/// Everything rooms need from the node; the manager hands the same to each room actor.
struct room_context {
  std::string own_domain;                            // hosts the rooms whose id ends in it
  std::shared_ptr<const crypto::identity> identity;  // signs our events. REQUIRES: not null
  /// The keys this node had before `identity`'s (note_own_key): its own events signed
  /// before a key change, which a host relays back, are checked against them here,
  /// never looked up. Null: none.
  std::shared_ptr<const std::vector<previous_key>> own_previous_keys;
  /// Other domains' previous keys, fetched by any room and kept for all of them, so an
  /// origin is asked once however many rooms meet its events. Null: a book per room.
  std::shared_ptr<previous_keys_book> previous_keys;
  /// request_timeout bounds a catch-up request; backoff_initial and backoff_max pace the
  /// retries of a failed catch-up.
  config::transport_settings settings;
  storage::store* store = nullptr;  // REQUIRES: not null, outlives every room actor
  journal_actor journal;            // every room write goes through it. REQUIRES: valid
  discovery_actor discovery;        // origin keys and the host's address. REQUIRES: valid
  transport_actor transport;        // catch-up requests to hosts. REQUIRES: valid
  /// Whether a domain may federate with us ([peers] allow/deny); empty: every domain.
  std::function<bool(const std::string&)> allowed;
  /// Events asked for in one catch-up request (the host's `since` limit).
  uint32_t catchup_batch = 500;
  /// Bytes of events one catch-up answer may hold, asked of the host with each request:
  /// what this node takes in a response (limits.max_body_bytes) less the envelope. 0:
  /// the host's own cap alone (its transport.batch_max_bytes).
  uint64_t catchup_max_bytes = 0;
  /// How long a member's room waits for a gap in the host's sequence to fill before it
  /// asks the host. A host keeps several transactions in flight, and the later one may be
  /// applied first; 0 asks at once. Also how often a room that left the rest of a catch-up
  /// to the host's queue looks whether the queue still brings events; with 0 it never
  /// leaves the rest to the queue.
  std::chrono::milliseconds gap_grace{2'000};
  /// Events a member's room holds ahead of a gap at most; past that it drops them and
  /// fetches them again by catch-up, so a host sending far-off seqs cannot fill its
  /// memory. The default is what a host keeps in flight at most (member_holds_ahead),
  /// which can be applied out of order.
  size_t max_ahead = member_holds_ahead;
  /// How long a room actor trusts an origin key it looked up before asking discovery
  /// again (discovery caches too; this only spares the round trip per event).
  std::chrono::milliseconds key_ttl{300'000};
  /// How long a room actor may go without a message before the manager stops it, if it
  /// has nothing under way; the next message for the room spawns it again from the store.
  /// Keeps a node's memory to the rooms in use rather than every room touched since it
  /// started. The manager looks every sixtieth of it. Under 60 ms: never.
  std::chrono::milliseconds idle_room_after{600'000};
  /// Whether a replica asks its host for what it missed when its actor starts. The room
  /// manager sets it false for the next actor of a replica whose actor stopped as idle in
  /// this run: that one stopped with nothing held ahead and no gap, and what the host sent
  /// since comes through its queue.
  bool catch_up_at_start = true;
  /// Counts the events rooms accept and reject, for GET /metrics; may be null.
  std::shared_ptr<node_metrics> metrics;
  /// Lines of failed catch-ups, per host, shared by the rooms: a host that cannot be
  /// reached fails the catch-up of every replica of its rooms at once, which logged a
  /// line per room (thousands, for a node in thousands of rooms).
  std::shared_ptr<shared_log_budgets> catchup_lines =
      std::make_shared<shared_log_budgets>(10, std::chrono::seconds(60));
};

/// Spawns the room manager. It spawns a room actor for every room replica in the store
/// (rooms hosted elsewhere), so each asks its host for what it missed while the node was
/// down; hosted rooms start on demand. Room actors are linked to it: stopping the manager
/// stops them.
room_manager_actor spawn_room_manager(caf::actor_system& sys, room_context ctx);

}  // namespace fedrelay::actors
