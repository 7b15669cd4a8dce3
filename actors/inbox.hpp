// The values of column `inbox`, which the journal writes and the local bridge reads: an
// event for the local server as compact JSON with its cursor, or a reference to a
// sequenced event in column room_log, which is shown as its local view when read. A room's
// messages (message.sent) are referenced, so each is stored once (in the log) and not
// twice; every other event goes whole, as the files actor reads the inbox without the
// references (local_bridge_actor's fetch_whole_atom) and acts on no message. Reading a
// reference back costs the local server's read a lookup, a parse and the view, about
// what storing the view saves (docs/PERFORMANCE.md, fourteenth round: a node whose inbox
// is read used about the same CPU per message of 256 B, one whose inbox was not read 9 %
// less, and the sender's disk per queued message fell by a third).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

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

/// The last cursor in `store`'s inbox (0 when it is empty): the last one ever given, as the
/// inbox is never trimmed.
[[nodiscard]] caf::expected<uint64_t> last_inbox_cursor(const storage::store& store);

}  // namespace fedrelay::actors
