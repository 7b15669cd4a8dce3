// The wire format (transaction.hpp) and the outbox envelope: round trips, and every way a
// peer's bytes can be wrong.
#include "actors/transaction.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <variant>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/outbox.hpp"
#include "actors/room_event.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;

transaction sample() {
  transaction t;
  t.id = "a.example:00112233445566778899aabbccddeeff";
  t.origin = "a.example";
  t.destination = "b.example";
  t.created_ms = 1'700'000'000'123;
  // Compact, keys sorted: the form the node writes its events in.
  t.events = {R"({"id":"a.example:1","text":"h\u00e9 \"quoted\"","type":"message"})",
              R"({"id":"a.example:2","nested":{"list":[1,2,{"x":null}]},"type":"reaction"})"};
  return t;
}

void expect_bad_transaction(const std::string& text, const std::string& naming) {
  auto t = decode_transaction(text);
  ASSERT_FALSE(t) << text;
  EXPECT_EQ(t.error(), caf::make_error(errc::bad_request)) << describe(t.error());
  EXPECT_NE(detail_of(t.error()).find(naming), std::string::npos)
      << text << " -> " << describe(t.error());
}

TEST(TransactionTest, RoomInFrontComesBeforeTheSameText) {
  auto t = sample();
  auto text = encode_transaction(t);
  auto with_room = encode_transaction(t, 40);
  EXPECT_EQ(with_room, std::string(40, '\0') + text);
}

TEST(TransactionTest, RoundTrip) {
  auto t = sample();
  auto text = encode_transaction(t);
  // The events are embedded as objects, not as strings.
  auto doc = json::parse(text);
  ASSERT_TRUE(doc["events"][0].is_object());
  EXPECT_EQ(doc["version"], 1);
  auto back = decode_transaction(text);
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(back->version, t.version);
  EXPECT_EQ(back->id, t.id);
  EXPECT_EQ(back->origin, t.origin);
  EXPECT_EQ(back->destination, t.destination);
  EXPECT_EQ(back->created_ms, t.created_ms);
  ASSERT_EQ(back->events.size(), 2u);
  EXPECT_EQ(json::parse(back->events[0]), json::parse(t.events[0]));
  EXPECT_EQ(json::parse(back->events[1]), json::parse(t.events[1]));
}

TEST(TransactionTest, EmptyBatchRoundTrips) {
  auto t = sample();
  t.events.clear();
  auto back = decode_transaction(encode_transaction(t));
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_TRUE(back->events.empty());
}

TEST(TransactionTest, MalformedTransactionsNameTheField) {
  auto good = json::parse(encode_transaction(sample()));
  auto with = [&](const char* field, json value) {
    auto doc = good;
    doc[field] = std::move(value);
    return doc.dump();
  };
  auto without = [&](const char* field) {
    auto doc = good;
    doc.erase(field);
    return doc.dump();
  };
  expect_bad_transaction("", "not valid JSON");
  expect_bad_transaction("{\"version\":1,", "not valid JSON");
  expect_bad_transaction("[1,2]", "not a JSON object");
  expect_bad_transaction(without("version"), "\"version\"");
  expect_bad_transaction(with("version", "1"), "\"version\"");
  expect_bad_transaction(with("version", -1), "\"version\"");
  expect_bad_transaction(without("id"), "\"id\"");
  expect_bad_transaction(with("id", ""), "\"id\"");
  // The receiver keeps each receipt under its transaction id for days.
  expect_bad_transaction(with("id", std::string(513, 'x')), "\"id\" is longer than 512 bytes");
  EXPECT_TRUE(decode_transaction(with("id", std::string(512, 'x'))));
  expect_bad_transaction(with("origin", 7), "\"origin\"");
  expect_bad_transaction(without("destination"), "\"destination\"");
  expect_bad_transaction(with("created_ms", "now"), "\"created_ms\"");
  expect_bad_transaction(with("created_ms", 1.5), "\"created_ms\"");
  expect_bad_transaction(without("events"), "\"events\"");
  expect_bad_transaction(with("events", json::object()), "\"events\"");
  expect_bad_transaction(with("events", json::array({"x"})), "events[0]");
  expect_bad_transaction(with("events", json::array({json{{"id", "1"}}, json{{"text", "x"}}})),
                         "events[1]");
  expect_bad_transaction(with("events", json::array({json{{"id", 5}}})), "events[0]");
  // Deep nesting is refused before it reaches a recursive dump.
  std::string deep =
      "{\"version\":1,\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_bad_transaction(deep, "nested");
}

// A transaction around hand-written event texts, laid out as a peer may lay it out.
std::string transaction_text(const std::vector<std::string>& events, const std::string& gap = "") {
  std::string text = "{" + gap + "\"version\"" + gap + ":" + gap + "1" + gap + "," + gap +
                     R"("id":"a.example:1","origin":"a.example","destination":"b.example",)" +
                     R"("created_ms":1700000000123,"events":)" + gap + "[" + gap;
  for (size_t i = 0; i < events.size(); ++i) text += (i > 0 ? gap + "," + gap : "") + events[i];
  return text + gap + "]" + gap + "}";
}

/// The room the room manager would route an event by, read the way it read it before
/// decode_transaction did (nlohmann, as run_room did): the oracle for event_rooms.
std::string sequenced_room_of(const json& doc) {
  if (string_at(doc, "kind") != event_kind) return {};
  auto event = doc.find("event");
  if (event == doc.end() || !event->is_object()) return {};
  return string_at(*event, "room_id");
}

