// A node that makes itself a new identity says so in its log: a storage.dir that names the
// wrong directory would otherwise start a node with a key no peer knows, and no data.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/app/cluster.hpp"

namespace fedrelay::test {
namespace {

TEST(NodeIdentityTest, ANodeThatMakesItselfANewKeySaysSoAndOneThatFindsItsKeyDoesNot) {
  temp_dir root;
  test_node a{"a.test", root.path()};
  const std::string said = "created a new node identity in";
  // The harness made the key with `fedrelay keygen`: this start finds it.
  a.start();
  EXPECT_EQ(a.log().find(said), std::string::npos) << a.log();
  a.stop();
  // As if storage.dir now named a directory without the key.
  auto key = std::filesystem::path{a.config_path()}.parent_path() / "data" / "node.key";
  ASSERT_TRUE(std::filesystem::remove(key)) << key;
  a.start();
  EXPECT_NE(a.log().find(said), std::string::npos) << a.log();
  EXPECT_TRUE(std::filesystem::exists(key));
  a.stop();
}

}  // namespace
}  // namespace fedrelay::test
