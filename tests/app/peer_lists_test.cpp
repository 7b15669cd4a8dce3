// [peers] allow and deny between three real nodes: refused locally, refused inbound with
// 403 while the others go on, a backlog dropped when its domain becomes refused, and a
// reload that allows it again.
#include <gtest/gtest.h>

#include "tests/app/cluster.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

class PeerListsTest : public testing::Test {
 protected:
  cluster nodes{{"a.test", "b.test", "c.test"}};
  test_node& a = nodes[0];
  test_node& b = nodes[1];
  test_node& c = nodes[2];
  std::string room;

  void set_lists_of_a(const std::string& lists) {
    a.use_peer_settings(lists);
    a.configure({&b, &c});
  }

  void reload_a() {
    auto r = run_command({FEDRELAY_BINARY, "reload", "-c", a.config_path()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  json status_of_a() { return a.get("/api/v1/federation.status"); }

  uint64_t queued_for(const std::string& domain) {
    auto status = status_of_a();  // kept alive for the loop
    for (const auto& p : status["peers"])
      if (p.value("domain", "") == domain) return p.value("queue_depth", 0u);
    return 0;
  }
};

TEST_F(PeerListsTest, ADeniedDomainIsRefusedEverywhereWhileOthersGoOn) {
  set_lists_of_a("deny = [\"c.test\"]\n");
  nodes.start_all();
  c.post("/api/v1/users.register", {{"username", "carol"}});
  auto r = a.post("/api/v1/rooms.create", {{"name", "r"}, {"type", "public"}, {"owner", "alice"}});
  room = r["room_id"];
  unsigned status = 0;
  r = a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "carol@c.test"}, {"by", "alice"}},
             &status);
  EXPECT_EQ(status, 403u);
  EXPECT_EQ(r.value("error", ""), "domain not allowed: c.test");
  r = a.post("/api/v1/dm.create", {{"from", "alice"}, {"to", "carol@c.test"}}, &status);
  EXPECT_EQ(status, 403u);
  r = a.get("/api/v1/users.search?q=carol@c.test", &status);
  EXPECT_EQ(status, 403u);
  // Nothing for c entered a queue.
  EXPECT_EQ(queued_for("c.test"), 0u);
  // c's own requests to a are refused (its room's invite to alice never lands) ...
  auto c_room =
      c.post("/api/v1/rooms.create", {{"name", "c"}, {"type", "public"}, {"owner", "carol"}});
  ASSERT_TRUE(c.post("/api/v1/rooms.invite",
                     {{"room_id", c_room["room_id"]}, {"user", "alice@a.test"}, {"by", "carol"}})
                  .value("success", false));
  EXPECT_TRUE(
      wait_until([&] { return status_of_a()["peer_lists"].value("refused_by_deny", 0u) > 0; }, 20s))
      << status_of_a().dump();
  // ... while b and a go on.
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  EXPECT_EQ(b.wait_for_room_events(room, 1, 20s).size(), 1u);
  auto lists = status_of_a()["peer_lists"];
  EXPECT_EQ(lists["deny"], json::array({"c.test"}));
  EXPECT_GT(lists["refused_per_domain"].value("c.test", 0u), 0u);
  // Logged once for c, however many requests were refused.
  auto log = a.log();
  size_t logged = 0;
  for (auto pos = log.find("refusing federation requests from c.test"); pos != std::string::npos;
       pos = log.find("refusing federation requests from c.test", pos + 1))
    ++logged;
  EXPECT_EQ(logged, 1u);
}

TEST_F(PeerListsTest, ABacklogIsDroppedWhenItsDomainIsDeniedAndTheConversationGoesOnWhenAllowed) {
  nodes.start_all();
  auto r = a.post("/api/v1/rooms.create", {{"name", "r"}, {"type", "public"}, {"owner", "alice"}});
  room = r["room_id"];
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "carol@c.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_EQ(c.wait_for_room_events(room, 2, 20s).size(), 2u);
  ASSERT_EQ(b.wait_for_room_events(room, 1, 20s).size(), 1u);
  ASSERT_TRUE(c.stop());
  for (int i = 0; i < 25; ++i)
    ASSERT_TRUE(a.post("/api/v1/chat.send",
                       {{"room_id", room}, {"user", "alice"}, {"text", "m" + std::to_string(i)}})
                    .value("success", false));
  ASSERT_TRUE(wait_until([&] { return queued_for("c.test") == 25; }, 10s))
      << queued_for("c.test") << " " << status_of_a().dump();
  set_lists_of_a("deny = [\"c.test\"]\n");
  reload_a();
  ASSERT_TRUE(wait_until([&] { return queued_for("c.test") == 0; }, 10s)) << status_of_a().dump();
  EXPECT_TRUE(wait_until(
      [&] { return a.log().find("dropped 25 queued events for c.test") != std::string::npos; }, 5s))
      << a.log();
  // The reload's count is the same backlog, not what was left after others dropped it.
  EXPECT_TRUE(wait_until(
      [&] {
        return a.log().find("reload: 25 queued events of domains now refused dropped") !=
               std::string::npos;
      },
      5s))
      << a.log();
  // carol is removed from the room hosted here, and the other members see it.
  auto on_b = b.wait_for_room_events(room, 27, 20s);
  ASSERT_EQ(on_b.size(), 27u) << a.log();
  EXPECT_EQ(on_b.back().value("type", ""), "user.removed");
  EXPECT_EQ(on_b.back().value("target", ""), "carol@c.test");
  // Allowed again: carol can be invited back, and the conversation goes on with her.
  set_lists_of_a("");
  reload_a();
  c.start();
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "carol@c.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_TRUE(
      a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "welcome back"}})
          .value("success", false));
  EXPECT_TRUE(wait_until(
      [&] {
        auto on_c = c.wait_for_room_events(room, 1, std::chrono::milliseconds(0));
        return !on_c.empty() && on_c.back().value("text", "") == "welcome back";
      },
      30s))
      << c.log();
}

// A reload names what changed in the file that only a restart applies, instead of
// saying nothing changed, and applies the lists beside it.
TEST_F(PeerListsTest, AReloadNamesTheChangesThatTakeARestart) {
  nodes.start_all();
  reload_a();
  EXPECT_TRUE(wait_until(
      [&] { return a.log().find("reload: nothing changed in the file") != std::string::npos; },
      10s))
      << a.log();
  a.use_peer_settings("deny = [\"c.test\"]\naddresses = \"any\"\n");
  a.use_storage_settings("receipts_kept_hours = 24\n");
  a.configure({&b});
  reload_a();
  EXPECT_TRUE(wait_until(
      [&] {
        return a.log().find(
                   "reload: read only at start, not applied: "
                   "storage.receipts_kept_hours, peers.static (restart the node") !=
               std::string::npos;
      },
      10s))
      << a.log();
  // The line names the process to restart.
  EXPECT_NE(a.log().find("kill -USR1 " + std::to_string(a.pid()) + " restarts it from the file"),
            std::string::npos)
      << a.log();
  EXPECT_EQ(status_of_a()["peer_lists"]["deny"], json::array({"c.test"}));
}

}  // namespace
}  // namespace fedrelay::test
