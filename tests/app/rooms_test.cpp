// Federated rooms between real nodes, driven only through the local API: three domains,
// every kind of event, authorization by the host, and what each local server finally sees.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "tests/app/cluster.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

constexpr auto settle = 30s;  // bound on waiting for federation to deliver

/// The room events every node must agree on (users are written differently on each
/// server, so only the fields that are the same everywhere).
std::vector<std::string> fingerprint(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.push_back(e.value("type", "") + " " + e.value("event_id", "") +
                  " seq=" + std::to_string(e.value("seq", 0)));
  return out;
}

/// A member server sees a room from the event that brought its first user in: its events
/// must be exactly the host's from that seq on.
std::vector<std::string> host_view_from(const std::vector<json>& host,
                                        const std::vector<json>& member) {
  if (member.empty()) return {};
  auto first = member.front().value("seq", 0u);
  std::vector<json> suffix;
  for (const auto& e : host)
    if (e.value("seq", 0u) >= first) suffix.push_back(e);
  return fingerprint(suffix);
}

class RoomsTest : public testing::Test {
 protected:
  cluster nodes{{"a.test", "b.test", "c.test"}};
  test_node& a = nodes[0];
  test_node& b = nodes[1];
  test_node& c = nodes[2];

  void SetUp() override {
    nodes.start_all();
    a.post("/api/v1/users.register", {{"username", "alice"}, {"name", "Alice"}});
    b.post("/api/v1/users.register", {{"username", "bob"}, {"name", "Bob"}});
    c.post("/api/v1/users.register", {{"username", "carol"}, {"name", "Carol"}});
  }

  std::string create_room(const std::string& type = "public") {
    auto r =
        a.post("/api/v1/rooms.create", {{"name", "general"}, {"type", type}, {"owner", "alice"}});
    EXPECT_TRUE(r.value("success", false)) << r.dump() << a.log();
    return r.value("room_id", "");
  }

  void invite_everyone(const std::string& room) {
    for (const char* user : {"bob@b.test", "carol@c.test"}) {
      auto r = a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", user}, {"by", "alice"}});
      ASSERT_TRUE(r.value("success", false)) << r.dump();
    }
  }

  std::string send(test_node& n, const std::string& room, const std::string& user,
                   const std::string& text, unsigned* status = nullptr) {
    auto r =
        n.post("/api/v1/chat.send", {{"room_id", room}, {"user", user}, {"text", text}}, status);
    return r.value("event_id", "");
  }
};

TEST_F(RoomsTest, UsersSearchFindsARemoteUserOnItsServer) {
  auto r = a.get("/api/v1/users.search?q=bob@b.test");
  ASSERT_TRUE(r.value("success", false)) << r.dump();
  ASSERT_EQ(r["users"].size(), 1u) << r.dump();
  EXPECT_EQ(r["users"][0]["username"], "bob@b.test");
  EXPECT_EQ(r["users"][0]["name"], "Bob");
}

