// The sending side end to end: journal -> peer manager -> peer -> test transport -> the
// inbound actor of a second node, with real stores, keys and discovery on both sides.
#include "actors/peer_actor.hpp"

#include <algorithm>
#include <chrono>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/outbox.hpp"
#include "tests/actors/transport_fixture.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::header_of;
using testing::test_node;
using testing::transport_fixture;

struct rejection {
  std::string domain, event_id, reason;
  bool operator==(const rejection& o) const {
    return domain == o.domain && event_id == o.event_id && reason == o.reason;
  }
};

caf::behavior rejection_collector(caf::event_based_actor*, std::vector<rejection>* out) {
  return {
      [out](rejected_atom, const std::string& domain, const std::string& id,
            const std::string& reason, const std::string&) {
        out->push_back({domain, id, reason});
      },
  };
}

/// Discovery for A that first hands out a stale key for B, and B's real key once told to
/// forget (a key rotation A has not seen yet).
struct rotating_discovery_state {
  peer_record current;
  peer_record stale;
  int forgets = 0;
};

discovery_actor::behavior_type rotating_discovery(discovery_actor::pointer,
                                                  rotating_discovery_state* st) {
  return {
      [st](resolve_atom, const std::string&) { return st->forgets > 0 ? st->current : st->stale; },
      [st](forget_atom, const std::string&) {
        ++st->forgets;
        return true;
      },
      [](stats_atom) -> caf::result<uint64_t, uint64_t> {
        return {0, 0};
      },
  };
}

/// Stands in front of a node's inbound actor: passes the first `to_pass` transactions on,
/// holds the next `to_hold` unanswered until told (tick_atom), and passes the others on at
/// once. A transaction slower than those sent after it.
struct holding_inbound_state {
  inbound_actor inbound;
  size_t to_pass = 0;  // transactions still to pass before holding
  size_t to_hold = 0;  // transactions still to hold
  std::vector<std::pair<std::vector<std::string>, caf::response_promise>> held;
};

caf::behavior holding_inbound(caf::stateful_actor<holding_inbound_state>* self,
                              inbound_actor inbound, size_t to_hold, size_t to_pass) {
  self->state.inbound = std::move(inbound);
  self->state.to_hold = to_hold;
  self->state.to_pass = to_pass;
  return {
      [self](dispatch_atom, std::string& origin, std::string& version,
             std::string& body) -> caf::result<inbound_reply> {
        auto& st = self->state;
        if (st.to_pass > 0) {
          --st.to_pass;
        } else if (st.to_hold > 0) {
          --st.to_hold;
          auto promise = self->make_response_promise();
          st.held.push_back({{std::move(origin), std::move(version), std::move(body)}, promise});
          return caf::delegated<inbound_reply>{};
        }
        return self->delegate(st.inbound, dispatch_atom::value, std::move(origin),
                              std::move(version), std::move(body));
      },
      [self](tick_atom) {
        for (auto& [args, promise] : self->state.held)
          self->request(self->state.inbound, caf::infinite, dispatch_atom::value, args[0], args[1],
                        args[2])
              .then([promise](inbound_reply& reply) mutable { promise.deliver(reply); });
        self->state.held.clear();
      },
  };
}

class PeerTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    settings_.batch_max_events = 2;
    settings_.window = 2;
    settings_.backoff_initial = 500ms;
    settings_.backoff_max = 4000ms;
    rejection_sink_ = keep(sys_->spawn(rejection_collector, &rejections_));
    a_ = &add_node("a.example");
    b_ = &add_node("b.example");
    start_discovery(*a_);
    start_discovery(*b_);
    start_inbound(*b_);
  }

  /// The ids of the events B's rooms were given, in order.
  std::vector<std::string> ids_applied(const test_node& node) { return node.recorder.ids(); }

  std::vector<peer_stats> stats(const test_node& node) {
    auto reply = ask<std::vector<peer_stats>>(node.peers, stats_atom::value);
    EXPECT_TRUE(reply.value) << describe(reply.error);
    return reply.value.value_or(std::vector<peer_stats>{});
  }

  peer_stats stats_of_b() {
    auto all = stats(*a_);
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? peer_stats{} : all.front();
  }

  /// The transaction inside a request A sent to B.
  transaction opened(const outbound_request& req) {
    auto plain = box_between(*b_, *a_).open(req.body);
    EXPECT_TRUE(plain) << describe(plain.error());
    if (!plain) return {};
    auto t = decode_transaction(*plain);
    EXPECT_TRUE(t) << describe(t.error());
    return t ? *t : transaction{};
  }

  /// Queues a.example:1 to 12 for B and sends them, B holding the first transaction
  /// unanswered until the returned actor is told (tick_atom).
  caf::actor twelve_queued_and_the_first_transaction_held() {
    auto holder = keep(sys_->spawn(holding_inbound, b_->inbound, size_t{1}, size_t{0}));
    net_.routes[b_->url] = caf::actor_cast<inbound_actor>(holder);
    start_sender(*a_);
    std::vector<std::string> events;
    for (int i = 1; i <= 12; ++i) events.push_back(event("a.example:" + std::to_string(i)));
    enqueue(*a_, "b.example", events);
    sched_->run();
    return holder;
  }

  /// A journal entry that queues for B a run of four events of room r:a.example, one
  /// outbox key for all (their ids go to `ids`), with their room log entries but the one
  /// of seq `without` (0: none left out).
  static journal_entry run_of_four(std::vector<std::string>& ids, uint64_t without = 0) {
    journal_entry entry;
    for (uint64_t seq = 1; seq <= 4; ++seq) {
      auto log_key = storage::sequenced_key("r:a.example", seq);
      if (seq != without)
        entry.puts.push_back({static_cast<uint8_t>(storage::column::room_log), log_key,
                              R"({"seq":)" + std::to_string(seq) + "}"});
      ids.push_back("event:" + std::to_string(seq));
      entry.outbound.push_back({"b.example", {}, ids.back(), log_key});
    }
    return entry;
  }

  test_node* a_ = nullptr;
  test_node* b_ = nullptr;
  std::vector<rejection> rejections_;
};

TEST_F(PeerTest, DeliversQueuedEventsInOrder) {
  start_sender(*a_);
  std::vector<std::string> events;
  for (int i = 1; i <= 5; ++i) events.push_back(event("a.example:" + std::to_string(i)));
  EXPECT_EQ(enqueue(*a_, "b.example", events), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  sched_->run();
  const auto& applied = b_->recorder.applied;
  ASSERT_EQ(applied.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(applied[i].origin, "a.example");
    EXPECT_EQ(applied[i].message, json::parse(events[i]));
  }
  // Batches of at most two events, each request as the protocol says.
  ASSERT_EQ(net_.requests.size(), 3u);
  const auto& req = net_.requests.front();
  EXPECT_EQ(req.base_url, b_->url);
  EXPECT_EQ(req.path, dispatch_path);
  EXPECT_EQ(header_of(req, origin_header), "a.example");
  EXPECT_EQ(header_of(req, version_header), "1");
  auto t = opened(req);
  EXPECT_EQ(t.origin, "a.example");
  EXPECT_EQ(t.destination, "b.example");
  EXPECT_EQ(t.events.size(), 2u);
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  auto s = stats_of_b();
  EXPECT_EQ(s.domain, "b.example");
  EXPECT_EQ(s.state, "connected");
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_EQ(s.oldest_age_ms, 0);
  EXPECT_EQ(s.transactions_sent, 3u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.backoff_ms, 0);
  // More events later go the same way.
  enqueue(*a_, "b.example", {event("a.example:6")});
  sched_->run();
  EXPECT_EQ(ids_applied(*b_).back(), "a.example:6");
}

TEST_F(PeerTest, TransactionsInFlightReachNoFurtherThanAWindowOfFullOnesPastTheOldest) {
  // Window 2 of 2 events: while the first transaction is unanswered, nothing past its
  // first seq + 4 is sent, however fast the others are answered. A receiver's room holds
  // only so many events ahead of a gap (room_context::max_ahead) and fetches the rest
  // again from the host.
  auto holder = twelve_queued_and_the_first_transaction_held();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:3", "a.example:4"}));
  EXPECT_EQ(net_.requests.size(), 2u);
  EXPECT_EQ(stats_of_b().queue_depth, 10u);
  // The first is answered: the rest flows.
  caf::anon_send(holder, tick_atom::value);
  sched_->run();
  EXPECT_EQ(net_.requests.size(), 6u);
  auto applied = ids_applied(*b_);
  std::sort(applied.begin(), applied.end(), [](const std::string& x, const std::string& y) {
    return std::stoi(x.substr(10)) < std::stoi(y.substr(10));
  });
  EXPECT_EQ(applied.size(), 12u);
  for (size_t i = 0; i < applied.size(); ++i)
    EXPECT_EQ(applied[i], "a.example:" + std::to_string(i + 1));
  EXPECT_EQ(stats_of_b().queue_depth, 0u);
}

TEST_F(PeerTest, AnsweredEventsLeaveTheStoreTogetherOnceNothingIsInFlight) {
  auto holder = twelve_queued_and_the_first_transaction_held();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:3", "a.example:4"}));
  // The second transaction was answered while the first is in flight: its entries wait
  // to be deleted with the next ones, not in a write of their own.
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 12u);
  // The stats read the oldest entry from the store, so they delete what was answered first.
  EXPECT_EQ(stats_of_b().queue_depth, 10u);
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 10u);
  caf::anon_send(holder, tick_atom::value);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_).size(), 12u);
  // The last answer left nothing in flight.
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
}

