// storage::read_sequenced: many entries read at once, in runs of seqs or one by one.
#include "storage/sequenced_read.hpp"

#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/keys.hpp"
#include "tests/storage/store_test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::storage {
namespace {

using testing::is;

class SequencedReadTest : public ::testing::Test {
 protected:
  void SetUp() override { s_ = open(); }

  std::unique_ptr<store> open(store_options opts = {}) {
    auto s = store::open(dir_.path(), std::move(opts));
    EXPECT_TRUE(s) << caf::to_string(s.error());
    return s ? std::move(*s) : nullptr;
  }

  /// What read_sequenced found for each key, by index; the count of calls per index too.
  std::map<size_t, std::vector<std::string>> read(const store& s,
                                                  const std::vector<std::string>& keys,
                                                  caf::error* err = nullptr) {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    std::map<size_t, std::vector<std::string>> found;
    auto e = read_sequenced(s, column::room_log, views, [&](size_t i, std::string_view value) {
      found[i].emplace_back(value);
    });
    if (err != nullptr)
      *err = std::move(e);
    else
      EXPECT_FALSE(e) << caf::to_string(e);
    return found;
  }

  test::temp_dir dir_;
  std::unique_ptr<store> s_;
};

TEST_F(SequencedReadTest, FindsEveryStoredKeyOnceForEachTimeItIsAskedFor) {
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  write_batch batch;
  auto value_of = [](const std::string& prefix, uint64_t seq) {
    return prefix + "#" + std::to_string(seq);
  };
  // Two prefixes, one the start of the other; seqs up to the largest; a plain key.
  for (uint64_t seq : {1, 2, 3, 5, 6, 9})
    batch.put(column::room_log, sequenced_key("r", seq), value_of("r", seq));
  for (uint64_t seq : {uint64_t{2}, uint64_t{3}, max - 1, max})
    batch.put(column::room_log, sequenced_key("r2", seq), value_of("r2", seq));
  batch.put(column::room_log, "plain", "plain value");
  ASSERT_FALSE(s_->write(batch));
  std::vector<std::pair<std::string, uint64_t>> asked{
      {"r", 3}, {"r2", 2}, {"r", 1},  {"r", 4}, {"r", 2},        {"r2", max}, {"r", 5},
      {"r", 5}, {"r", 9},  {"r2", 3}, {"r", 6}, {"r2", max - 1}, {"r3", 1}};
  std::vector<std::string> keys;
  for (const auto& [prefix, seq] : asked) keys.push_back(sequenced_key(prefix, seq));
  keys.push_back("plain");
  keys.push_back("missing plain");
  auto found = read(*s_, keys);
  for (size_t i = 0; i < asked.size(); ++i) {
    const auto& [prefix, seq] = asked[i];
    bool stored = !(prefix == "r" && seq == 4) && prefix != "r3";
    if (!stored) {
      EXPECT_EQ(found.count(i), 0u) << prefix << " " << seq;
      continue;
    }
    EXPECT_EQ(found[i], std::vector<std::string>{value_of(prefix, seq)}) << prefix << " " << seq;
  }
  EXPECT_EQ(found[asked.size()], std::vector<std::string>{"plain value"});
  EXPECT_EQ(found.count(asked.size() + 1), 0u);
  EXPECT_TRUE(read(*s_, {}).empty());
}

TEST_F(SequencedReadTest, ShortRunsAmongManyAreLookedUpInOneBatchAndTheOthersScanned) {
  // Room r: seqs 1-200 stored but 150; r2: 1-10; a plain key.
  write_batch batch;
  for (uint64_t seq = 1; seq <= 200; ++seq)
    if (seq != 150)
      batch.put(column::room_log, sequenced_key("r", seq), "r#" + std::to_string(seq));
  for (uint64_t seq = 1; seq <= 10; ++seq)
    batch.put(column::room_log, sequenced_key("r2", seq), "r2#" + std::to_string(seq));
  batch.put(column::room_log, "plain", "plain value");
  ASSERT_FALSE(s_->write(batch));
  s_.reset();
  auto reads = std::make_shared<int>(0);
  store_options opts;
  opts.fail_reads = [reads](column c) {
    if (c == column::room_log) ++*reads;
    return false;
  };
  auto counted = open(std::move(opts));
  ASSERT_TRUE(counted);
  std::vector<std::string> keys;
  std::vector<std::string> expected;  // "" where nothing is stored
  auto ask = [&](const std::string& prefix, uint64_t seq, bool stored) {
    keys.push_back(sequenced_key(prefix, seq));
    expected.push_back(stored ? prefix + "#" + std::to_string(seq) : "");
  };
  auto check = [&](int reads_expected) {
    keys.push_back("plain");
    expected.push_back("plain value");
    *reads = 0;
    auto found = read(*counted, keys);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (expected[i].empty())
        EXPECT_EQ(found.count(i), 0u) << i;
      else
        EXPECT_EQ(found[i], std::vector<std::string>{expected[i]}) << i;
    }
    EXPECT_EQ(*reads, reads_expected);
    keys.clear();
    expected.clear();
  };
  // Six runs: r's 100-199 (150 missing, 120 asked twice), 7-9, 11, 20-22 and 30-31, and
  // r2's 1-63, past what is stored. One scan (the run of 100 seqs) and one batched lookup
  // for the rest.
  for (uint64_t seq = 100; seq <= 199; ++seq) ask("r", seq, seq != 150);
  ask("r", 120, true);
  for (uint64_t seq : {7, 8, 9, 11, 20, 21, 22, 30, 31}) ask("r", seq, true);
  for (uint64_t seq = 1; seq <= 63; ++seq) ask("r2", seq, seq <= 10);
  check(2);
  // Two short runs and a lone key: each run scanned, the lone key and the plain one in a
  // batch.
  for (uint64_t seq : {7, 8, 9, 20, 21, 22, 40}) ask("r", seq, true);
  check(3);
}

TEST_F(SequencedReadTest, AReadErrorOfALookupOrAScanIsReturned) {
  write_batch batch;
  for (uint64_t seq = 1; seq <= 3; ++seq) batch.put(column::room_log, sequenced_key("r", seq), "v");
  ASSERT_FALSE(s_->write(batch));
  s_.reset();
  store_options opts;
  opts.fail_reads = [](column c) { return c == column::room_log; };
  auto failing = open(std::move(opts));
  ASSERT_TRUE(failing);
  std::vector<std::string> long_run;
  for (uint64_t seq = 1; seq <= 64; ++seq) long_run.push_back(sequenced_key("r", seq));
  for (uint64_t seq = 70; seq <= 80; seq += 2) long_run.push_back(sequenced_key("r", seq));
  for (const auto& keys : std::vector<std::vector<std::string>>{
           {sequenced_key("r", 3)},                         // a batched lookup
           {sequenced_key("r", 1), sequenced_key("r", 2)},  // a scan
           long_run,                                        // a scan and a batch
           {"plain"}}) {
    caf::error err;
    read(*failing, keys, &err);
    EXPECT_TRUE(is(err, errc::read_failed)) << caf::to_string(err);
  }
}

}  // namespace
}  // namespace fedrelay::storage