TEST_F(RoomsTest, ThreeDomainsSeeTheSameEventsInTheSameOrder) {
  auto room = create_room();
  invite_everyone(room);
  auto m1 = send(a, room, "alice", "hello from a");
  ASSERT_FALSE(m1.empty());
  // Members submit through the host; wait until their replicas know they are members.
  // b joined at seq 2 and c at seq 3: each sees the room from there on.
  ASSERT_GE(b.wait_for_room_events(room, 3, settle).size(), 3u) << b.log();
  ASSERT_GE(c.wait_for_room_events(room, 2, settle).size(), 2u) << c.log();
  auto m2 = send(b, room, "bob", "hello from b");
  auto m3 = send(c, room, "carol", "hello from c");
  ASSERT_FALSE(m2.empty());
  ASSERT_FALSE(m3.empty());
  auto expected_total = 4u + 2u;  // created, 2 invites, m1, m2, m3
  ASSERT_GE(a.wait_for_room_events(room, expected_total, settle).size(), expected_total);
  // A member edits only what its own replica knows was written by its user: b waits for m2
  // to come back from the host (b sees the room from seq 2 on).
  ASSERT_GE(b.wait_for_room_events(room, expected_total - 1, settle).size(), expected_total - 1);
  EXPECT_TRUE(b.post("/api/v1/chat.update",
                     {{"room_id", room}, {"user", "bob"}, {"event_id", m2}, {"text", "edited"}})
                  .value("success", false));
  EXPECT_TRUE(c.post("/api/v1/chat.react",
                     {{"room_id", room}, {"user", "carol"}, {"event_id", m1}, {"emoji", ":+1:"}})
                  .value("success", false));
  EXPECT_TRUE(c.post("/api/v1/chat.unreact",
                     {{"room_id", room}, {"user", "carol"}, {"event_id", m1}, {"emoji", ":+1:"}})
                  .value("success", false));
  EXPECT_TRUE(b.post("/api/v1/rooms.read", {{"room_id", room}, {"user", "bob"}, {"up_to", m3}})
                  .value("success", false));
  EXPECT_TRUE(c.post("/api/v1/notify.send", {{"room_id", room},
                                             {"user", "carol"},
                                             {"to", "alice@a.test"},
                                             {"kind", "mention"},
                                             {"text", "@alice look"}})
                  .value("success", false));
  // The members' reactions to m1 travel through the host's queue; deleting m1 before they
  // are in would rightly refuse them ("no such message").
  ASSERT_GE(a.wait_for_room_events(room, expected_total + 5, settle).size(), expected_total + 5)
      << a.log();
  EXPECT_TRUE(
      a.post("/api/v1/chat.delete", {{"room_id", room}, {"user", "alice"}, {"event_id", m1}})
          .value("success", false));
  auto total = expected_total + 6;
  auto on_a = a.wait_for_room_events(room, total, settle);
  auto on_b = b.wait_for_room_events(room, total - 1, settle);
  auto on_c = c.wait_for_room_events(room, total - 2, settle);
  ASSERT_EQ(on_a.size(), total) << a.log();
  EXPECT_EQ(on_b.size(), total - 1);
  EXPECT_EQ(on_c.size(), total - 2);
  EXPECT_EQ(fingerprint(on_b), host_view_from(on_a, on_b));
  EXPECT_EQ(fingerprint(on_c), host_view_from(on_a, on_c));
  // Nothing twice, in the host's order.
  std::set<std::string> ids;
  uint64_t last_seq = 0;
  for (const auto& e : on_a) {
    EXPECT_TRUE(ids.insert(e.value("event_id", "")).second) << e.dump();
    EXPECT_GT(e.value("seq", 0u), last_seq);
    last_seq = e.value("seq", 0u);
  }
  // Users are bare when local and qualified when remote, as each local server sees them.
  auto text_of = [](const std::vector<json>& events, const std::string& id) {
    for (const auto& e : events)
      if (e.value("event_id", "") == id) return e;
    return json{};
  };
  EXPECT_EQ(text_of(on_b, m2).value("user", ""), "bob");
  EXPECT_EQ(text_of(on_a, m2).value("user", ""), "bob@b.test");
  EXPECT_EQ(text_of(on_c, m2).value("text", ""), "hello from b");
  EXPECT_EQ(text_of(on_a, m3).value("origin", ""), "c.test");
}

