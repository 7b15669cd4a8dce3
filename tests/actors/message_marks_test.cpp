// The marks of handled messages carry the time they were written, and go once they are
// older than the node keeps them; the column's other entries stay.
#include "actors/message_marks.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include "actors/request_auth.hpp"
#include "actors/stamped_value.hpp"
#include "actors/stored_receipts.hpp"
#include "actors/wall_clock.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

TEST(MessageMarksTest, AMarkNamesItsRoomAndTheTimeItWasWritten) {
  auto before = unix_ms_now();
  auto mark = room_message_mark("a.example:1", "!r:a.example");
  auto after = unix_ms_now();
  EXPECT_EQ(mark.column, static_cast<uint8_t>(storage::column::dedup));
  EXPECT_EQ(mark.key, room_message_key("a.example:1"));
  EXPECT_EQ(payload_of(mark.value), "!r:a.example");
  auto stamp = stamp_of(mark.value);
  ASSERT_TRUE(stamp.has_value());
  EXPECT_GE(static_cast<int64_t>(*stamp), before);
  EXPECT_LE(static_cast<int64_t>(*stamp), after);
}

TEST(MessageMarksTest, AMarkGoesOnceItWasWrittenLongerAgoThanItIsKept) {
  constexpr int64_t written = 1'764'075'600'123;
  int64_t now = written;
  auto expired = expired_message_marks(24h, [&now] { return now; });
  auto key = room_message_key("a.example:1");
  auto value = stamped_value("!r:a.example", written);
  EXPECT_FALSE(expired(key, value));
  now = written + std::chrono::milliseconds(24h).count();
  EXPECT_FALSE(expired(key, value));
  now += 1;
  EXPECT_TRUE(expired(key, value));
  // A clock far behind the mark (set back, or not yet set) drops nothing.
  now = 0;
  EXPECT_FALSE(expired(key, value));
}

TEST(MessageMarksTest, MarksWithoutATimeAndTheColumnsOtherEntriesStay) {
  constexpr int64_t long_after = 4'000'000'000'000;
  auto expired = expired_message_marks(1h, [] { return long_after; });
  // A mark of an earlier version is the room id alone: nothing says how old it is.
  EXPECT_FALSE(expired(room_message_key("a.example:1"), "!r:a.example"));
  // The Hub's tokens and the receipts of still older versions share the column.
  EXPECT_FALSE(expired("hub/token/abc", stamped_value("{}", 0)));
  EXPECT_FALSE(
      expired(transaction_receipt_key("a.example", "a.example:1"), stored_receipt_value("{}", 0)));
}

}  // namespace
}  // namespace fedrelay::actors
