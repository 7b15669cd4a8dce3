// The stored form of a received transaction's receipt and which receipts may go.
#include "actors/stored_receipts.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include "actors/outbox.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

constexpr int64_t stored_at = 1'764'075'600'123;
constexpr std::string_view receipt_json =
    R"({"results":[],"transaction_id":"a.example:1","version":1})";

TEST(StoredReceiptsTest, TheStoredFormCarriesItsTimeAndGivesTheReceiptBack) {
  auto value = stored_receipt_value(receipt_json, stored_at);
  EXPECT_EQ(value.size(), receipt_json.size() + 8);
  EXPECT_EQ(value.front(), '\0');
  EXPECT_EQ(receipt_of_stored(value), receipt_json);
  // A receipt an earlier version stored is its JSON alone.
  EXPECT_EQ(receipt_of_stored(receipt_json), receipt_json);
}

TEST(StoredReceiptsTest, AReceiptGoesOnceItWasStoredLongerAgoThanItIsKept) {
  int64_t now = stored_at;
  auto expired = expired_receipts(1h, [&now] { return now; });
  auto key = transaction_receipt_key("a.example", "a.example:1");
  auto value = stored_receipt_value(receipt_json, stored_at);
  EXPECT_FALSE(expired(key, value));
  now = stored_at + std::chrono::milliseconds(1h).count();
  EXPECT_FALSE(expired(key, value));
  now += 1;
  EXPECT_TRUE(expired(key, value));
  // A clock far behind the stored time (set back, or not yet set) drops nothing.
  now = 0;
  EXPECT_FALSE(expired(key, value));
  now = -5;
  EXPECT_FALSE(expired(key, value));
}

TEST(StoredReceiptsTest, ReceiptsOfEarlierVersionsGoAndTheColumnsOtherEntriesStay) {
  auto expired = expired_receipts(1h, [] { return stored_at + 10 * 3'600'000; });
  EXPECT_TRUE(expired(transaction_receipt_key("a.example", "a.example:1"), receipt_json));
  // The outboxes' high-water marks share the column and never go, however old.
  EXPECT_FALSE(expired(outbox_high_water_key("b.example"), std::string(8, '\0')));
  EXPECT_FALSE(expired("tx", stored_receipt_value(receipt_json, 0)));
}

}  // namespace
}  // namespace fedrelay::actors