TEST_F(PeerTest, AnsweredEventsStillToDeleteLeaveTheStoreWhenThePeerEnds) {
  auto holder = twelve_queued_and_the_first_transaction_held();
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 12u);
  // The node stops with the first transaction still in flight: the second's entries go
  // with the peer, so a restart does not send them again.
  stop_sender(*a_);
  sched_->run();
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 10u);
}

TEST_F(PeerTest, TransactionsInFlightReachNoFurtherThanAMemberHoldsAheadWhateverTheWindow) {
  // Window 4 of 2 events would let 8 events past the oldest transaction's first go out;
  // members hold 4 ahead of a gap here (max_span), so only one more transaction does.
  settings_.window = 4;
  max_span_ = 4;
  auto holder = twelve_queued_and_the_first_transaction_held();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:3", "a.example:4"}));
  EXPECT_EQ(net_.requests.size(), 2u);
  caf::anon_send(holder, tick_atom::value);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_).size(), 12u);
  EXPECT_EQ(stats_of_b().queue_depth, 0u);
}

TEST_F(PeerTest, BacksOffWhileTheReceiverIsDownThenDrainsInOrder) {
  start_sender(*a_);
  net_.down = true;
  enqueue(*a_, "b.example", {event("a.example:1"), event("a.example:2"), event("a.example:3")});
  sched_->run();
  auto s = stats_of_b();
  EXPECT_EQ(s.state, "backing_off");
  EXPECT_EQ(s.queue_depth, 3u);
  EXPECT_GE(s.oldest_age_ms, 0);
  EXPECT_EQ(s.backoff_ms, 500);
  EXPECT_NE(s.last_error.find("connection refused"), std::string::npos) << s.last_error;
  // The retry is due within the ceiling, which doubles up to backoff_max.
  std::vector<int64_t> ceilings;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto due = next_delayed_message();
    ASSERT_TRUE(due);
    auto ceiling = stats_of_b().backoff_ms;
    ceilings.push_back(ceiling);
    EXPECT_GT(*due, caf::timespan{0});
    EXPECT_LE(*due, std::chrono::milliseconds{ceiling});
    // Nothing happens before the timer is due.
    auto requests = net_.requests.size();
    if (*due > 1ms) {
      sched_->advance_time(*due - 1ms);
      sched_->run();
      EXPECT_EQ(net_.requests.size(), requests);
    }
    sched_->advance_time(1ms);
    sched_->run();
    EXPECT_GT(net_.requests.size(), requests);
  }
  EXPECT_EQ(ceilings, (std::vector<int64_t>{500, 1000, 2000, 4000, 4000}));
  EXPECT_TRUE(b_->recorder.applied.empty());
  // Queued while down, too.
  enqueue(*a_, "b.example", {event("a.example:4"), event("a.example:5")});
  sched_->run();
  EXPECT_EQ(stats_of_b().queue_depth, 5u);
  net_.down = false;
  auto due = next_delayed_message();
  ASSERT_TRUE(due);
  sched_->advance_time(*due);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:1", "a.example:2", "a.example:3",
                                                        "a.example:4", "a.example:5"}));
  s = stats_of_b();
  EXPECT_EQ(s.state, "connected");
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_EQ(s.backoff_ms, 0);
  // Six rounds of two transactions each (window 2) failed.
  EXPECT_EQ(s.failures, 12u);
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
}