TEST(TransactionTest, DecodeKeepsEachEventAsSentWithItsIdAndRoom) {
  const std::vector<std::string> events = {
      // Keys unsorted, spaces inside, escapes kept as written.
      R"({"type" : "message", "id" : "a.example:1","text":"h\u00e9 \"q\"", "n":[1, 2.5e3,null]})",
      R"({"kind":"event","id":"m1","event":{"room_id":"!r1:a.example","seq":4}})",
      R"({"kind":"submit","id":"m2","event":{"room_id":"!r2:a.example"}})",
      R"({"kind":"event","id":"m3","event":"not an object"})",
      R"({"kind":"event","id":"m4","event":{"room_id":7}})",
      R"({"kind":7,"id":"m5","event":{"room_id":"!r5:a.example"}})",
      // Escaped keys are keys all the same; a repeated key counts as nlohmann reads it.
      R"({"\u0069d":"m6","kind":"ev\u0065nt","event":{"room_\u0069d":"!r6:a.example"}})",
      R"({"id":"first","id":"m7","kind":"event","event":{"room_id":"!x:a.example"},"event":{}})",
      R"({"id":"m8","kind":"event","event":{"room_id":"!a:a.example","room_id":"!b:a.example"}})",
      R"({"id":"m9"})",
  };
  const std::vector<std::string> ids = {"a.example:1", "m1", "m2", "m3", "m4",
                                        "m5",          "m6", "m7", "m8", "m9"};
  const std::vector<std::string> rooms = {"", "!r1:a.example", "", "", "", "", "!r6:a.example",
                                          "", "!b:a.example",  ""};
  for (const std::string gap : {"", " ", "\n\t ", "\r\n"}) {
    auto t = decode_transaction(transaction_text(events, gap));
    ASSERT_TRUE(t) << describe(t.error());
    EXPECT_EQ(t->events, events) << "gap " << json(gap).dump();
    EXPECT_EQ(t->event_ids, ids);
    EXPECT_EQ(t->event_rooms, rooms);
    for (size_t i = 0; i < events.size(); ++i)
      EXPECT_EQ(t->event_rooms[i], sequenced_room_of(json::parse(events[i]))) << events[i];
  }
  // What the node itself sends comes back byte for byte.
  auto t = sample();
  auto back = decode_transaction(encode_transaction(t));
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(back->events, t.events);
  EXPECT_EQ(back->event_ids, (std::vector<std::string>{"a.example:1", "a.example:2"}));
  EXPECT_EQ(back->event_rooms, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(encode_transaction(*back), encode_transaction(t));
}

TEST(TransactionTest, TransactionsOverAMiBDecodeAlike) {
  // Texts over a MiB take a parser of their own instead of the thread's: same result.
  std::vector<std::string> events;
  for (size_t i = 0; i < 5000; ++i)
    events.push_back(R"({"id":"e)" + std::to_string(i) + R"(","text":")" + std::string(250, 'x') +
                     "\"}");
  for (size_t count : {size_t{5000}, size_t{3}, size_t{5000}}) {
    std::vector<std::string> some(events.begin(), events.begin() + count);
    auto text = transaction_text(some);
    ASSERT_EQ(text.size() > (size_t{1} << 20), count == 5000);
    auto t = decode_transaction(text);
    ASSERT_TRUE(t) << describe(t.error());
    EXPECT_EQ(t->events, some);
    ASSERT_EQ(t->event_ids.size(), count);
    EXPECT_EQ(t->event_ids.back(), "e" + std::to_string(count - 1));
  }
}

TEST(TransactionTest, ATextReadWhereItLiesDecodesAsACopyDoesWhateverFollowsIt) {
  // decode_transaction(text, allocated) reads past the end without copying; the bytes
  // there are readable, not part of the text. Here they hold the rest of the text, so a
  // cut text that read them would decode.
  std::vector<std::string> events;
  for (size_t i = 0; i < 5000; ++i)
    events.push_back(R"({"id":"e)" + std::to_string(i) + R"(","text":")" + std::string(250, 'y') +
                     "\"}");
  auto big = transaction_text(events);
  ASSERT_GT(big.size(), size_t{1} << 20);
  auto small = transaction_text({R"({"id":"a:1","t":"x"})", R"({"id":"a:2"})"});
  for (const auto& text : {small, big}) {
    auto copied = decode_transaction(text);
    ASSERT_TRUE(copied) << describe(copied.error());
    for (size_t cut : {text.size(), text.size() - 1, text.size() - 2, text.size() / 2}) {
      std::string buffer = text + std::string(transaction_read_padding, '}');
      std::string_view front{buffer.data(), cut};
      auto in_place = decode_transaction(front, buffer.size());
      if (cut < text.size()) {
        EXPECT_FALSE(in_place) << "a text cut at " << cut << " of " << text.size();
        continue;
      }
      ASSERT_TRUE(in_place) << describe(in_place.error());
      EXPECT_EQ(in_place->events, copied->events);
      EXPECT_EQ(in_place->event_ids, copied->event_ids);
      EXPECT_EQ(in_place->id, copied->id);
    }
  }
}

