// The inbox as a WebSocket (events.stream) on a real node: events arrive as messages in
// cursor order, resuming after a cursor, and API calls made over the same socket.
#include <gtest/gtest.h>

#include "net/websocket_client.hpp"
#include "tests/app/cluster.hpp"

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
        {{"Authorization", "Bearer " + (token.empty() ? "token-a.test" : token)}}, 10s);
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
}

TEST_F(StreamTest, AWrongTokenIsRefused) {
  EXPECT_FALSE(open_stream(0, "wrong"));
}

}  // namespace
}  // namespace fedrelay::test
