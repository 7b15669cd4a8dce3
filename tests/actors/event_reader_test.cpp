// The events read straight from simdjson against the nlohmann way they replace
// (parse_json, string_at, decode_event): random events of every type, their messages,
// and those texts mutated byte by byte and field by field must give the same fields,
// down to the type of every number in the content, or the same error.
#include "actors/event_reader.hpp"

#include <algorithm>
#include <functional>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/inbox.hpp"
#include "actors/json_parse.hpp"
#include "tests/support/json_checks.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;

void expect_same_event(const caf::expected<room_event>& ours,
                       const caf::expected<room_event>& theirs, const std::string& text) {
  ASSERT_EQ(static_cast<bool>(ours), static_cast<bool>(theirs)) << text;
  if (!ours) {
    EXPECT_EQ(describe(ours.error()), describe(theirs.error())) << text;
    return;
  }
  EXPECT_EQ(ours->id, theirs->id) << text;
  EXPECT_EQ(ours->type, theirs->type) << text;
  EXPECT_EQ(ours->room_id, theirs->room_id) << text;
  EXPECT_EQ(ours->origin, theirs->origin) << text;
  EXPECT_EQ(ours->user, theirs->user) << text;
  EXPECT_EQ(ours->ts, theirs->ts) << text;
  EXPECT_EQ(ours->sig, theirs->sig) << text;
  EXPECT_EQ(ours->seq, theirs->seq) << text;
  EXPECT_TRUE(test::same_json(ours->content, theirs->content)) << text;
}

/// parse_event as it read every event before.
caf::expected<room_event> parse_event_as_json(const std::string& text) {
  auto doc = parse_json(text);
  if (doc.is_discarded()) return caf::make_error(errc::bad_request, "an event is not JSON");
  return decode_event(std::move(doc));
}

/// A room message and an event text as the room read them before.
void expect_like_nlohmann(const std::string& text) {
  auto doc = parse_json(text);
  auto message = read_room_message(text);
  EXPECT_EQ(message.kind, string_at(doc, "kind")) << text;
  EXPECT_EQ(message.id, string_at(doc, "id")) << text;
  auto inner = doc.is_object() ? doc.find("event") : doc.end();
  ASSERT_EQ(message.event.has_value(), inner != doc.end()) << text;
  if (message.event) expect_same_event(*message.event, decode_event(*inner), text);
  // The event's own text, when the message gives it, is that member's value and no more.
  if (!message.event_text.empty()) {
    EXPECT_TRUE(test::same_json(parse_json(message.event_text), *inner)) << text;
  }
  expect_same_event(parse_event(text), parse_event_as_json(text), text);
  // Whatever the inbox shows straight from the text, the way through the event shows too.
  for (const char* own : {"a.example", "c.test"}) {
    auto view = read_message_view(text, own, 42);
    if (!view) continue;
    auto e = parse_event_as_json(text);
    ASSERT_TRUE(e) << text;
    EXPECT_EQ(*view, with_cursor(local_view_text(*e, own), 42)) << text;
  }
}