TEST_F(PeerTest, AResentBatchKeepsItsTransactionId) {
  start_sender(*a_);
  bool fail_once = true;
  net_.intercept = [&fail_once](const outbound_request&) -> std::optional<inbound_reply> {
    if (!fail_once) return std::nullopt;
    fail_once = false;
    return inbound_reply{503, R"({"success":false,"error":"busy"})"};
  };
  enqueue(*a_, "b.example", {event("a.example:1")});
  sched_->run();
  EXPECT_EQ(stats_of_b().last_error, R"(HTTP 503: {"success":false,"error":"busy"})");
  sched_->trigger_timeouts();
  sched_->run();
  ASSERT_EQ(net_.requests.size(), 2u);
  EXPECT_EQ(opened(net_.requests[0]).id, opened(net_.requests[1]).id);
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:1"}));
}

TEST_F(PeerTest, ReplaysTheQueueAfterARestart) {
  start_sender(*a_);
  net_.down = true;
  enqueue(*a_, "b.example", {event("a.example:1"), event("a.example:2"), event("a.example:3")});
  sched_->run();
  EXPECT_EQ(stats_of_b().state, "backing_off");
  // The node goes away with everything still queued, and comes back.
  stop_sender(*a_);
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 3u);
  net_.down = false;
  start_sender(*a_);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_),
            (std::vector<std::string>{"a.example:1", "a.example:2", "a.example:3"}));
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  // The new journal goes on from the old seqs.
  EXPECT_EQ(enqueue(*a_, "b.example", {event("a.example:4")}), (std::vector<uint64_t>{4}));
  sched_->run();
  EXPECT_EQ(ids_applied(*b_).size(), 4u);
}

TEST_F(PeerTest, AnEventSentTwiceAcrossARestartIsAppliedOnce) {
  start_sender(*a_);
  // The request reaches B, but B's receipt is lost on the way back: A keeps the events.
  std::vector<outbound_request> lost;
  net_.intercept = [&lost](const outbound_request& req) -> std::optional<inbound_reply> {
    lost.push_back(req);
    return inbound_reply{504, "gateway timeout"};
  };
  enqueue(*a_, "b.example", {event("a.example:1"), event("a.example:2")});
  sched_->run();
  ASSERT_EQ(lost.size(), 1u);
  auto applied =
      ask<inbound_reply>(b_->inbound, dispatch_atom::value, header_of(lost[0], origin_header),
                         header_of(lost[0], version_header), lost[0].body);
  ASSERT_TRUE(applied.value);
  EXPECT_EQ(applied.value->status, 200);
  EXPECT_EQ(ids_applied(*b_).size(), 2u);
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 2u);
  stop_sender(*a_);
  net_.intercept = nullptr;
  start_sender(*a_);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:1", "a.example:2"}));
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
}

TEST_F(PeerTest, RejectionsReachTheSinkAndLeaveTheQueue) {
  start_sender(*a_);
  // B's host refuses the second event: a receipt B would send, sealed with B's key.
  net_.intercept = [this](const outbound_request& req) -> std::optional<inbound_reply> {
    auto t = opened(req);
    receipt r;
    r.transaction_id = t.id;
    for (const auto& e : t.events) {
      auto id = event_id_of(e);
      r.results.push_back({id, id != "a.example:2", id == "a.example:2" ? "user is muted" : ""});
    }
    return inbound_reply{200, box_between(*b_, *a_).seal(encode_receipt(r))};
  };
  enqueue(*a_, "b.example", {event("a.example:1"), event("a.example:2")});
  sched_->run();
  EXPECT_EQ(rejections_, (std::vector<rejection>{{"b.example", "a.example:2", "user is muted"}}));
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  EXPECT_EQ(stats_of_b().transactions_sent, 1u);
}

// A receiver answers HTTP 413 to a request larger than its limits.max_body_bytes. A
// transaction of several events goes again in halves; one event alone cannot get smaller,
// so it is refused for good, and what is queued behind it goes on.
TEST_F(PeerTest, AnEventAloneLargerThanTheReceiverTakesIsRefusedAndTheQueueGoesOn) {
  start_sender(*a_);
  std::vector<size_t> sizes;
  net_.intercept = [this, &sizes](const outbound_request& req) -> std::optional<inbound_reply> {
    auto t = opened(req);
    sizes.push_back(t.events.size());
    for (const auto& e : t.events)
      if (event_id_of(e) == "a.example:2")
        return inbound_reply{413, R"({"success":false,"error":"request body too large"})"};
    return std::nullopt;
  };
  enqueue(*a_, "b.example", {event("a.example:1"), event("a.example:2")});
  enqueue(*a_, "b.example", {event("a.example:3")});
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:1", "a.example:3"}));
  ASSERT_EQ(rejections_.size(), 1u);
  EXPECT_EQ(rejections_[0].event_id, "a.example:2");
  EXPECT_NE(rejections_[0].reason.find("larger than b.example takes in one request"),
            std::string::npos)
      << rejections_[0].reason;
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  auto s = stats_of_b();
  EXPECT_EQ(s.state, "connected");
  EXPECT_EQ(s.events_refused, 1u);
  EXPECT_EQ(s.events_relayed, 2u);
  // The two-event transaction was refused whole, then went as two of one.
  ASSERT_GE(sizes.size(), 3u);
  EXPECT_EQ(sizes[0], 2u);
  EXPECT_EQ(sizes[1], 1u);
}

