// Room events: the wire form, signatures over the canonical form, field checks, user and id
// forms, and the federation messages.
#include "actors/room_event.hpp"

#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "tests/support/json_checks.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;

const std::string room = "0123456789abcdef0123456789abcdef:a.example";

room_event message(const std::string& text = "hello") {
  room_event e;
  e.id = "m1:a.example";
  e.type = event_type::message_sent;
  e.room_id = room;
  e.origin = "a.example";
  e.user = "alice@a.example";
  e.ts = 1700000000000;
  e.content = {{"text", text}};
  return e;
}

json wire(const room_event& e) {
  return json::parse(encode_event(e));
}

std::string decode_error(const json& doc) {
  auto e = decode_event(doc);
  EXPECT_FALSE(e) << doc.dump();
  return e ? std::string{} : detail_of(e.error());
}

TEST(RoomEventTest, EveryTypeHasItsWireName) {
  for (uint8_t i = 0; i <= static_cast<uint8_t>(event_type::room_deleted); ++i) {
    auto t = static_cast<event_type>(i);
    EXPECT_EQ(parse_event_type(to_string(t)), t) << to_string(t);
  }
  EXPECT_EQ(to_string(event_type::message_sent), "message.sent");
  EXPECT_EQ(to_string(event_type::read_receipt), "read.receipt");
  EXPECT_FALSE(parse_event_type("message"));
}

// What may go into a Content-Type field: a file's type as uploaded, and as served.
TEST(RoomEventTest, DomainsAreLabelsOfLettersDigitsAndInnerHyphens) {
  for (const char* good :
       {"a.test", "b", "chat.example.com", "xn--bcher-kva.example", "A-1.b2", "123.example"})
    EXPECT_TRUE(valid_domain(good)) << good;
  const std::string label_63(63, 'a'), label_64(64, 'a');
  EXPECT_TRUE(valid_domain(label_63 + ".example"));
  for (const std::string& bad :
       {std::string{}, std::string{".."}, std::string{"-.-"}, std::string{".example"},
        std::string{"example."}, std::string{"a..b"}, std::string{"-a.example"},
        std::string{"a-.example"}, std::string{"a_b.example"}, std::string{"a b"},
        label_64 + ".example", std::string(254, 'a')})
    EXPECT_FALSE(valid_domain(bad)) << bad;
}

TEST(RoomEventTest, MediaTypesAreTypeSlashSubtypeInPrintableAscii) {
  for (const char* mime : {"text/plain", "image/png", "text/plain; charset=utf-8", "a/b"})
    EXPECT_TRUE(valid_media_type(mime)) << mime;
  for (const char* mime : {"text/html\r\nX-Injected: 1", "text/plain\n", "plain", "/x", "x/", "",
                           "image/\xffpng", "a/\tb"})
    EXPECT_FALSE(valid_media_type(mime)) << mime;
  EXPECT_TRUE(valid_media_type(std::string(251, 'a') + "/bcd"));
  EXPECT_FALSE(valid_media_type(std::string(252, 'a') + "/bcd"));
}

TEST(RoomEventTest, ASignedEventSurvivesTheWire) {
  auto id = crypto::identity::generate();
  auto e = message();
  sign_event(e, id);
  EXPECT_FALSE(e.sig.empty());
  auto back = parse_event(encode_event(e));
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(back->id, e.id);
  EXPECT_EQ(back->type, event_type::message_sent);
  EXPECT_EQ(back->user, "alice@a.example");
  EXPECT_EQ(back->content, e.content);
  EXPECT_EQ(back->seq, 0u);
  EXPECT_FALSE(verify_event(*back, id.public_key()));
}