TEST(TransactionTest, DecodeRefusesWhatIsNotValidAnywhere) {
  auto one = [](const std::string& event) { return transaction_text({event}); };
  // Invalid UTF-8 (a lone continuation byte, a truncated sequence, an encoded surrogate)
  // in a value or a key: the whole transaction is refused, nothing is stored.
  for (const std::string bad : {"\x80", "\xc3", "\xed\xa0\x80", "\xff"}) {
    expect_bad_transaction(one(R"({"id":"x","text":")" + bad + "\"}"), "not valid UTF-8");
    expect_bad_transaction(one(R"({"id":"x",")" + bad + "\":1}"), "not valid UTF-8");
  }
  // JSON an on-demand parser would skip over unless every value is read.
  for (const std::string bad :
       {R"({"id":"x","v":tru})", R"({"id":"x","v":01})", R"({"id":"x","v":"\q"})",
        R"({"id":"x" "v":1})", R"({"id":"x","v":[1,]})", R"({"id":"x","v":{"a":1,}})",
        R"({"id":"x","v":-})", R"({"id":"x","v":nul})", R"({"id":"x","v":[1}})",
        R"({"id":"x","v":"\ud800"})", "{\"id\":\"x\",\"v\":\"tab\there\"}"})
    expect_bad_transaction(one(bad), "not valid JSON");
  auto good = one(R"({"id":"x"})");
  expect_bad_transaction(good + " 5", "not valid JSON");
  expect_bad_transaction(good + "}", "not valid JSON");
  expect_bad_transaction(good + "{}", "not valid JSON");
  expect_bad_transaction("{\"zzz\":tru," + good.substr(1), "not valid JSON");
  // Every proper prefix of a transaction is refused.
  for (size_t n = 0; n + 1 < good.size(); ++n) {
    auto t = decode_transaction(good.substr(0, n));
    EXPECT_FALSE(t) << good.substr(0, n);
  }
  ASSERT_TRUE(decode_transaction(" \n" + good + "\r\n\t "));
  // Events that are no objects or have no usable id name the event.
  expect_bad_transaction(transaction_text({R"({"id":"x"})", "[]"}),
                         "events[1] is not a JSON object");
  expect_bad_transaction(transaction_text({R"("x")"}), "events[0] is not a JSON object");
  expect_bad_transaction(transaction_text({R"({"id":"x"})", R"({"id":""})"}), "events[1] has no");
  expect_bad_transaction(one(R"({"id":"x","id":null})"), "events[0] has no string \"id\"");
  // Numbers as nlohmann classifies them.
  auto numbers = [](const std::string& version, const std::string& created_ms) {
    return R"({"version":)" + version +
           R"(,"id":"t","origin":"o","destination":"d","created_ms":)" + created_ms +
           R"(,"events":[]})";
  };
  for (const char* version : {"1.0", "-0", "4294967296", "1e0"})
    expect_bad_transaction(numbers(version, "1"), "\"version\" is not a version number");
  for (const char* created_ms : {"1e3", "1.0", "123456789012345678901234567890"})
    expect_bad_transaction(numbers("1", created_ms), "\"created_ms\" is not an integer");
  auto negative = decode_transaction(numbers("1", "-5"));
  ASSERT_TRUE(negative) << describe(negative.error());
  EXPECT_EQ(negative->created_ms, -5);
}

TEST(TransactionTest, DecodeBoundsNestingAt64Levels) {
  // The transaction is level 1, "events" 2, an event 3: 61 arrays more reach 64.
  auto nested = [](size_t arrays) {
    return transaction_text(
        {R"({"id":"x","v":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}"});
  };
  auto at_limit = decode_transaction(nested(61));
  ASSERT_TRUE(at_limit) << describe(at_limit.error());
  EXPECT_EQ(at_limit->event_ids, std::vector<std::string>{"x"});
  expect_bad_transaction(nested(62), "nested deeper than 64 levels");
  expect_bad_transaction(nested(100000), "nested deeper than 64 levels");
  std::string objects = R"({"id":"x")";
  for (int i = 0; i < 62; ++i) objects += R"(,"o":{"k":1)";
  objects += std::string(62, '}') + "}";
  expect_bad_transaction(transaction_text({objects}), "nested deeper than 64 levels");
}

// Every one-byte change of a transaction: what nlohmann refuses, decode refuses; what
// decode takes, each event of it is JSON whose id and room are the ones decode gave.
TEST(TransactionTest, DecodeAgreesWithNlohmannOnEveryOneByteChange) {
  const auto text = transaction_text(
      {R"({"id":"a:1","t":"x\ny","n":[1,-2.5e-3,true,false,null],"o":{}})",
       R"({"kind":"event","id":"a:2","event":{"room_id":"!r:a","seq":1}})", R"({"id":"a:3"})"},
      " ");
  size_t accepted = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    for (char c : std::string{"\"{}[],: x0\\\xff-e.n"}) {
      auto changed = text;
      changed[pos] = c;
      auto t = decode_transaction(changed);
      if (!json::accept(changed)) {
        EXPECT_FALSE(t) << changed;
        continue;
      }
      if (!t) continue;  // valid JSON with a field that is wrong: refused by name
      ++accepted;
      ASSERT_EQ(t->events.size(), t->event_ids.size());
      ASSERT_EQ(t->events.size(), t->event_rooms.size());
      auto doc = json::parse(changed);
      for (size_t i = 0; i < t->events.size(); ++i) {
        auto event = json::parse(t->events[i], nullptr, false);
        ASSERT_TRUE(event.is_object()) << changed << " -> " << t->events[i];
        EXPECT_EQ(event, doc["events"][i]) << changed;
        EXPECT_EQ(t->event_ids[i], string_at(event, "id")) << changed;
        EXPECT_EQ(t->event_rooms[i], sequenced_room_of(event)) << changed;
      }
    }
  }
  EXPECT_GT(accepted, 0u);
}

