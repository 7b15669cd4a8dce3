// The receiving side: every status of federation.events.dispatch and
// federation.events.since, exactly-once hand-over to the rooms (a stand-in records what it
// gets) and the stored receipt of a replayed transaction.
#include "actors/inbound_actor.hpp"

#include <atomic>
#include <chrono>
#include <memory>

#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/request_auth.hpp"
#include "actors/stored_receipts.hpp"
#include "actors/wall_clock.hpp"
#include "tests/actors/transport_fixture.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;
using testing::test_node;
using testing::transport_fixture;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class InboundTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    a_ = &add_node("a.example");
    b_ = &add_node("b.example");
    c_ = &add_node("c.example");  // known to nobody: a forger
    start_discovery(*b_);
    start_inbound(*b_);
  }

  transaction txn(std::vector<std::string> events, const std::string& destination = "b.example") {
    transaction t;
    t.id = make_transaction_id("a.example");
    t.origin = "a.example";
    t.destination = destination;
    t.created_ms = now_ms();
    t.events = std::move(events);
    return t;
  }

  inbound_reply dispatch(const std::string& origin, const std::string& version,
                         const std::string& body, test_node* to = nullptr) {
    auto reply =
        ask<inbound_reply>((to ? to : b_)->inbound, dispatch_atom::value, origin, version, body);
    EXPECT_TRUE(reply.value) << describe(reply.error);
    return reply.value.value_or(inbound_reply{});
  }

  /// Dispatches `t` sealed by A for B (or `to`); returns the status and the opened receipt.
  std::pair<uint16_t, std::optional<receipt>> send(const transaction& t, test_node* to = nullptr) {
    auto key = box_between(*a_, to ? *to : *b_);
    auto reply = dispatch("a.example", "1", key.seal(encode_transaction(t)), to);
    if (reply.status != 200) return {reply.status, std::nullopt};
    auto opened = key.open(reply.body);
    EXPECT_TRUE(opened) << describe(opened.error());
    auto r = decode_receipt(*opened);
    EXPECT_TRUE(r) << describe(r.error());
    return {reply.status, *r};
  }

  /// Stores a receipt refusing `event_id` for `t` where earlier versions kept receipts
  /// (column dedup), as one of them would have; returns it.
  receipt store_as_earlier_version(const transaction& t, const std::string& event_id) {
    receipt r;
    r.transaction_id = t.id;
    r.results = {{event_id, false, "stored by an earlier version"}};
    storage::write_batch batch;
    batch.put(storage::column::dedup, transaction_receipt_key("a.example", t.id),
              encode_receipt(r));
    EXPECT_FALSE(b_->store->write(batch));
    return r;
  }

  static std::string error_of(const inbound_reply& reply) {
    auto doc = json::parse(reply.body, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << reply.body;
    EXPECT_EQ(doc.value("success", true), false) << reply.body;
    return doc.value("error", "");
  }

  test_node* a_ = nullptr;
  test_node* b_ = nullptr;
  test_node* c_ = nullptr;
};

TEST_F(InboundTest, HandsANewTransactionToTheRoomsInOrder) {
  auto t = txn({event("a.example:1", "one"), event("a.example:2", "two")});
  auto [status, r] = send(t);
  ASSERT_EQ(status, 200);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->transaction_id, t.id);
  ASSERT_EQ(r->results.size(), 2u);
  EXPECT_EQ(r->results[0].id, "a.example:1");
  EXPECT_TRUE(r->results[0].accepted);
  EXPECT_EQ(r->results[1].id, "a.example:2");
  EXPECT_TRUE(r->results[1].accepted);
  const auto& applied = b_->recorder.applied;
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[0].origin, "a.example");
  EXPECT_EQ(applied[0].message,
            (json{{"id", "a.example:1"}, {"type", "message"}, {"text", "one"}}));
  EXPECT_EQ(applied[1].origin, "a.example");
  EXPECT_EQ(applied[1].message["text"], "two");
  // The rooms write the inbox themselves; the inbound actor no longer does.
  EXPECT_TRUE(inbox_of(*b_).empty());
}

TEST_F(InboundTest, ARefusalOfTheRoomsIsInTheReceiptAndNotMarkedSeen) {
  b_->recorder.refuse["a.example:2"] = "bad signature";
  auto [status, r] = send(txn({event("a.example:1"), event("a.example:2")}));
  ASSERT_EQ(status, 200);
  ASSERT_EQ(r->results.size(), 2u);
  EXPECT_TRUE(r->results[0].accepted);
  EXPECT_FALSE(r->results[1].accepted);
  EXPECT_EQ(r->results[1].reason, "bad signature");
  // Sent again in a new transaction, only the refused one is judged again.
  b_->recorder.refuse.clear();
  auto again = send(txn({event("a.example:1"), event("a.example:2")}));
  ASSERT_EQ(again.first, 200);
  EXPECT_TRUE(again.second->results[1].accepted);
  EXPECT_EQ(b_->recorder.ids(),
            (std::vector<std::string>{"a.example:1", "a.example:2", "a.example:2"}));
}

