// The node identity: the RFC 8032 known answer, signing, and the secret key file (mode,
// atomic replacement, refusal of readable or corrupted files).
#include "crypto/identity.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/crypto/test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::crypto {
namespace {

using fedrelay::test::read_file;
using fedrelay::test::temp_dir;
using fedrelay::test::write_file;
using test::is;

identity rfc8032_identity() {
  return identity::from_seed(test::array_from_hex<32>(test::rfc8032_seed_hex));
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Writes a key file by hand with the mode the loader expects, for the corruption tests.
void write_key_file(const std::string& dir, const std::string& content) {
  auto path = dir + "/node.key";
  write_file(path, content);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
}

TEST(IdentityTest, Rfc8032Test1KnownAnswer) {
  auto id = rfc8032_identity();
  EXPECT_EQ(to_hex(id.public_key()), test::rfc8032_public_hex);
  auto sig = id.sign("");
  EXPECT_EQ(to_hex(sig), test::rfc8032_signature_hex);
  EXPECT_FALSE(verify(id.public_key(), "", sig));
}

TEST(IdentityTest, VerifiesTheRfc8032SignatureFromItsBytes) {
  auto key = test::array_from_hex<32>(test::rfc8032_public_hex);
  auto sig = test::array_from_hex<64>(test::rfc8032_signature_hex);
  EXPECT_FALSE(verify(key, "", sig));
  EXPECT_TRUE(is(verify(key, "x", sig), errc::bad_signature));
}

TEST(IdentityTest, SignVerifyAndTamperedInputs) {
  auto id = identity::generate();
  const std::string message = "room !abc:a.example seq 7: hello";
  auto sig = id.sign(message);
  EXPECT_FALSE(verify(id.public_key(), message, sig));

  auto tampered_message = message;
  tampered_message[5] ^= 0x01;
  EXPECT_TRUE(is(verify(id.public_key(), tampered_message, sig), errc::bad_signature));
  EXPECT_TRUE(is(verify(id.public_key(), message + " ", sig), errc::bad_signature));

  auto tampered_sig = sig;
  tampered_sig[10] ^= 0x80;
  EXPECT_TRUE(is(verify(id.public_key(), message, tampered_sig), errc::bad_signature));

  auto other = identity::generate();
  EXPECT_TRUE(is(verify(other.public_key(), message, sig), errc::bad_signature));
}

TEST(IdentityTest, GenerateGivesFreshKeys) {
  auto a = identity::generate();
  auto b = identity::generate();
  EXPECT_NE(a.public_key(), b.public_key());
}

TEST(IdentityTest, CopiesAndMovesKeepTheKey) {
  auto original = rfc8032_identity();
  identity copy = original;
  EXPECT_EQ(copy.public_key(), original.public_key());
  EXPECT_EQ(copy.sign("m"), original.sign("m"));
  identity moved = std::move(copy);
  EXPECT_EQ(moved.sign("m"), original.sign("m"));
  auto other = identity::generate();
  other = original;
  EXPECT_EQ(other.sign("m"), original.sign("m"));
}

TEST(IdentityTest, X25519SecretIsDeterministic) {
  auto a = rfc8032_identity();
  auto b = rfc8032_identity();
  EXPECT_EQ(a.x25519_secret(), b.x25519_secret());
  EXPECT_NE(a.x25519_secret(), identity::generate().x25519_secret());
}

TEST(IdentityFileTest, SaveThenLoadGivesTheSameKey) {
  temp_dir dir;
  auto id = identity::generate();
  ASSERT_FALSE(save_identity(dir.path(), id));
  auto loaded = load_identity(dir.path());
  ASSERT_TRUE(loaded) << to_string(loaded.error());
  EXPECT_EQ(loaded->public_key(), id.public_key());
  EXPECT_EQ(loaded->sign("same key"), id.sign("same key"));
}

TEST(IdentityFileTest, FileHasMode0600AndDirectoriesAre0700) {
  temp_dir dir;
  auto data_dir = dir / "var/lib/fedrelay";
  ASSERT_FALSE(save_identity(data_dir, identity::generate()));
  EXPECT_EQ(mode_of(data_dir + "/node.key"), 0600u);
  EXPECT_EQ(mode_of(data_dir), 0700u);
  EXPECT_EQ(mode_of(dir / "var"), 0700u);
}

TEST(IdentityFileTest, FileFormatIsTheDocumentedText) {
  temp_dir dir;
  ASSERT_FALSE(save_identity(dir.path(), rfc8032_identity()));
  EXPECT_EQ(read_file(dir / "node.key"), "fedrelay-ed25519-secret-v1\nseed " +
                                             test::rfc8032_seed_hex + "\npublic " +
                                             test::rfc8032_public_hex + "\n");
}

TEST(IdentityFileTest, SaveReplacesAtomicallyAndLeavesNoTempFile) {
  temp_dir dir;
  auto first = identity::generate();
  auto second = identity::generate();
  ASSERT_FALSE(save_identity(dir.path(), first));
  ASSERT_FALSE(save_identity(dir.path(), second));
  auto loaded = load_identity(dir.path());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->public_key(), second.public_key());
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"node.key"});
}

