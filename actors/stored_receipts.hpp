// How a received transaction's receipt is kept: under which key, in which form, and when it
// may go. The receiver answers a replayed transaction with it; once it has gone, a resent
// transaction is handled as one a restarted sender sends under a new id (its events are
// deduplicated by seq and by the rooms' marks), so receipts need not be kept for good.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "storage/store.hpp"

namespace fedrelay::actors {

/// The key of an applied transaction's receipt ("t\0" origin "\0" id) in column `receipts`
/// (versions before kept it in `dedup`, where it is still looked up).
std::string transaction_receipt_key(std::string_view origin, std::string_view transaction_id);

/// The stored form of `receipt` (its JSON): 8 big-endian bytes of the Unix milliseconds it
/// was stored at, then the JSON. Receipts of versions before are the JSON alone.
std::string stored_receipt_value(std::string_view receipt, int64_t stored_ms);

/// The receipt JSON of a stored value, in either form.
std::string_view receipt_of_stored(std::string_view value);

/// The receipt stored for a transaction (by transaction_receipt_key), if any, as its JSON.
[[nodiscard]] caf::expected<std::optional<std::string>> stored_receipt(
    const storage::store& store, const std::string& receipt_key);

/// Which entries of column `receipts` may go (storage::expiry): the receipts stored more
/// than `kept` before `now_ms()`, and those of versions before, which carry no time. The
/// column's other entries (the outboxes' high-water marks) stay.
storage::entry_expired expired_receipts(std::chrono::milliseconds kept,
                                        std::function<int64_t()> now_ms);

}  // namespace fedrelay::actors