TEST_F(InboundTest, AnEventIdTwiceInOneTransactionGetsTheResultOfItsFirstCopyTwice) {
  b_->recorder.refuse["a.example:2"] = "bad signature";
  auto [status, r] = send(txn({event("a.example:2"), event("a.example:1"), event("a.example:2")}));
  ASSERT_EQ(status, 200);
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_FALSE(r->results[0].accepted);
  EXPECT_TRUE(r->results[1].accepted);
  EXPECT_FALSE(r->results[2].accepted);  // not accepted as the first copy was refused
  EXPECT_EQ(r->results[2].reason, "bad signature");
  // The rooms were handed each id once.
  EXPECT_EQ(b_->recorder.ids(), (std::vector<std::string>{"a.example:2", "a.example:1"}));
}

TEST_F(InboundTest, AReplayWhileTheFirstIsAppliedWaitsForTheSameReceipt) {
  auto t = txn({event("a.example:1"), event("a.example:2")});
  auto key = box_between(*a_, *b_);
  auto first = request<inbound_reply>(b_->inbound, dispatch_atom::value, std::string{"a.example"},
                                      std::string{"1"}, key.seal(encode_transaction(t)));
  auto second = request<inbound_reply>(b_->inbound, dispatch_atom::value, std::string{"a.example"},
                                       std::string{"1"}, key.seal(encode_transaction(t)));
  sched_->run();
  ASSERT_TRUE(first->value && second->value);
  EXPECT_EQ(first->value->status, 200);
  EXPECT_EQ(second->value->status, 200);
  EXPECT_EQ(*key.open(first->value->body), *key.open(second->value->body));
  EXPECT_EQ(b_->recorder.ids(), (std::vector<std::string>{"a.example:1", "a.example:2"}));
}

TEST_F(InboundTest, AReplayGetsTheStoredReceiptAndAppliesNothing) {
  auto t = txn({event("a.example:1"), event("a.example:2")});
  auto first = send(t);
  ASSERT_EQ(first.first, 200);
  auto again = send(t);
  ASSERT_EQ(again.first, 200);
  ASSERT_TRUE(again.second);
  EXPECT_EQ(encode_receipt(*again.second), encode_receipt(*first.second));
  EXPECT_EQ(b_->recorder.applied.size(), 2u);
}

TEST_F(InboundTest, TheReceiptIsStoredWithTheReceiptsAndOneAnEarlierVersionStoredIsFound) {
  auto t = txn({event("a.example:1")});
  ASSERT_EQ(send(t).first, 200);
  auto key = transaction_receipt_key("a.example", t.id);
  auto in_receipts = b_->store->get(storage::column::receipts, key);
  ASSERT_TRUE(in_receipts && *in_receipts);
  auto in_dedup = b_->store->get(storage::column::dedup, key);
  ASSERT_TRUE(in_dedup);
  EXPECT_FALSE(*in_dedup);
  // Earlier versions stored receipts in column dedup: a replay of such a transaction gets
  // that receipt, and nothing is applied again.
  auto earlier = txn({event("a.example:2")});
  auto r = store_as_earlier_version(earlier, "a.example:2");
  auto replayed = send(earlier);
  ASSERT_EQ(replayed.first, 200);
  ASSERT_TRUE(replayed.second);
  EXPECT_EQ(encode_receipt(*replayed.second), encode_receipt(r));
  EXPECT_EQ(b_->recorder.applied.size(), 1u);
}

TEST_F(InboundTest, AReceiptInBothColumnsIsTheOneInTheReceiptsColumn) {
  auto t = txn({event("a.example:1")});
  auto first = send(t);
  ASSERT_EQ(first.first, 200);
  store_as_earlier_version(t, "a.example:1");
  auto replayed = send(t);
  ASSERT_EQ(replayed.first, 200);
  ASSERT_TRUE(replayed.second && first.second);
  EXPECT_EQ(encode_receipt(*replayed.second), encode_receipt(*first.second));
  EXPECT_EQ(b_->recorder.applied.size(), 1u);
}

