// The plain shape of a chat.sendBatch body is read without a JSON document; everything
// else is left to the general path, which answers as it always has.
#include "net/send_batch_body.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fedrelay::net {
namespace {

using nlohmann::json;

json message(const std::string& text) {
  return {{"room_id", "r1:a.test"}, {"user", "alice"}, {"text", text}};
}

// An empty id is left to the general path, which refuses it: read here, it would be
// taken for no id and a message sent again under it would be a second one.
TEST(SendBatchBodyTest, AnEmptyIdIsNotPlain) {
  json messages = json::array({message("x")});
  messages.back()["id"] = "";
  EXPECT_FALSE(read_plain_send_batch(json{{"messages", messages}}.dump(), 10));
}

TEST(SendBatchBodyTest, PlainMessagesAreReadWithTheirTextsUnescaped) {
  json messages = json::array();
  messages.push_back(message("hello"));
  messages.push_back(message("quote \" backslash \\ newline \n é \u2603"));
  messages.back()["id"] = "local-1";
  messages.back()["extra"] = {{"nested", {1, 2, 3}}};  // passed over, as the general path does
  messages.push_back(message("x"));
  messages.back()["user"] = "bob@a.test";
  auto items = read_plain_send_batch(json{{"messages", messages}, {"other", true}}.dump(), 10);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].room_id, "r1:a.test");
  EXPECT_EQ((*items)[0].user, "alice");
  EXPECT_EQ((*items)[0].text, "hello");
  EXPECT_EQ((*items)[0].id, "");
  EXPECT_EQ((*items)[1].text, "quote \" backslash \\ newline \n é \u2603");
  EXPECT_EQ((*items)[1].id, "local-1");
  EXPECT_EQ((*items)[2].user, "bob@a.test");  // the caller checks the domain
}

TEST(SendBatchBodyTest, AnythingButThePlainShapeIsLeftToTheGeneralPath) {
  auto one = [](const json& m) {
    return json{{"messages", json::array({message("ok"), m})}}.dump();
  };
  auto without = [](const char* key) {
    auto m = message("t");
    m.erase(key);
    return m;
  };
  auto with = [](const char* key, json value) {
    auto m = message("t");
    m[key] = std::move(value);
    return m;
  };
  std::vector<std::pair<std::string, std::string>> refused = {
      {"no text", one(without("text"))},
      {"no user", one(without("user"))},
      {"no room", one(without("room_id"))},
      {"empty text", one(with("text", ""))},
      {"empty user", one(with("user", ""))},
      {"a number as text", one(with("text", 5))},
      {"a number as id", one(with("id", 7))},
      {"an item that is not an object", json{{"messages", {message("ok"), "text"}}}.dump()},
      {"no messages", json{{"other", 1}}.dump()},
      {"messages not an array", json{{"messages", message("t")}}.dump()},
      {"no message at all", json{{"messages", json::array()}}.dump()},
      {"more than the most",
       json{{"messages", json::array({message("a"), message("b"), message("c")})}}.dump()},
      {"a key twice", R"({"messages":[{"room_id":"r","user":"u","text":"a","text":"b"}]})"},
      {"messages twice", R"({"messages":[],"messages":[{"room_id":"r","user":"u","text":"a"}]})"},
      {"a member passed over is malformed",
       R"({"messages":[{"room_id":"r","user":"u","text":"a","x":tru}]})"},
      {"text after the object", R"({"messages":[{"room_id":"r","user":"u","text":"a"}]} x)"},
      {"cut short", R"({"messages":[{"room_id":"r","user":"u","text":"a"})"},
      {"invalid UTF-8", "{\"messages\":[{\"room_id\":\"r\",\"user\":\"u\",\"text\":\"\xff\"}]}"},
      {"an array", json::array({message("t")}).dump()},
      {"not JSON", "messages"},
      {"empty", ""},
  };
  for (const auto& [what, body] : refused)
    EXPECT_FALSE(read_plain_send_batch(body, 2)) << what << ": " << body;
  EXPECT_TRUE(read_plain_send_batch(json{{"messages", {message("a"), message("b")}}}.dump(), 2));
}

}  // namespace
}  // namespace fedrelay::net
