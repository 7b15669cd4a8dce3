#include "actors/stored_receipts.hpp"

#include <algorithm>
#include <utility>

#include "storage/keys.hpp"

namespace fedrelay::actors {
namespace {

constexpr std::string_view receipt_prefix{"t\0", 2};
constexpr size_t time_bytes = sizeof(uint64_t);

// A receipt's JSON opens with '{'; the time before it opens with a zero byte for the next
// two million years, so the two forms never look alike.
bool carries_time(std::string_view value) {
  return value.size() > time_bytes && value.front() == '\0';
}

}  // namespace

std::string transaction_receipt_key(std::string_view origin, std::string_view transaction_id) {
  return storage::joined_key({"t", origin, transaction_id});
}

std::string stored_receipt_value(std::string_view receipt, int64_t stored_ms) {
  auto value = storage::encode_u64(static_cast<uint64_t>(std::max<int64_t>(stored_ms, 0)));
  value.append(receipt);
  return value;
}

std::string_view receipt_of_stored(std::string_view value) {
  return carries_time(value) ? value.substr(time_bytes) : value;
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
    if (!carries_time(value)) return true;
    auto stored = storage::decode_u64(value.substr(0, time_bytes)).value_or(0);
    auto now = now_ms();
    return now > kept && stored < static_cast<uint64_t>(now - kept);
  };
}

}  // namespace fedrelay::actors