TEST(IdentityFileTest, RefusesAFileReadableByOthers) {
  temp_dir dir;
  ASSERT_FALSE(save_identity(dir.path(), identity::generate()));
  auto path = dir / "node.key";
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto loaded = load_identity(dir.path());
    ASSERT_FALSE(loaded) << std::oct << mode;
    EXPECT_TRUE(is(loaded.error(), errc::bad_permissions));
    auto text = to_string(loaded.error());
    EXPECT_NE(text.find(path), std::string::npos) << text;
    EXPECT_NE(text.find("chmod 600"), std::string::npos) << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(load_identity(dir.path())) << "owner-only read access is fine";
}

TEST(IdentityFileTest, RefusesCorruptedFiles) {
  temp_dir dir;
  ASSERT_FALSE(save_identity(dir.path(), rfc8032_identity()));
  const auto good = read_file(dir / "node.key");

  auto flipped_seed = good;
  auto seed_at = flipped_seed.find("seed ") + 5;
  flipped_seed[seed_at] = flipped_seed[seed_at] == '9' ? '8' : '9';
  auto flipped_public = good;
  flipped_public[flipped_public.find("public ") + 7] ^= 0x01;

  const std::pair<const char*, std::string> cases[] = {
      {"empty", ""},
      {"truncated", good.substr(0, good.size() / 2)},
      {"missing final newline", good.substr(0, good.size() - 1)},
      {"one hex digit of the seed changed", flipped_seed},
      {"one hex digit of the public key changed", flipped_public},
      {"wrong header", "fedrelay-ed25519-secret-v2" + good.substr(good.find('\n'))},
      {"trailing garbage", good + "x"},
      {"non-hex seed", "fedrelay-ed25519-secret-v1\nseed " + std::string(64, 'z') + "\npublic " +
                           test::rfc8032_public_hex + "\n"},
      {"short seed",
       "fedrelay-ed25519-secret-v1\nseed 9d61\npublic " + test::rfc8032_public_hex + "\n"},
      {"binary junk", std::string(64, '\xff')},
      {"too large", std::string(8192, 'a')},
  };
  for (const auto& [what, content] : cases) {
    write_key_file(dir.path(), content);
    auto loaded = load_identity(dir.path());
    ASSERT_FALSE(loaded) << what;
    EXPECT_TRUE(is(loaded.error(), errc::bad_key)) << what << ": " << to_string(loaded.error());
  }
  write_key_file(dir.path(), good);
  EXPECT_TRUE(load_identity(dir.path()));
}

TEST(IdentityFileTest, MissingFileIsAnIoError) {
  temp_dir dir;
  auto loaded = load_identity(dir / "nowhere");
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(is(loaded.error(), errc::io_failed));
  EXPECT_NE(to_string(loaded.error()).find("node.key"), std::string::npos);
}

TEST(IdentityFileTest, SaveFailsCleanlyWhenTheDirectoryIsAFile) {
  temp_dir dir;
  write_file(dir / "plain", "not a directory");
  EXPECT_TRUE(is(save_identity(dir / "plain", identity::generate()), errc::io_failed));
}

TEST(IdentityFileTest, LoadOrCreateCreatesOnceThenLoads) {
  temp_dir dir;
  bool created = false;
  auto first = load_or_create_identity(dir / "data", &created);
  ASSERT_TRUE(first) << to_string(first.error());
  EXPECT_TRUE(created);
  auto second = load_or_create_identity(dir / "data", &created);
  ASSERT_TRUE(second);
  EXPECT_FALSE(created);
  EXPECT_EQ(first->public_key(), second->public_key());
}

TEST(IdentityFileTest, LoadOrCreateNeverReplacesAnUnusableFile) {
  temp_dir dir;
  write_key_file(dir.path(), "garbage");
  bool created = true;
  auto loaded = load_or_create_identity(dir.path(), &created);
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(is(loaded.error(), errc::bad_key));
  EXPECT_FALSE(created);
  EXPECT_EQ(read_file(dir / "node.key"), "garbage");
}

// A key kept elsewhere and linked to, whose target is gone, is the node's identity still:
// the link is not replaced by a new key.
TEST(IdentityFileTest, LoadOrCreateRefusesALinkToAMissingKey) {
  temp_dir dir;
  auto link = dir / "node.key";
  auto target = dir / "elsewhere/node.key";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  bool created = true;
  auto loaded = load_or_create_identity(dir.path(), &created);
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(is(loaded.error(), errc::io_failed));
  EXPECT_NE(to_string(loaded.error())
                .find(link + " is a symbolic link to " + target + ", which does not exist"),
            std::string::npos)
      << to_string(loaded.error());
  EXPECT_FALSE(created);
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_FALSE(std::filesystem::exists(target));
}

}  // namespace
}  // namespace fedrelay::crypto