class random_events {
 public:
  room_event next() {
    room_event e;
    e.origin = pick({"a.example", "b-0.example", "c.test"});
    e.id = time_ordered_hex() + ":" + e.origin;
    e.room_id = "0123456789abcdef0123456789abcdef:" + pick({"a.example", "b.example"});
    e.user = pick({"alice", "bob", "zo\xc3\xab"}) + "@" + e.origin;
    e.ts = rng_() % 3 == 0 ? -static_cast<int64_t>(rng_() % 1000) : int64_t(rng_());
    e.sig = std::string(86, 'A' + rng_() % 26) + "==";
    if (rng_() % 4 != 0) e.seq = rng_() % 2 == 0 ? rng_() % 3 : rng_();
    e.type = static_cast<event_type>(rng_() % 17);
    e.content = content_of(e.type);
    if (rng_() % 3 == 0) e.content["extra"] = extra_value();
    return e;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::string pick(std::initializer_list<const char*> choices) {
    return *(choices.begin() + rng_() % choices.size());
  }

  std::string text() {
    std::string s(rng_() % 40, '\0');
    for (auto& c : s)
      c = static_cast<char>(rng_() % 5 == 0 ? 0x01 + rng_() % 0x7f : 'a' + rng_() % 26);
    if (rng_() % 4 == 0) s += "\xc3\xa9\xe2\x82\xac \"quoted\" \\ -0";
    return s;
  }

  json extra_value() {
    switch (rng_() % 6) {
      case 0:
        return -static_cast<int64_t>(rng_() % 3);
      case 1:
        return rng_() % 3;
      case 2:
        return 0.5 * static_cast<double>(rng_() % 100);
      case 3:
        return json::array({nullptr, true, text()});
      case 4:
        return {{"nested", {{"deeper", rng_()}}}};
      default:
        return text();
    }
  }

  json content_of(event_type t) {
    auto user = pick({"carol@b.example", "dave@c.test"});
    switch (t) {
      case event_type::room_created:
        return rng_() % 2 == 0 ? json{{"name", text()}, {"room_type", "public"}}
                               : json{{"name", text()}, {"room_type", "direct"}, {"with", user}};
      case event_type::user_invited:
      case event_type::user_removed:
      case event_type::user_muted:
      case event_type::user_unmuted:
        return {{"target", user}};
      case event_type::role_changed:
        return {{"target", user}, {"role", pick({"owner", "moderator", "member"})}};
      case event_type::message_sent:
        return {{"text", text()}};
      case event_type::message_edited:
        return {{"target", "x:a.example"}, {"text", text()}};
      case event_type::message_deleted:
        return {{"target", "x:a.example"}};
      case event_type::reaction_set:
      case event_type::reaction_unset:
        return {{"target", "x:a.example"}, {"emoji", ":+1:"}};
      case event_type::read_receipt:
        return {{"up_to", "x:a.example"}};
      case event_type::notification:
        return {{"to", user}, {"kind", pick({"mention", "alert"})}, {"text", text()}};
      case event_type::file_shared:
        return {{"file_id", std::string(64, 'a')},
                {"name", text()},
                {"mime", "image/png"},
                {"size", rng_() % 5000}};
      default:
        return json::object();
    }
  }

  std::mt19937_64 rng_{20261126};
};

/// `text` with `insert` placed before its last '}' (a field of the outermost object that
/// ends there).
std::string with_before_last_brace(std::string text, const std::string& insert) {
  auto at = text.rfind('}');
  if (at != std::string::npos) text.insert(at, insert);
  return text;
}

TEST(EventReaderTest, EncodedEventsAreReadStraightFromSimdjsonWithEveryField) {
  random_events events;
  for (int i = 0; i < 500; ++i) {
    auto e = events.next();
    // Those that decode_event accepts; the fast way must take them, not hand them on.
    if (!decode_event(to_json(e))) continue;
    auto text = encode_event(e);
    auto fast = read_event(text);
    if (text.find("-0") != std::string::npos) continue;  // zeros are left to nlohmann
    ASSERT_TRUE(fast.has_value()) << text;
    auto theirs = decode_event(parse_json(text));
    expect_same_event(*fast, theirs, text);
    auto message = read_room_message(event_message(e));
    EXPECT_EQ(message.kind, "event");
    EXPECT_EQ(message.id, event_message_id(e.room_id, e.id));
    ASSERT_TRUE(message.event.has_value());
    expect_same_event(*message.event, theirs, text);
  }
}

TEST(EventReaderTest, StoredMessagesAreShownStraightFromSimdjson) {
  random_events events;
  int shown = 0;
  for (int i = 0; i < 3000; ++i) {
    auto e = events.next();
    if (!decode_event(to_json(e))) continue;
    auto text = encode_event(e);
    auto view = read_message_view(text, "c.test", 7);
    bool strings_only = std::all_of(e.content.begin(), e.content.end(),
                                    [](const json& v) { return v.is_string(); });
    if (e.type != event_type::message_sent || e.seq == 0 || e.ts <= 0 || !strings_only) {
      EXPECT_FALSE(view.has_value()) << text;
      continue;
    }
    ASSERT_TRUE(view.has_value()) << text;
    EXPECT_EQ(*view, with_cursor(local_view_text(e, "c.test"), 7)) << text;
    ++shown;
  }
  EXPECT_GT(shown, 20);
  // Content keys around and equal to the view's own: the view's fields win, in key order.
  random_events more;
  auto e = more.next();
  e.type = event_type::message_sent;
  e.origin = "c.test";
  e.id = "x1:c.test";
  e.user = "zo\xc3\xab@c.test";
  e.ts = 1700000000000;
  e.seq = 5;
  e.content = {{"", "empty"}, {"a", "1"},
               {"seq", "x"},  {"text", "t\u0001\"q\""},
               {"user", "u"}, {"zz", "\xe2\x82\xac"}};
  auto view = read_message_view(encode_event(e), "c.test", 9);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(*view, with_cursor(local_view_text(e, "c.test"), 9));
  // Content keys out of order or repeated, as no encoder here writes them: shown as the
  // way through the event shows them (sorted, the last one of a name), or not at all.
  auto text = encode_event(e);
  auto content_at = text.find(R"("content":{)") + 11;
  for (const char* put : {R"("zzz":"9",)", R"("text":"first",)", R"("a":"0",)"}) {
    auto changed = text;
    changed.insert(content_at, put);
    expect_like_nlohmann(changed);
  }
  EXPECT_EQ(*view, R"({"cursor":9,"":"empty","a":"1","event_id":"x1:c.test","origin":"c.test",)"
                   R"("room_id":")" +
                       e.room_id +
                       R"(","seq":5,"text":"t\u0001\"q\"","ts":1700000000000,)"
                       R"("type":"message.sent","user":")" +
                       "zo\xc3\xab" + R"(","zz":")" + "\xe2\x82\xac" + R"("})");
}

