// The state of one room as a pure state machine (DESIGN.md section 3): `validate` decides
// whether an event may happen at this point of the room's life, `apply` makes it happen.
// No I/O and no actors, so every rule is tested on its own.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/room_event.hpp"

namespace fedrelay::actors {

struct room_state {
  std::string room_id;
  std::string name;
  std::string type;  // "public", "private", "broadcast" or "direct"; empty: not created
  std::string host;  // the domain of the room id
  std::map<std::string, std::string> members;  // "name@domain" -> "owner"|"moderator"|"member"
  /// Domain -> how many of `members` are there. Kept with `members` by apply and
  /// decode_state, the only places that change them: every sequenced event goes to these
  /// domains, and walking a room of thousands of members for each event would cost more
  /// than the event.
  std::map<std::string, uint32_t, std::less<>> members_per_domain;
  std::set<std::string> muted;  // members who may not post
  bool deleted = false;
  uint64_t last_seq = 0;  // the seq of the last event applied
  /// Message and file events -> their author, for edit, delete and reactions; "" marks a
  /// deleted message. On its own (tests, snapshots) it holds every message of the room. A
  /// room actor keeps here only the authors whose append is still in flight and finds the
  /// others in the store (author_lookup), so memory does not grow with the room's history.
  /// Unordered: a room actor adds and removes an id here for every message it writes.
  std::unordered_map<std::string, std::string> authors;
  /// False on a member whose state came from the host with the most recent authors only
  /// (a room.state snapshot names at most max_snapshot_authors): validate then leaves an
  /// event about a message it knows nothing of to the host instead of refusing it.
  bool authors_complete = true;

  bool created() const { return !type.empty(); }
};

/// Whether `e` may happen now, checked by the host against the state at that point; the
/// same rules give a member its quick local refusal. errc::rejected with the reason for
/// people ("not a member", "user is muted", "room deleted", ...).
/// The stored author of a message or file event ("" once deleted), or nullopt when the
/// store has none; consulted for ids that room_state::authors does not hold.
using author_lookup = std::function<std::optional<std::string>(const std::string& event_id)>;

[[nodiscard]] caf::error validate(const room_state& s, const room_event& e,
                                  const author_lookup& stored = {});

/// Applies `e` and, when it is sequenced, moves last_seq to e.seq.
/// REQUIRES: validate(s, e) passed here or at the host.
void apply(room_state& s, const room_event& e);

/// Whether applying an event of this type changes the stored state value (the rooms
/// column's room id key). Messages, reactions, receipts and notifications only move
/// last_seq and the authors, which live under their own keys and in the log, so the state
/// value is not rewritten for them: a room with millions of messages would otherwise
/// write its member list once per message. Loading takes last_seq from the log.
bool changes_stored_state(event_type type);

/// The users whose membership or role applying `e` changes (none for most events).
std::vector<std::string> members_changed_by(const room_event& e);

/// Whether at least one member is on `domain`.
bool has_members_on(const room_state& s, std::string_view domain);

/// The most authors a room.state snapshot names (the most recent, in event id order):
/// a room of a million messages would otherwise send a newcomer tens of MB in one event,
/// more than a receiver takes in one request (limits.max_body_bytes), and its queue to
/// that server would stall.
inline constexpr size_t max_snapshot_authors = 10000;

/// The room as JSON: {"room_id","name","type","host","members":{user:role},"muted":[...],
/// "deleted","last_seq"}, "authors_complete":false when so, and, when `with_authors`,
/// "authors":{event id:user}. Without `with_members` it has no "members" (a room actor
/// stores each member under a key of its own, so a join does not rewrite the list).
nlohmann::json encode_state(const room_state& s, bool with_authors, bool with_members = true);

/// Reads what encode_state wrote (authors when present). errc::bad_request naming the
/// field that is wrong.
[[nodiscard]] caf::expected<room_state> decode_state(const nlohmann::json& doc);

/// rooms.info for the local server: encode_state without authors, users in the local
/// API's form ("name" for users of `own`, "name@domain" for the others).
nlohmann::json info_view(const room_state& s, std::string_view own);

}  // namespace fedrelay::actors
