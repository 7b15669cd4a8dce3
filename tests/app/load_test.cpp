// The store a node opens from its settings: received transactions' receipts are kept for
// storage.receipts_kept_hours, then go at a compaction.
#include "app/load.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include "actors/describe.hpp"
#include "actors/outbox.hpp"
#include "actors/request_auth.hpp"
#include "actors/stored_receipts.hpp"
#include "storage/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::app {
namespace {

TEST(LoadTest, TheNodesStoreDropsReceiptsKeptLongerThanTheSettingsSay) {
  fedrelay::test::temp_dir dir{"fedrelay-load"};
  config::settings s;
  s.storage_dir = dir.path();
  s.storage_receipts_kept = std::chrono::hours{2};
  auto store = open_store(s);
  ASSERT_TRUE(store) << actors::describe(store.error());
  auto hours_ago = [](int hours) {
    return actors::unix_ms_now() - std::chrono::milliseconds(std::chrono::hours{hours}).count();
  };
  auto old_key = actors::transaction_receipt_key("a.example", "a.example:old");
  auto new_key = actors::transaction_receipt_key("a.example", "a.example:new");
  auto mark_key = actors::outbox_high_water_key("a.example");
  storage::write_batch batch;
  batch.put(storage::column::receipts, old_key, actors::stored_receipt_value("{}", hours_ago(3)));
  batch.put(storage::column::receipts, new_key, actors::stored_receipt_value("{}", hours_ago(1)));
  batch.put(storage::column::receipts, mark_key, storage::encode_u64(7));
  ASSERT_EQ((*store)->write(batch), caf::none);
  ASSERT_EQ((*store)->compact(storage::column::receipts), caf::none);
  auto present = [&](const std::string& key) {
    auto value = (*store)->get(storage::column::receipts, key);
    EXPECT_TRUE(value);
    return value && *value;
  };
  EXPECT_FALSE(present(old_key));
  EXPECT_TRUE(present(new_key));
  EXPECT_TRUE(present(mark_key));
}

}  // namespace
}  // namespace fedrelay::app