TEST(EventReaderTest, AMessageAsTheEnvelopeWritesItGivesItsEventsTextAndNoOtherDoes) {
  random_events events;
  for (int i = 0; i < 300; ++i) {
    auto e = events.next();
    auto message = event_message(e);
    auto read = read_room_message(message);
    if (!read.event || !*read.event) continue;
    // Given where the event is read straight from simdjson (elsewhere nlohmann reads it).
    auto expected = read_event(encode_event(e)) ? encode_event(e) : std::string{};
    EXPECT_EQ(read.event_text, expected) << message;
    EXPECT_EQ(read_room_message(submit_message(e)).event_text, expected);
    auto id_at = message.rfind(R"(,"id":")");
    std::vector<std::string> others = {
        message.substr(0, id_at) + " " + message.substr(id_at),           // a space after the event
        message.substr(0, message.size() - 1) + R"(,"x":1})",             // a fourth member
        message.substr(0, id_at) + R"(,"x":{})" + message.substr(id_at),  // one in between
        R"({"event":)" + encode_event(e) + R"(,"kind":"event","id":")" +
            event_message_id(e.room_id, e.id) + R"("})",  // id and kind the other way round
        message.substr(0, id_at + 7) + "\\u0065" + message.substr(id_at + 8),  // an escape
    };
    for (const auto& other : others) {
      auto differently = read_room_message(other);
      EXPECT_TRUE(differently.event_text.empty()) << other;
      expect_like_nlohmann(other);
    }
  }
}

/// A catch-up reply read as the room read it before: nlohmann's document, then each event.
void expect_array_like_nlohmann(const std::string& text) {
  auto doc = parse_json(text);
  auto ours = read_event_array(text);
  ASSERT_EQ(ours.has_value(), doc.is_array()) << text;
  if (!ours) return;
  ASSERT_EQ(ours->size(), doc.size()) << text;
  for (size_t i = 0; i < doc.size(); ++i) expect_same_event((*ours)[i], decode_event(doc[i]), text);
}

TEST(EventReaderTest, CatchUpRepliesAndTheirMutationsReadAsNlohmannReadsThem) {
  random_events events;
  auto& rng = events.rng();
  int straight = 0;
  for (int i = 0; i < 600; ++i) {
    std::string text = "[";
    auto count = rng() % 5;
    for (size_t k = 0; k < count; ++k) {
      if (k > 0) text += ',';
      text += encode_event(events.next());
    }
    text += ']';
    expect_array_like_nlohmann(text);
    // Where every event is read straight, the array is too (nothing handed to nlohmann).
    bool all_fast = true;
    auto doc = parse_json(text);
    for (const auto& item : doc) all_fast = all_fast && read_event(dump(item)).has_value();
    if (all_fast && doc.size() > 1) ++straight;
    for (int m = 0; m < 4; ++m) {
      auto mutated = text;
      test::mutate_json_byte(mutated, rng);
      expect_array_like_nlohmann(mutated);
    }
  }
  EXPECT_GT(straight, 20);
  for (const char* other : {"{}", "null", "[", "[1]", "[[]]", R"([{"id":1}])", ""})
    expect_array_like_nlohmann(other);
}

TEST(EventReaderTest, RandomMessagesAndTheirMutationsReadAsNlohmannReadsThem) {
  random_events events;
  auto& rng = events.rng();
  const std::vector<std::string> fields = {
      R"(,"ts":1.0)",
      R"(,"ts":-0)",
      R"(,"ts":18446744073709551615)",
      R"(,"seq":-0)",
      R"(,"seq":-3)",
      R"(,"seq":0)",
      R"(,"seq":"7")",
      R"(,"id":7)",
      R"(,"type":"no.such")",
      R"(,"content":[])",
      R"(,"content":{"x":-0})",
      R"(,"sig":"")",
      R"(,"user":"nobody")",
      R"(,"origin":"c.test")",
      R"(,"room_id":"xyz")",
      R"(,"kind":"submit")",
      R"(,"event":null)",
      R"(,"ts":123456789012345678901234)",
      R"(,"content":{"text":"\ud800"})",
  };
  for (int i = 0; i < 1500; ++i) {
    auto e = events.next();
    auto texts = {encode_event(e), event_message(e), submit_message(e)};
    for (const auto& text : texts) {
      expect_like_nlohmann(text);
      for (int m = 0; m < 3; ++m) {
        auto mutated = text;
        if (rng() % 4 != 0) {
          test::mutate_json_byte(mutated, rng);
        } else {
          // A field into the event (its content's end, or the event's) or the message.
          mutated = with_before_last_brace(mutated, fields[rng() % fields.size()]);
          if (rng() % 2 == 0)
            mutated = with_before_last_brace(mutated.substr(0, mutated.size() - 1),
                                             fields[rng() % fields.size()]) +
                      "}";
        }
        expect_like_nlohmann(mutated);
      }
    }
  }
}

}  // namespace
}  // namespace fedrelay::actors
