// The byte/text codecs of crypto/keys.hpp: hex and base64, against RFC 4648 vectors.
#include "crypto/keys.hpp"

#include <gtest/gtest.h>

#include "tests/crypto/test_util.hpp"

namespace fedrelay::crypto {
namespace {

using test::is;

TEST(KeysTest, InitSucceedsRepeatedly) {
  EXPECT_FALSE(init());
  EXPECT_FALSE(init());
}

TEST(KeysTest, HexRoundTrip) {
  std::string bytes{"\x00\x01\x7f\x80\xff", 5};
  EXPECT_EQ(to_hex(bytes), "00017f80ff");
  auto back = from_hex("00017F80ff", 5);
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(*back, bytes);
  std::array<uint8_t, 3> arr{0xde, 0xad, 0x01};
  EXPECT_EQ(to_hex(arr), "dead01");
  EXPECT_EQ(to_hex(std::string_view{}), "");
}

TEST(KeysTest, HexRejectsWrongLengthAndNonHex) {
  EXPECT_TRUE(is(from_hex("0001", 3).error(), errc::bad_key));
  EXPECT_TRUE(is(from_hex("000102", 2).error(), errc::bad_key));
  EXPECT_TRUE(is(from_hex("0g", 1).error(), errc::bad_key));
  EXPECT_TRUE(is(from_hex("g0", 1).error(), errc::bad_key));
  EXPECT_TRUE(is(from_hex("0 01", 2).error(), errc::bad_key));
}

TEST(KeysTest, Base64MatchesRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(to_base64(plain), encoded);
    auto back = from_base64(encoded);
    ASSERT_TRUE(back) << encoded;
    EXPECT_EQ(*back, plain);
  }
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  EXPECT_EQ(*from_base64(to_base64(binary)), binary);
}

TEST(KeysTest, Base64OfEveryLengthReadsBackThroughTheStrictDecoder) {
  // from_base64 accepts only canonical padded base64, which is one text per byte string.
  std::string bytes;
  for (size_t n = 0; n <= 300; ++n) {
    auto text = to_base64(bytes);
    ASSERT_EQ(text.size(), 4 * ((n + 2) / 3)) << n;
    auto back = from_base64(text);
    ASSERT_TRUE(back) << n << ": " << text;
    ASSERT_EQ(*back, bytes) << n;
    bytes.push_back(static_cast<char>((n * 131 + 7) & 0xff));
  }
}

TEST(KeysTest, Base64RejectsNonCanonicalInput) {
  for (std::string bad :
       {"Zg", "Zg=", "Z===", "Zm9v!", "Zh==", "Zm9v Zg==", "Zm9v\n", "Zg==Zg==", "-_8=", "Zm8=="}) {
    auto res = from_base64(bad);
    EXPECT_FALSE(res) << "accepted '" << bad << "'";
    if (!res) {
      EXPECT_TRUE(is(res.error(), errc::bad_pem)) << bad;
    }
  }
}

TEST(KeysTest, ASignatureReadsBackFromBase64OnlyAtSixtyFourBytes) {
  signature sig{};
  for (size_t i = 0; i < sig.size(); ++i) sig[i] = static_cast<uint8_t>(i * 7);
  auto text = signature_to_base64(sig);
  EXPECT_EQ(text.size(), 88u);
  EXPECT_EQ(signature_from_base64(text), sig);
  EXPECT_FALSE(signature_from_base64(to_base64(std::string(63, 'x'))));
  EXPECT_FALSE(signature_from_base64(to_base64(std::string(65, 'x'))));
  EXPECT_FALSE(signature_from_base64(text.substr(1)));
  EXPECT_FALSE(signature_from_base64(""));
}

}  // namespace
}  // namespace fedrelay::crypto