TEST(TransactionTest, ReceiptRoundTrip) {
  receipt r;
  r.transaction_id = "a.example:ff";
  r.results = {{"a.example:1", true, ""}, {"a.example:2", false, "user is muted"}};
  auto back = decode_receipt(encode_receipt(r));
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(back->version, 1u);
  EXPECT_EQ(back->transaction_id, r.transaction_id);
  ASSERT_EQ(back->results.size(), 2u);
  EXPECT_EQ(back->results[0].id, "a.example:1");
  EXPECT_TRUE(back->results[0].accepted);
  EXPECT_EQ(back->results[1].id, "a.example:2");
  EXPECT_FALSE(back->results[1].accepted);
  EXPECT_EQ(back->results[1].reason, "user is muted");
}

TEST(TransactionTest, AReceiptIsTheTextNlohmannWouldWrite) {
  receipt r;
  r.transaction_id = "a.example:ff\"";
  r.results = {{"a.example:1", true, ""},
               {"a.example:2", false, "user is muted"},
               {"a.example:3\xff", false, "caf\xc3\xa9 \x01 \xc3"},  // invalid UTF-8 too
               {"a.example:4", true, "ignored when accepted"}};
  json results = json::array();
  for (const auto& result : r.results) {
    json item = {{"id", result.id}, {"accepted", result.accepted}};
    if (!result.accepted) item["reason"] = result.reason;
    results.push_back(item);
  }
  json doc = {{"version", r.version}, {"transaction_id", r.transaction_id}, {"results", results}};
  EXPECT_EQ(encode_receipt(r), doc.dump(-1, ' ', false, json::error_handler_t::replace));
  r.results.clear();
  doc["results"] = json::array();
  EXPECT_EQ(encode_receipt(r), doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

// What decode_receipt decoded with nlohmann before it read receipts in one simdjson pass:
// the receipt, or the message of the first thing wrong with it.
std::variant<receipt, std::string> reference_receipt(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return std::string{"not valid JSON"};
  if (!doc.is_object()) return std::string{"receipt: not a JSON object"};
  receipt r;
  auto version = doc.find("version");
  if (version == doc.end()) return std::string{"receipt: missing field \"version\""};
  if (!version->is_number_unsigned() || version->get<uint64_t>() > UINT32_MAX)
    return std::string{"receipt: field \"version\" is not a version number"};
  r.version = static_cast<uint32_t>(version->get<uint64_t>());
  auto id = doc.find("transaction_id");
  if (id == doc.end()) return std::string{"receipt: missing field \"transaction_id\""};
  if (!id->is_string()) return std::string{"receipt: field \"transaction_id\" is not a string"};
  r.transaction_id = id->get<std::string>();
  auto results = doc.find("results");
  if (results == doc.end()) return std::string{"receipt: missing field \"results\""};
  if (!results->is_array()) return std::string{"receipt: field \"results\" is not an array"};
  for (size_t i = 0; i < results->size(); ++i) {
    const auto& item = (*results)[i];
    auto where = "results[" + std::to_string(i) + "]";
    if (!item.is_object()) return "receipt: " + where + " is not a JSON object";
    auto rid = item.find("id");
    if (rid == item.end()) return "receipt " + where + ": missing field \"id\"";
    if (!rid->is_string()) return "receipt " + where + ": field \"id\" is not a string";
    auto accepted = item.find("accepted");
    if (accepted == item.end() || !accepted->is_boolean())
      return "receipt: " + where + " has no boolean \"accepted\"";
    event_result result{rid->get<std::string>(), accepted->get<bool>(), ""};
    if (auto reason = item.find("reason"); reason != item.end()) {
      if (!reason->is_string()) return "receipt: " + where + " field \"reason\" is not a string";
      result.reason = reason->get<std::string>();
    }
    r.results.push_back(result);
  }
  return r;
}

// Every one-byte change of a receipt decodes as nlohmann read it: the same receipt, or
// refused with the same message (for text that is no JSON at all, any such message).
TEST(TransactionTest, ReceiptDecodeAgreesWithNlohmannOnEveryOneByteChange) {
  const std::string text =
      R"({"version":1,"transaction_id":"a:f","x":[{"y":-1.5e3}],"results":[{"id":"a:1",)"
      R"("accepted":true},{"reason":"no","id":"a:2","accepted":false,"z":null},)"
      R"({"id":"a:3","accepted":true,"id":"a:4"}]})";
  size_t accepted = 0, refused = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    for (char c : std::string{"\"{}[],: x0\\\xff-e.nt19"}) {
      auto changed = text;
      changed[pos] = c;
      auto got = decode_receipt(changed);
      auto want = reference_receipt(changed);
      if (auto* message = std::get_if<std::string>(&want)) {
        ASSERT_FALSE(got) << changed;
        ++refused;
        if (*message != "not valid JSON") {
          EXPECT_EQ(detail_of(got.error()), *message) << changed;
        }
        continue;
      }
      ASSERT_TRUE(got) << changed << ": " << describe(got.error());
      ++accepted;
      const auto& r = std::get<receipt>(want);
      EXPECT_EQ(got->version, r.version) << changed;
      EXPECT_EQ(got->transaction_id, r.transaction_id) << changed;
      ASSERT_EQ(got->results.size(), r.results.size()) << changed;
      for (size_t i = 0; i < r.results.size(); ++i) {
        EXPECT_EQ(got->results[i].id, r.results[i].id) << changed;
        EXPECT_EQ(got->results[i].accepted, r.results[i].accepted) << changed;
        EXPECT_EQ(got->results[i].reason, r.results[i].reason) << changed;
      }
    }
  }
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(refused, 100u);
}

TEST(TransactionTest, MalformedReceiptsAreBadRequests) {
  for (
      const std::string text :
      {"nope", "{}", R"({"version":1,"transaction_id":"t"})",
       R"({"version":1,"transaction_id":"t","results":[{"id":"x"}]})",
       R"({"version":1,"transaction_id":"t","results":[{"id":"x","accepted":"yes"}]})",
       R"({"version":1,"transaction_id":"t","results":[{"accepted":true}]})",
       R"({"version":1,"transaction_id":"t","results":[{"id":"x","accepted":false,"reason":3}]})"}) {
    auto r = decode_receipt(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), caf::make_error(errc::bad_request)) << text;
  }
}

