// `fedrelay tail -f` against a real node that restarts: it waits for the node and goes on
// from where it was, printing each event once.
#include <gtest/gtest.h>

#include "tests/app/cluster.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(TailTest, FollowingWaitsForARestartingNodeAndGoesOnWhereItWas) {
  temp_dir root;
  test_node a{"a.test", root.path()};
  a.configure({});
  a.start();
  auto create = [&](const std::string& name) {
    return a.post("/api/v1/rooms.create", {{"name", name}, {"type", "public"}, {"owner", "alice"}})
        .value("success", false);
  };
  ASSERT_TRUE(create("before-restart"));
  std::string out = root.path() + "/tail.out";
  child_process tail({FEDRELAY_BINARY, "tail", "-f", "-c", a.config_path()}, out);
  ASSERT_TRUE(
      wait_until([&] { return read_file(out).find("before-restart") != std::string::npos; }, 20s))
      << read_file(out);
  ASSERT_TRUE(a.stop());
  ASSERT_TRUE(wait_until(
      [&] { return read_file(out).find("asking again each second") != std::string::npos; }, 40s))
      << read_file(out);
  EXPECT_TRUE(tail.running()) << read_file(out);
  a.start();
  ASSERT_TRUE(create("after-restart"));
  EXPECT_TRUE(
      wait_until([&] { return read_file(out).find("after-restart") != std::string::npos; }, 20s))
      << read_file(out);
  auto said = read_file(out);
  EXPECT_NE(said.find("tail: the node answers again"), std::string::npos) << said;
  EXPECT_EQ(count_of(said, "before-restart"), 1u) << said;
  EXPECT_EQ(count_of(said, "after-restart"), 1u) << said;
  EXPECT_EQ(tail.stop(), 128 + 15);
}

}  // namespace
}  // namespace fedrelay::test
