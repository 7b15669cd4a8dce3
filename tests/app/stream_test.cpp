// The inbox as a WebSocket (events.stream) on a real node: events arrive as messages in
// cursor order, resuming after a cursor, and API calls made over the same socket.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "net/websocket_client.hpp"
#include "tests/app/cluster.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

class StreamTest : public testing::Test {
 protected:
  temp_dir root;
  test_node a{"a.test", root.path()};

  void SetUp() override { a.start(); }

  std::unique_ptr<net::websocket_client> open_stream(uint64_t after,
                                                     const std::string& token = {}) {
    auto client = net::websocket_client::connect(
        "ws://127.0.0.1:" + std::to_string(a.local_port()),
        "/api/v1/events.stream?after=" + std::to_string(after),
        {{"Authorization", "Bearer " + (token.empty() ? a.token() : token)}}, 10s);
    if (!client) return nullptr;
    return std::move(*client);
  }
};

TEST_F(StreamTest, StreamsInboxEventsInOrderAndResumesAfterACursor) {
  auto room =
      a.post("/api/v1/rooms.create", {{"name", "r"}, {"type", "public"}, {"owner", "alice"}});
  auto room_id = room.value("room_id", "");
  auto stream = open_stream(0);
  ASSERT_TRUE(stream);
  for (int i = 0; i < 5; ++i)
    a.post("/api/v1/chat.send",
           {{"room_id", room_id}, {"user", "alice"}, {"text", "m" + std::to_string(i)}});
  std::vector<json> got;
  for (int i = 0; i < 6; ++i) {
    auto msg = stream->receive(10s);
    ASSERT_TRUE(msg) << caf::to_string(msg.error());
    got.push_back(json::parse(*msg));
  }
  EXPECT_EQ(got[0].value("type", ""), "room.created");
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ(got[i].value("cursor", 0u), got[i - 1].value("cursor", 0u) + 1);
    EXPECT_EQ(got[i].value("text", ""), "m" + std::to_string(i - 1));
  }
  // A new stream after cursor 4 starts with the fifth event.
  auto resumed = open_stream(4);
  ASSERT_TRUE(resumed);
  auto first = resumed->receive(10s);
  ASSERT_TRUE(first);
  EXPECT_EQ(json::parse(*first).value("cursor", 0u), 5u);
  // Streams parked on an empty inbox do not hold the node up when it stops.
  EXPECT_TRUE(a.stop());
}

TEST_F(StreamTest, CallsOverTheSocketAreAnswered) {
  auto stream = open_stream(0);
  ASSERT_TRUE(stream);
  ASSERT_FALSE(
      stream->send(json{{"call", "rooms.create"},
                        {"ref", 7},
                        {"body", {{"name", "ws"}, {"type", "private"}, {"owner", "alice"}}}}
                       .dump()));
  // The reply and the room.created event both come; order between them is not fixed.
  bool replied = false, streamed = false;
  for (int i = 0; i < 2; ++i) {
    auto msg = stream->receive(10s);
    ASSERT_TRUE(msg);
    auto j = json::parse(*msg);
    if (j.contains("ref")) {
      EXPECT_EQ(j["ref"], 7);
      EXPECT_EQ(j["status"], 200);
      EXPECT_TRUE(j["reply"].value("success", false));
      replied = true;
    } else {
      streamed = j.value("type", "") == "room.created";
    }
  }
  EXPECT_TRUE(replied);
  EXPECT_TRUE(streamed);
  // A message that names no call is refused under its ref, so the caller knows which.
  ASSERT_FALSE(stream->send(json{{"body", json::object()}, {"ref", 16}}.dump()));
  auto refused = stream->receive(10s);
  ASSERT_TRUE(refused);
  auto j = json::parse(*refused);
  EXPECT_EQ(j["ref"], 16) << *refused;
  EXPECT_EQ(j["status"], 400) << *refused;
}

// A chat server that reads its socket more slowly than the node fills it is waited for: a
// backlog of inbox events and the answers of calls made together, far more than the
// socket queues (8 MiB), all arrive, in order, on the one socket.
TEST_F(StreamTest, AChatServerThatReadsSlowlyIsWaitedForNotDropped) {
  auto room =
      a.post("/api/v1/rooms.create", {{"name", "r"}, {"type", "public"}, {"owner", "alice"}});
  auto room_id = room.value("room_id", "");
  constexpr int batches = 6, per_batch = 1000;
  const std::string filler(3000, 'x');
  for (int b = 0; b < batches; ++b) {
    json messages = json::array();
    for (int i = 0; i < per_batch; ++i)
      messages.push_back({{"room_id", room_id},
                          {"user", "alice"},
                          {"text", std::to_string(b * per_batch + i) + " " + filler}});
    unsigned status = 0;
    auto r = a.post("/api/v1/chat.sendBatch", {{"messages", messages}}, &status);
    ASSERT_EQ(status, 200u) << r.dump().substr(0, 500);
  }
  auto stream = open_stream(0);
  ASSERT_TRUE(stream);
  constexpr int history_calls = 3;
  for (int i = 0; i < history_calls; ++i)
    ASSERT_FALSE(stream->send(json{
        {"call", "rooms.history?room_id=" + room_id + "&after=0&limit=1000"},
        {"ref", i}}.dump()));
  // Nothing is read for a while: about 22 MB wait for the socket.
  std::this_thread::sleep_for(2s);
  int next_text = 0, answers = 0;
  uint64_t last_cursor = 0;
  for (int n = 0; n < batches * per_batch + 1 + history_calls; ++n) {
    auto msg = stream->receive(20s);
    ASSERT_TRUE(msg) << caf::to_string(msg.error()) << " after " << next_text << " events and "
                     << answers << " answers\n"
                     << a.log();
    auto j = json::parse(*msg);
    if (j.contains("ref")) {
      EXPECT_EQ(j.value("status", 0), 200) << msg->substr(0, 300);
      EXPECT_EQ(j["reply"]["events"].size(), 1000u);
      ++answers;
      continue;
    }
    auto cursor = j.value("cursor", uint64_t{0});
    EXPECT_EQ(cursor, last_cursor + 1);
    last_cursor = cursor;
    if (j.value("type", "") != "message.sent") continue;
    auto text = j.value("text", "");
    ASSERT_EQ(text.substr(0, text.find(' ')), std::to_string(next_text));
    ++next_text;
  }
  EXPECT_EQ(next_text, batches * per_batch);
  EXPECT_EQ(answers, history_calls);
  EXPECT_EQ(a.log().find("peer too slow"), std::string::npos);
}

