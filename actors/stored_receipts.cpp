#include "actors/stored_receipts.hpp"

#include <utility>

#include "actors/stamped_value.hpp"
#include "storage/keys.hpp"

namespace fedrelay::actors {
namespace {

constexpr std::string_view receipt_prefix{"t\0", 2};

}  // namespace

std::string transaction_receipt_key(std::string_view origin, std::string_view transaction_id) {
  return storage::joined_key({"t", origin, transaction_id});
}

std::string stored_receipt_value(std::string_view receipt, int64_t stored_ms) {
  return stamped_value(receipt, stored_ms);
}

std::string_view receipt_of_stored(std::string_view value) {
  return payload_of(value);
}

caf::expected<std::optional<std::string>> stored_receipt(const storage::store& store,
                                                         const std::string& receipt_key) {
  // Earlier versions kept receipts among the event marks in column `dedup`, where their
  // keys (random ids until then) made every compaction of that column rewrite it whole.
  auto stored = store.get(storage::column::receipts, receipt_key);
  if (stored && !*stored) stored = store.get(storage::column::dedup, receipt_key);
  if (stored && *stored) **stored = std::string{receipt_of_stored(**stored)};
  return stored;
}

storage::entry_expired expired_receipts(std::chrono::milliseconds kept,
                                        std::function<int64_t()> now_ms) {
  return [kept = kept.count(), now_ms = std::move(now_ms)](std::string_view key,
                                                           std::string_view value) {
    if (key.substr(0, receipt_prefix.size()) != receipt_prefix) return false;
    auto stored = stamp_of(value);
    return !stored || stored_longer_ago_than(*stored, kept, now_ms());
  };
}

}  // namespace fedrelay::actors
