// The room actor owns one room on this node (DESIGN.md sections 2 and 3): its state and its
// log. On the host it validates, sequences and fans events out and answers catch-up; on a
// member it pre-checks local submissions, forwards them to the host, applies the host's
// events strictly in seq order and asks the host for what it missed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_marks.hpp"
#include "actors/room_manager_actor.hpp"
#include "actors/room_state.hpp"

namespace fedrelay::actors {

using room_actor = caf::typed_actor<
    // A local user's event (`user` bare, content users bare or qualified); replies with the
    // event id once it is durable: sequenced on the host, queued for the host on a member.
    // A repeated id changes nothing and replies the same id. Errors: rejected (the rule
    // that refused it), bad_request (type, content, user), not_found (no replica here).
    caf::replies_to<submit_atom, local_submission>::with<std::string>,
    // Many local events of this room in one append; one result per event, in order
    // (accepted with its id, or refused with the reason). Never an error as a whole.
    caf::replies_to<submit_atom, std::vector<local_submission>>::with<std::vector<event_result>>,
    // A federation message for this room (origin domain, JSON text of kind submit, event
    // or room.state); replies with its fate for the receipt once its effect is durable.
    // Errors only when it cannot be judged now (an origin key that does not resolve, the
    // journal failing): the sender retries.
    caf::replies_to<apply_atom, std::string, std::string>::with<event_result>,
    // A run of sequenced events from the host (kind event only; origin domain, JSON texts),
    // checked one by one and applied in one append; one result per event, in order.
    // Errors as for one event: the sender retries, what was applied is deduplicated.
    caf::replies_to<apply_atom, std::string,
                    std::vector<std::string>>::with<std::vector<event_result>>,
    // The room as rooms.info shows it (room_state.hpp info_view). Errors: not_found.
    caf::replies_to<info_atom>::with<std::string>,
    // Whether the room is there, not deleted, and has a member on `domain` (who may fetch
    // its files), from the state in memory. Never an error.
    caf::replies_to<info_atom, std::string>::with<bool>,
    // The log after seq `after`, at most `limit` events (0: 100), in the local view
    // (room_event.hpp local_view). Errors: not_found.
    caf::replies_to<history_atom, uint64_t, uint32_t>::with<std::string>,
    // Catch-up for server `origin`: the signed, sequenced events after `after`, at most
    // `limit` (0: catchup_batch) and at most `max_bytes` of them (0: no cap but the host's
    // transport.batch_max_bytes; the first event comes whatever its size), as a JSON
    // array. Host only. Errors: not_found, rejected ("not a member server", "not the
    // host").
    caf::replies_to<since_atom, std::string, uint64_t, uint32_t, uint64_t>::with<std::string>,
    // From the room manager, once the room had no message for idle_room_after, with a
    // deadline (the count of the actor clock's time_since_epoch): true when it comes before
    // the deadline and nothing is under way (no write, submission, key lookup, event held
    // ahead or catch-up), and the room then stops; false, and it carries on, otherwise.
    caf::replies_to<idle_atom, int64_t>::with<bool>>;

/// Spawns the actor of `room_id`, loading its state from the store (an unknown room
/// starts empty: a room being created here, or a replica waiting for its first state).
/// A loaded replica asks its host for what it missed.
room_actor spawn_room(caf::actor_system& sys, room_context ctx, std::string room_id);

// Keys the rooms write besides room_log (sequenced_key(room id, seq) -> event JSON with
// "seq") and rooms (room id -> encode_state without authors and members):

/// Column `rooms`: the author of one message or file event (room id "\0" event id ->
/// "name@domain"; empty once the message is deleted).
std::string room_author_key(std::string_view room_id, std::string_view event_id);

/// Column `rooms`: a member of a room (room id "\0\0" user -> role; empty once no longer
/// a member). Under keys of their own, so that a join writes one key instead of the
/// member list: in a room of 10,000 members that took 4.7 ms an invitation. An event id
/// is never empty, so these keys sort before every author key of the room.
std::string room_member_key(std::string_view room_id, std::string_view user);

/// The first author key a room may have: its member keys sort before it, its author keys
/// from it on (up to storage::sequenced_end(room id)).
std::string room_authors_begin(std::string_view room_id);

/// The members of `room_id` as their keys say (user -> role; former members, stored as
/// "", left out). errc::storage_failed when the store fails.
[[nodiscard]] caf::expected<std::map<std::string, std::string>> read_room_members(
    const storage::store& store, std::string_view room_id);

/// A room's stored state with its members, from their keys or, as earlier versions
/// stored them, from the state value (`members_in_value`).
struct stored_room {
  room_state room;
  bool members_in_value = false;
};

/// The stored state of `room_id` (without authors); nullopt when the store has none.
/// errc::storage_failed when the store fails, errc::bad_request when the value is not a
/// state.
[[nodiscard]] caf::expected<std::optional<stored_room>> read_room_state(const storage::store& store,
                                                                        std::string_view room_id);

/// Column `meta`: the direct room of two users ("dm\0" lower "\0" higher -> room id), so
/// the same pair reuses its room.
std::string direct_room_key(std::string_view user_a, std::string_view user_b);

}  // namespace fedrelay::actors