// A link too slow to carry a full transaction within transport.request_timeout: a
// transaction of more than `carried` events times out (the receiver never gets it). Sent
// again whole, it timed out at every try and held back the whole queue for good.
TEST_F(PeerTest, ATransactionThatTimesOutGoesAgainInHalvesUntilTheLinkCarriesIt) {
  settings_.batch_max_events = 64;
  start_sender(*a_);
  size_t carried = 8;
  std::vector<size_t> sizes;
  net_.fail = [&](const outbound_request& req) -> caf::error {
    auto n = opened(req).events.size();
    sizes.push_back(n);
    if (n <= carried) return {};
    return caf::make_error(errc::timed_out, "request to b.example timed out after 30000 ms");
  };
  std::vector<std::string> events, ids;
  for (int i = 1; i <= 100; ++i) {
    ids.push_back("a.example:" + std::to_string(i));
    events.push_back(event(ids.back()));
  }
  enqueue(*a_, "b.example", events);
  for (int round = 0; round < 100 && ids_applied(*b_).size() < ids.size(); ++round) {
    sched_->run();
    sched_->trigger_timeouts();
  }
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), ids);
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(sizes.front(), 64u);
  EXPECT_LE(sizes.back(), carried);
  auto s = stats_of_b();
  EXPECT_GT(s.failures, 0u);
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_EQ(s.last_error, "");  // answered again since
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);

  // The link is fast again: full transactions come back after a few quick answers.
  carried = 1000;
  sizes.clear();
  events.clear();
  for (int i = 101; i <= 400; ++i) {
    ids.push_back("a.example:" + std::to_string(i));
    events.push_back(event(ids.back()));
  }
  enqueue(*a_, "b.example", events);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), ids);
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(*std::max_element(sizes.begin(), sizes.end()), 64u);
}

TEST_F(PeerTest, ARunsKeyStaysUntilEveryTransactionHoldingItsEventsIsAnswered) {
  // Four events of a room's log under one outbox key (a run). B refuses the transaction
  // as too large; its halves go apart, and the first half is answered while the second
  // is not. The key must stay: a crash now would otherwise lose the second half.
  net_.intercept = [refused =
                        false](const outbound_request&) mutable -> std::optional<inbound_reply> {
    if (refused) return std::nullopt;
    refused = true;
    return inbound_reply{413, R"({"success":false,"error":"request body too large"})"};
  };
  auto holder = keep(sys_->spawn(holding_inbound, b_->inbound, size_t{1}, size_t{1}));
  net_.routes[b_->url] = caf::actor_cast<inbound_actor>(holder);
  std::vector<std::string> ids;
  auto entry = run_of_four(ids);
  start_sender(*a_);
  auto reply = ask<std::vector<uint64_t>>(a_->journal, append_atom::value, entry);
  ASSERT_TRUE(reply.value) << describe(reply.error);
  EXPECT_EQ(*reply.value, (std::vector<uint64_t>{1, 2, 3, 4}));
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 1u);
  EXPECT_EQ(stats_of_b().queue_depth, 2u);
  caf::anon_send(holder, tick_atom::value);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), ids);
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  EXPECT_EQ(stats_of_b().queue_depth, 0u);
}

// An event of a run whose room log entry is gone is left out of every transaction, so no
// receipt answers it: the peer's queue_depth went down only by the events answered, and
// stayed above 0 with nothing queued.
TEST_F(PeerTest, EventsLeftOutForWantOfTheirLogEntryLeaveTheQueuesDepth) {
  std::vector<std::string> ids;
  auto entry = run_of_four(ids, 3);
  start_sender(*a_);
  auto reply = ask<std::vector<uint64_t>>(a_->journal, append_atom::value, entry);
  ASSERT_TRUE(reply.value) << describe(reply.error);
  sched_->run();
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{ids[0], ids[1], ids[3]}));
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  EXPECT_EQ(stats_of_b().queue_depth, 0u);
}

