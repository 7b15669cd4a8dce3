// The values of column `inbox`, which the journal writes and the local bridge reads: an
// event for the local server as compact JSON with its cursor, or a reference to a
// sequenced event in column room_log, which is shown as its local view when read. A room's
// large events are referenced, so each is stored once (in the log) and not twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fedrelay::actors {

/// Messages (message.sent) whose wire form is at least this long go to the inbox as
/// references; every other event goes whole, as the files actor reads the inbox without
/// the references (local_bridge_actor's fetch_whole_atom). Reading
/// one back (a lookup, a parse and the local view, for the local server and again for
/// the files actor) costs more than storing a short event twice: with references for
/// every event, a receiving node's CPU per event of 256 B rose from 24-25 to 33-34 µs.
inline constexpr size_t inbox_reference_bytes = 1024;

/// `event` (a compact JSON object) with "cursor" as its first member.
std::string with_cursor(std::string_view event, uint64_t cursor);

/// The inbox value that refers to the room_log entry under `log_key`, a message.
std::string encode_inbox_reference(std::string_view log_key);

/// The room_log key an inbox value refers to; nullopt when the value is the event itself.
/// Reads the references of earlier versions too, which may refer to events of any type.
std::optional<std::string_view> inbox_reference(std::string_view value);

/// Whether the value is a reference that encode_inbox_reference wrote (to a message), and
/// not one of an earlier version.
bool is_message_reference(std::string_view value);

}  // namespace fedrelay::actors
