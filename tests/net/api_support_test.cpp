// success_reply: "success" spliced into the object the actors wrote, from a view (a copy)
// or from a text it takes over (in place).
#include "net/api_support.hpp"

#include <string>

#include <gtest/gtest.h>
#include <caf/sec.hpp>

#include "actors/errc.hpp"
#include "storage/errc.hpp"

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

// A store that failed a write, and the actors that stopped with it, are worth another try
// within seconds (the node starts again from its data): 503 with Retry-After, and words a
// caller understands rather than CAF's name for a stopped actor.
TEST(ErrorReplyTest, AFailedStoreOrAStoppedPartOfTheNodeIsA503ToTryAgain) {
  auto stopped = error_reply(caf::make_error(caf::sec::request_receiver_down));
  EXPECT_EQ(stopped.status, 503u);
  EXPECT_EQ(stopped.header("Retry-After"), "5");
  EXPECT_EQ(stopped.body.find("request_receiver_down"), std::string::npos) << stopped.body;
  EXPECT_NE(stopped.body.find("try again"), std::string::npos) << stopped.body;
  auto failed = error_reply(caf::make_error(actors::errc::storage_failed, "journal: disk full"));
  EXPECT_EQ(failed.status, 503u);
  EXPECT_EQ(failed.header("Retry-After"), "5");
  auto no_room = error_reply(caf::make_error(storage::errc::no_space, "cannot write upload"));
  EXPECT_EQ(no_room.status, 507u);
  auto missing = error_reply(caf::make_error(actors::errc::not_found, "no such room"));
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.header("Retry-After"), "");
}

}  // namespace
}  // namespace fedrelay::net