TEST_F(InboundTest, AReceiptThatCannotBeLookedUpIsAStorageFailureAndNothingIsApplied) {
  // The receipts column answers, the column earlier versions kept receipts in does not.
  auto unreadable = std::make_shared<std::atomic<bool>>(true);
  storage::store_options opts;
  opts.fail_reads = [unreadable](storage::column c) {
    return unreadable->load() && c == storage::column::dedup;
  };
  auto& d = add_node("d.example", std::move(opts));
  start_discovery(d);
  start_inbound(d);
  // A room event, which needs no lookup of its own: the receipt's is the only read.
  auto sequenced = json{{"id", "event:r:1"}, {"kind", "event"}, {"event", {{"room_id", "r"}}}};
  auto t = txn({sequenced.dump()}, "d.example");
  auto reply = dispatch("a.example", "1", box_between(*a_, d).seal(encode_transaction(t)), &d);
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(error_of(reply), "storage failed on the receiving node");
  EXPECT_TRUE(d.recorder.applied.empty());
  // Once the store reads again, the sender's retry is applied, once.
  unreadable->store(false);
  ASSERT_EQ(send(t, &d).first, 200);
  ASSERT_EQ(send(t, &d).first, 200);
  EXPECT_EQ(d.recorder.applied.size(), 1u);
}

