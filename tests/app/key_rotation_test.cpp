// Two real nodes finding each other through a real DNS server (dnsmasq on loopback); one of
// them gets a new key, published in DNS, and the other picks it up: the box that no longer
// opens makes it forget the old key and look again.
#include <gtest/gtest.h>

#include <filesystem>

#include "crypto/pem.hpp"
#include "tests/app/cluster.hpp"
#include "tests/support/dns_server.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

class KeyRotationTest : public testing::Test {
 protected:
  temp_dir root;
  test_node a{"a.test", root.path()};
  test_node b{"b.test", root.path()};
  dns_server dns{"test", 3600};

  void publish(const test_node& n, const std::string& key) {
    publish_records(dns, n, "localhost", key);
  }
};

TEST_F(KeyRotationTest, ARotatedKeyIsPickedUpFromDns) {
  publish(a, public_key_line(a));
  publish(b, public_key_line(b));
  dns.start();
  a.use_dns(dns.port());
  b.use_dns(dns.port());
  a.configure({});
  b.configure({});
  a.start();
  b.start();
  auto r =
      a.post("/api/v1/rooms.create", {{"name", "dns"}, {"type", "private"}, {"owner", "alice"}});
  auto room = r.value("room_id", "");
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_EQ(b.wait_for_room_events(room, 1, 30s).size(), 1u) << a.log() << b.log();

  // b gets a new identity and publishes it; a still has the old key cached (TTL 3600).
  ASSERT_TRUE(b.stop());
  std::filesystem::remove(std::filesystem::path(b.config_path()).parent_path() / "data/node.key");
  auto keygen = run_command({FEDRELAY_BINARY, "keygen", "-c", b.config_path()});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.output;
  auto new_key = crypto::public_key_pem_line(
      *crypto::parse_public_key_pem(keygen.output.substr(keygen.output.find("-----BEGIN"))));
  ASSERT_NE(new_key, public_key_line(b));
  dns.stop();
  dns.clear_records();
  publish(a, public_key_line(a));
  publish(b, new_key);
  dns.start();
  b.start();
  ASSERT_TRUE(
      a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "still there?"}})
          .value("success", false));
  auto on_b = b.wait_for_room_events(room, 2, 30s);
  ASSERT_EQ(on_b.size(), 2u) << a.log();
  EXPECT_EQ(on_b.back().value("text", ""), "still there?");
}

}  // namespace
}  // namespace fedrelay::test
