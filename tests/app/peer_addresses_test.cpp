// peers.addresses on real nodes: a peer that DNS puts on this machine's loopback is not
// reached under the default ("private"), and federation.status says why; what was queued
// for it waits, and goes once the node may reach it ("any").
#include <gtest/gtest.h>

#include "tests/app/cluster.hpp"
#include "tests/support/dns_server.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

TEST(PeerAddressesTest, APeerThatDnsPutsOnLoopbackIsReachedOnlyWhenAnyAddressIs) {
  temp_dir root;
  test_node a{"a.test", root.path()};
  test_node b{"b.test", root.path()};
  dns_server dns{"test", 3600};
  publish_records(dns, a, "localhost", public_key_line(a));
  publish_records(dns, b, "localhost", public_key_line(b));
  dns.start();
  a.use_dns(dns.port());
  b.use_dns(dns.port());
  a.use_peer_settings("");  // the default, "private"
  a.configure({});
  b.configure({});
  a.start();
  b.start();
  auto room =
      a.post("/api/v1/rooms.create", {{"name", "r"}, {"type", "private"}, {"owner", "alice"}})
          .value("room_id", "");
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  std::string last_error;
  ASSERT_TRUE(wait_until(
      [&] {
        last_error = peer_status(a, "b.test").value("last_error", "");
        return last_error.find("peers.addresses") != std::string::npos;
      },
      30s))
      << last_error << "\n"
      << a.log();
  EXPECT_NE(last_error.find("which peers.addresses = \"private\" refuses"), std::string::npos)
      << last_error;
  EXPECT_TRUE(b.wait_for_room_events(room, 1, 1s).empty());

  ASSERT_TRUE(a.stop());
  a.use_peer_settings("addresses = \"any\"\n");
  a.configure({});
  a.start();
  EXPECT_EQ(b.wait_for_room_events(room, 1, 30s).size(), 1u) << a.log() << b.log();
}

}  // namespace
}  // namespace fedrelay::test
