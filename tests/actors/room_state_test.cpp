// The room state machine, rule by rule: what the host accepts at each point of a room's
// life, and what applying an event changes.
#include "actors/room_state.hpp"

#include <algorithm>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "actors/describe.hpp"
#include "actors/errc.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;

const std::string room_id = "0123456789abcdef0123456789abcdef:a.example";
const std::string alice = "alice@a.example";  // the owner
const std::string bob = "bob@b.example";      // invited
const std::string carol = "carol@c.example";  // invited
const std::string dave = "dave@d.example";    // never a member

class RoomStateTest : public ::testing::Test {
 protected:
  room_event ev(event_type t, const std::string& user, json content = json::object()) {
    room_event e;
    e.id = "e" + std::to_string(++counter_) + ":" + std::string{domain_of_user(user)};
    e.type = t;
    e.room_id = room_id;
    e.origin = std::string{domain_of_user(user)};
    e.user = user;
    e.content = std::move(content);
    return e;
  }

  /// Validates and applies, as the host does; fails the test when refused.
  room_event accept(room_event e) {
    auto err = validate(state_, e);
    EXPECT_FALSE(err) << to_string(e.type) << " by " << e.user << ": " << describe(err);
    e.seq = state_.last_seq + 1;
    if (!err) apply(state_, e);
    return e;
  }

  /// The reason `e` is refused now ("" when it is accepted).
  std::string refusal(const room_event& e) {
    auto err = validate(state_, e);
    if (!err) return {};
    EXPECT_EQ(err, errc::rejected);
    return detail_of(err);
  }

  void create(const std::string& type) {
    accept(ev(event_type::room_created, alice, {{"name", "general"}, {"room_type", type}}));
  }

  /// A room of `type` with alice (owner), bob and carol.
  void create_with_members(const std::string& type) {
    create(type);
    accept(ev(event_type::user_invited, alice, {{"target", bob}}));
    accept(ev(event_type::user_invited, alice, {{"target", carol}}));
  }

  std::string post(const std::string& user, const std::string& text = "hi") {
    auto e = accept(ev(event_type::message_sent, user, {{"text", text}}));
    return e.id;
  }

  room_state state_;
  int counter_ = 0;
};

TEST_F(RoomStateTest, CreationMakesTheCreatorOwner) {
  EXPECT_EQ(refusal(ev(event_type::message_sent, alice, {{"text", "x"}})), "no such room");
  create("public");
  EXPECT_EQ(state_.room_id, room_id);
  EXPECT_EQ(state_.name, "general");
  EXPECT_EQ(state_.type, "public");
  EXPECT_EQ(state_.host, "a.example");
  EXPECT_EQ(state_.members, (std::map<std::string, std::string>{{alice, "owner"}}));
  EXPECT_EQ(state_.last_seq, 1u);
  EXPECT_EQ(refusal(ev(event_type::room_created, alice, {{"name", "x"}, {"room_type", "public"}})),
            "room already created");
}

TEST_F(RoomStateTest, OnlyTheHostCreatesItsRooms) {
  room_state empty;
  auto e = ev(event_type::room_created, bob, {{"name", "x"}, {"room_type", "public"}});
  EXPECT_EQ(detail_of(validate(empty, e)), "a room is created by its host a.example");
}

TEST_F(RoomStateTest, AServerSpeaksOnlyForItsOwnUsers) {
  create_with_members("public");
  auto forged = ev(event_type::message_sent, carol, {{"text", "I am carol"}});
  forged.origin = "b.example";
  forged.id = "f1:b.example";
  EXPECT_EQ(refusal(forged), "user carol@c.example is not of origin b.example");
}

TEST_F(RoomStateTest, NonMembersCannotTakePart) {
  create_with_members("public");
  auto m = post(alice);
  for (auto e :
       {ev(event_type::message_sent, dave, {{"text", "x"}}),
        ev(event_type::reaction_set, dave, {{"target", m}, {"emoji", "x"}}),
        ev(event_type::read_receipt, dave, {{"up_to", m}}),
        ev(event_type::notification, dave, {{"to", bob}, {"kind", "alert"}, {"text", "x"}}),
        ev(event_type::file_shared, dave,
           {{"file_id", std::string(64, 'f')}, {"name", "a"}, {"mime", "b"}, {"size", 1}}),
        ev(event_type::user_invited, dave, {{"target", dave}}), ev(event_type::user_left, dave)})
    EXPECT_EQ(refusal(e), "not a member") << to_string(e.type);
}

