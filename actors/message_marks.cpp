#include "actors/message_marks.hpp"

#include <utility>

#include "actors/inbound_actor.hpp"
#include "actors/request_auth.hpp"
#include "actors/stamped_value.hpp"
#include "actors/wall_clock.hpp"

namespace fedrelay::actors {

std::string room_message_key(std::string_view message_id) {
  return dedup_event_key(message_id);
}

journal_put room_message_mark(std::string_view message_id, std::string_view room_id) {
  return journal_put{static_cast<uint8_t>(storage::column::dedup), room_message_key(message_id),
                     stamped_value(room_id, unix_ms_now())};
}

storage::entry_expired expired_message_marks(std::chrono::milliseconds kept,
                                             std::function<int64_t()> now_ms) {
  return [prefix = dedup_event_key(""), kept = kept.count(), now_ms = std::move(now_ms)](
             std::string_view key, std::string_view value) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    auto stored = stamp_of(value);
    return stored && stored_longer_ago_than(*stored, kept, now_ms());
  };
}

}  // namespace fedrelay::actors
