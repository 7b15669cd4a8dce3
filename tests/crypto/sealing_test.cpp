// Sealing between two nodes: round trips in both directions, and every kind of bad box
// (tampered, truncated, empty, wrong key) failing with errc::open_failed.
#include "crypto/sealing.hpp"

#include <gtest/gtest.h>

#include "tests/crypto/test_util.hpp"

namespace fedrelay::crypto {
namespace {

using test::is;

box_key derive_or_fail(const identity& self, const public_key& peer) {
  auto key = box_key::derive(self, peer);
  if (!key) throw std::runtime_error("derive failed: " + to_string(key.error()));
  return *key;
}

class SealingTest : public ::testing::Test {
 protected:
  identity a_ = identity::generate();
  identity b_ = identity::generate();
  box_key a_to_b_ = derive_or_fail(a_, b_.public_key());
  box_key b_to_a_ = derive_or_fail(b_, a_.public_key());
};

TEST_F(SealingTest, RoundTripBothDirections) {
  const std::string from_a = "{\"events\":[{\"type\":\"message\",\"text\":\"hi b\"}]}";
  auto sealed = a_to_b_.seal(from_a);
  auto opened = b_to_a_.open(sealed);
  ASSERT_TRUE(opened) << to_string(opened.error());
  EXPECT_EQ(*opened, from_a);

  const std::string from_b = "receipt: accepted 1";
  auto reply = b_to_a_.seal(from_b);
  auto reply_opened = a_to_b_.open(reply);
  ASSERT_TRUE(reply_opened) << to_string(reply_opened.error());
  EXPECT_EQ(*reply_opened, from_b);
}

TEST_F(SealingTest, EmptyAndLargePlaintexts) {
  auto empty = a_to_b_.seal("");
  EXPECT_EQ(empty.size(), box_key::overhead);
  auto opened = b_to_a_.open(empty);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "");

  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  auto opened_big = b_to_a_.open(a_to_b_.seal(big));
  ASSERT_TRUE(opened_big);
  EXPECT_EQ(*opened_big, big);
}

TEST_F(SealingTest, ABufferSealedInPlaceOpensLikeASealedCopy) {
  const std::string text = "{\"events\":[{\"type\":\"message.sent\"}]}";
  std::string buffer(box_key::overhead, 'x');  // whatever the front held is overwritten
  buffer += text;
  a_to_b_.seal_in_place(buffer);
  EXPECT_EQ(buffer.size(), text.size() + box_key::overhead);
  EXPECT_EQ(buffer.find("events"), std::string::npos) << "the plaintext shows through";
  auto opened = b_to_a_.open(buffer);
  ASSERT_TRUE(opened) << to_string(opened.error());
  EXPECT_EQ(*opened, text);

  std::string empty(box_key::overhead, '\0');
  a_to_b_.seal_in_place(empty);
  auto opened_empty = b_to_a_.open(empty);
  ASSERT_TRUE(opened_empty);
  EXPECT_EQ(*opened_empty, "");
}

TEST_F(SealingTest, AnOpenedTextHasTheRoomAskedForPastItsEnd) {
  for (size_t size : {size_t{0}, size_t{17}, size_t{1} << 20}) {
    std::string text(size, 'q');
    auto sealed = a_to_b_.seal(text);
    auto opened = b_to_a_.open(sealed, 64);
    ASSERT_TRUE(opened) << to_string(opened.error());
    EXPECT_EQ(*opened, text);
    EXPECT_GE(opened->capacity(), size + 64);
  }
}

TEST_F(SealingTest, EachSealHasTheOverheadAndAFreshNonce) {
  auto one = a_to_b_.seal("same text");
  auto two = a_to_b_.seal("same text");
  EXPECT_EQ(one.size(), 9 + box_key::overhead);
  EXPECT_NE(one.substr(0, 24), two.substr(0, 24));
  EXPECT_NE(one, two);
  EXPECT_EQ(one.find("same text"), std::string::npos) << "the plaintext shows through";
}

TEST_F(SealingTest, EveryTamperedByteFails) {
  auto sealed = a_to_b_.seal("a short message of some 40 bytes length");
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto tampered = sealed;
    tampered[i] ^= 0x01;
    auto res = b_to_a_.open(tampered);
    ASSERT_FALSE(res) << "byte " << i;
    EXPECT_TRUE(is(res.error(), errc::open_failed)) << "byte " << i;
  }
}

TEST_F(SealingTest, EveryTruncationFails) {
  auto sealed = a_to_b_.seal("twenty bytes of text");
  for (size_t len = 0; len < sealed.size(); ++len) {
    auto res = b_to_a_.open(std::string_view{sealed}.substr(0, len));
    ASSERT_FALSE(res) << "length " << len;
    EXPECT_TRUE(is(res.error(), errc::open_failed)) << "length " << len;
  }
  auto extended = b_to_a_.open(sealed + "x");
  ASSERT_FALSE(extended);
  EXPECT_TRUE(is(extended.error(), errc::open_failed));
}

TEST_F(SealingTest, EmptyBoxFails) {
  auto res = b_to_a_.open("");
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::open_failed));
  auto zeros = b_to_a_.open(std::string(box_key::overhead + 16, '\0'));
  ASSERT_FALSE(zeros);
  EXPECT_TRUE(is(zeros.error(), errc::open_failed));
}

TEST_F(SealingTest, WrongKeysFail) {
  auto sealed = a_to_b_.seal("for b only");
  auto c = identity::generate();
  // c knows a's public key, but not b's secret.
  auto c_to_a = derive_or_fail(c, a_.public_key());
  auto res = c_to_a.open(sealed);
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::open_failed));
  // b expecting the box from c does not accept one from a.
  auto b_to_c = derive_or_fail(b_, c.public_key());
  auto res2 = b_to_c.open(sealed);
  ASSERT_FALSE(res2);
  EXPECT_TRUE(is(res2.error(), errc::open_failed));
  // a cannot read back a box sealed to itself under another peer's key.
  auto a_to_c = derive_or_fail(a_, c.public_key());
  EXPECT_TRUE(is(a_to_c.open(sealed).error(), errc::open_failed));
}

TEST_F(SealingTest, CopiesSealAndOpenAlike) {
  box_key copy = a_to_b_;
  EXPECT_EQ(*b_to_a_.open(copy.seal("via copy")), "via copy");
  box_key assigned = b_to_a_;
  assigned = a_to_b_;
  EXPECT_EQ(*b_to_a_.open(assigned.seal("via assignment")), "via assignment");
}

TEST(SealingDeriveTest, RejectsInvalidPeerKeys) {
  auto self = identity::generate();
  public_key zero{};
  auto res = box_key::derive(self, zero);
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::bad_key));
  // The identity element (y = 1) has small order too.
  public_key identity_point{};
  identity_point[0] = 1;
  auto res2 = box_key::derive(self, identity_point);
  ASSERT_FALSE(res2);
  EXPECT_TRUE(is(res2.error(), errc::bad_key));
}

TEST(SealingDeriveTest, KnownKeysAgreeAcrossDerivations) {
  auto a = identity::from_seed(test::array_from_hex<32>(test::rfc8032_seed_hex));
  auto b = identity::generate();
  auto first = derive_or_fail(a, b.public_key());
  auto again = derive_or_fail(identity::from_seed(test::array_from_hex<32>(test::rfc8032_seed_hex)),
                              b.public_key());
  EXPECT_EQ(*derive_or_fail(b, a.public_key()).open(first.seal("x")), "x");
  EXPECT_EQ(*first.open(again.seal("y")), "y");
}

}  // namespace
}  // namespace fedrelay::crypto