TEST_F(RoomStateTest, AnyoneJoinsAPublicRoomOnce) {
  create("public");
  accept(ev(event_type::user_joined, dave));
  EXPECT_EQ(state_.members.at(dave), "member");
  EXPECT_EQ(refusal(ev(event_type::user_joined, dave)), "already a member");
}

TEST_F(RoomStateTest, OtherRoomsAreInviteOnly) {
  for (auto type : {"private", "broadcast"}) {
    state_ = room_state{};
    create(type);
    EXPECT_EQ(refusal(ev(event_type::user_joined, dave)), "the room is invite only") << type;
    accept(ev(event_type::user_invited, alice, {{"target", dave}}));
    EXPECT_EQ(state_.members.at(dave), "member");
  }
}

TEST_F(RoomStateTest, OnlyOwnersAndModeratorsInvite) {
  create_with_members("private");
  EXPECT_EQ(refusal(ev(event_type::user_invited, bob, {{"target", dave}})),
            "only owners and moderators may invite");
  EXPECT_EQ(refusal(ev(event_type::user_invited, alice, {{"target", bob}})),
            "user bob@b.example is already a member");
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "moderator"}}));
  accept(ev(event_type::user_invited, bob, {{"target", dave}}));
}

TEST_F(RoomStateTest, BroadcastRoomsArePostedToByOwnersAndModerators) {
  create_with_members("broadcast");
  post(alice);
  auto file = json{{"file_id", std::string(64, 'f')}, {"name", "a"}, {"mime", "b"}, {"size", 1}};
  EXPECT_EQ(refusal(ev(event_type::message_sent, bob, {{"text", "x"}})),
            "only owners and moderators post in a broadcast room");
  EXPECT_EQ(refusal(ev(event_type::file_shared, bob, file)),
            "only owners and moderators post in a broadcast room");
  accept(ev(event_type::read_receipt, bob, {{"up_to", "e1:a.example"}}));  // reading is fine
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "moderator"}}));
  post(bob);
}

TEST_F(RoomStateTest, MutedUsersCannotSendEditReactOrShare) {
  create_with_members("public");
  auto own = post(bob);
  auto other = post(alice);
  accept(ev(event_type::user_muted, alice, {{"target", bob}}));
  EXPECT_TRUE(state_.muted.count(bob));
  for (auto e :
       {ev(event_type::message_sent, bob, {{"text", "x"}}),
        ev(event_type::message_edited, bob, {{"target", own}, {"text", "y"}}),
        ev(event_type::reaction_set, bob, {{"target", other}, {"emoji", "x"}}),
        ev(event_type::reaction_unset, bob, {{"target", other}, {"emoji", "x"}}),
        ev(event_type::file_shared, bob,
           {{"file_id", std::string(64, 'f')}, {"name", "a"}, {"mime", "b"}, {"size", 1}})})
    EXPECT_EQ(refusal(e), "user is muted") << to_string(e.type);
  accept(ev(event_type::read_receipt, bob, {{"up_to", other}}));
  EXPECT_EQ(refusal(ev(event_type::user_muted, alice, {{"target", bob}})),
            "user bob@b.example is already muted");
  accept(ev(event_type::user_unmuted, alice, {{"target", bob}}));
  EXPECT_FALSE(state_.muted.count(bob));
  post(bob);
  EXPECT_EQ(refusal(ev(event_type::user_unmuted, alice, {{"target", bob}})),
            "user bob@b.example is not muted");
}