TEST(RoomEventTest, TheSequenceNumberIsNotSigned) {
  auto id = crypto::identity::generate();
  auto e = message();
  sign_event(e, id);
  e.seq = 42;  // the host sequences what the origin signed
  auto back = parse_event(encode_event(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seq, 42u);
  EXPECT_EQ(wire(e)["seq"], 42);
  EXPECT_FALSE(verify_event(*back, id.public_key()));
  EXPECT_EQ(canonical_form(e).find("seq"), std::string::npos);
  EXPECT_EQ(canonical_form(e).find("sig"), std::string::npos);
}

TEST(RoomEventTest, ATamperedEventHasABadSignature) {
  auto id = crypto::identity::generate();
  auto e = message();
  sign_event(e, id);
  for (auto change : std::vector<std::function<void(room_event&)>>{
           [](room_event& x) { x.content["text"] = "hellO"; },
           [](room_event& x) { x.user = "mallory@a.example"; },
           [](room_event& x) { x.ts += 1; },
           [](room_event& x) { x.type = event_type::message_deleted; },
           [](room_event& x) { x.room_id[0] = '1'; },
           [](room_event& x) { x.sig[5] = x.sig[5] == 'A' ? 'B' : 'A'; },
           [](room_event& x) { x.sig = "not base64"; },
       }) {
    auto copy = e;
    change(copy);
    auto err = verify_event(copy, id.public_key());
    ASSERT_TRUE(err);
    EXPECT_EQ(err, errc::rejected);
    EXPECT_EQ(detail_of(err), "bad signature");
  }
  auto other = crypto::identity::generate();
  EXPECT_EQ(detail_of(verify_event(e, other.public_key())), "bad signature");
}

TEST(RoomEventTest, TheTextsWrittenByHandAreExactlyWhatNlohmannWrites) {
  // encode_event and canonical_form write the text by hand; what is signed must stay
  // byte for byte what dump(to_json(e)) gives, on every node, for any string.
  std::mt19937 rng{20261125};
  auto reference = [](const json& doc) {
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  auto random_text = [&rng](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (auto& c : s) {
      auto pick = rng() % 4;
      c = static_cast<char>(pick == 0   ? rng() % 256  // any byte, invalid UTF-8 too
                            : pick == 1 ? "\"\\/\b\f\n\r\t\x01\x7f"[rng() % 11]
                                        : 0x20 + rng() % 95);
    }
    return s;
  };
  for (int i = 0; i < 3000; ++i) {
    auto e = message(random_text(40));
    e.id = random_text(20) + ":a.example";
    e.user = random_text(12) + "@a.example";
    e.origin = i % 2 ? "a.example" : random_text(8);
    e.room_id = i % 3 ? room : random_text(10);
    e.type = static_cast<event_type>(rng() % 17);
    e.ts = i % 5 == 0 ? -static_cast<int64_t>(rng()) : static_cast<int64_t>(rng()) << 20;
    e.seq = i % 4 == 0 ? 0 : (static_cast<uint64_t>(rng()) << 32) + rng();
    e.sig = i % 6 == 0 ? "" : random_text(30);
    e.content = {{random_text(6), random_text(30)}, {"n", i}, {"nested", {{"a", {1, 2}}}}};
    auto doc = to_json(e);
    ASSERT_EQ(encode_event(e), reference(doc)) << i;
    ASSERT_EQ(dump(doc), reference(doc)) << i;
    doc.erase("sig");
    doc.erase("seq");
    ASSERT_EQ(canonical_form(e), reference(doc)) << i;
    // The log entry a host makes from the form it signed is the same text.
    ASSERT_EQ(encode_from_canonical(canonical_form(e), e), encode_event(e)) << i;
    ASSERT_EQ(event_message(e), reference({{"kind", "event"},
                                           {"id", event_message_id(e.room_id, e.id)},
                                           {"event", to_json(e)}}))
        << i;
    ASSERT_EQ(submit_message(e), reference({{"kind", "submit"},
                                            {"id", submit_message_id(e.room_id, e.id)},
                                            {"event", to_json(e)}}))
        << i;
    // The local view, with content fields that share the names of its own, and users
    // of this node and of others.
    auto shown = e;
    shown.content[i % 2 ? "type" : "user"] = random_text(5);
    shown.content[i % 3 ? "to" : "target"] = random_text(6) + (i % 2 ? "@a.example" : "@b.example");
    shown.content["zz"] = i;
    if (i % 8 < 2) shown.content["seq"] = random_text(3);  // kept only when e.seq is 0
    for (const auto* own : {"a.example", "b.example"})
      ASSERT_EQ(local_view_text(shown, own), reference(local_view(shown, own))) << i;
    // Every kind of value dump() may meet, nested, with random keys.
    json any = {{random_text(5), nullptr},
                {random_text(5), i % 2 == 0},
                {random_text(5), -static_cast<int64_t>(rng())},
                {random_text(5), static_cast<uint64_t>(rng()) << 31},
                {random_text(5), static_cast<double>(rng()) / 7.0},
                {random_text(5), json::array({random_text(9), json::object(), json::array(), 0.5})},
                {random_text(5), {{random_text(4), {{random_text(4), random_text(20)}}}}}};
    ASSERT_EQ(dump(any), reference(any)) << i;
    for (const auto& [key, value] : any.items()) ASSERT_EQ(dump(value), reference(value)) << i;
  }
}

TEST(RoomEventTest, StringsAreWrittenAsNlohmannWritesThemWhereverTheByteToEscapeIs) {
  // Plain strings are checked sixteen bytes at a time: a byte to escape (or any byte
  // outside printable ASCII) must be found at every place, in a block and in the tail.
  auto reference = [](const json& doc) {
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  const std::string specials{"\"\\\x00\x01\x1f\x7f\x80\xc3\xff", 9};
  for (size_t length = 0; length <= 70; ++length) {
    std::string plain(length, 'a');
    for (size_t i = 0; i < length; ++i) plain[i] = static_cast<char>(0x20 + (i * 7) % 95);
    for (auto& c : plain)
      if (c == '"' || c == '\\') c = 'x';
    EXPECT_EQ(dump(json(plain)), reference(json(plain))) << length;
    for (size_t at = 0; at < length; ++at)
      for (char special : specials) {
        auto s = plain;
        s[at] = special;
        ASSERT_EQ(dump(json(s)), reference(json(s)))
            << "length " << length << " at " << at << " byte " << int(special);
      }
  }
}

TEST(RoomEventTest, EventsSignedInGroupsVerifyOneByOneAfterTheWire) {
  auto id = crypto::identity::generate();
  std::vector<room_event> events;
  for (int i = 0; i < 33; ++i) {
    events.push_back(message("m" + std::to_string(i)));
    events.back().id = "m" + std::to_string(i) + ":a.example";
  }
  std::vector<room_event*> all;
  for (auto& e : events) all.push_back(&e);
  auto forms = sign_events(all, id);
  ASSERT_EQ(forms.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(forms[i], canonical_form(events[i])) << i;
  // Groups of 16, 16 and 1: the last one alone gets a plain signature.
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sig.rfind("b1.", 0) == 0, i < 32) << i << " " << events[i].sig;
    auto back = parse_event(encode_event(events[i]));
    ASSERT_TRUE(back) << describe(back.error());
    EXPECT_EQ(verify_event(*back, id.public_key()), caf::none) << i;
    auto changed = *back;
    changed.content["text"] = "changed";
    EXPECT_EQ(detail_of(verify_event(changed, id.public_key())), "bad signature") << i;
  }
  // An event carrying another event's proof of the same group does not verify.
  auto swapped = events[3];
  swapped.sig = events[4].sig;
  EXPECT_EQ(detail_of(verify_event(swapped, id.public_key())), "bad signature");
  auto garbled = events[3];
  garbled.sig = "b1.garbage";
  EXPECT_EQ(detail_of(verify_event(garbled, id.public_key())), "bad signature");
}

TEST(RoomEventTest, SubmittedContentReadsAsParseJsonReadsIt) {
  // chat.send's content ({"text":"..."}) is made directly when its text is plain; every
  // other text must come out as parse_json reads it, or be refused as it refuses it.
  std::mt19937 rng{20261127};
  auto random_text = [&rng](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (auto& c : s) {
      auto pick = rng() % 6;
      c = static_cast<char>(pick == 0   ? rng() % 256
                            : pick == 1 ? "\"\\/\b\x01\x7f}{,:"[rng() % 11]
                                        : 0x20 + rng() % 95);
    }
    return s;
  };
  std::vector<std::string> texts = {
      R"({"text":""})",        R"({"text":"a"},"x":"b"})", R"({"text":"a\"b"})",
      R"({"text":"\u0041"})",  R"({"text":"a" })",         R"({ "text":"a"})",
      R"({"text":"a","x":1})", R"({"text":"a"}})",         R"({"text":"é"})",
      R"({"text":"a\"})",      R"({"text":"tab\there"})",  R"({"text":1})"};
  for (int i = 0; i < 3000; ++i) {
    auto text = random_text(30);
    texts.push_back(R"({"text":")" + text + R"("})");
    texts.push_back(dump(json{{"text", text}}));
  }
  int direct = 0;
  for (const auto& text : texts) {
    auto ours = parse_content(text);
    auto theirs = parse_json(text);
    ASSERT_EQ(ours.is_discarded(), theirs.is_discarded()) << text;
    if (!theirs.is_discarded()) {
      EXPECT_TRUE(test::same_json(ours, theirs)) << text;
    }
    direct += theirs.is_object() && theirs.size() == 1 && theirs.contains("text");
  }
  EXPECT_GT(direct, 1000);
}