TEST_F(RoomsTest, MutedUsersPostsAreRejectedAndTheReasonReachesTheirServer) {
  auto room = create_room();
  invite_everyone(room);
  ASSERT_GE(b.wait_for_room_events(room, 2, settle).size(), 2u);
  ASSERT_TRUE(
      a.post("/api/v1/rooms.mute", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_GE(b.wait_for_room_events(room, 3, settle).size(), 3u);
  unsigned status = 0;
  auto refused = send(b, room, "bob", "can you hear me", &status);
  // Refused at once by b's replica (same rules as the host), or later by the host: either
  // way the submitting server learns why.
  bool seen_rejection = status == 403;
  if (!seen_rejection) {
    seen_rejection = wait_until(
        [&] {
          for (const auto& e : b.all_events())
            if (e.value("type", "") == "rejected" && e.value("event_id", "") == refused)
              return e.value("reason", "").find("muted") != std::string::npos;
          return false;
        },
        settle);
  }
  EXPECT_TRUE(seen_rejection) << b.log();
  ASSERT_TRUE(
      a.post("/api/v1/rooms.unmute", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_GE(b.wait_for_room_events(room, 4, settle).size(), 4u);
  auto ok = send(b, room, "bob", "back");
  ASSERT_FALSE(ok.empty());
  auto on_a = a.wait_for_room_events(room, 6, settle);
  ASSERT_EQ(on_a.size(), 6u);
  EXPECT_EQ(on_a.back().value("event_id", ""), ok);
}

TEST_F(RoomsTest, OnlyOwnersAndModeratorsPostInBroadcastRooms) {
  auto room = create_room("broadcast");
  invite_everyone(room);
  ASSERT_GE(c.wait_for_room_events(room, 1, settle).size(), 1u);
  unsigned status = 0;
  auto r = c.post("/api/v1/chat.send", {{"room_id", room}, {"user", "carol"}, {"text", "may I?"}},
                  &status);
  EXPECT_EQ(status, 403u) << r.dump();
  EXPECT_NE(r.value("error", "").find("broadcast"), std::string::npos) << r.dump();
  ASSERT_TRUE(
      a.post("/api/v1/rooms.setRole",
             {{"room_id", room}, {"user", "carol@c.test"}, {"role", "moderator"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_GE(c.wait_for_room_events(room, 2, settle).size(), 2u);
  EXPECT_FALSE(send(c, room, "carol", "now I may").empty());
  EXPECT_EQ(a.wait_for_room_events(room, 5, settle).size(), 5u);
}

TEST_F(RoomsTest, NonMembersCannotPostAndOnlyOwnersDelete) {
  auto room = create_room("private");
  unsigned status = 0;
  send(b, room, "bob", "let me in", &status);
  EXPECT_NE(status, 200u);
  invite_everyone(room);
  ASSERT_GE(b.wait_for_room_events(room, 2, settle).size(), 2u);
  auto r = b.post("/api/v1/rooms.delete", {{"room_id", room}, {"by", "bob"}}, &status);
  EXPECT_EQ(status, 403u) << r.dump();
  ASSERT_TRUE(
      a.post("/api/v1/rooms.delete", {{"room_id", room}, {"by", "alice"}}).value("success", false));
  ASSERT_GE(b.wait_for_room_events(room, 3, settle).size(), 3u);
  send(b, room, "bob", "too late", &status);
  EXPECT_EQ(status, 403u);
  EXPECT_EQ(a.wait_for_room_events(room, 4, 1s).back().value("type", ""), "room.deleted");
}

TEST_F(RoomsTest, KickAndLeave) {
  auto room = create_room();
  invite_everyone(room);
  ASSERT_GE(c.wait_for_room_events(room, 1, settle).size(), 1u);
  ASSERT_TRUE(
      a.post("/api/v1/rooms.kick", {{"room_id", room}, {"user", "carol@c.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_TRUE(
      b.post("/api/v1/rooms.leave", {{"room_id", room}, {"user", "bob"}}).value("success", false));
  auto on_a = a.wait_for_room_events(room, 5, settle);
  ASSERT_EQ(on_a.size(), 5u);
  // Both removed servers learn of their own removal.
  EXPECT_EQ(c.wait_for_room_events(room, 2, settle).back().value("type", ""), "user.removed");
  EXPECT_EQ(b.wait_for_room_events(room, 4, settle).back().value("type", ""), "user.left");
  unsigned status = 0;
  send(c, room, "carol", "still here?", &status);
  EXPECT_NE(status, 200u);
}

TEST_F(RoomsTest, DirectChatBetweenTwoServers) {
  auto r = a.post("/api/v1/dm.create", {{"from", "alice"}, {"to", "bob@b.test"}});
  ASSERT_TRUE(r.value("success", false)) << r.dump();
  auto room = r.value("room_id", "");
  auto again = a.post("/api/v1/dm.create", {{"from", "alice"}, {"to", "bob@b.test"}});
  EXPECT_EQ(again.value("room_id", ""), room);
  ASSERT_FALSE(b.wait_for_room_events(room, 1, settle).empty()) << b.log();
  auto hi = send(a, room, "alice", "hi bob");
  ASSERT_FALSE(hi.empty());
  auto reply = send(b, room, "bob", "hi alice");
  ASSERT_FALSE(reply.empty());
  auto on_a = a.wait_for_room_events(room, 3, settle);
  auto on_b = b.wait_for_room_events(room, 3, settle);
  ASSERT_EQ(on_a.size(), 3u);
  EXPECT_EQ(fingerprint(on_b), fingerprint(on_a));
  EXPECT_EQ(on_b[1].value("text", ""), "hi bob");
  EXPECT_EQ(on_b[1].value("user", ""), "alice@a.test");
}

TEST_F(RoomsTest, AMemberServerThatWasDownCatchesUp) {
  auto room = create_room();
  invite_everyone(room);
  ASSERT_GE(c.wait_for_room_events(room, 1, settle).size(), 1u);
  ASSERT_TRUE(c.stop());
  for (int i = 0; i < 20; ++i)
    ASSERT_FALSE(send(a, room, "alice", "while c is down " + std::to_string(i)).empty());
  ASSERT_FALSE(send(b, room, "bob", "b too").empty());
  c.start();
  auto on_a = a.wait_for_room_events(room, 24, settle);
  auto on_c = c.wait_for_room_events(room, 22, settle);
  ASSERT_EQ(on_a.size(), 24u);
  EXPECT_EQ(fingerprint(on_c), host_view_from(on_a, on_c)) << c.log();
}

TEST_F(RoomsTest, BadCallsChangeNothing) {
  unsigned status = 0;
  auto r = a.call("POST", "/api/v1/rooms.create", json{{"name", "x"}}, &status, "wrong-token");
  EXPECT_EQ(status, 401u) << r.dump();
  r = a.call("POST", "/api/v1/rooms.create", json{{"name", "x"}}, &status);
  EXPECT_EQ(status, 400u) << r.dump();
  EXPECT_FALSE(r.value("success", true));
  r = a.post(
      "/api/v1/chat.send",
      {{"room_id", "00000000000000000000000000000000:a.test"}, {"user", "alice"}, {"text", "x"}},
      &status);
  EXPECT_EQ(status, 404u) << r.dump();
  r = a.post("/api/v1/chat.send", {{"room_id", "whatever"}, {"user", "bob@b.test"}, {"text", "x"}},
             &status);
  EXPECT_EQ(status, 400u) << r.dump();  // a local server speaks only for its own users
  r = a.get("/api/v1/no.such.call", &status);
  EXPECT_EQ(status, 404u);
  // Bytes that are not UTF-8, quoted back in the error: replaced, and still a JSON answer
  // (the reply used to be lost, the connection closed without one).
  r = a.get("/api/v1/rooms.info?room_id=%FF", &status);
  EXPECT_EQ(status, 404u) << r.dump();
  EXPECT_EQ(r.value("error", ""), "no such room \xEF\xBF\xBD") << r.dump();
  // Numbers that are not numbers are refused, not read as the default (after=0 would
  // replay the whole inbox).
  for (const char* query :
       {"events?after=abc", "events?after=-1", "events?after=", "events?limit=1x",
        "events?wait=99999999999999999999", "rooms.history?room_id=x&limit=-5"}) {
    r = a.get(std::string{"/api/v1/"} + query, &status);
    EXPECT_EQ(status, 400u) << query << " " << r.dump();
    EXPECT_NE(r.value("error", "").find("must be a decimal number"), std::string::npos) << query;
  }
  r = a.post("/api/v1/users.register", {{"username", "carol"}, {"name", 5}}, &status);
  EXPECT_EQ(status, 400u) << r.dump();
  EXPECT_EQ(r.value("error", ""), "\"name\" must be a string");
  // A field of the wrong type is named as such, and an id the node would not take is
  // refused, not dropped: sent again, the message would be a second one.
  auto room = create_room();
  r = a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", 5}}, &status);
  EXPECT_EQ(status, 400u) << r.dump();
  EXPECT_EQ(r.value("error", ""), "field \"text\" must be a non-empty string, not number");
  for (const json& id : {json(5), json(true), json("")}) {
    r = a.post("/api/v1/chat.send",
               {{"room_id", room}, {"user", "alice"}, {"text", "x"}, {"id", id}}, &status);
    EXPECT_EQ(status, 400u) << id << " " << r.dump();
    EXPECT_EQ(r.value("error", "").rfind("field \"id\" must be a non-empty string", 0), 0u)
        << r.dump();
  }
  // In a batch too, on its fast path for plain messages.
  r = a.post(
      "/api/v1/chat.sendBatch",
      {{"messages",
        json::array({json{{"room_id", room}, {"user", "alice"}, {"text", "x"}, {"id", ""}}})}},
      &status);
  EXPECT_EQ(status, 400u) << r.dump();
  EXPECT_EQ(r.value("error", "").rfind("messages[0]: field \"id\" must be a non-empty string", 0),
            0u)
      << r.dump();
  EXPECT_EQ(a.get("/api/v1/rooms.history?room_id=" + room)["events"].size(), 1u);
  // A query that names nothing to look for is a bad request, not a search that found none.
  for (const char* query : {"rooms.info", "rooms.history?limit=5", "users.search?q=bo@",
                            "users.search?q=bo@..", "users.search?q=bo@a%20b"}) {
    r = a.get(std::string{"/api/v1/"} + query, &status);
    EXPECT_EQ(status, 400u) << query << " " << r.dump();
  }
}

TEST_F(RoomsTest, ABatchOfMessagesIsDeliveredInOrderWithOneResultEach) {
  auto room = create_room();
  invite_everyone(room);
  json messages = json::array();
  for (int i = 0; i < 300; ++i)
    messages.push_back({{"room_id", room}, {"user", "alice"}, {"text", "m" + std::to_string(i)}});
  messages[7]["id"] = "local-7";
  messages[8] = {{"room_id", room}, {"user", "nobody"}, {"text", "not a member"}};
  const std::string escaped = "é \"quoted\" back\\slash\nnew line \u2603 \x01";
  messages[9]["text"] = escaped;
  messages[10]["user"] = "alice@a.test";  // our domain named: the same user
  unsigned status = 0;
  auto r = a.post("/api/v1/chat.sendBatch", {{"messages", messages}}, &status);
  ASSERT_EQ(status, 200u) << r.dump();
  ASSERT_EQ(r["results"].size(), 300u);
  EXPECT_EQ(r["accepted"], 299);
  EXPECT_EQ(r["results"][7]["event_id"], "local-7:a.test");
  EXPECT_NE(r["results"][8].value("error", "").find("not a member"), std::string::npos) << r.dump();
  // b and c see the 299 messages after their invitation, in the host's order.
  auto on_a = a.wait_for_room_events(room, 302, settle);
  auto on_c = c.wait_for_room_events(room, 300, settle);
  ASSERT_EQ(on_a.size(), 302u);
  ASSERT_EQ(on_c.size(), 300u) << c.log();
  EXPECT_EQ(fingerprint(on_c), host_view_from(on_a, on_c));
  EXPECT_EQ(on_c.back()["text"], "m299");
  auto texts_on_c = std::count_if(on_c.begin(), on_c.end(),
                                  [&](const json& e) { return e.value("text", "") == escaped; });
  EXPECT_EQ(texts_on_c, 1);
  auto by_alice = std::count_if(on_c.begin(), on_c.end(), [](const json& e) {
    return e.value("text", "") == "m10" && e.value("user", "") == "alice@a.test";
  });
  EXPECT_EQ(by_alice, 1);
  // A bad item refuses the whole call before anything is submitted.
  r = a.post("/api/v1/chat.sendBatch",
             {{"messages",
               {{{"room_id", room}, {"user", "alice"}, {"text", "fine"}},
                {{"room_id", room}, {"user", "alice"}}}}},
             &status);
  EXPECT_EQ(status, 400u) << r.dump();
  EXPECT_NE(r.value("error", "").find("messages[1]"), std::string::npos) << r.dump();
  r = a.post("/api/v1/chat.sendBatch", {{"messages", json::array()}}, &status);
  EXPECT_EQ(status, 400u) << r.dump();
  // A user of another server fails the call too, named by its item.
  r = a.post("/api/v1/chat.sendBatch",
             {{"messages",
               {{{"room_id", room}, {"user", "alice"}, {"text", "fine"}},
                {{"room_id", room}, {"user", "mallory@b.test"}, {"text", "not ours"}}}}},
             &status);
  EXPECT_EQ(status, 400u) << r.dump();
  EXPECT_EQ(r.value("error", ""), "messages[1]: user mallory@b.test is not a user of a.test")
      << r.dump();
  EXPECT_EQ(a.wait_for_room_events(room, 303, 1s).size(), 302u);
}

TEST_F(RoomsTest, ABatchFromAMemberIsCheckedByTheHostAndRelayedToTheOtherMember) {
  // b signs its batch in groups (one signature per 16 events); the host checks each event
  // against b's key before sequencing it, and c checks each again when the host relays it.
  auto room = create_room();
  invite_everyone(room);
  ASSERT_EQ(b.wait_for_room_events(room, 2, settle).size(), 2u) << b.log();
  json messages = json::array();
  for (int i = 0; i < 40; ++i)
    messages.push_back({{"room_id", room}, {"user", "bob"}, {"text", "b" + std::to_string(i)}});
  unsigned status = 0;
  auto r = b.post("/api/v1/chat.sendBatch", {{"messages", messages}}, &status);
  ASSERT_EQ(status, 200u) << r.dump();
  EXPECT_EQ(r["accepted"], 40) << r.dump();
  auto on_a = a.wait_for_room_events(room, 43, settle);
  auto on_c = c.wait_for_room_events(room, 41, settle);
  ASSERT_EQ(on_a.size(), 43u) << a.log();
  ASSERT_EQ(on_c.size(), 41u) << c.log();
  EXPECT_EQ(fingerprint(on_c), host_view_from(on_a, on_c));
  EXPECT_EQ(on_c.back()["text"], "b39");
  EXPECT_EQ(on_c.back()["user"], "bob@b.test");
}

/// Starts `nodes` (A and C), registers alice on A and carol on C, and creates a public
/// room of alice's hosted on A; its id ("" when that failed, which the check names).
std::string start_with_a_room_of_alice(cluster& nodes) {
  nodes.start_all();
  nodes[0].post("/api/v1/users.register", {{"username", "alice"}, {"name", "Alice"}});
  nodes[1].post("/api/v1/users.register", {{"username", "carol"}, {"name", "Carol"}});
  auto created = nodes[0].post("/api/v1/rooms.create",
                               {{"name", "long"}, {"type", "public"}, {"owner", "alice"}});
  EXPECT_TRUE(created.value("success", false)) << created.dump();
  return created.value("room_id", "");
}

/// start_with_a_room_of_alice, then carol of the second node invited, and her server in
/// the room; empty when any of it failed.
std::string start_with_alice_and_carol(cluster& nodes) {
  auto room = start_with_a_room_of_alice(nodes);
  if (room.empty()) return room;
  auto invited =
      nodes[0].post("/api/v1/rooms.invite",
                    {{"room_id", room}, {"user", "carol@" + nodes[1].domain()}, {"by", "alice"}});
  auto joined = nodes[1].wait_for_room_events(room, 1, settle);
  EXPECT_TRUE(invited.value("success", false)) << invited.dump();
  EXPECT_EQ(joined.size(), 1u) << nodes[1].log();
  return invited.value("success", false) && joined.size() == 1 ? room : std::string{};
}

// A server whose first user joins a room with a long history gets the room's state with
// the authors of its most recent messages only. With every author the state of a room of
// 40,000 messages is larger than the receiver takes in one request (2 MiB here): the host
// sent it again and again, refused each time (HTTP 413), and the member, seeing events
// without a state, fetched the room's whole history instead.
TEST(LargeRoomsTest, ANewcomerToARoomWithALongHistoryGetsItsStateAndWhatFollows) {
  cluster nodes{{"a.test", "c.test"}, "[limits]\nmax_body_bytes = 2097152\n"};
  test_node& a = nodes[0];
  test_node& c = nodes[1];
  auto room = start_with_a_room_of_alice(nodes);
  ASSERT_FALSE(room.empty());
  const int history = 40000;
  std::string oldest, recent;
  for (int sent = 0; sent < history; sent += 1000) {
    json messages = json::array();
    for (int i = sent; i < sent + 1000; ++i)
      messages.push_back({{"room_id", room}, {"user", "alice"}, {"text", std::to_string(i)}});
    unsigned status = 0;
    auto r = a.post("/api/v1/chat.sendBatch", {{"messages", messages}}, &status);
    ASSERT_EQ(status, 200u) << r.dump();
    ASSERT_EQ(r["accepted"], 1000) << r.dump();
    if (sent == 0) oldest = r["results"][0]["event_id"];
    recent = r["results"][999]["event_id"];
  }
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "carol@c.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_TRUE(a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "hi"}})
                  .value("success", false));
  auto on_c = c.wait_for_room_events(room, 2, settle);
  ASSERT_EQ(on_c.size(), 2u) << a.log() << c.log();
  EXPECT_EQ(on_c[0].value("type", ""), "user.invited");
  EXPECT_EQ(on_c[1].value("text", ""), "hi");
  // c knows who wrote the recent messages: it refuses carol's edit of one at once.
  unsigned status = 0;
  c.post("/api/v1/chat.update",
         {{"room_id", room}, {"user", "carol"}, {"event_id", recent}, {"text", "mine now"}},
         &status);
  EXPECT_EQ(status, 403u);
  // An older message it never heard of is left to the host, which knows it.
  auto r = c.post("/api/v1/chat.react",
                  {{"room_id", room}, {"user", "carol"}, {"event_id", oldest}, {"emoji", ":+1:"}},
                  &status);
  EXPECT_EQ(status, 200u) << r.dump();
  on_c = c.wait_for_room_events(room, 3, settle);
  ASSERT_EQ(on_c.size(), 3u) << c.log();
  EXPECT_EQ(on_c[2].value("type", ""), "reaction.set");
}

// A receiver that takes smaller requests than one transaction may be (limits.max_body_bytes
// of 16 KiB here, against transactions of up to 4 MiB of events) refuses a large one
// with HTTP 413; the sender sends it again in halves, and from then on smaller ones.
// Before, it sent the same transaction again for ever, and nothing after it arrived.
TEST(LargeRoomsTest, AReceiverThatTakesSmallerRequestsGetsABacklogInSmallerTransactions) {
  cluster nodes{{"a.test", "c.test"}};
  test_node& a = nodes[0];
  test_node& c = nodes[1];
  auto room = start_with_alice_and_carol(nodes);
  ASSERT_FALSE(room.empty());
  // c comes back taking smaller requests, after a batch of 300 texts of 3,000 bytes (about
  // 1 MB) was queued for it.
  ASSERT_TRUE(c.stop());
  c.configure({&a}, "[limits]\nmax_body_bytes = 16384\nmax_content_bytes = 8192\n");
  const std::string text(3000, 'x');
  json messages = json::array();
  for (int i = 0; i < 300; ++i)
    messages.push_back({{"room_id", room}, {"user", "alice"}, {"text", std::to_string(i) + text}});
  unsigned status = 0;
  auto r = a.post("/api/v1/chat.sendBatch", {{"messages", messages}}, &status);
  ASSERT_EQ(status, 200u) << r.dump();
  ASSERT_EQ(r["accepted"], 300) << r.dump();
  c.start();
  auto on_c = c.wait_for_room_events(room, 301, settle);
  ASSERT_EQ(on_c.size(), 301u) << a.log();
  EXPECT_EQ(on_c.back().value("text", ""), "299" + text);
  // The events may also come by catch-up (c asks its host after a restart): what shows
  // the split is that the queue to c empties, and that A says it sent smaller ones.
  auto queue_to_c = [&a] {
    auto to_c = peer_status(a, "c.test");
    return to_c.is_object() ? to_c.value("queue_depth", uint64_t{1}) : uint64_t{1};
  };
  EXPECT_TRUE(wait_until([&] { return queue_to_c() == 0; }, settle))
      << queue_to_c() << " events still queued for c\n"
      << a.log();
  EXPECT_NE(a.log().find("refused a transaction of"), std::string::npos) << a.log();
}

// A local user may send content of limits.max_content_bytes at most: the chat server hears
// so at once (413), and nothing of it is stored or queued.
TEST(LargeRoomsTest, ContentOverTheLimitIsRefusedAtOnceAndNeverQueued) {
  cluster nodes{{"a.test", "c.test"}, "[limits]\nmax_content_bytes = 4096\n"};
  test_node& a = nodes[0];
  test_node& c = nodes[1];
  auto room = start_with_alice_and_carol(nodes);
  ASSERT_FALSE(room.empty());
  unsigned status = 0;
  auto r =
      a.post("/api/v1/chat.send",
             {{"room_id", room}, {"user", "alice"}, {"text", std::string(5000, 'x')}}, &status);
  EXPECT_EQ(status, 413u) << r.dump();
  EXPECT_NE(r.value("error", "").find("limits.max_content_bytes is 4096"), std::string::npos)
      << r.dump();
  // In a batch (of the plain shape, which has a path of its own) it fails the whole call,
  // naming the message.
  r = a.post("/api/v1/chat.sendBatch",
             {{"messages",
               {{{"room_id", room}, {"user", "alice"}, {"text", "fine"}},
                {{"room_id", room}, {"user", "alice"}, {"text", std::string(5000, 'x')}}}}},
             &status);
  EXPECT_EQ(status, 413u) << r.dump();
  EXPECT_EQ(r.value("error", "").rfind("messages[1]: the event's content is", 0), 0u) << r.dump();
  r = a.post("/api/v1/rooms.create",
             {{"name", std::string(5000, 'n')}, {"type", "public"}, {"owner", "alice"}}, &status);
  EXPECT_EQ(status, 413u) << r.dump();
  // Content up to the limit goes.
  const std::string largest(4096 - std::string(R"({"text":""})").size(), 'y');
  r = a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", largest}},
             &status);
  EXPECT_EQ(status, 200u) << r.dump();
  auto on_c = c.wait_for_room_events(room, 2, settle);
  ASSERT_EQ(on_c.size(), 2u) << c.log();
  EXPECT_EQ(on_c[1].value("text", ""), largest);
  // created, invited, the largest: nothing else was stored.
  EXPECT_EQ(a.wait_for_room_events(room, 4, 1s).size(), 3u);
}

// A host that takes smaller requests (limits.max_body_bytes of 16 KiB here) than a member
// lets its users send refuses a large submission with HTTP 413. Sending it again cannot
// help: the member refuses it for good, tells its chat server as of any refusal (a
// `rejected` event), says so in its log and its status, and its queue to the host goes
// on. Before, it sent it again for ever, backing off, and the queue never emptied.
TEST(LargeRoomsTest, AnEventPastTheReceiversRequestLimitIsRefusedAndTheQueueGoesOn) {
  cluster nodes{{"a.test", "c.test"}};
  test_node& a = nodes[0];
  test_node& c = nodes[1];
  a.configure({&c}, "[limits]\nmax_body_bytes = 16384\nmax_content_bytes = 8192\n");
  auto room = start_with_alice_and_carol(nodes);
  ASSERT_FALSE(room.empty());
  unsigned status = 0;
  auto r =
      c.post("/api/v1/chat.send",
             {{"room_id", room}, {"user", "carol"}, {"text", std::string(20000, 'x')}}, &status);
  ASSERT_EQ(status, 200u) << r.dump();  // c's own limit is 1 MiB
  auto large = r.value("event_id", "");
  auto refused = [&c] { return peer_status(c, "a.test").value("events_refused", 0); };
  EXPECT_TRUE(wait_until([&] { return refused() == 1; }, settle)) << c.log();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(c.post("/api/v1/chat.send",
                       {{"room_id", room}, {"user", "carol"}, {"text", std::to_string(i)}})
                    .value("success", false));
  // invited, the refusal, 0, 1, 2
  auto on_c = c.wait_for_room_events(room, 5, settle);
  ASSERT_EQ(on_c.size(), 5u) << c.log();
  EXPECT_EQ(on_c[4].value("text", ""), "2");
  auto rejected = std::find_if(on_c.begin(), on_c.end(),
                               [](const json& e) { return e.value("type", "") == "rejected"; });
  ASSERT_NE(rejected, on_c.end());
  EXPECT_EQ(rejected->value("event_id", ""), large);
  EXPECT_EQ(rejected->value("user", ""), "carol");
  EXPECT_EQ(rejected->value("reason", "").rfind("larger than a.test takes in one request", 0), 0u)
      << rejected->dump();
  auto to_a = peer_status(c, "a.test");
  EXPECT_EQ(to_a.value("queue_depth", 1), 0) << to_a.dump();
  EXPECT_EQ(to_a.value("state", ""), "connected") << to_a.dump();
  EXPECT_EQ(to_a.value("events_refused", 0), 1) << to_a.dump();
  EXPECT_NE(c.log().find("rejected event submit:" + room + ":" + large +
                         ": larger than a.test takes in one request"),
            std::string::npos)
      << c.log();
  EXPECT_EQ(a.wait_for_room_events(room, 6, 1s).size(), 5u);  // created, invited, 0, 1, 2
}

}  // namespace
}  // namespace fedrelay::test
