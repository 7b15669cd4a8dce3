// Two real nodes over HTTPS: certificates of a CA made for the test, peers verified
// against it, and a node that trusts another CA refusing to deliver.
#include <gtest/gtest.h>

#include "tests/app/cluster.hpp"
#include "tests/net/tls_test_support.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

class TlsTest : public testing::Test {
 protected:
  test_ca ca;
  temp_dir root;
  test_node a{"a.test", root.path()};
  test_node b{"b.test", root.path()};

  void start(const std::string& ca_of_a) {
    ASSERT_TRUE(ca.ok());
    a.use_tls(ca.cert_file(), ca.key_file(), ca_of_a);
    b.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
    a.configure({&b});
    b.configure({&a});
    a.start();
    b.start();
  }

  std::string shared_room() {
    auto r =
        a.post("/api/v1/rooms.create", {{"name", "tls"}, {"type", "private"}, {"owner", "alice"}});
    auto room = r.value("room_id", "");
    a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}});
    a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "over https"}});
    return room;
  }
};

TEST_F(TlsTest, NodesTalkOverVerifiedHttps) {
  start(ca.ca_file());
  auto room = shared_room();
  auto on_b = b.wait_for_room_events(room, 2, 30s);
  ASSERT_EQ(on_b.size(), 2u) << a.log() << b.log();
  EXPECT_EQ(on_b.back().value("text", ""), "over https");
}

TEST_F(TlsTest, APeerWhoseCertificateIsNotTrustedGetsNothing) {
  start(ca.other_ca_file());
  auto room = shared_room();
  std::string last_error;
  ASSERT_TRUE(wait_until(
      [&] {
        auto status = a.get("/api/v1/federation.status");
        for (const auto& p : status["peers"])
          if (p.value("domain", "") == "b.test") last_error = p.value("last_error", "");
        return !last_error.empty();
      },
      20s));
  EXPECT_NE(last_error.find("certificate verify failed"), std::string::npos) << last_error;
  EXPECT_TRUE(b.wait_for_room_events(room, 1, 1s).empty());
}

}  // namespace
}  // namespace fedrelay::test
