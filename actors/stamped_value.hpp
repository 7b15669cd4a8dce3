// A stored value that opens with the time it was stored at, so that a compaction filter
// (storage::expiry) can drop it once a node has kept it long enough. Used by the columns
// that would otherwise only grow: the receipts of received transactions and the marks of
// handled messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fedrelay::actors {

/// 8 big-endian bytes of the Unix milliseconds `stored_ms` (0 when negative), then
/// `payload`.
std::string stamped_value(std::string_view payload, int64_t stored_ms);

/// When a stamped value was stored; nullopt for a value stored without the stamp. The
/// stamp opens with a zero byte for the next two million years, and the payloads stored
/// without it (JSON, room ids) never do, so the two forms never look alike.
std::optional<uint64_t> stamp_of(std::string_view value);

/// The payload of a value in either form.
std::string_view payload_of(std::string_view value);

/// Whether a value stamped `stored_ms` was stored more than `kept_ms` before `now_ms`. A
/// clock behind the stamp (set back, or not yet set) finds nothing old.
bool stored_longer_ago_than(uint64_t stored_ms, int64_t kept_ms, int64_t now_ms);

}  // namespace fedrelay::actors