TEST(TransactionTest, TransactionIdsAreFreshAndCarryTheOrigin) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = make_transaction_id("a.example");
    ASSERT_EQ(id.rfind("a.example:", 0), 0u) << id;
    ASSERT_EQ(id.size(), std::string{"a.example:"}.size() + 32) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST(TransactionTest, TransactionIdsOfOneOriginGrowWithTime) {
  auto previous = make_transaction_id("a.example");
  for (int i = 0; i < 1000; ++i) {
    auto id = make_transaction_id("a.example");
    ASSERT_LT(previous, id);
    previous = id;
  }
}

TEST(TransactionTest, EventIdOf) {
  EXPECT_EQ(event_id_of(R"({"id":"a.example:7","text":"x"})"), "a.example:7");
  EXPECT_EQ(event_id_of(R"({"id":7})"), "");
  EXPECT_EQ(event_id_of(R"(["id"])"), "");
  EXPECT_EQ(event_id_of("garbage"), "");
}

TEST(OutboxTest, EnvelopeRoundTrip) {
  auto value = encode_outbox_value(1234, "a.example:1", R"({"id":"a.example:1"})");
  auto entry = decode_outbox_value(value);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->enqueued_ms, 1234);
  EXPECT_EQ(entry->event_id, "a.example:1");
  EXPECT_EQ(entry->event, R"({"id":"a.example:1"})");
  EXPECT_FALSE(decode_outbox_value("short"));
  EXPECT_FALSE(decode_outbox_value(value.substr(0, 14)));
}

class OutboxStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::store::open(dir_.path());
    ASSERT_TRUE(opened) << describe(opened.error());
    store_ = std::move(*opened);
  }

  void put(const std::string& domain, uint64_t seq, const std::string& event,
           int64_t enqueued = 1000) {
    storage::write_batch batch;
    batch.put(storage::column::outbox, storage::sequenced_key(domain, seq),
              encode_outbox_value(enqueued, "id" + std::to_string(seq), event));
    ASSERT_FALSE(store_->write(batch));
  }

  test::temp_dir dir_{"fedrelay-outbox"};
  std::unique_ptr<storage::store> store_;
};

TEST_F(OutboxStoreTest, ReadsBoundedBatchesFromASeq) {
  for (uint64_t seq = 1; seq <= 5; ++seq) put("b.example", seq, std::string(10, 'x'), 100 + seq);
  put("a.example", 1, "other");
  put("b.example2", 1, "other");
  outbox q{*store_, "b.example"};
  auto all = q.read(0, 100, 1 << 20);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->entries.size(), 5u);
  EXPECT_EQ(all->entries.front().seq, 1u);
  EXPECT_EQ(all->entries.back().seq, 5u);
  EXPECT_EQ(all->entries[2].event_id, "id3");
  EXPECT_EQ(all->entries[2].enqueued_ms, 103);
  EXPECT_EQ(all->last_seq, 5u);
  auto by_count = q.read(2, 2, 1 << 20);
  ASSERT_TRUE(by_count);
  ASSERT_EQ(by_count->entries.size(), 2u);
  EXPECT_EQ(by_count->entries[0].seq, 2u);
  EXPECT_EQ(by_count->last_seq, 3u);
  auto by_bytes = q.read(1, 100, 25);
  ASSERT_TRUE(by_bytes);
  EXPECT_EQ(by_bytes->entries.size(), 2u);
  EXPECT_EQ(by_bytes->bytes, 20u);
  // One event larger than the byte bound still goes, alone.
  auto oversized = q.read(4, 100, 3);
  ASSERT_TRUE(oversized);
  ASSERT_EQ(oversized->entries.size(), 1u);
  EXPECT_EQ(oversized->entries[0].seq, 4u);
  auto past_end = q.read(6, 100, 1 << 20);
  ASSERT_TRUE(past_end);
  EXPECT_TRUE(past_end->entries.empty());
  EXPECT_EQ(past_end->last_seq, 0u);
}

TEST_F(OutboxStoreTest, RemoveCountOldestAndDomains) {
  for (uint64_t seq = 1; seq <= 4; ++seq) put("b.example", seq, "{}", 100 + seq);
  put("a.example", 7, "{}");
  outbox q{*store_, "b.example"};
  EXPECT_EQ(*q.count(), 4u);
  EXPECT_EQ(*q.last_seq(), 4u);
  ASSERT_FALSE(q.remove({1, 3}, storage::durability::synced));
  EXPECT_EQ(*q.count(), 2u);
  auto oldest = q.oldest();
  ASSERT_TRUE(oldest && *oldest);
  EXPECT_EQ((*oldest)->seq, 2u);
  EXPECT_EQ((*oldest)->enqueued_ms, 102);
  auto domains = outbox_domains(*store_);
  ASSERT_TRUE(domains);
  EXPECT_EQ(*domains, (std::vector<std::string>{"a.example", "b.example"}));
  ASSERT_FALSE(q.remove({2, 4}));
  EXPECT_EQ(*q.count(), 0u);
  EXPECT_EQ(*q.last_seq(), 0u);
  EXPECT_FALSE(*q.oldest());
  EXPECT_EQ(*outbox_domains(*store_), (std::vector<std::string>{"a.example"}));
}

