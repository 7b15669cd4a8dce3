// BLAKE2b-256 against values computed outside libsodium (RFC 7693 reference, GNU b2sum),
// and the streamed form against the one-shot form.
#include "crypto/hash.hpp"

#include <gtest/gtest.h>

#include "tests/crypto/test_util.hpp"

namespace fedrelay::crypto {
namespace {

TEST(HashTest, Blake2b256KnownValues) {
  EXPECT_EQ(to_hex(blake2b_256("")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(to_hex(blake2b_256("abc")),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  EXPECT_EQ(to_hex(blake2b_256("The quick brown fox jumps over the lazy dog")),
            "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9");
  EXPECT_EQ(to_hex(blake2b_256(std::string(1000000, 'a'))),
            "0741850f36cba4259628355d1073e24ddb9ca0e1bfac36fd39ae5dc2101e23a4");
}

TEST(HashTest, StreamingEqualsOneShot) {
  std::string data(1 << 20, '\0');
  uint32_t x = 12345;
  for (auto& c : data) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  const auto expected = blake2b_256(data);
  // Chunk sizes around BLAKE2b's 128-byte block, where buffering bugs hide.
  for (size_t chunk :
       {size_t{1}, size_t{7}, size_t{127}, size_t{128}, size_t{129}, size_t{4096}, data.size()}) {
    blake2b_stream stream;
    for (size_t pos = 0; pos < data.size(); pos += chunk)
      stream.update(std::string_view{data}.substr(pos, chunk));
    EXPECT_EQ(stream.finish(), expected) << "chunk " << chunk;
  }
}

TEST(HashTest, StreamOfNothingAndEmptyUpdates) {
  blake2b_stream stream;
  stream.update("");
  EXPECT_EQ(stream.finish(), blake2b_256(""));
}

TEST(HashTest, StreamStartsOverAfterFinish) {
  blake2b_stream stream;
  stream.update("ab");
  stream.update("c");
  EXPECT_EQ(stream.finish(), blake2b_256("abc"));
  EXPECT_EQ(stream.finish(), blake2b_256(""));
  stream.update("abc");
  EXPECT_EQ(stream.finish(), blake2b_256("abc"));
}

TEST(HashTest, MovedStreamKeepsItsState) {
  blake2b_stream first;
  first.update("a");
  blake2b_stream second = std::move(first);
  second.update("bc");
  EXPECT_EQ(second.finish(), blake2b_256("abc"));
  blake2b_stream third;
  third.update("zzz");
  third = std::move(second);
  third.update("abc");
  EXPECT_EQ(third.finish(), blake2b_256("abc"));
}

}  // namespace
}  // namespace fedrelay::crypto
