// The store a node opens from its settings: received transactions' receipts are kept for
// storage.receipts_kept_hours and the marks of handled messages for storage.marks_kept_hours,
// then go at a compaction; its memtables are of the size its domain picks.
#include "app/load.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "actors/describe.hpp"
#include "actors/message_marks.hpp"
#include "actors/outbox.hpp"
#include "actors/request_auth.hpp"
#include "actors/stamped_value.hpp"
#include "actors/stored_receipts.hpp"
#include "actors/wall_clock.hpp"
#include "storage/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::app {
namespace {

// RocksDB writes the options it opened with into OPTIONS-<number>, one section a column.
std::string options_file_of(const std::string& storage_dir) {
  std::string options;
  for (const auto& entry : std::filesystem::directory_iterator(storage_dir + "/db"))
    if (entry.path().filename().string().rfind("OPTIONS-", 0) == 0)
      options = fedrelay::test::read_file(entry.path().string());
  return options;
}

int64_t hours_ago(int hours) {
  return actors::unix_ms_now() - std::chrono::milliseconds(std::chrono::hours{hours}).count();
}

// Writes `entries` into column `c` of the store `s` opens, compacts that column, and tells
// which of the keys are still there.
std::vector<bool> present_after_compaction(
    const config::settings& s, storage::column c,
    const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<bool> present;
  auto store = open_store(s);
  EXPECT_TRUE(store) << actors::describe(store.error());
  if (!store) return present;
  storage::write_batch batch;
  for (const auto& [key, value] : entries) batch.put(c, key, value);
  EXPECT_EQ((*store)->write(batch), caf::none);
  EXPECT_EQ((*store)->compact(c), caf::none);
  for (const auto& entry : entries) {
    auto value = (*store)->get(c, entry.first);
    EXPECT_TRUE(value);
    present.push_back(value && *value);
  }
  return present;
}

TEST(LoadTest, TheNodesStoreDropsReceiptsKeptLongerThanTheSettingsSay) {
  fedrelay::test::temp_dir dir{"fedrelay-load"};
  config::settings s;
  s.storage_dir = dir.path();
  s.storage_receipts_kept = std::chrono::hours{2};
  auto present = present_after_compaction(
      s, storage::column::receipts,
      {{actors::transaction_receipt_key("a.example", "a.example:old"),
        actors::stored_receipt_value("{}", hours_ago(3))},
       {actors::transaction_receipt_key("a.example", "a.example:new"),
        actors::stored_receipt_value("{}", hours_ago(1))},
       {actors::outbox_high_water_key("a.example"), storage::encode_u64(7)}});
  EXPECT_EQ(present, (std::vector<bool>{false, true, true}));
}

TEST(LoadTest, TheNodesStoreDropsMarksOfHandledMessagesKeptLongerThanTheSettingsSay) {
  fedrelay::test::temp_dir dir{"fedrelay-load"};
  config::settings s;
  s.storage_dir = dir.path();
  s.storage_marks_kept = std::chrono::hours{2};
  const std::string room = "!r:a.example";
  auto just_written = actors::room_message_mark("a.example:now", room);
  auto present = present_after_compaction(
      s, storage::column::dedup,
      {{actors::room_message_key("a.example:old"), actors::stamped_value(room, hours_ago(3))},
       {actors::room_message_key("a.example:new"), actors::stamped_value(room, hours_ago(1))},
       {just_written.key, just_written.value},
       // A mark of an earlier version carries no time; the Hub's tokens share the column.
       {actors::room_message_key("a.example:earlier"), room},
       {"hub/token/abc", actors::stamped_value("{}", hours_ago(3))}});
  EXPECT_EQ(present, (std::vector<bool>{false, true, true, true, true}));
}

// Receipts' files are revisited daily; marks, kept for weeks, every quarter of that.
TEST(LoadTest, MarksAreRevisitedLessOftenThanReceipts) {
  fedrelay::test::temp_dir dir{"fedrelay-load"};
  config::settings s;
  s.storage_dir = dir.path();
  s.storage_marks_kept = std::chrono::hours{720};
  { ASSERT_TRUE(open_store(s)); }
  auto options = options_file_of(dir.path());
  // The value of `name` in the [CFOptions "column"] section.
  auto setting = [&](const std::string& column, const std::string& name) {
    auto section = options.find("[CFOptions \"" + column + "\"]");
    if (section == std::string::npos) return std::string{};
    auto end = options.find("\n[", section + 1);
    auto at = options.find("\n  " + name + "=", section);
    if (at == std::string::npos || at > end) return std::string{};
    at += name.size() + 4;
    return options.substr(at, options.find('\n', at) - at);
  };
  EXPECT_EQ(setting("receipts", "periodic_compaction_seconds"), "86400");
  EXPECT_EQ(setting("dedup", "periodic_compaction_seconds"), std::to_string(180 * 3600));
}

TEST(LoadTest, TheNodesMemtablesAreOfTheSizeItsDomainPicks) {
  fedrelay::test::temp_dir dir{"fedrelay-load"};
  config::settings s;
  s.storage_dir = dir.path();
  s.domain = "b.test";
  const auto bytes = storage::memtable_bytes_for(s.domain);
  ASSERT_NE(bytes, storage::memtable_bytes);
  { ASSERT_TRUE(open_store(s)); }
  auto options = options_file_of(dir.path());
  ASSERT_FALSE(options.empty());
  const std::string setting = "write_buffer_size=" + std::to_string(bytes) + "\n";
  size_t columns = 0;
  for (auto at = options.find(setting); at != std::string::npos; at = options.find(setting, at + 1))
    ++columns;
  EXPECT_EQ(columns, storage::column_count);
}

}  // namespace
}  // namespace fedrelay::app