TEST_F(RoomStateTest, OnlyOwnersAndModeratorsMuteAndKick) {
  create_with_members("public");
  EXPECT_EQ(refusal(ev(event_type::user_muted, bob, {{"target", carol}})),
            "only owners and moderators may mute");
  EXPECT_EQ(refusal(ev(event_type::user_unmuted, bob, {{"target", carol}})),
            "only owners and moderators may unmute");
  EXPECT_EQ(refusal(ev(event_type::user_removed, bob, {{"target", carol}})),
            "only owners and moderators may remove users");
  EXPECT_EQ(refusal(ev(event_type::user_muted, alice, {{"target", dave}})),
            "user dave@d.example is not a member");
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "moderator"}}));
  EXPECT_EQ(refusal(ev(event_type::user_removed, bob, {{"target", alice}})),
            "only an owner may remove an owner");
  accept(ev(event_type::user_muted, bob, {{"target", carol}}));
  accept(ev(event_type::user_removed, bob, {{"target", carol}}));
  EXPECT_FALSE(state_.members.count(carol));
  EXPECT_FALSE(state_.muted.count(carol));  // a later invite starts unmuted
  EXPECT_EQ(refusal(ev(event_type::message_sent, carol, {{"text", "x"}})), "not a member");
}

TEST_F(RoomStateTest, OnlyOwnersChangeRoles) {
  create_with_members("public");
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "moderator"}}));
  EXPECT_EQ(refusal(ev(event_type::role_changed, bob, {{"target", carol}, {"role", "moderator"}})),
            "only an owner may change roles");
  EXPECT_EQ(refusal(ev(event_type::role_changed, alice, {{"target", dave}, {"role", "member"}})),
            "user dave@d.example is not a member");
  accept(ev(event_type::role_changed, alice, {{"target", carol}, {"role", "owner"}}));
  EXPECT_EQ(state_.members.at(carol), "owner");
}

TEST_F(RoomStateTest, TheLastOwnerKeepsTheRoleUntilAnotherMemberIsOwner) {
  create_with_members("public");
  const std::string last_owner =
      "the room's last owner keeps the role: make another member owner first";
  // Only owners change roles and delete the room: an ownerless room could do neither again.
  EXPECT_EQ(refusal(ev(event_type::role_changed, alice, {{"target", alice}, {"role", "member"}})),
            last_owner);
  EXPECT_EQ(
      refusal(ev(event_type::role_changed, alice, {{"target", alice}, {"role", "moderator"}})),
      last_owner);
  accept(ev(event_type::role_changed, alice, {{"target", alice}, {"role", "owner"}}));
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "owner"}}));
  accept(ev(event_type::role_changed, alice, {{"target", alice}, {"role", "member"}}));
  EXPECT_EQ(state_.members.at(alice), "member");
  EXPECT_EQ(refusal(ev(event_type::role_changed, bob, {{"target", bob}, {"role", "member"}})),
            last_owner);
}

TEST_F(RoomStateTest, TheLastOwnerLeavesOnlyOnceAnotherIsOwnerOrNobodyIsLeft) {
  create_with_members("public");
  EXPECT_EQ(refusal(ev(event_type::user_left, alice, {})),
            "the room's last owner may not leave while others are members: make another member "
            "owner first");
  EXPECT_TRUE(state_.members.count(alice));
  accept(ev(event_type::user_left, carol, {}));  // others leave as they like
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "owner"}}));
  accept(ev(event_type::user_left, alice, {}));
  // bob, now the last owner and with others gone, may leave the room empty.
  for (const auto& [member, role] : std::map<std::string, std::string>{state_.members})
    if (member != bob) accept(ev(event_type::user_left, member, {}));
  accept(ev(event_type::user_left, bob, {}));
  EXPECT_TRUE(state_.members.empty());
}

// Removing herself is leaving: the last owner may not, while others are members.
TEST_F(RoomStateTest, TheLastOwnerCannotRemoveHerselfEither) {
  create_with_members("public");
  EXPECT_EQ(refusal(ev(event_type::user_removed, alice, {{"target", alice}})),
            "the room's last owner may not be removed while others are members: make another "
            "member owner first");
  EXPECT_TRUE(state_.members.count(alice));
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "owner"}}));
  accept(ev(event_type::user_removed, alice, {{"target", alice}}));
  EXPECT_FALSE(state_.members.count(alice));
  EXPECT_EQ(state_.members.at(bob), "owner");
}