TEST_F(OutboxStoreTest, RemovingRunsOfSeqsLeavesTheirNeighboursAndOtherDomainsAlone) {
  // Runs of 64 seqs or more go as range deletions, shorter ones key by key: both here.
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> all;
  for (uint64_t seq = 1; seq <= 300; ++seq) all.push_back(seq);
  for (uint64_t seq = max - 69; seq != 0; ++seq) all.push_back(seq);  // up to max
  for (auto seq : all) put("b.example", seq, "{}");
  for (const char* other : {"a.example", "b.example.org", "c.example"})
    for (uint64_t seq = 1; seq <= 10; ++seq) put(other, seq, "{}");
  outbox q{*store_, "b.example"};
  auto seqs_left = [&q] {
    std::vector<uint64_t> out;
    auto read = q.read(0, 1000, 1 << 20);
    EXPECT_TRUE(read);
    for (const auto& e : read->entries) out.push_back(e.seq);
    return out;
  };
  auto without = [](std::vector<uint64_t> from, const std::vector<uint64_t>& gone) {
    for (auto seq : gone) from.erase(std::find(from.begin(), from.end(), seq));
    return from;
  };
  // Out of order: a run of 100 (10-109), a run of three (150-152) and two single seqs.
  std::vector<uint64_t> first{152, 5, 150, 7, 151};
  for (uint64_t seq = 109; seq >= 10; --seq) first.push_back(seq);
  ASSERT_FALSE(q.remove(first));
  auto left = without(all, first);
  EXPECT_EQ(seqs_left(), left);
  // A run of 70 that ends at the last possible seq, and a run of 64 exactly.
  std::vector<uint64_t> second;
  for (uint64_t seq = max - 69; seq != 0; ++seq) second.push_back(seq);
  for (uint64_t seq = 153; seq < 217; ++seq) second.push_back(seq);
  ASSERT_FALSE(q.remove(second));
  left = without(left, second);
  EXPECT_EQ(seqs_left(), left);
  EXPECT_EQ(left.front(), 1u);
  EXPECT_EQ(left.back(), 300u);
  ASSERT_FALSE(q.remove(left));
  EXPECT_EQ(*q.count(), 0u);
  for (const char* other : {"a.example", "b.example.org", "c.example"})
    EXPECT_EQ(*outbox(*store_, other).count(), 10u) << other;
}

TEST_F(OutboxStoreTest, AReferenceToAMissingLogEntryIsReportedForRemoval) {
  auto log_key = storage::sequenced_key("r:a.example", 1);
  storage::write_batch batch;
  batch.put(storage::column::outbox, storage::sequenced_key("b.example", 1),
            encode_outbox_reference(5, "event:r:a.example:one", log_key));
  batch.put(storage::column::outbox, storage::sequenced_key("b.example", 2),
            encode_outbox_reference(5, "event:r:a.example:two",
                                    storage::sequenced_key("r:a.example", 2)));
  batch.put(storage::column::room_log, log_key, R"({"id":"one"})");
  // Neither an empty log key nor a missing event id is a reference.
  batch.put(storage::column::outbox, storage::sequenced_key("b.example", 3),
            encode_outbox_reference(5, "event:r:a.example:three", ""));
  batch.put(storage::column::outbox, storage::sequenced_key("b.example", 4),
            encode_outbox_reference(5, "", log_key));
  ASSERT_FALSE(store_->write(batch));
  put("b.example", 5, "{}");
  auto read = outbox{*store_, "b.example"}.read(0, 10, 1 << 20);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->entries.size(), 2u);
  EXPECT_EQ(read->entries[0].event, event_message("event:r:a.example:one", R"({"id":"one"})"));
  EXPECT_EQ(read->entries[0].log_key, log_key);
  EXPECT_EQ(read->entries[1].seq, 5u);
  EXPECT_EQ(read->corrupt, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(read->passed_over, 3u);
}

