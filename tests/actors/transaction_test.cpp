// The wire format (transaction.hpp) and the outbox envelope: round trips, and every way a
// peer's bytes can be wrong.
#include "actors/transaction.hpp"

#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/outbox.hpp"
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
  // Compact, keys sorted: the form decode gives back.
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