TEST_F(PeerTest, AReceiptForAnotherTransactionIsAFailure) {
  start_sender(*a_);
  net_.intercept = [this](const outbound_request& req) -> std::optional<inbound_reply> {
    receipt r;
    r.transaction_id = "a.example:other";
    r.results.push_back({"a.example:1", true, ""});
    return inbound_reply{200, box_between(*b_, *a_).seal(encode_receipt(r))};
  };
  enqueue(*a_, "b.example", {event("a.example:1")});
  sched_->run();
  auto s = stats_of_b();
  EXPECT_EQ(s.state, "backing_off");
  EXPECT_EQ(s.queue_depth, 1u);
  EXPECT_NE(s.last_error.find("receipt for transaction a.example:other"), std::string::npos)
      << s.last_error;
}

TEST_F(PeerTest, UnauthorizedMakesThePeerForgetTheKeyOnceAndResolveAgain) {
  // A's discovery still has a key for B that B no longer holds.
  auto stale_identity = crypto::identity::generate();
  rotating_discovery_state rotation;
  rotation.current = peer_record{"b.example", b_->url, "http", {}, 0, 0, record_source::dns};
  auto key = b_->public_key();
  rotation.current.public_key.assign(key.begin(), key.end());
  rotation.stale = rotation.current;
  auto stale_key = stale_identity.public_key();
  rotation.stale.public_key.assign(stale_key.begin(), stale_key.end());
  a_->discovery = keep(sys_->spawn(rotating_discovery, &rotation));
  start_sender(*a_);
  enqueue(*a_, "b.example", {event("a.example:1")});
  sched_->run();
  EXPECT_EQ(rotation.forgets, 1);
  EXPECT_EQ(ids_applied(*b_), (std::vector<std::string>{"a.example:1"}));
  auto s = stats_of_b();
  EXPECT_EQ(s.state, "connected");
  EXPECT_EQ(s.failures, 1u);
  EXPECT_EQ(s.backoff_ms, 0);
  EXPECT_EQ(s.last_error, "");  // answered since: the 401 is history, counted in failures
  ASSERT_EQ(net_.requests.size(), 2u);
}

TEST_F(PeerTest, AnUnknownDomainBacksOff) {
  start_sender(*a_);
  enqueue(*a_, "nowhere.example", {event("a.example:1")});
  sched_->run();
  auto all = stats(*a_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].domain, "nowhere.example");
  EXPECT_EQ(all[0].state, "backing_off");
  EXPECT_EQ(all[0].queue_depth, 1u);
  EXPECT_NE(all[0].last_error.find("discovery"), std::string::npos) << all[0].last_error;
  EXPECT_TRUE(net_.requests.empty());
}

}  // namespace
}  // namespace fedrelay::actors

namespace fedrelay::actors {
namespace {

class PeerFilterTest : public PeerTest {};

TEST_F(PeerFilterTest, ARefusedDomainsQueueIsDroppedAndNeverSent) {
  auto refused = std::make_shared<bool>(false);
  auto ctx = context_of(*a_);
  ctx.allowed = [refused](const std::string& d) { return !(*refused && d == "b.example"); };
  ctx.replace_lists = [refused](std::vector<std::string> allow, std::vector<std::string> deny) {
    *refused = allow.empty() && deny == std::vector<std::string>{"b.example"};
  };
  net_.routes.erase(b_->url);
  a_->peers = keep(spawn_peer_manager(*sys_, ctx));
  a_->journal = keep(spawn_journal(*sys_, *a_->store, a_->peers));
  enqueue(*a_, "b.example", {event("a.example:1"), event("a.example:2"), event("a.example:3")});
  sched_->run();
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 3u);
  // The lists change (a reload): the backlog of b is dropped and counted.
  auto dropped = ask<uint64_t>(a_->peers, forget_atom::value, std::vector<std::string>{},
                               std::vector<std::string>{"b.example"});
  ASSERT_TRUE(dropped.value);
  EXPECT_EQ(*dropped.value, 3u);
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  // Whatever is queued for it later is dropped too, never sent.
  auto before = net_.requests.size();
  enqueue(*a_, "b.example", {event("a.example:4")});
  sched_->run();
  sched_->trigger_timeouts();
  sched_->run();
  EXPECT_EQ(count_keys(*a_, storage::column::outbox), 0u);
  EXPECT_EQ(net_.requests.size(), before);
}

}  // namespace
}  // namespace fedrelay::actors