TEST_F(RoomStateTest, TheOwnerOfADirectRoomLeavesItLikeTheOther) {
  accept(
      ev(event_type::room_created, alice, {{"name", ""}, {"room_type", "direct"}, {"with", bob}}));
  ASSERT_EQ(state_.members.at(alice), "owner");
  accept(ev(event_type::user_left, alice, {}));
  EXPECT_FALSE(state_.members.count(alice));
}

TEST_F(RoomStateTest, EditsByTheAuthorDeletesByTheAuthorOrAModerator) {
  create_with_members("public");
  auto by_bob = post(bob);
  auto by_carol = post(carol);
  EXPECT_EQ(refusal(ev(event_type::message_edited, carol, {{"target", by_bob}, {"text", "x"}})),
            "only the author may edit a message");
  EXPECT_EQ(refusal(ev(event_type::message_edited, alice, {{"target", by_bob}, {"text", "x"}})),
            "only the author may edit a message");
  accept(ev(event_type::message_edited, bob, {{"target", by_bob}, {"text", "fixed"}}));
  EXPECT_EQ(refusal(ev(event_type::message_deleted, bob, {{"target", by_carol}})),
            "only the author, owners and moderators may delete a message");
  accept(ev(event_type::message_deleted, alice, {{"target", by_carol}}));
  accept(ev(event_type::message_deleted, bob, {{"target", by_bob}}));
  EXPECT_TRUE(state_.authors.empty());
  EXPECT_EQ(refusal(ev(event_type::reaction_set, alice, {{"target", by_bob}, {"emoji", "x"}})),
            "no such message " + by_bob);
  EXPECT_EQ(refusal(ev(event_type::message_edited, bob, {{"target", by_bob}, {"text", "x"}})),
            "no such message " + by_bob);
}

TEST_F(RoomStateTest, ReactionsReceiptsAndNotifications) {
  create_with_members("public");
  auto m = post(alice);
  accept(ev(event_type::reaction_set, bob, {{"target", m}, {"emoji", ":+1:"}}));
  accept(ev(event_type::reaction_unset, bob, {{"target", m}, {"emoji", ":+1:"}}));
  accept(ev(event_type::read_receipt, carol, {{"up_to", m}}));
  accept(ev(event_type::notification, bob, {{"to", carol}, {"kind", "mention"}, {"text", "hey"}}));
  EXPECT_EQ(
      refusal(ev(event_type::notification, bob, {{"to", dave}, {"kind", "alert"}, {"text", "x"}})),
      "user dave@d.example is not a member");
}

TEST_F(RoomStateTest, MembersLeave) {
  create_with_members("private");
  accept(ev(event_type::user_left, bob));
  EXPECT_FALSE(state_.members.count(bob));
  EXPECT_EQ(refusal(ev(event_type::user_left, bob)), "not a member");
  using counts = std::map<std::string, uint32_t, std::less<>>;
  EXPECT_EQ(state_.members_per_domain, (counts{{"a.example", 1}, {"c.example", 1}}));
  EXPECT_FALSE(has_members_on(state_, "b.example"));
}

TEST_F(RoomStateTest, OnlyAnOwnerDeletesTheRoomAndNothingFollows) {
  create_with_members("public");
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "moderator"}}));
  EXPECT_EQ(refusal(ev(event_type::room_deleted, bob)), "only an owner may delete the room");
  EXPECT_EQ(refusal(ev(event_type::room_deleted, carol)), "only an owner may delete the room");
  accept(ev(event_type::room_deleted, alice));
  EXPECT_TRUE(state_.deleted);
  EXPECT_EQ(refusal(ev(event_type::message_sent, alice, {{"text", "x"}})), "room deleted");
  EXPECT_EQ(refusal(ev(event_type::user_joined, dave)), "room deleted");
  EXPECT_EQ(refusal(ev(event_type::room_deleted, alice)), "room deleted");
}

