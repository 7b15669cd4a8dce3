// Key encodings: byte order must be numeric order, and sequenced keys must split back
// and stay inside their prefix's range.
#include "storage/keys.hpp"

#include <algorithm>
#include <initializer_list>
#include <vector>

#include <gtest/gtest.h>

namespace fedrelay::storage {
namespace {

TEST(KeysTest, EncodeU64IsEightBigEndianBytes) {
  EXPECT_EQ(encode_u64(0), std::string(8, '\0'));
  EXPECT_EQ(encode_u64(0x0102030405060708ull), std::string("\x01\x02\x03\x04\x05\x06\x07\x08"));
  EXPECT_EQ(encode_u64(UINT64_MAX), std::string(8, '\xff'));
}

TEST(KeysTest, DecodeU64RoundTripsAndRejectsOtherLengths) {
  for (uint64_t v : std::initializer_list<uint64_t>{0, 1, 255, 256, 1ull << 63, UINT64_MAX})
    EXPECT_EQ(decode_u64(encode_u64(v)), v);
  EXPECT_EQ(decode_u64(""), std::nullopt);
  EXPECT_EQ(decode_u64(std::string(7, '\0')), std::nullopt);
  EXPECT_EQ(decode_u64(std::string(9, '\0')), std::nullopt);
}

TEST(KeysTest, EncodeU64SortsNumerically) {
  std::vector<uint64_t> values{
      0, 1, 9, 10, 255, 256, 65535, 65536, 1ull << 32, (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
  for (size_t i = 1; i < values.size(); ++i)
    EXPECT_LT(encode_u64(values[i - 1]), encode_u64(values[i])) << values[i];
  // Decimal strings would sort 10 before 9; the encoding must not.
  std::vector<std::string> keys;
  for (uint64_t v = 0; v < 1000; v += 7) keys.push_back(encode_u64(v * 37));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST(KeysTest, SequencedKeysSortBySeqWithinAPrefix) {
  EXPECT_LT(sequenced_key("b.example", 9), sequenced_key("b.example", 10));
  EXPECT_LT(sequenced_key("b.example", 255), sequenced_key("b.example", 256));
  EXPECT_EQ(sequenced_key("b.example", 1), std::string("b.example\0", 10) + encode_u64(1));
}

TEST(KeysTest, SequencedRangeHoldsExactlyItsPrefix) {
  auto begin = sequenced_begin("b.example");
  auto end = sequenced_end("b.example");
  for (uint64_t seq : std::initializer_list<uint64_t>{0, 1, 1ull << 40, UINT64_MAX}) {
    auto key = sequenced_key("b.example", seq);
    EXPECT_LE(begin, key);
    EXPECT_LT(key, end);
  }
  // Neighbouring prefixes, including one that extends this one, stay outside.
  for (auto* other : {"b.exampl", "b.example.org", "b.examplf", "a.example", "c"}) {
    auto key = sequenced_key(other, 5);
    EXPECT_TRUE(key < begin || key >= end) << other;
  }
}

TEST(KeysTest, SplitSequencedKeyRoundTrips) {
  auto key = sequenced_key("room-1@a.example", 42);  // the split views into it
  auto split = split_sequenced_key(key);
  ASSERT_TRUE(split);
  EXPECT_EQ(split->first, "room-1@a.example");
  EXPECT_EQ(split->second, 42u);
  auto bare = sequenced_key("", UINT64_MAX);
  auto empty_prefix = split_sequenced_key(bare);
  ASSERT_TRUE(empty_prefix);
  EXPECT_EQ(empty_prefix->first, "");
  EXPECT_EQ(empty_prefix->second, UINT64_MAX);
}

TEST(KeysTest, SplitSequencedKeyRejectsOtherKeys) {
  EXPECT_EQ(split_sequenced_key(""), std::nullopt);
  EXPECT_EQ(split_sequenced_key("short"), std::nullopt);
  EXPECT_EQ(split_sequenced_key("no-separator-here"), std::nullopt);
  EXPECT_EQ(split_sequenced_key("peer" + encode_u64(3)), std::nullopt);  // no '\0'
  auto with_nul_in_prefix = std::string("a\0b", 3) + sequenced_key("", 1);
  EXPECT_EQ(split_sequenced_key(with_nul_in_prefix), std::nullopt);
}

}  // namespace
}  // namespace fedrelay::storage

namespace fedrelay::storage {
namespace {

TEST(JoinedKeyTest, JoinsPartsWithNulAndKeepsEmptyParts) {
  using namespace std::string_literals;
  EXPECT_EQ(joined_key({"e", "id:a.test"}), "e\0id:a.test"s);
  EXPECT_EQ(joined_key({"ref", "f", ""}), "ref\0f\0"s);
  EXPECT_EQ(joined_key({"solo"}), "solo");
  EXPECT_EQ(joined_key({}), "");
}

}  // namespace
}  // namespace fedrelay::storage