TEST(RoomEventTest, TimeOrderedIdsAreHexUniqueAndIncreasing) {
  std::string previous;
  for (int i = 0; i < 20000; ++i) {
    auto id = time_ordered_hex();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    // Increasing is what the store's insert hints rely on; strictly, so also unique.
    ASSERT_LT(previous, id) << "after " << i << " ids";
    previous = id;
  }
  // A made room id is still valid, and an event id made of one has the room id's shape.
  EXPECT_TRUE(valid_room_id(time_ordered_hex() + ":a.example"));
}

TEST(RoomEventTest, RandomIdsDifferWithinAThreadAndBetweenThreads) {
  // Each thread has its own generator: two threads must not repeat each other's ids.
  auto draw = [](std::set<std::string>& into) {
    for (int i = 0; i < 2000; ++i) into.insert(random_hex(16));
  };
  std::set<std::string> here, there;
  draw(here);
  std::thread other{[&] { draw(there); }};
  other.join();
  EXPECT_EQ(here.size(), 2000u);
  EXPECT_EQ(there.size(), 2000u);
  for (const auto& id : there) EXPECT_EQ(here.count(id), 0u) << id;
  for (const auto& id : here) {
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_EQ(random_hex(5).size(), 10u);  // a length that is no multiple of 8
}

TEST(RoomEventTest, DecodingNamesTheFieldThatIsWrong) {
  auto id = crypto::identity::generate();
  auto e = message();
  sign_event(e, id);
  auto good = wire(e);
  auto without = [&](const char* key) {
    auto doc = good;
    doc.erase(key);
    return doc;
  };
  auto with = [&](const char* key, json value) {
    auto doc = good;
    doc[key] = std::move(value);
    return doc;
  };
  EXPECT_EQ(decode_error(without("id")), "missing \"id\"");
  EXPECT_EQ(decode_error(without("sig")), "missing \"sig\"");
  EXPECT_EQ(decode_error(with("ts", "soon")), "\"ts\" must be an integer");
  EXPECT_EQ(decode_error(with("type", "message")), "unknown event type \"message\"");
  EXPECT_EQ(decode_error(with("id", "m1:b.example")),
            "event id m1:b.example is not of the form <local>:a.example");
  EXPECT_EQ(decode_error(with("id", ":a.example")),
            "event id :a.example is not of the form <local>:a.example");
  EXPECT_EQ(decode_error(with("room_id", "general")), "\"room_id\" is not <32 hex>:<domain>");
  EXPECT_EQ(decode_error(with("user", "alice")), "\"user\" is not name@domain");
  EXPECT_EQ(decode_error(with("content", json::array())), "\"content\" must be a JSON object");
  EXPECT_EQ(decode_error(with("content", json::object())), "missing content.text");
  EXPECT_EQ(decode_error(with("content", {{"text", 5}})), "content.text must be a string");
  EXPECT_EQ(decode_error(with("seq", -1)), "\"seq\" must be unsigned");
  EXPECT_EQ(decode_error(json::array()), "an event must be a JSON object");
  EXPECT_FALSE(parse_event(std::string_view{"{not json"}));
}

TEST(RoomEventTest, ContentIsCheckedPerType) {
  auto ok = [](event_type t, json c) { return !check_content(t, c); };
  EXPECT_TRUE(ok(event_type::room_created, {{"name", "x"}, {"room_type", "public"}}));
  EXPECT_FALSE(ok(event_type::room_created, {{"name", "x"}, {"room_type", "secret"}}));
  EXPECT_FALSE(ok(event_type::room_created, {{"name", "x"}, {"room_type", "direct"}}));
  EXPECT_TRUE(ok(event_type::room_created,
                 {{"name", ""}, {"room_type", "direct"}, {"with", "bob@b.example"}}));
  EXPECT_FALSE(ok(event_type::room_created,
                  {{"name", ""}, {"room_type", "public"}, {"with", "bob@b.example"}}));
  EXPECT_TRUE(ok(event_type::user_invited, {{"target", "bob@b.example"}}));
  EXPECT_FALSE(ok(event_type::user_invited, {{"target", "bob"}}));
  EXPECT_TRUE(ok(event_type::role_changed, {{"target", "bob@b.example"}, {"role", "moderator"}}));
  EXPECT_FALSE(ok(event_type::role_changed, {{"target", "bob@b.example"}, {"role", "admin"}}));
  EXPECT_FALSE(ok(event_type::message_edited, {{"target", ""}, {"text", "x"}}));
  EXPECT_TRUE(ok(event_type::reaction_set, {{"target", "m1:a.example"}, {"emoji", ":+1:"}}));
  EXPECT_FALSE(ok(event_type::reaction_unset, {{"target", "m1:a.example"}}));
  EXPECT_TRUE(ok(event_type::read_receipt, {{"up_to", "m1:a.example"}}));
  EXPECT_TRUE(
      ok(event_type::notification, {{"to", "bob@b.example"}, {"kind", "mention"}, {"text", "hi"}}));
  EXPECT_FALSE(
      ok(event_type::notification, {{"to", "bob@b.example"}, {"kind", "spam"}, {"text", "hi"}}));
  json file = {
      {"file_id", std::string(64, 'a')}, {"name", "a.png"}, {"mime", "image/png"}, {"size", 10}};
  EXPECT_TRUE(ok(event_type::file_shared, file));
  file["size"] = -1;
  EXPECT_FALSE(ok(event_type::file_shared, file));
  file["size"] = 10;
  file["file_id"] = "abc";
  EXPECT_FALSE(ok(event_type::file_shared, file));
  // Any text as the type: servers of older versions shared any Content-Type, and their
  // events must still apply. What is written into a Content-Type is checked when served.
  file["file_id"] = std::string(64, 'a');
  file["mime"] = "not a type";
  EXPECT_TRUE(ok(event_type::file_shared, file));
  EXPECT_TRUE(ok(event_type::user_left, json::object()));
  EXPECT_TRUE(ok(event_type::room_deleted, {{"extra", 1}}));
}

TEST(RoomEventTest, UsersAndIds) {
  EXPECT_EQ(qualify_user("alice", "a.example"), "alice@a.example");
  EXPECT_EQ(qualify_user("bob@b.example", "a.example"), "bob@b.example");
  EXPECT_FALSE(qualify_user("", "a.example"));
  EXPECT_FALSE(qualify_user("a b", "a.example"));
  EXPECT_FALSE(qualify_user("bob@", "a.example"));
  EXPECT_FALSE(qualify_user("a:b", "a.example"));
  EXPECT_EQ(localize_user("alice@a.example", "a.example"), "alice");
  EXPECT_EQ(localize_user("bob@b.example", "a.example"), "bob@b.example");
  EXPECT_EQ(domain_of_user("bob@b.example"), "b.example");
  EXPECT_EQ(domain_of_id("x:y:b.example"), "b.example");
  auto id = make_room_id("a.example");
  EXPECT_TRUE(valid_room_id(id)) << id;
  EXPECT_EQ(domain_of_id(id), "a.example");
  EXPECT_NE(make_room_id("a.example"), id);
  EXPECT_FALSE(valid_room_id("0123456789ABCDEF0123456789abcdef:a.example"));
  EXPECT_FALSE(valid_room_id("0123456789abcdef0123456789abcdef:"));
}

TEST(RoomEventTest, LocalContentIsQualifiedAndTrimmedToTheType) {
  json c = {{"target", "bob"}, {"extra", true}};
  ASSERT_FALSE(qualify_content(event_type::user_invited, c, "a.example"));
  EXPECT_EQ(c, (json{{"target", "bob@a.example"}}));
  json n = {{"to", "carol@c.example"}, {"kind", "alert"}, {"text", "x"}};
  ASSERT_FALSE(qualify_content(event_type::notification, n, "a.example"));
  EXPECT_EQ(n["to"], "carol@c.example");
  json m = {{"target", "m1:a.example"}, {"text", "x"}};
  ASSERT_FALSE(qualify_content(event_type::message_edited, m, "a.example"));
  EXPECT_EQ(m["target"], "m1:a.example");  // an event id, not a user
  json bad = {{"target", "no one"}};
  EXPECT_EQ(qualify_content(event_type::user_removed, bad, "a.example"), errc::bad_request);
}

TEST(RoomEventTest, TheLocalViewIsFlatWithLocalUsersBare) {
  room_event e;
  e.id = "n1:b.example";
  e.type = event_type::notification;
  e.room_id = room;
  e.origin = "b.example";
  e.user = "bob@b.example";
  e.ts = 5;
  e.seq = 9;
  e.content = {{"to", "alice@a.example"}, {"kind", "mention"}, {"text", "hey"}};
  EXPECT_EQ(local_view(e, "a.example"), (json{{"type", "notification"},
                                              {"room_id", room},
                                              {"event_id", "n1:b.example"},
                                              {"origin", "b.example"},
                                              {"user", "bob@b.example"},
                                              {"ts", 5},
                                              {"seq", 9},
                                              {"to", "alice"},
                                              {"kind", "mention"},
                                              {"text", "hey"}}));
  EXPECT_EQ(local_view(e, "b.example")["user"], "bob");
  EXPECT_EQ(local_view(e, "b.example")["to"], "alice@a.example");
}

TEST(RoomEventTest, AnEventMessageBuiltFromTheEncodedEventIsTheSame) {
  auto id = crypto::identity::generate();
  auto e = message();
  e.content["text"] = "quotes \" and \\ and \u00e9";
  sign_event(e, id);
  e.seq = 42;
  EXPECT_EQ(event_message(event_message_id(e.room_id, e.id), encode_event(e)), event_message(e));
}

TEST(RoomEventTest, FederationMessagesHaveDistinctIds) {
  auto id = crypto::identity::generate();
  auto e = message();
  sign_event(e, id);
  auto submit = json::parse(submit_message(e));
  auto event = json::parse(event_message(e));
  auto state = json::parse(state_message(room, 3, json::object()));
  auto rejected = json::parse(rejected_message(room, e.id, e.user, "user is muted"));
  EXPECT_EQ(submit["kind"], "submit");
  EXPECT_EQ(event["kind"], "event");
  EXPECT_EQ(state["kind"], "room.state");
  EXPECT_EQ(rejected["kind"], "rejected");
  std::set<std::string> ids = {submit["id"], event["id"], state["id"], rejected["id"]};
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(submit["id"], "submit:" + room + ":m1:a.example");
  EXPECT_EQ(state["seq"], 3);
  EXPECT_EQ(rejected["reason"], "user is muted");
  auto inner = decode_event(submit["event"]);
  ASSERT_TRUE(inner);
  EXPECT_FALSE(verify_event(*inner, id.public_key()));
}

}  // namespace
}  // namespace fedrelay::actors