// A receipt is kept for a while, not for good: once its time is over a compaction drops
// it, and a copy of the transaction sent after that is still applied no more than once,
// the rooms' marks answering for it.
TEST_F(InboundTest, AReceiptGoesAfterItsTimeAndACopySentLaterIsStillAppliedOnce) {
  auto ahead_ms = std::make_shared<std::atomic<int64_t>>(0);
  storage::store_options opts;
  opts.expiries.push_back(
      {storage::column::receipts, expired_receipts(std::chrono::hours{1}, [ahead_ms] {
         return unix_ms_now() + ahead_ms->load();
       })});
  auto& d = add_node("d.example", std::move(opts));
  start_discovery(d);
  start_inbound(d);
  auto t = txn({event("a.example:1"), event("a.example:2")}, "d.example");
  ASSERT_EQ(send(t, &d).first, 200);
  auto key = transaction_receipt_key("a.example", t.id);
  auto stored = [&] {
    EXPECT_EQ(d.store->compact(storage::column::receipts), caf::none);
    auto value = d.store->get(storage::column::receipts, key);
    EXPECT_TRUE(value) << describe(value.error());
    return value && *value;
  };
  EXPECT_TRUE(stored());
  ahead_ms->store(std::chrono::milliseconds(std::chrono::hours{1}).count() + 60'000);
  EXPECT_FALSE(stored());
  auto [status, r] = send(t, &d);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(r->results.size(), 2u);
  EXPECT_TRUE(r->results[0].accepted && r->results[1].accepted);
  EXPECT_EQ(d.recorder.ids(), (std::vector<std::string>{"a.example:1", "a.example:2"}));
}

TEST_F(InboundTest, AnEventSeenBeforeIsAcceptedButAppliedOnce) {
  ASSERT_EQ(send(txn({event("a.example:1"), event("a.example:2")})).first, 200);
  auto [status, r] = send(txn({event("a.example:2"), event("a.example:3"), event("a.example:3")}));
  ASSERT_EQ(status, 200);
  ASSERT_EQ(r->results.size(), 3u);
  for (const auto& result : r->results) EXPECT_TRUE(result.accepted) << result.id;
  EXPECT_EQ(r->results[2].id, "a.example:3");
  EXPECT_EQ(b_->recorder.ids(),
            (std::vector<std::string>{"a.example:1", "a.example:2", "a.example:3"}));
}

TEST_F(InboundTest, ABodySealedByAnotherKeyIsUnauthorized) {
  auto forged = box_between(*c_, *b_).seal(encode_transaction(txn({event("a.example:1")})));
  auto reply = dispatch("a.example", "1", forged);
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(error_of(reply), "body is not sealed for b.example by the key of a.example");
  EXPECT_TRUE(b_->recorder.applied.empty());
}

TEST_F(InboundTest, ATamperedBodyIsUnauthorized) {
  auto sealed = box_between(*a_, *b_).seal(encode_transaction(txn({event("a.example:1")})));
  sealed[sealed.size() / 2] ^= 0x01;
  EXPECT_EQ(dispatch("a.example", "1", sealed).status, 401);
  EXPECT_EQ(dispatch("a.example", "1", sealed.substr(0, 10)).status, 401);
  EXPECT_TRUE(b_->recorder.applied.empty());
}

TEST_F(InboundTest, AWrongDestinationOrOriginIsForbidden) {
  auto t = txn({event("a.example:1")});
  t.destination = "c.example";
  auto [status, r] = send(t);
  EXPECT_EQ(status, 403);
  auto u = txn({event("a.example:1")});
  u.origin = "c.example";
  EXPECT_EQ(send(u).first, 403);
  EXPECT_TRUE(b_->recorder.applied.empty());
}

TEST_F(InboundTest, AStaleTransactionIsRefused) {
  auto t = txn({event("a.example:1")});
  t.created_ms -= 10 * 60 * 1000;
  auto key = box_between(*a_, *b_);
  auto reply = dispatch("a.example", "1", key.seal(encode_transaction(t)));
  EXPECT_EQ(reply.status, 422);
  EXPECT_EQ(error_of(reply), "transaction time outside the accepted window");
  t.created_ms += 20 * 60 * 1000;  // from the future, as far
  EXPECT_EQ(send(t).first, 422);
  // Times at the ends of the range: the distance to now is not computed by a subtraction
  // that overflows (which the sanitizer build stops at).
  for (int64_t far : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    t.created_ms = far;
    EXPECT_EQ(send(t).first, 422) << far;
  }
  EXPECT_TRUE(b_->recorder.applied.empty());
}

TEST_F(InboundTest, AnUnsupportedVersionNamesTheVersionsSpoken) {
  auto key = box_between(*a_, *b_);
  auto reply = dispatch("a.example", "2", key.seal(encode_transaction(txn({}))));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(
      json::parse(reply.body),
      (json{{"success", false}, {"error", "unsupported protocol version 2"}, {"versions", {1}}}));
  EXPECT_EQ(dispatch("a.example", "", "x").status, 400);
  EXPECT_EQ(dispatch("a.example", "1.0", "x").status, 400);
}

TEST_F(InboundTest, AMalformedTransactionIsABadRequest) {
  auto key = box_between(*a_, *b_);
  auto reply = dispatch("a.example", "1", key.seal("{\"version\":1}"));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(error_of(reply).find("\"id\""), std::string::npos) << reply.body;
  EXPECT_EQ(dispatch("a.example", "1", key.seal("not json")).status, 400);
  EXPECT_EQ(dispatch("", "1", key.seal("{}")).status, 400);
}

TEST_F(InboundTest, AnOriginDiscoveryDoesNotKnowIsUnavailable) {
  auto reply = dispatch("z.example", "1", "whatever");
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(error_of(reply).find("z.example"), std::string::npos);
}

TEST_F(InboundTest, CatchUpIsSealedAndItsRefusalsAreStatuses) {
  std::vector<std::string> asked;
  b_->recorder.since = [&asked](const std::string& origin, const std::string& room, uint64_t after,
                                uint32_t limit, uint64_t max_bytes) -> caf::expected<std::string> {
    asked.push_back(origin + " " + room + " " + std::to_string(after) + " " +
                    std::to_string(limit) + " " + std::to_string(max_bytes));
    if (room == "known") return std::string{R"([{"seq":4}])"};
    if (room == "closed") return caf::make_error(errc::rejected, "not a member server");
    return caf::make_error(errc::not_found, "no such room " + room);
  };
  auto key = box_between(*a_, *b_);
  auto since = [&](const std::string& body) {
    auto reply = ask<inbound_reply>(b_->inbound, since_atom::value, std::string{"a.example"},
                                    std::string{"1"}, key.seal(body));
    EXPECT_TRUE(reply.value);
    return reply.value.value_or(inbound_reply{});
  };
  auto ok = since(R"({"room_id":"known","after":3,"limit":10,"max_bytes":65536})");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(*key.open(ok.body), R"([{"seq":4}])");
  auto closed = since(R"({"room_id":"closed","after":0})");
  EXPECT_EQ(closed.status, 403);
  EXPECT_EQ(error_of(closed), "not a member server");
  EXPECT_EQ(since(R"({"room_id":"gone","after":0})").status, 404);
  EXPECT_EQ(asked, (std::vector<std::string>{"a.example known 3 10 65536", "a.example closed 0 0 0",
                                             "a.example gone 0 0 0"}));
  EXPECT_EQ(since(R"({"room_id":"known"})").status, 400);
  EXPECT_EQ(since(R"({"room_id":"known","after":0,"max_bytes":-1})").status, 400);
  EXPECT_EQ(since("not json").status, 400);
  auto forged =
      ask<inbound_reply>(b_->inbound, since_atom::value, std::string{"a.example"}, std::string{"1"},
                         box_between(*c_, *b_).seal(R"({"room_id":"known","after":0})"));
  EXPECT_EQ(forged.value->status, 401);
  auto old = ask<inbound_reply>(b_->inbound, since_atom::value, std::string{"a.example"},
                                std::string{"7"}, key.seal("{}"));
  EXPECT_EQ(old.value->status, 400);
  EXPECT_EQ(asked.size(), 3u);
}

}  // namespace
}  // namespace fedrelay::actors
