// Two real nodes finding each other through a real DNS server (dnsmasq on loopback); one of
// them gets a new key, published in DNS, and the other picks it up: the box that no longer
// opens makes it forget the old key and look again.
#include <gtest/gtest.h>

#include <algorithm>
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

  /// Stops `n`, gives it a new identity, as an operator would (`keygen --new`, or by hand:
  /// the key file removed, then keygen), and returns its key line.
  std::string new_identity(test_node& n, bool by_hand = false) {
    EXPECT_TRUE(n.stop());
    if (by_hand)
      std::filesystem::remove(std::filesystem::path(n.config_path()).parent_path() /
                              "data/node.key");
    auto keygen = by_hand
                      ? run_command({FEDRELAY_BINARY, "keygen", "-c", n.config_path()})
                      : run_command({FEDRELAY_BINARY, "keygen", "--new", "-c", n.config_path()});
    EXPECT_EQ(keygen.exit_code, 0) << keygen.output;
    constexpr std::string_view end_line = "-----END PUBLIC KEY-----";
    auto begin = keygen.output.find("-----BEGIN");
    auto end = keygen.output.find(end_line, begin);
    if (begin == std::string::npos || end == std::string::npos) return {};
    auto key =
        crypto::parse_public_key_pem(keygen.output.substr(begin, end + end_line.size() - begin));
    EXPECT_TRUE(key) << keygen.output;
    return key ? crypto::public_key_pem_line(*key) : std::string{};
  }

  /// Serves `nodes`' records again, with `keys` (one key line each), as the operator's
  /// DNS would once the new TXT record is published.
  void republish(const std::vector<std::pair<const test_node*, std::string>>& nodes) {
    dns.stop();
    dns.clear_records();
    for (const auto& [n, key] : nodes) publish(*n, key);
    dns.start();
  }

  /// `nodes` (a first) finding each other through DNS, and a room of a's with `users`
  /// invited; its id.
  std::string room_of_a(const std::vector<test_node*>& nodes,
                        const std::vector<std::string>& users) {
    for (auto* n : nodes) publish(*n, public_key_line(*n));
    dns.start();
    for (auto* n : nodes) {
      n->use_dns(dns.port());
      n->configure({});
      n->start();
    }
    auto room =
        a.post("/api/v1/rooms.create", {{"name", "r"}, {"type", "private"}, {"owner", "alice"}})
            .value("room_id", "");
    for (const auto& user : users)
      EXPECT_TRUE(
          a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", user}, {"by", "alice"}})
              .value("success", false));
    return room;
  }

  /// a and b, and a room of a's that bob is in; its id.
  std::string room_of_a_with_bob() {
    auto room = room_of_a({&a, &b}, {"bob@b.test"});
    EXPECT_EQ(b.wait_for_room_events(room, 1, 30s).size(), 1u) << a.log() << b.log();
    return room;
  }
};

TEST_F(KeyRotationTest, ARotatedKeyIsPickedUpFromDns) {
  auto room = room_of_a_with_bob();
  ASSERT_FALSE(HasFailure());

  // b gets a new identity and publishes it; a still has the old key cached (TTL 3600).
  auto new_key = new_identity(b, true);
  ASSERT_NE(new_key, public_key_line(b));
  republish({{&a, public_key_line(a)}, {&b, new_key}});
  b.start();
  ASSERT_TRUE(
      a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "still there?"}})
          .value("success", false));
  auto on_b = b.wait_for_room_events(room, 2, 30s);
  ASSERT_EQ(on_b.size(), 2u) << a.log();
  EXPECT_EQ(on_b.back().value("text", ""), "still there?");
}

// After a member server's new key: its users' posts still reach the host, which opens them
// with the key DNS now gives, and a member that was down meanwhile catches up with the
// events signed under the old key as well as the new.
TEST_F(KeyRotationTest, EventsFromBeforeAndAfterAKeyChangeReachEveryMember) {
  test_node c{"c.test", root.path()};
  auto room = room_of_a({&a, &b, &c}, {"bob@b.test", "carol@c.test"});
  ASSERT_FALSE(HasFailure());
  // b joined at seq 2, c at seq 3.
  ASSERT_EQ(b.wait_for_room_events(room, 2, 30s).size(), 2u) << b.log();
  ASSERT_EQ(c.wait_for_room_events(room, 1, 30s).size(), 1u) << c.log();
  ASSERT_TRUE(c.stop());
  auto post = [&](const char* text) {
    return b.post("/api/v1/chat.send", {{"room_id", room}, {"user", "bob"}, {"text", text}})
        .value("success", false);
  };
  ASSERT_TRUE(post("under the old key"));
  ASSERT_EQ(a.wait_for_room_events(room, 4, 30s).size(), 4u) << a.log() << b.log();
  ASSERT_EQ(b.wait_for_room_events(room, 3, 30s).size(), 3u) << b.log();

  auto new_key = new_identity(b);
  republish({{&a, public_key_line(a)}, {&b, new_key}, {&c, public_key_line(c)}});
  b.start();
  ASSERT_TRUE(post("under the new key"));
  auto on_a = a.wait_for_room_events(room, 5, 30s);
  ASSERT_EQ(on_a.size(), 5u) << a.log() << b.log();
  EXPECT_EQ(on_a.back().value("text", ""), "under the new key");

  c.start();
  auto on_c = c.wait_for_room_events(room, 3, 30s);
  ASSERT_EQ(on_c.size(), 3u) << c.log() << a.log();
  EXPECT_EQ(on_c[1].value("text", ""), "under the old key");
  EXPECT_EQ(on_c[2].value("text", ""), "under the new key");
  // b itself still sees both, and a reply from the host.
  ASSERT_TRUE(a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "ok"}})
                  .value("success", false));
  EXPECT_EQ(b.wait_for_room_events(room, 5, 30s).size(), 5u) << b.log();
}

// Events a member server signed and queued before its key changed, sent after: the host
// verifies them with the keys the member's federation.keys names, signed by its new key.
TEST_F(KeyRotationTest, EventsQueuedUnderTheOldKeyAreTakenAfterTheChange) {
  auto room = room_of_a_with_bob();
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(a.stop());
  for (const char* text : {"queued 1", "queued 2"})
    ASSERT_TRUE(b.post("/api/v1/chat.send", {{"room_id", room}, {"user", "bob"}, {"text", text}})
                    .value("success", false));

  auto new_key = new_identity(b);
  republish({{&a, public_key_line(a)}, {&b, new_key}});
  b.start();
  ASSERT_TRUE(b.post("/api/v1/chat.send", {{"room_id", room}, {"user", "bob"}, {"text", "new"}})
                  .value("success", false));
  a.start();
  auto on_a = a.wait_for_room_events(room, 5, 30s);
  ASSERT_EQ(on_a.size(), 5u) << a.log() << b.log();
  // The queued ones in their order; "new" may come in a transaction of its own, which
  // can be taken first.
  std::vector<std::string> texts;
  for (size_t i = 2; i < on_a.size(); ++i) texts.push_back(on_a[i].value("text", ""));
  auto at = [&](const std::string& text) {
    return std::find(texts.begin(), texts.end(), text) - texts.begin();
  };
  EXPECT_LT(at("queued 1"), at("queued 2"));
  EXPECT_LT(at("queued 2"), 3);
  EXPECT_LT(at("new"), 3);
  EXPECT_NE(b.log().find("federation.keys names 1 previous key(s)"), std::string::npos);
}

}  // namespace
}  // namespace fedrelay::test
