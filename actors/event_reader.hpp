// Room events read straight from simdjson's DOM into room_event: each event a member is
// sent in a run (the room's on_event_run) and each event parse_event reads. Building
// nlohmann's document of the whole message first, then the event from it, was about an
// eighth of a receiving node's samples in a drain. Only events decode_event accepts, and
// whose values both parsers read alike, are taken here; anything else goes nlohmann's way
// (parse_json, decode_event), which gives the same result and the error naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "actors/room_event.hpp"

namespace fedrelay::actors {

/// What a room message ({"kind", "id", "event", ...}) holds for a room that applies it.
struct room_message {
  std::string kind;                                // "" when it is not a string
  std::string id;                                  // "" when it is not a string
  std::optional<caf::expected<room_event>> event;  // nullopt: the message has no "event"
  // The event's own text within the message, when the message is {"event":...,"id":"...",
  // "kind":"..."} exactly as the sender's envelope writes it (nothing else, no spaces, id
  // and kind without escapes), so where the event's text ends is certain; empty otherwise.
  std::string_view event_text;
};

/// As parse_json(text) then string_at(doc, "kind"), string_at(doc, "id") and
/// decode_event(doc["event"]) when there is one (nothing for text that is no object).
room_message read_room_message(std::string_view text);

/// The event parse_event(text) gives, read straight from simdjson; nullopt where
/// parse_event takes nlohmann's way (text it refuses, or values the parsers might read
/// differently).
std::optional<room_event> read_event(std::string_view text);

/// A catch-up reply, a JSON array of events as the host's log holds them: nullopt when the
/// text is not a JSON array, else decode_event of each element, in order. Read straight
/// from simdjson's DOM; the nlohmann way (parse_json, then decode_event of each) for the
/// whole text as soon as one element needs it.
std::optional<std::vector<caf::expected<room_event>>> read_event_array(std::string_view text);

/// with_cursor(local_view_text(e, own), cursor) for the message.sent event `e` that
/// parse_event(text) gives, written straight from simdjson's DOM without making the event:
/// the inbox shows every message so, from its room log entry. nullopt for other events,
/// for text parse_event refuses, and for content holding more than strings in order (keys
/// as encode_event writes them); parse_event and local_view_text show those.
std::optional<std::string> read_message_view(std::string_view text, std::string_view own,
                                             uint64_t cursor);

}  // namespace fedrelay::actors
