// The files actor's quick look at an inbox page: which pages it must parse.
#include <string>

#include <gtest/gtest.h>

#include "actors/files_actor.hpp"

namespace fedrelay::actors {
namespace {

std::string page_of(const std::string& events) {
  return R"({"events":[)" + events + R"(],"next":7})";
}

TEST(FilesPageTest, APageIsParsedOnlyWhenAnEventOfItMayConcernFiles) {
  auto message = R"({"cursor":1,"type":"message.sent","room_id":"r:a.test","text":"hi"})";
  EXPECT_FALSE(may_concern_files(page_of("")));
  EXPECT_FALSE(may_concern_files(page_of(message)));
  EXPECT_FALSE(may_concern_files(page_of(std::string{message} + "," + message)));
  // A type that only starts like one of them, and one cut off at the end of the text.
  EXPECT_FALSE(may_concern_files(page_of(R"({"type":"file.sharedx"},{"type":"room.deleted2"})")));
  EXPECT_FALSE(may_concern_files(R"({"type":"file.shared)"));
  for (std::string type : {"file.shared", "message.deleted", "rejected", "room.deleted"}) {
    auto event = R"({"cursor":2,"type":")" + type + R"(","room_id":"r:a.test"})";
    EXPECT_TRUE(may_concern_files(page_of(event))) << type;
    EXPECT_TRUE(may_concern_files(page_of(std::string{message} + "," + event + "," + message)))
        << type;
    EXPECT_TRUE(may_concern_files(page_of(event + "," + message))) << type;
  }
  // The same text inside a content only costs a parse.
  EXPECT_TRUE(may_concern_files(page_of(R"({"type":"message.sent","text":{"type":"rejected"}})")));
}

}  // namespace
}  // namespace fedrelay::actors