TEST_F(OutboxStoreTest, ReferencesToManyRoomsAndSeqsReadTheirOwnLogEntries) {
  // Two rooms, one named as the other's prefix, references interleaved, out of order,
  // with gaps, one log entry referred to twice and one missing.
  storage::write_batch batch;
  auto logged = [](std::string_view room, uint64_t seq) {
    return std::string{R"({"room":")"} + std::string{room} + R"(","seq":)" + std::to_string(seq) +
           "}";
  };
  for (uint64_t seq : {1, 2, 4, 5, 9})
    batch.put(storage::column::room_log, storage::sequenced_key("r", seq), logged("r", seq));
  for (uint64_t seq : {1, 2, 3})
    batch.put(storage::column::room_log, storage::sequenced_key("r2", seq), logged("r2", seq));
  std::vector<std::pair<std::string, uint64_t>> refs{{"r", 1},  {"r2", 1}, {"r", 2}, {"r", 3},
                                                     {"r2", 2}, {"r", 5},  {"r", 5}, {"r", 4},
                                                     {"r", 9},  {"r2", 3}};
  uint64_t seq = 0;
  for (const auto& [room, log_seq] : refs) {
    auto id = "event:" + room + ":" + std::to_string(log_seq);
    batch.put(storage::column::outbox, storage::sequenced_key("b.example", ++seq),
              encode_outbox_reference(5, id, storage::sequenced_key(room, log_seq)));
  }
  ASSERT_FALSE(store_->write(batch));
  auto read = outbox{*store_, "b.example"}.read(0, 100, 1 << 20);
  ASSERT_TRUE(read);
  std::vector<std::string> expected;
  for (const auto& [room, log_seq] : refs)
    if (!(room == "r" && log_seq == 3))
      expected.push_back(
          event_message("event:" + room + ":" + std::to_string(log_seq), logged(room, log_seq)));
  std::vector<std::string> events;
  for (const auto& e : read->entries) events.push_back(e.event);
  EXPECT_EQ(events, expected);
  EXPECT_EQ(read->corrupt, (std::vector<uint64_t>{4}));
  EXPECT_EQ(read->last_seq, 10u);
  // A byte bound that ends the batch after the third entry: the missing entry, fourth in
  // the queue, is left for the next read.
  auto three = expected[0].size() + expected[1].size() + expected[2].size();
  auto bounded = outbox{*store_, "b.example"}.read(0, 100, three);
  ASSERT_TRUE(bounded);
  ASSERT_EQ(bounded->entries.size(), 3u);
  EXPECT_EQ(bounded->last_seq, 3u);
  EXPECT_TRUE(bounded->corrupt.empty());
}

/// Puts log entries `first`..`first + n - 1` of room "r" and, under key seq `key_seq` of
/// b.example, one run referring to them (or a single reference for n = 1).
void put_run(storage::store& store, uint64_t key_seq, uint64_t first, uint64_t n,
             const std::set<uint64_t>& missing = {}) {
  storage::write_batch batch;
  std::vector<std::string> ids;
  for (uint64_t seq = first; seq < first + n; ++seq) {
    ids.push_back("event:r:" + std::to_string(seq));
    if (missing.count(seq) == 0)
      batch.put(storage::column::room_log, storage::sequenced_key("r", seq),
                R"({"seq":)" + std::to_string(seq) + "}");
  }
  std::vector<std::string_view> views(ids.begin(), ids.end());
  auto log_key = storage::sequenced_key("r", first);
  batch.put(storage::column::outbox, storage::sequenced_key("b.example", key_seq),
            n == 1 ? encode_outbox_reference(7, views.front(), log_key)
                   : encode_outbox_run(7, views, log_key));
  ASSERT_FALSE(store.write(batch));
}

std::vector<uint64_t> seqs_of(const outbox_batch& b) {
  std::vector<uint64_t> out;
  for (const auto& e : b.entries) out.push_back(e.seq);
  return out;
}

TEST_F(OutboxStoreTest, ARunHoldsEachOfItsEventsUnderASeqOfItsOwn) {
  // Seq 1 a reference, 2-6 a run of log entries 11-15, 7 an inline event.
  put_run(*store_, 1, 10, 1);
  put_run(*store_, 2, 11, 5);
  put("b.example", 7, R"({"id":"x"})", 9);
  outbox q{*store_, "b.example"};
  auto all = q.read(0, 100, 1 << 20);
  ASSERT_TRUE(all);
  EXPECT_EQ(seqs_of(*all), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(all->last_seq, 7u);
  EXPECT_TRUE(all->corrupt.empty());
  for (uint64_t i = 0; i < 5; ++i) {
    const auto& e = all->entries[1 + i];
    EXPECT_EQ(e.key_seq, 2u);
    EXPECT_EQ(e.enqueued_ms, 7);
    EXPECT_EQ(e.event_id, "event:r:" + std::to_string(11 + i));
    EXPECT_EQ(e.log_key, storage::sequenced_key("r", 11 + i));
    EXPECT_EQ(e.event, event_message(e.event_id, R"({"seq":)" + std::to_string(11 + i) + "}"));
  }
  EXPECT_EQ(all->entries[0].key_seq, 1u);
  EXPECT_EQ(all->entries[6].key_seq, 7u);
  EXPECT_EQ(*q.count(), 7u);
  EXPECT_EQ(*q.last_seq(), 7u);
  // A run last in the queue ends it at its last event's seq.
  put_run(*store_, 8, 16, 3);
  EXPECT_EQ(*q.last_seq(), 10u);
  EXPECT_EQ(*q.count(), 10u);
  ASSERT_FALSE(q.remove({1, 2}));
  auto oldest = q.oldest();
  ASSERT_TRUE(oldest && *oldest);
  EXPECT_EQ((*oldest)->seq, 7u);
  ASSERT_FALSE(q.remove({7}));
  oldest = q.oldest();
  ASSERT_TRUE(oldest && *oldest);
  EXPECT_EQ((*oldest)->seq, 8u);
  EXPECT_EQ((*oldest)->event_id, "event:r:16");
  EXPECT_EQ(*q.count(), 3u);
}

TEST_F(OutboxStoreTest, AReadTakesARunWholeOrNotAtAll) {
  put_run(*store_, 1, 1, 2);  // seqs 1-2
  put_run(*store_, 3, 3, 4);  // seqs 3-6
  put_run(*store_, 7, 7, 1);  // seq 7
  outbox q{*store_, "b.example"};
  // A count bound inside the second run ends the batch before it...
  for (size_t max : {2, 3, 5}) {
    auto read = q.read(0, max, 1 << 20);
    ASSERT_TRUE(read);
    EXPECT_EQ(seqs_of(*read), (std::vector<uint64_t>{1, 2})) << max;
    EXPECT_EQ(read->last_seq, 2u) << max;
  }
  // ...but a run first in the batch goes whole, past it.
  auto first = q.read(3, 1, 1 << 20);
  ASSERT_TRUE(first);
  EXPECT_EQ(seqs_of(*first), (std::vector<uint64_t>{3, 4, 5, 6}));
  EXPECT_EQ(first->last_seq, 6u);
  auto six = q.read(0, 6, 1 << 20);
  ASSERT_TRUE(six);
  EXPECT_EQ(six->last_seq, 6u);
  // A byte bound likewise: here it falls inside the second run.
  auto size = event_message("event:r:1", R"({"seq":1})").size();
  auto by_bytes = q.read(0, 100, 4 * size);
  ASSERT_TRUE(by_bytes);
  EXPECT_EQ(seqs_of(*by_bytes), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(by_bytes->last_seq, 2u);
  auto run_alone = q.read(3, 100, size);
  ASSERT_TRUE(run_alone);
  EXPECT_EQ(seqs_of(*run_alone), (std::vector<uint64_t>{3, 4, 5, 6}));
}

TEST_F(OutboxStoreTest, ARunsEventsWithoutTheirLogEntryAreLeftOut) {
  put_run(*store_, 1, 1, 4, {2});        // seqs 1-4, log entry 2 gone
  put_run(*store_, 5, 5, 3, {5, 6, 7});  // seqs 5-7, all gone
  put_run(*store_, 8, 8, 2);             // seqs 8-9
  auto read = outbox{*store_, "b.example"}.read(0, 100, 1 << 20);
  ASSERT_TRUE(read);
  EXPECT_EQ(seqs_of(*read), (std::vector<uint64_t>{1, 3, 4, 8, 9}));
  EXPECT_EQ(read->corrupt, (std::vector<uint64_t>{5}));
  EXPECT_EQ(read->passed_over, 4u);  // seq 2, and the run 5-7
  EXPECT_EQ(read->last_seq, 9u);
}

TEST_F(OutboxStoreTest, AMalformedRunIsReportedForRemoval) {
  auto log_key = storage::sequenced_key("r", 1);
  std::vector<std::string_view> two{"event:r:1", "event:r:2"};
  auto good = encode_outbox_run(7, two, log_key);
  std::vector<std::string> bad{
      good.substr(0, good.size() - 1),                   // the last id cut short
      good + "x",                                        // bytes past the last id
      encode_outbox_run(7, {"event:r:1"}, log_key),      // a run of one
      encode_outbox_run(7, two, "not a sequenced key"),  // no seq to count from
      encode_outbox_run(7, {"event:r:1", ""}, log_key),  // an id missing
      encode_outbox_run(7, {"", "event:r:2"}, log_key),  // the first id missing
  };
  storage::write_batch batch;
  batch.put(storage::column::room_log, log_key, "{}");
  batch.put(storage::column::room_log, storage::sequenced_key("r", 2), "{}");
  uint64_t seq = 0;
  for (const auto& value : bad)
    batch.put(storage::column::outbox, storage::sequenced_key("b.example", ++seq), value);
  batch.put(storage::column::outbox, storage::sequenced_key("b.example", ++seq), good);
  ASSERT_FALSE(store_->write(batch));
  auto read = outbox{*store_, "b.example"}.read(0, 100, 1 << 20);
  ASSERT_TRUE(read);
  EXPECT_EQ(seqs_of(*read), (std::vector<uint64_t>{7, 8}));
  EXPECT_EQ(read->corrupt, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  for (const auto& value : bad) EXPECT_FALSE(decode_outbox_value(value));
  EXPECT_FALSE(decode_outbox_value(good));  // a run is not one event
}

TEST_F(OutboxStoreTest, AByteBoundEndsABatchOfReferencesInAnyChunkOfItsReading) {
  // 300 references, read against the log a chunk at a time; the log entry of 150 is gone.
  storage::write_batch batch;
  auto id_of = [](uint64_t seq) {
    auto digits = std::to_string(seq);
    return "event:r:" + std::string(3 - digits.size(), '0') + digits;
  };
  for (uint64_t seq = 1; seq <= 300; ++seq) {
    if (seq != 150)
      batch.put(storage::column::room_log, storage::sequenced_key("r", seq), R"({"n":1})");
    batch.put(storage::column::outbox, storage::sequenced_key("b.example", seq),
              encode_outbox_reference(5, id_of(seq), storage::sequenced_key("r", seq)));
  }
  ASSERT_FALSE(store_->write(batch));
  auto size = event_message(id_of(1), R"({"n":1})").size();
  for (size_t fit : {1, 127, 128, 129, 200, 298, 299, 400}) {
    auto read = outbox{*store_, "b.example"}.read(1, 1000, fit * size);
    ASSERT_TRUE(read) << fit;
    auto taken = std::min<size_t>(fit, 299);
    ASSERT_EQ(read->entries.size(), taken) << fit;
    uint64_t last = taken < 150 ? taken : taken + 1;
    EXPECT_EQ(read->last_seq, last) << fit;
    EXPECT_EQ(read->entries.back().event, event_message(id_of(last), R"({"n":1})")) << fit;
    EXPECT_EQ(read->corrupt, last > 150 ? std::vector<uint64_t>{150} : std::vector<uint64_t>{})
        << fit;
    EXPECT_EQ(read->bytes, taken * size) << fit;
  }
}

TEST_F(OutboxStoreTest, CorruptEntriesAreReportedForRemoval) {
  put("b.example", 1, "{}");
  storage::write_batch batch;
  batch.put(storage::column::outbox, storage::sequenced_key("b.example", 2), "bad");
  ASSERT_FALSE(store_->write(batch));
  put("b.example", 3, "{}");
  auto read = outbox{*store_, "b.example"}.read(0, 10, 1 << 20);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->entries.size(), 2u);
  EXPECT_EQ(read->corrupt, (std::vector<uint64_t>{2}));
}

}  // namespace
}  // namespace fedrelay::actors