TEST_F(RoomStateTest, DirectRoomsHoldExactlyTheTwoUsers) {
  accept(
      ev(event_type::room_created, alice, {{"name", ""}, {"room_type", "direct"}, {"with", bob}}));
  EXPECT_EQ(state_.members,
            (std::map<std::string, std::string>{{alice, "owner"}, {bob, "member"}}));
  EXPECT_EQ(refusal(ev(event_type::user_invited, alice, {{"target", carol}})),
            "no invites in a direct room");
  EXPECT_EQ(refusal(ev(event_type::user_joined, carol)), "the room is invite only");
  post(bob);
  room_state empty;
  EXPECT_EQ(
      detail_of(validate(empty, ev(event_type::room_created, alice,
                                   {{"name", ""}, {"room_type", "direct"}, {"with", alice}}))),
      "a direct room is between two users");
}

TEST_F(RoomStateTest, MemberServersAreTheDomainsOfMembers) {
  create_with_members("public");
  accept(ev(event_type::user_invited, alice, {{"target", "bert@b.example"}}));
  using counts = std::map<std::string, uint32_t, std::less<>>;
  EXPECT_EQ(state_.members_per_domain,
            (counts{{"a.example", 1}, {"b.example", 2}, {"c.example", 1}}));
  accept(ev(event_type::user_removed, alice, {{"target", bob}}));
  EXPECT_TRUE(has_members_on(state_, "b.example"));  // bert is still there
  EXPECT_EQ(state_.members_per_domain.at("b.example"), 1u);
}

/// Every domain's count of members, counted again from the members themselves.
std::map<std::string, uint32_t, std::less<>> recount(const room_state& s) {
  std::map<std::string, uint32_t, std::less<>> out;
  for (const auto& [user, role] : s.members) ++out[std::string{domain_of_user(user)}];
  return out;
}

TEST_F(RoomStateTest, MembersPerDomainFollowEveryChangeOfMembersAndTheJsonRoundTrip) {
  create("public");
  // Many members on few domains, in and out in a fixed pseudo-random order; each change
  // applied as a host or member applies it, some twice as a resent event would be.
  const std::vector<std::string> domains{"a.example", "b.example", "c.example", "d.example"};
  uint32_t x = 12345;
  auto next = [&x] { return x = x * 1103515245u + 12345u, (x >> 8) % 1000; };
  const std::vector<std::function<room_event(const std::string&)>> changes{
      [&](const std::string& u) { return ev(event_type::user_joined, u); },
      [&](const std::string& u) {
        return ev(event_type::user_invited, alice, {{"target", u}});
      },
      [&](const std::string& u) { return ev(event_type::user_left, u); },
      [&](const std::string& u) {
        return ev(event_type::user_removed, alice, {{"target", u}});
      },
      [&](const std::string& u) {
        return ev(event_type::role_changed, alice, {{"target", u}, {"role", "moderator"}});
      }};
  for (int step = 0; step < 3000; ++step) {
    auto user = "u" + std::to_string(next() % 40) + "@" + domains[next() % domains.size()];
    auto e = changes[next() % changes.size()](user);
    e.seq = state_.last_seq + 1;
    auto before = state_.members;
    apply(state_, e);
    if (next() % 4 == 0) apply(state_, e);
    ASSERT_EQ(state_.members_per_domain, recount(state_)) << "step " << step;
    // A room actor stores the members members_changed_by names: every change is among them.
    auto named = members_changed_by(e);
    auto is_named = [&named](const std::string& u) {
      return std::find(named.begin(), named.end(), u) != named.end();
    };
    for (const auto& [u, role] : state_.members) {
      if (before.count(u) == 0 || before[u] != role) {
        ASSERT_TRUE(is_named(u)) << "step " << step << ": " << u;
      }
    }
    for (const auto& [u, role] : before) {
      if (state_.members.count(u) == 0) {
        ASSERT_TRUE(is_named(u)) << "step " << step << ": " << u;
      }
    }
  }
  EXPECT_GT(state_.members.size(), 10u);
  EXPECT_EQ(state_.members_per_domain.size(), domains.size());
  auto decoded = decode_state(encode_state(state_, false));
  ASSERT_TRUE(decoded) << describe(decoded.error());
  EXPECT_EQ(decoded->members_per_domain, recount(state_));
  for (const auto& d : domains) EXPECT_TRUE(has_members_on(*decoded, d)) << d;
  EXPECT_FALSE(has_members_on(*decoded, "e.example"));
}

