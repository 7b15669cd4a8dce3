// Group signatures: every message of groups of every size up to 40 verifies alone with its
// proof and the text form; any change to a message, a proof, the key or the text fails.
#include "crypto/batch_signature.hpp"

#include <gtest/gtest.h>

#include "crypto/errc.hpp"
#include "tests/crypto/test_util.hpp"

namespace fedrelay::crypto {
namespace {

using test::is;

std::vector<std::string> messages(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back("message " + std::to_string(i));
  return out;
}

TEST(BatchSignatureTest, EveryMessageOfGroupsOfAnySizeVerifiesAloneThroughItsText) {
  auto id = identity::generate();
  for (size_t n = 1; n <= 40; ++n) {
    auto msgs = messages(n);
    auto proofs = sign_batch(id, msgs);
    ASSERT_EQ(proofs.size(), n);
    auto texts = to_strings(proofs);
    ASSERT_EQ(texts.size(), n);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(proofs[i].index, i);
      EXPECT_EQ(proofs[i].count, n);
      auto text = to_string(proofs[i]);
      EXPECT_EQ(texts[i], text);
      EXPECT_TRUE(is_batch_proof(text)) << text;
      auto back = parse_batch_proof(text);
      ASSERT_TRUE(back) << text;
      EXPECT_EQ(back->path, proofs[i].path);
      EXPECT_EQ(verify_batch(id.public_key(), msgs[i], *back), caf::none) << n << " " << i;
      // The audit path of a tree of n leaves has at most ceil(log2 n) hashes.
      size_t depth = 0;
      while ((size_t{1} << depth) < n) ++depth;
      EXPECT_LE(proofs[i].path.size(), depth) << n << " " << i;
    }
  }
}

TEST(BatchSignatureTest, TheTextsOfProofsFromTwoGroupsEachCarryTheirOwnSignature) {
  auto id = identity::generate();
  auto first = sign_batch(id, messages(3));
  auto second = sign_batch(id, {"other 0", "other 1"});
  ASSERT_NE(first[0].root_signature, second[0].root_signature);
  auto both = first;
  both.insert(both.end(), second.begin(), second.end());
  both.push_back(first[2]);
  auto texts = to_strings(both);
  ASSERT_EQ(texts.size(), both.size());
  for (size_t i = 0; i < both.size(); ++i) EXPECT_EQ(texts[i], to_string(both[i])) << i;
}

TEST(BatchSignatureTest, AnyChangeToTheMessageTheProofOrTheKeyFails) {
  auto id = identity::generate();
  auto other = identity::generate();
  auto msgs = messages(13);
  auto proofs = sign_batch(id, msgs);
  // Fill the cache of verified groups first: a known group must not let anything through.
  ASSERT_EQ(verify_batch(id.public_key(), msgs[0], proofs[0]), caf::none);
  auto fails = [&](const public_key& key, const std::string& msg, const batch_proof& p) {
    auto err = verify_batch(key, msg, p);
    EXPECT_TRUE(is(err, errc::bad_signature)) << caf::to_string(err);
  };
  fails(id.public_key(), "message 5!", proofs[5]);
  fails(id.public_key(), msgs[6], proofs[5]);  // another message of the same group
  fails(other.public_key(), msgs[5], proofs[5]);
  auto p = proofs[5];
  p.index = 4;
  fails(id.public_key(), msgs[5], p);
  p = proofs[5];
  p.count = 12;
  fails(id.public_key(), msgs[5], p);
  p.count = 0;
  fails(id.public_key(), msgs[5], p);
  p = proofs[5];
  p.index = 13;
  fails(id.public_key(), msgs[5], p);
  p = proofs[5];
  p.path.pop_back();
  fails(id.public_key(), msgs[5], p);
  p = proofs[5];
  p.path.push_back(p.path.front());
  fails(id.public_key(), msgs[5], p);
  p = proofs[5];
  p.path[0][0] ^= 1;
  fails(id.public_key(), msgs[5], p);
  p = proofs[5];
  p.root_signature[0] ^= 1;
  fails(id.public_key(), msgs[5], p);
  // A group of the same messages signed by another key is a different group.
  auto theirs = sign_batch(other, msgs);
  fails(id.public_key(), msgs[5], theirs[5]);
  EXPECT_EQ(verify_batch(other.public_key(), msgs[5], theirs[5]), caf::none);
}

TEST(BatchSignatureTest, TextsOfAnyOtherFormAreRefused) {
  auto id = identity::generate();
  auto good = to_string(sign_batch(id, messages(3))[1]);
  ASSERT_TRUE(parse_batch_proof(good));
  auto refused = [](const std::string& text) {
    auto p = parse_batch_proof(text);
    ASSERT_FALSE(p) << text;
    EXPECT_TRUE(is(p.error(), errc::bad_signature)) << text;
  };
  refused("");
  refused("b1.");
  refused("b2" + good.substr(2));
  auto parts_at = [&](size_t n) {  // position after the n-th '.'
    size_t pos = 0;
    for (size_t i = 0; i < n; ++i) pos = good.find('.', pos) + 1;
    return pos;
  };
  refused(good.substr(0, parts_at(2)));                                      // no count, no path
  refused(good.substr(0, parts_at(2)) + "x.3." + good.substr(parts_at(4)));  // index not a number
  refused(good.substr(0, parts_at(2)) + "-1.3." + good.substr(parts_at(4)));
  refused(good.substr(0, parts_at(4)) + "AAAA");  // 3 bytes: not hashes
  refused(good.substr(0, parts_at(4)) + "!!!!");
  refused("b1.AAAA." + good.substr(parts_at(2)));  // signature too short
  EXPECT_FALSE(is_batch_proof("c2lnbmF0dXJl"));    // a plain base64 signature
}

}  // namespace
}  // namespace fedrelay::crypto
