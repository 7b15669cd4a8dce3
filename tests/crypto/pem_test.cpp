// Public keys as PEM: known encoding, both forms round trip, whitespace tolerance, OpenSSL
// interoperability in both directions, rejection of wrong keys, and fingerprints.
#include "crypto/pem.hpp"

#include <gtest/gtest.h>

#include "crypto/identity.hpp"
#include "tests/crypto/test_util.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::crypto {
namespace {

using fedrelay::test::read_file;
using fedrelay::test::run_command;
using fedrelay::test::temp_dir;
using fedrelay::test::write_file;
using test::is;

const std::string rfc8032_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

public_key rfc8032_key() {
  return test::array_from_hex<32>(test::rfc8032_public_hex);
}

// A PEM whose body is the base64 of `der`, for building malformed keys.
std::string pem_of_der(const std::string& der) {
  return "-----BEGIN PUBLIC KEY-----\n" + to_base64(der) + "\n-----END PUBLIC KEY-----\n";
}

std::string der_with(const std::string& prefix_hex, const public_key& key) {
  auto prefix = from_hex(prefix_hex, prefix_hex.size() / 2);
  return *prefix + std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

TEST(PemTest, Rfc8032KeyHasTheKnownEncoding) {
  EXPECT_EQ(public_key_pem(rfc8032_key()), rfc8032_pem);
  EXPECT_EQ(public_key_pem_line(rfc8032_key()),
            "-----BEGIN PUBLIC KEY-----MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
            "-----END PUBLIC KEY-----");
}

TEST(PemTest, BothFormsRoundTrip) {
  for (int i = 0; i < 20; ++i) {
    auto key = identity::generate().public_key();
    auto multi = parse_public_key_pem(public_key_pem(key));
    ASSERT_TRUE(multi) << to_string(multi.error());
    EXPECT_EQ(*multi, key);
    auto line = public_key_pem_line(key);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto one = parse_public_key_pem(line);
    ASSERT_TRUE(one) << to_string(one.error());
    EXPECT_EQ(*one, key);
  }
}

TEST(PemTest, ToleratesStrayWhitespaceAsTxtRecordsDeliverIt) {
  const std::string line = public_key_pem_line(rfc8032_key());
  const std::string variants[] = {
      "  " + line + "  \n",
      "\r\n" + rfc8032_pem + "\r\n",
      // Split into DNS-sized strings and joined with spaces, even inside the armour.
      line.substr(0, 10) + " " + line.substr(10, 30) + " " + line.substr(40, 50) + " " +
          line.substr(90),
      line.substr(0, 26) + "\n" + line.substr(26, 30) + "\n\t" + line.substr(56),
      "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7h\ncvPapiMlrwIaaPcHURo=\n"
      "-----END PUBLIC KEY-----",
  };
  for (const auto& text : variants) {
    auto key = parse_public_key_pem(text);
    ASSERT_TRUE(key) << text << ": " << to_string(key.error());
    EXPECT_EQ(*key, rfc8032_key());
  }
}

TEST(PemTest, OpensslReadsOurPemAsAnEd25519Key) {
  temp_dir dir;
  auto path = dir / "pub.pem";
  write_file(path, public_key_pem(rfc8032_key()));
  auto res = run_command({"openssl", "pkey", "-pubin", "-in", path, "-text", "-noout"});
  ASSERT_EQ(res.exit_code, 0) << res.output;
  EXPECT_NE(res.output.find("ED25519 Public-Key"), std::string::npos) << res.output;
  EXPECT_NE(res.output.find("d7:5a:98:01:82:b1:0a:b7"), std::string::npos) << res.output;
}

TEST(PemTest, WeReadOpensslGeneratedKeys) {
  temp_dir dir;
  auto sk = dir / "sk.pem", pk = dir / "pk.pem", der = dir / "pk.der";
  ASSERT_EQ(run_command({"openssl", "genpkey", "-algorithm", "ed25519", "-out", sk}).exit_code, 0);
  ASSERT_EQ(run_command({"openssl", "pkey", "-in", sk, "-pubout", "-out", pk}).exit_code, 0);
  ASSERT_EQ(run_command({"openssl", "pkey", "-pubin", "-in", pk, "-outform", "DER", "-out", der})
                .exit_code,
            0);
  auto key = parse_public_key_pem(read_file(pk));
  ASSERT_TRUE(key) << to_string(key.error());
  auto der_bytes = read_file(der);
  ASSERT_EQ(der_bytes.size(), 44u);
  EXPECT_EQ(to_hex(*key), to_hex(std::string_view{der_bytes}.substr(12)));
  EXPECT_EQ(public_key_pem(*key), read_file(pk)) << "same canonical text as OpenSSL";
}

TEST(PemTest, OpensslVerifiesOurSignatures) {
  temp_dir dir;
  auto id = identity::generate();
  const std::string message = "POST /api/v1/federation.events.dispatch 1700000000";
  auto sig = id.sign(message);
  write_file(dir / "pub.pem", public_key_pem(id.public_key()));
  write_file(dir / "msg", message);
  write_file(dir / "sig", std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
  auto res = run_command({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir / "pub.pem",
                          "-rawin", "-in", dir / "msg", "-sigfile", dir / "sig"});
  EXPECT_EQ(res.exit_code, 0) << res.output;
  EXPECT_NE(res.output.find("Signature Verified Successfully"), std::string::npos) << res.output;
}

TEST(PemTest, RejectsX25519Keys) {
  auto x25519 = pem_of_der(der_with("302a300506032b656e032100", rfc8032_key()));
  auto res = parse_public_key_pem(x25519);
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::bad_pem));
  EXPECT_NE(to_string(res.error()).find("X25519"), std::string::npos);

  temp_dir dir;
  auto sk = dir / "x.pem", pk = dir / "xpub.pem";
  ASSERT_EQ(run_command({"openssl", "genpkey", "-algorithm", "x25519", "-out", sk}).exit_code, 0);
  ASSERT_EQ(run_command({"openssl", "pkey", "-in", sk, "-pubout", "-out", pk}).exit_code, 0);
  auto from_openssl = parse_public_key_pem(read_file(pk));
  ASSERT_FALSE(from_openssl);
  EXPECT_TRUE(is(from_openssl.error(), errc::bad_pem));
}

TEST(PemTest, RejectsMalformedPems) {
  const std::string body = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  const std::string begin = "-----BEGIN PUBLIC KEY-----\n";
  const std::string end = "\n-----END PUBLIC KEY-----\n";
  const std::string ed_prefix = "302a300506032b6570032100";
  const std::pair<const char*, std::string> cases[] = {
      {"empty", ""},
      {"only whitespace", " \n\t "},
      {"no armour", body},
      {"no end armour", begin + body},
      {"no begin armour", body + end},
      {"private key armour",
       "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----"},
      {"text before the armour", "key: " + begin + body + end},
      {"bad base64 character",
       begin + "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR!=" + end},
      {"missing padding", begin + body.substr(0, body.size() - 1) + end},
      {"empty body", begin + end},
      {"truncated key (41 bytes)", begin + body.substr(0, 56) + end},
      {"32-byte DER", pem_of_der(std::string(32, '\x01'))},
      {"extra bytes after the key",
       pem_of_der(der_with(ed_prefix, rfc8032_key()) + std::string(2, '\0'))},
      {"raw key without DER prefix", pem_of_der(std::string(44, '\x42'))},
      {"wrong OID (Ed448)", pem_of_der(der_with("302a300506032b6571032100", rfc8032_key()))},
      {"wrong BIT STRING length", pem_of_der(der_with("302a300506032b6570032200", rfc8032_key()))},
      {"small-order point", pem_of_der(der_with(ed_prefix, public_key{}))},
      {"two keys", rfc8032_pem + rfc8032_pem},
      {"huge", begin + std::string(10000, 'A') + end},
  };
  for (const auto& [what, text] : cases) {
    auto res = parse_public_key_pem(text);
    ASSERT_FALSE(res) << what;
    EXPECT_TRUE(is(res.error(), errc::bad_pem)) << what << ": " << to_string(res.error());
  }
}

TEST(PemTest, FingerprintOfTheRfc8032Key) {
  EXPECT_EQ(fingerprint(rfc8032_key()), "SHA256:BuP9j9opu2CrWVV95h7bCuzbIxE0vjDnW0Vfjht5L6k");
}

TEST(PemTest, FingerprintMatchesOpensslSha256OfTheDer) {
  temp_dir dir;
  auto key = identity::generate().public_key();
  write_file(dir / "pub.pem", public_key_pem(key));
  auto res =
      run_command({"sh", "-c",
                   "openssl pkey -pubin -in '" + (dir / "pub.pem") +
                       "' -outform DER | openssl dgst -sha256 -binary | base64 | tr -d '=\\n'"});
  ASSERT_EQ(res.exit_code, 0) << res.output;
  EXPECT_EQ(fingerprint(key), "SHA256:" + res.output);
}

}  // namespace
}  // namespace fedrelay::crypto