TEST_F(RoomStateTest, TheStateRoundTripsThroughJson) {
  create_with_members("broadcast");
  auto m = post(alice);
  accept(ev(event_type::user_muted, alice, {{"target", carol}}));
  accept(ev(event_type::role_changed, alice, {{"target", bob}, {"role", "moderator"}}));
  auto full = decode_state(json::parse(encode_state(state_, true).dump()));
  ASSERT_TRUE(full) << describe(full.error());
  EXPECT_EQ(full->room_id, state_.room_id);
  EXPECT_EQ(full->name, "general");
  EXPECT_EQ(full->type, "broadcast");
  EXPECT_EQ(full->host, "a.example");
  EXPECT_EQ(full->members, state_.members);
  EXPECT_EQ(full->muted, state_.muted);
  EXPECT_EQ(full->last_seq, state_.last_seq);
  EXPECT_EQ(full->authors, (decltype(full->authors){{m, alice}}));
  auto lean = decode_state(encode_state(state_, false));
  ASSERT_TRUE(lean);
  EXPECT_TRUE(lean->authors.empty());
  EXPECT_FALSE(decode_state(json::array()));
  auto doc = encode_state(state_, false);
  doc["type"] = "secret";
  EXPECT_FALSE(decode_state(doc));
}

TEST_F(RoomStateTest, AStateWithTheMostRecentAuthorsOnlyLeavesUnknownMessagesToTheHost) {
  create_with_members("public");
  auto kept = post(alice);
  auto deleted = post(bob);
  accept(ev(event_type::message_deleted, bob, {{"target", deleted}}));
  const std::string unknown = "0123:a.example";
  auto react_to = [&](const std::string& target) {
    return ev(event_type::reaction_set, carol, {{"target", target}, {"emoji", ":+1:"}});
  };
  auto edit_of = [&](const std::string& target) {
    return ev(event_type::message_edited, carol, {{"target", target}, {"text", "x"}});
  };
  EXPECT_EQ(refusal(react_to(unknown)), "no such message " + unknown);
  state_.authors_complete = false;
  auto doc = encode_state(state_, true);
  EXPECT_EQ(doc["authors_complete"], false);
  auto partial = decode_state(doc);
  ASSERT_TRUE(partial) << describe(partial.error());
  EXPECT_FALSE(partial->authors_complete);
  state_ = std::move(*partial);
  EXPECT_EQ(refusal(react_to(unknown)), "");
  EXPECT_EQ(refusal(edit_of(unknown)), "");
  EXPECT_EQ(refusal(react_to(kept)), "");
  EXPECT_EQ(refusal(edit_of(kept)), "only the author may edit a message");
  // The state names no deleted message: one that never came is left to the host too,
  // and one whose deletion came is refused.
  EXPECT_EQ(refusal(react_to(deleted)), "");
  state_.authors[deleted] = "";
  EXPECT_EQ(refusal(react_to(deleted)), "no such message " + deleted);
  // A complete state says nothing of it, and reads back complete.
  state_.authors_complete = true;
  EXPECT_FALSE(encode_state(state_, false).contains("authors_complete"));
  EXPECT_TRUE(decode_state(encode_state(state_, false))->authors_complete);
  doc["authors_complete"] = "no";
  EXPECT_FALSE(decode_state(doc));
}

TEST_F(RoomStateTest, InfoShowsLocalUsersBare) {
  create_with_members("public");
  accept(ev(event_type::user_muted, alice, {{"target", bob}}));
  auto info = info_view(state_, "a.example");
  EXPECT_EQ(info["members"], (json{{"alice", "owner"}, {bob, "member"}, {carol, "member"}}));
  EXPECT_EQ(info["muted"], (json{bob}));
  EXPECT_FALSE(info.contains("authors"));
  EXPECT_EQ(info_view(state_, "b.example")["muted"], (json{"bob"}));
}

}  // namespace
}  // namespace fedrelay::actors
