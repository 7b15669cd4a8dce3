// success_reply: "success" spliced into the object the actors wrote, from a view (a copy)
// or from a text it takes over (in place).
#include "net/api_support.hpp"

#include <string>

#include <gtest/gtest.h>

namespace fedrelay::net {
namespace {

TEST(SuccessReplyTest, TakingTheTextOverGivesWhatTheCopyGives) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({})", R"({"success":true})"},
      {R"({ })", R"({"success":true })"},
      {R"({"a":1})", R"({"success":true,"a":1})"},
      {R"( {"events":[],"next":3})", R"( {"success":true,"events":[],"next":3})"},
      {R"({"x":"}"})", R"({"success":true,"x":"}"})"},
      {"no object", R"({"success":true})"},
      {"", R"({"success":true})"},
  };
  for (const auto& [object, expected] : cases) {
    EXPECT_EQ(success_reply(std::string_view{object}).body, expected) << object;
    auto taken = success_reply(std::string{object}, 201);
    EXPECT_EQ(taken.body, expected) << object;
    EXPECT_EQ(taken.status, 201u);
  }
}

TEST(SuccessReplyTest, ATextWithRoomToSpareGetsSuccessWhereItLies) {
  std::string page;
  page.reserve(1 << 20);
  page = R"({"events":[)" + std::string(500'000, 'e') + R"(],"next":7})";
  const char* where = page.data();
  auto expected = success_reply(std::string_view{page}).body;
  auto res = success_reply(std::move(page));
  EXPECT_EQ(res.body, expected);
  EXPECT_EQ(res.body.data(), where) << "the page was copied";
}

}  // namespace
}  // namespace fedrelay::net
