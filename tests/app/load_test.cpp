// The store a node opens from its settings: received transactions' receipts are kept for
// storage.receipts_kept_hours, then go at a compaction; its memtables are of the size its
// domain picks.
#include "app/load.hpp"

#include <chrono>
#include <filesystem>
#include <string>

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

TEST(LoadTest, TheNodesMemtablesAreOfTheSizeItsDomainPicks) {
  fedrelay::test::temp_dir dir{"fedrelay-load"};
  config::settings s;
  s.storage_dir = dir.path();
  s.domain = "b.test";
  const auto bytes = storage::memtable_bytes_for(s.domain);
  ASSERT_NE(bytes, storage::memtable_bytes);
  { ASSERT_TRUE(open_store(s)); }
  // RocksDB writes the options it opened with into OPTIONS-<number>, one section a column.
  std::string options;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() + "/db"))
    if (entry.path().filename().string().rfind("OPTIONS-", 0) == 0)
      options = fedrelay::test::read_file(entry.path().string());
  ASSERT_FALSE(options.empty());
  const std::string setting = "write_buffer_size=" + std::to_string(bytes) + "\n";
  size_t columns = 0;
  for (auto at = options.find(setting); at != std::string::npos; at = options.find(setting, at + 1))
    ++columns;
  EXPECT_EQ(columns, storage::column_count);
}

}  // namespace
}  // namespace fedrelay::app
