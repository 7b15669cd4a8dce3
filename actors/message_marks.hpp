// The marks of handled messages in column `dedup`: which messages a node has handled, so
// that a copy (a chat server's retry, a peer's resend) is never handled again. A mark
// carries the time it was written and goes once it is older than storage.marks_kept_hours,
// or the column would grow with every such message for good.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "actors/journal_actor.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {

/// Column `dedup`, the same key the inbound actor checks for the message ids of all but
/// sequenced events (dedup_event_key): written with the effect of a message, so a
/// message already handled is never handled again, even when the process died between
/// the two writes. The host and a member mark a submitted event with its submit message
/// id, which makes local submissions idempotent too. The host's sequenced events get no
/// mark on a member: its room drops every seq it applied, and the inbound actor looks
/// none of them up.
std::string room_message_key(std::string_view message_id);

/// The put that marks `message_id` handled in room `room_id` (room_message_key -> the
/// room id stamped with the time now, actors/stamped_value.hpp), for the journal entry
/// that holds the message's effect.
journal_put room_message_mark(std::string_view message_id, std::string_view room_id);

/// Which entries of column `dedup` may go (storage::expiry): the marks written more than
/// `kept` before `now_ms()`. Marks of versions before, which carry no time, stay, and so
/// do the column's other entries (the Hub's tokens, receipts of still older versions).
storage::entry_expired expired_message_marks(std::chrono::milliseconds kept,
                                             std::function<int64_t()> now_ms);

}  // namespace fedrelay::actors
