#include "actors/stamped_value.hpp"

#include <algorithm>

#include "storage/keys.hpp"

namespace fedrelay::actors {
namespace {

constexpr size_t stamp_bytes = sizeof(uint64_t);

// An empty payload is a stamp alone, and still goes when it is old.
bool carries_stamp(std::string_view value) {
  return value.size() >= stamp_bytes && value.front() == '\0';
}

}  // namespace

std::string stamped_value(std::string_view payload, int64_t stored_ms) {
  auto value = storage::encode_u64(static_cast<uint64_t>(std::max<int64_t>(stored_ms, 0)));
  value.append(payload);
  return value;
}

std::optional<uint64_t> stamp_of(std::string_view value) {
  if (!carries_stamp(value)) return std::nullopt;
  return storage::decode_u64(value.substr(0, stamp_bytes));
}

std::string_view payload_of(std::string_view value) {
  return carries_stamp(value) ? value.substr(stamp_bytes) : value;
}

bool stored_longer_ago_than(uint64_t stored_ms, int64_t kept_ms, int64_t now_ms) {
  return now_ms > kept_ms && stored_ms < static_cast<uint64_t>(now_ms - kept_ms);
}

}  // namespace fedrelay::actors