// A socket's calls under way are bounded: at 64 the node stops reading the socket, so the
// chat server's further calls wait instead of being refused, and are made once answers
// come. The calls held here ask a peer that takes the connection and never answers.
TEST(StreamCallsTest, CallsPastTheBoundWaitForOnesUnderWay) {
  temp_dir root;
  test_node a{"a.test", root.path()};
  test_node silent{"b.test", root.path()};
  a.configure({&silent});
  std::optional<listening_socket> peer{std::in_place, silent.federation_port()};
  ASSERT_TRUE(peer->listening());
  a.start();
  auto stream = net::websocket_client::connect("ws://127.0.0.1:" + std::to_string(a.local_port()),
                                               "/api/v1/events.stream?after=0",
                                               {{"Authorization", "Bearer " + a.token()}}, 10s);
  ASSERT_TRUE(stream) << caf::to_string(stream.error());
  auto& ws = **stream;
  constexpr int held = 64, over = 6;
  for (int i = 0; i < held + over; ++i)
    ASSERT_FALSE(ws.send(json{{"call", "users.search?q=bob@b.test"}, {"ref", i}}.dump()));
  // Nothing is answered while the first 64 wait on the peer: the last six are not refused,
  // they are not read yet.
  for (auto until = std::chrono::steady_clock::now() + 2s;
       std::chrono::steady_clock::now() < until;) {
    auto msg = ws.receive(200ms);
    if (!msg) continue;
    EXPECT_FALSE(json::parse(*msg).contains("ref")) << *msg;
  }
  // The peer goes: each held call is answered with an error, and the six are made then.
  peer.reset();
  std::vector<int> answered;
  while (answered.size() < size_t{held + over}) {
    auto msg = ws.receive(40s);
    ASSERT_TRUE(msg) << "calls answered: " << answered.size();
    auto j = json::parse(*msg);
    if (!j.contains("ref")) continue;  // an inbox event
    EXPECT_NE(j.value("status", 0), 429) << *msg;
    answered.push_back(j["ref"].get<int>());
  }
  auto first_of_the_six = std::find(answered.begin(), answered.end(), held);
  EXPECT_NE(first_of_the_six, answered.begin());
  std::sort(answered.begin(), answered.end());
  for (int i = 0; i < held + over; ++i) EXPECT_EQ(answered[i], i);
  ASSERT_FALSE(ws.send(json{{"call", "rooms.create"},
                            {"ref", "after"},
                            {"body", {{"name", "r"}, {"type", "private"}, {"owner", "alice"}}}}
                           .dump()));
  for (;;) {
    auto msg = ws.receive(10s);
    ASSERT_TRUE(msg);
    auto j = json::parse(*msg);
    if (j.value("ref", json{}) != "after") continue;
    EXPECT_EQ(j.value("status", 0), 200) << *msg;
    break;
  }
  EXPECT_TRUE(a.stop());
}

TEST_F(StreamTest, AWrongTokenIsRefused) {
  EXPECT_FALSE(open_stream(0, "wrong"));
}

TEST_F(StreamTest, APlainRequestForTheStreamIsToldToUpgradeAndOtherMethodsAreRefused) {
  unsigned status = 0;
  auto r = a.get("/api/v1/events.stream?after=0", &status);
  EXPECT_EQ(status, 426u) << r.dump();
  EXPECT_EQ(r.value("error", ""), "events.stream is a WebSocket: send an upgrade request");
  r = a.post("/api/v1/events.stream", json::object(), &status);
  EXPECT_EQ(status, 405u) << r.dump();
}

TEST_F(StreamTest, ACursorThatIsNoNumberIsRefusedNotReadAsTheStart) {
  for (const char* after : {"", "abc", "-1"}) {
    auto client =
        net::websocket_client::connect("ws://127.0.0.1:" + std::to_string(a.local_port()),
                                       std::string{"/api/v1/events.stream?after="} + after,
                                       {{"Authorization", "Bearer " + a.token()}}, 10s);
    ASSERT_FALSE(client) << "after=" << after;
    EXPECT_NE(caf::to_string(client.error()).find("400"), std::string::npos)
        << "after=" << after << ": " << caf::to_string(client.error());
  }
  EXPECT_TRUE(open_stream(0));
}

}  // namespace
}  // namespace fedrelay::test
