// The journal: group commit, outbox seqs per destination, validation and sticky failure.
#include "actors/journal_actor.hpp"

#include <atomic>
#include <map>
#include <numeric>

#include <gtest/gtest.h>

#include "actors/describe.hpp"
#include "actors/outbox.hpp"
#include "actors/room_event.hpp"
#include "tests/actors/transport_fixture.hpp"

namespace fedrelay::actors {
namespace {

using testing::test_node;
using testing::transport_fixture;

/// Stands in for the peer manager: records every wake.
struct wake_log {
  std::vector<std::pair<std::string, uint64_t>> wakes;
};

peer_manager_actor::behavior_type recording_manager(peer_manager_actor::pointer, wake_log* log) {
  return {
      [log](wake_atom, const std::string& domain, uint64_t seq) {
        log->wakes.emplace_back(domain, seq);
      },
      [](stats_atom) { return std::vector<peer_stats>{}; },
      [](forget_atom, const std::vector<std::string>&, const std::vector<std::string>&) {
        return uint64_t{0};
      },
  };
}

class JournalTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    node_ = &add_node("a.example");
    manager_ = keep(sys_->spawn(recording_manager, &wakes_));
    journal_ = node_->journal = keep(spawn_journal(*sys_, *node_->store, manager_));
  }

  static journal_entry to(const std::string& domain, std::vector<std::string> ids) {
    journal_entry entry;
    for (const auto& id : ids) entry.outbound.push_back({domain, event(id)});
    return entry;
  }

  std::pair<uint64_t, uint64_t> stats() {
    auto slot = std::make_shared<std::pair<uint64_t, uint64_t>>();
    sys_->spawn([slot, j = journal_](caf::event_based_actor* self) {
      self->request(j, caf::infinite, stats_atom::value).then([slot](uint64_t w, uint64_t a) {
        *slot = {w, a};
      });
    });
    sched_->run();
    return *slot;
  }

  test_node* node_ = nullptr;
  wake_log wakes_;
  peer_manager_actor manager_;
  journal_actor journal_;
};

TEST_F(JournalTest, GroupCommitsEveryAppendWaitingInTheMailbox) {
  journal_entry with_put = to("b.example", {"e4", "e5"});
  with_put.puts.push_back(
      journal_put{static_cast<uint8_t>(storage::column::room_log), "room1", "state"});
  // All four are in the journal's mailbox before it runs once.
  auto r1 = request<std::vector<uint64_t>>(journal_, append_atom::value, to("b.example", {"e1"}));
  auto r2 = request<std::vector<uint64_t>>(journal_, append_atom::value, to("c.example", {"e2"}));
  auto r3 =
      request<std::vector<uint64_t>>(journal_, append_atom::value, to("b.example", {"e3", "e3b"}));
  auto r4 = request<std::vector<uint64_t>>(journal_, append_atom::value, with_put);
  sched_->run();
  ASSERT_TRUE(r1->value && r2->value && r3->value && r4->value);
  EXPECT_EQ(*r1->value, (std::vector<uint64_t>{1}));
  EXPECT_EQ(*r2->value, (std::vector<uint64_t>{1}));
  EXPECT_EQ(*r3->value, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(*r4->value, (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(stats(), (std::pair<uint64_t, uint64_t>{1, 4}));
  // One wake per destination, with the last seq written.
  EXPECT_EQ(wakes_.wakes,
            (std::vector<std::pair<std::string, uint64_t>>{{"b.example", 5}, {"c.example", 1}}));
  auto queued = outbox{*node_->store, "b.example"}.read(0, 100, 1 << 20);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->entries.size(), 5u);
  std::vector<std::string> ids;
  for (const auto& e : queued->entries) ids.push_back(e.event_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"e1", "e3", "e3b", "e4", "e5"}));
  EXPECT_EQ(queued->entries[0].event, event("e1"));
  EXPECT_GT(queued->entries[0].enqueued_ms, 0);
  auto put = node_->store->get(storage::column::room_log, "room1");
  ASSERT_TRUE(put && *put);
  EXPECT_EQ(**put, "state");
  // A later append is a write of its own, and seqs go on.
  EXPECT_EQ(enqueue(*node_, "c.example", {event("e6")}), (std::vector<uint64_t>{2}));
  EXPECT_EQ(stats(), (std::pair<uint64_t, uint64_t>{2, 5}));
}

TEST_F(JournalTest, SeqsNeverRepeatAfterARestartWithAnEmptyQueue) {
  EXPECT_EQ(enqueue(*node_, "b.example", {event("e1"), event("e2")}),
            (std::vector<uint64_t>{1, 2}));
  outbox q{*node_->store, "b.example"};
  ASSERT_FALSE(q.remove({1, 2}, storage::durability::synced));
  stop(caf::actor_cast<caf::actor>(journal_));
  journal_ = node_->journal = keep(spawn_journal(*sys_, *node_->store, manager_));
  EXPECT_EQ(enqueue(*node_, "b.example", {event("e3")}), (std::vector<uint64_t>{3}));
}

TEST_F(JournalTest, EachWriteHoldsOnlyTheAppendsItFlushes) {
  EXPECT_EQ(enqueue(*node_, "b.example", {event("e1"), event("e2")}),
            (std::vector<uint64_t>{1, 2}));
  outbox q{*node_->store, "b.example"};
  ASSERT_FALSE(q.remove({1, 2}, storage::durability::synced));
  // The journal reuses its write batch: the next write must not bring 1 and 2 back.
  EXPECT_EQ(enqueue(*node_, "b.example", {event("e3")}), (std::vector<uint64_t>{3}));
  auto queued = q.read(0, 100, 1 << 20);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->entries.size(), 1u);
  EXPECT_EQ(queued->entries[0].seq, 3u);
}

TEST_F(JournalTest, TakesTheEventIdTheCallerGivesWithoutParsing) {
  journal_entry entry;
  entry.outbound.push_back({"b.example", event("in-text"), "given"});
  // The text is not parsed when the id is given: even one that is not JSON is queued.
  entry.outbound.push_back({"b.example", "not json", "given-2"});
  EXPECT_EQ(*ask<std::vector<uint64_t>>(journal_, append_atom::value, entry).value,
            (std::vector<uint64_t>{1, 2}));
  auto queued = outbox{*node_->store, "b.example"}.read(0, 100, 1 << 20);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->entries.size(), 2u);
  EXPECT_EQ(queued->entries[0].event_id, "given");
  EXPECT_EQ(queued->entries[0].event, event("in-text"));
  EXPECT_EQ(queued->entries[1].event_id, "given-2");
}

TEST_F(JournalTest, QueuesAReferenceToTheRoomLogThatReadsBackAsTheEventMessage) {
  const std::string logged = R"({"id":"ev1","room_id":"r:a.example","seq":7})";
  auto log_key = storage::sequenced_key("r:a.example", 7);
  journal_entry entry;
  entry.puts.push_back({static_cast<uint8_t>(storage::column::room_log), log_key, logged});
  for (const char* domain : {"b.example", "c.example"})
    entry.outbound.push_back({domain, {}, "event:r:a.example:ev1", log_key});
  ASSERT_TRUE(ask<std::vector<uint64_t>>(journal_, append_atom::value, entry).value);
  for (const char* domain : {"b.example", "c.example"}) {
    // The queue holds the log key, not the event...
    auto stored = node_->store->get(storage::column::outbox, storage::sequenced_key(domain, 1));
    ASSERT_TRUE(stored && *stored);
    EXPECT_EQ((*stored)->find(logged), std::string::npos);
    // ...and a read gives the message as the room would have queued it.
    auto queued = outbox{*node_->store, domain}.read(0, 100, 1 << 20);
    ASSERT_TRUE(queued);
    ASSERT_EQ(queued->entries.size(), 1u);
    EXPECT_EQ(queued->entries[0].event_id, "event:r:a.example:ev1");
    EXPECT_EQ(queued->entries[0].event, event_message("event:r:a.example:ev1", logged));
    EXPECT_EQ(queued->bytes, queued->entries[0].event.size());
  }
  // A reference must name its event id.
  journal_entry no_id;
  no_id.outbound.push_back({"b.example", {}, {}, log_key});
  auto refused = ask<std::vector<uint64_t>>(journal_, append_atom::value, no_id);
  EXPECT_EQ(refused.error, caf::make_error(errc::bad_request)) << describe(refused.error);
}

/// An entry as a host's room makes it: log entries `first`..`last` of room r:a.example,
/// each referred to for every domain of `domains` in turn.
journal_entry room_references(uint64_t first, uint64_t last, std::vector<std::string> domains) {
  journal_entry entry;
  for (auto seq = first; seq <= last; ++seq) {
    auto log_key = storage::sequenced_key("r:a.example", seq);
    entry.puts.push_back({static_cast<uint8_t>(storage::column::room_log), log_key,
                          R"({"seq":)" + std::to_string(seq) + "}"});
    for (const auto& domain : domains)
      entry.outbound.push_back({domain, {}, "event:" + std::to_string(seq), log_key});
  }
  return entry;
}

TEST_F(JournalTest, AHostsReferencesInARowGoInOneKeyPerRunOfEachDomain) {
  // 70 events for B and C; after the 30th, an event of C's own breaks C's run.
  auto entry = room_references(1, 30, {"b.example", "c.example"});
  entry.outbound.push_back({"c.example", event("own")});
  auto rest = room_references(31, 70, {"b.example", "c.example"});
  for (auto& put : rest.puts) entry.puts.push_back(std::move(put));
  for (auto& out : rest.outbound) entry.outbound.push_back(std::move(out));
  auto reply = ask<std::vector<uint64_t>>(journal_, append_atom::value, entry);
  ASSERT_TRUE(reply.value) << describe(reply.error);
  // Each event has a seq of its own, as before runs.
  std::map<std::string, std::vector<uint64_t>> given;
  for (size_t k = 0; k < entry.outbound.size(); ++k)
    given[entry.outbound[k].destination].push_back(reply.value->at(k));
  for (const auto& [domain, seqs] : given) {
    std::vector<uint64_t> expected(seqs.size());
    std::iota(expected.begin(), expected.end(), 1);
    EXPECT_EQ(seqs, expected) << domain;
  }
  // B: runs of 64 and 6; C: 30, its own event, 40.
  EXPECT_EQ(count_keys(*node_, storage::column::outbox), 5u);
  for (const char* domain : {"b.example", "c.example"}) {
    auto queued = outbox{*node_->store, domain}.read(0, 1000, 1 << 20);
    ASSERT_TRUE(queued);
    std::vector<std::string> ids, events;
    for (const auto& e : queued->entries) {
      ids.push_back(e.event_id);
      events.push_back(e.event);
    }
    std::vector<std::string> expected_ids, expected_events;
    for (uint64_t seq = 1; seq <= 70; ++seq) {
      auto id = "event:" + std::to_string(seq);
      expected_ids.push_back(id);
      expected_events.push_back(event_message(id, R"({"seq":)" + std::to_string(seq) + "}"));
      if (seq == 30 && std::string{domain} == "c.example") {
        expected_ids.push_back("own");
        expected_events.push_back(event("own"));
      }
    }
    EXPECT_EQ(ids, expected_ids) << domain;
    EXPECT_EQ(events, expected_events) << domain;
    EXPECT_EQ(*outbox(*node_->store, domain).count(), expected_ids.size()) << domain;
  }
}

TEST_F(JournalTest, ReferencesOfAppendsWrittenTogetherJoinOneRun) {
  // Three appends in one write (one-by-one sends grouped), the room's seqs in a row; a
  // fourth of another room's log starts a key of its own.
  auto r1 = request<std::vector<uint64_t>>(journal_, append_atom::value,
                                           room_references(1, 1, {"b.example"}));
  auto r2 = request<std::vector<uint64_t>>(journal_, append_atom::value,
                                           room_references(2, 3, {"b.example"}));
  auto other = room_references(1, 1, {"b.example"});
  other.outbound.front().log_key = storage::sequenced_key("r2:a.example", 1);
  other.puts.front().key = other.outbound.front().log_key;
  auto r3 = request<std::vector<uint64_t>>(journal_, append_atom::value, other);
  sched_->run();
  ASSERT_TRUE(r1->done && r2->done && r3->done);
  EXPECT_EQ(r1->value, (std::vector<uint64_t>{1}));
  EXPECT_EQ(r2->value, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(r3->value, (std::vector<uint64_t>{4}));
  EXPECT_EQ(stats().first, 1u);
  EXPECT_EQ(count_keys(*node_, storage::column::outbox), 2u);
  auto queued = outbox{*node_->store, "b.example"}.read(0, 100, 1 << 20);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->entries.size(), 4u);
  EXPECT_EQ(queued->entries[2].key_seq, 1u);
  EXPECT_EQ(queued->entries[3].key_seq, 4u);
  EXPECT_EQ(queued->entries[3].log_key, storage::sequenced_key("r2:a.example", 1));
}

TEST_F(JournalTest, RunsHoldNoMoreEventsThanTheJournalIsTold) {
  // A node whose transport.batch_max_events is 3 (a peer takes a run whole).
  auto small = keep(spawn_journal(*sys_, *node_->store, manager_, {}, false, nullptr, 3));
  auto reply =
      ask<std::vector<uint64_t>>(small, append_atom::value, room_references(1, 7, {"d.example"}));
  ASSERT_TRUE(reply.value) << describe(reply.error);
  EXPECT_EQ(count_keys(*node_, storage::column::outbox), 3u);
  auto queued = outbox{*node_->store, "d.example"}.read(0, 3, 1 << 20);
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->entries.size(), 3u);
  EXPECT_EQ(*outbox(*node_->store, "d.example").count(), 7u);
}

TEST_F(JournalTest, RefusesMalformedEntries) {
  journal_entry not_json;
  not_json.outbound.push_back({"b.example", "not json"});
  auto r1 = ask<std::vector<uint64_t>>(journal_, append_atom::value, not_json);
  EXPECT_EQ(r1.error, caf::make_error(errc::bad_request)) << describe(r1.error);
  journal_entry no_id;
  no_id.outbound.push_back({"b.example", R"({"text":"x"})"});
  auto r2 = ask<std::vector<uint64_t>>(journal_, append_atom::value, no_id);
  EXPECT_EQ(r2.error, caf::make_error(errc::bad_request));
  journal_entry bad_column;
  bad_column.puts.push_back(journal_put{200, "k", "v"});
  auto r3 = ask<std::vector<uint64_t>>(journal_, append_atom::value, bad_column);
  EXPECT_EQ(r3.error, caf::make_error(errc::bad_request));
  journal_entry no_destination = to("", {"e1"});
  auto r4 = ask<std::vector<uint64_t>>(journal_, append_atom::value, no_destination);
  EXPECT_EQ(r4.error, caf::make_error(errc::bad_request));
  EXPECT_EQ(count_keys(*node_, storage::column::outbox), 0u);
  EXPECT_TRUE(wakes_.wakes.empty());
}

/// Stands in for the local bridge: records every inbox wake.
caf::behavior recording_listener(caf::event_based_actor*, std::vector<uint64_t>* cursors) {
  return {
      [cursors](inbox_atom, uint64_t last) { cursors->push_back(last); },
  };
}

TEST_F(JournalTest, GivesInboxEventsNodeWideCursorsAndWakesTheListener) {
  std::vector<uint64_t> woken;
  auto listener = keep(sys_->spawn(recording_listener, &woken));
  stop(caf::actor_cast<caf::actor>(journal_));
  journal_ = node_->journal = keep(spawn_journal(*sys_, *node_->store, manager_, listener));
  journal_entry first;
  first.inbox = {R"({"type":"message.sent","text":"one"})", R"({"type":"message.sent"})"};
  journal_entry second = to("b.example", {"e1"});
  second.inbox = {R"({"type":"user.left"})", "{ }"};
  auto r1 = request<std::vector<uint64_t>>(journal_, append_atom::value, first);
  auto r2 = request<std::vector<uint64_t>>(journal_, append_atom::value, second);
  sched_->run();
  ASSERT_TRUE(r1->value && r2->value);
  EXPECT_TRUE(r1->value->empty());
  EXPECT_EQ(*r2->value, (std::vector<uint64_t>{1}));
  auto inbox = inbox_of(*node_);
  ASSERT_EQ(inbox.size(), 4u);
  EXPECT_EQ(inbox[0].first, 1u);
  EXPECT_EQ(inbox[0].second,
            (nlohmann::json{{"cursor", 1}, {"type", "message.sent"}, {"text", "one"}}));
  EXPECT_EQ(inbox[1].second["cursor"], 2);
  EXPECT_EQ(inbox[2].first, 3u);
  EXPECT_EQ(inbox[2].second["type"], "user.left");
  EXPECT_EQ(inbox[3].second, (nlohmann::json{{"cursor", 4}}));  // an empty object too
  EXPECT_EQ(woken, (std::vector<uint64_t>{4}));                 // one wake per synced write
  // An append without inbox events wakes nobody; after a restart cursors go on.
  enqueue(*node_, "b.example", {event("e2")});
  EXPECT_EQ(woken.size(), 1u);
  stop(caf::actor_cast<caf::actor>(journal_));
  journal_ = node_->journal = keep(spawn_journal(*sys_, *node_->store, manager_, listener));
  journal_entry third;
  third.inbox = {R"({"type":"room.deleted"})"};
  ASSERT_TRUE(ask<std::vector<uint64_t>>(journal_, append_atom::value, third).value);
  EXPECT_EQ(inbox_of(*node_).back().first, 5u);
  EXPECT_EQ(woken, (std::vector<uint64_t>{4, 5}));
  journal_entry bad;
  bad.inbox = {"[1,2]"};
  auto refused = ask<std::vector<uint64_t>>(journal_, append_atom::value, bad);
  EXPECT_EQ(refused.error, caf::make_error(errc::bad_request));
  EXPECT_EQ(inbox_of(*node_).size(), 5u);
}

TEST_F(JournalTest, InboxReferencesAreStoredAsGivenInTheirPlace) {
  const std::string event = R"({"id":"m1:a.example","text":"kept once, in the log"})";
  journal_entry entry;
  entry.puts.push_back(
      journal_put{static_cast<uint8_t>(storage::column::room_log), "log key", event});
  entry.inbox = {R"({"type":"user.joined"})", encode_inbox_reference("log key"),
                 R"({"type":"user.left"})"};
  ASSERT_TRUE(ask<std::vector<uint64_t>>(journal_, append_atom::value, entry).value);
  auto inbox = inbox_of(*node_);
  ASSERT_EQ(inbox.size(), 3u);
  EXPECT_EQ(inbox[0].second["type"], "user.joined");
  EXPECT_EQ(inbox[1].first, 2u);
  EXPECT_EQ(inbox[1].second, (nlohmann::json{{"reference", "log key"}}));
  EXPECT_EQ(inbox[2].second, (nlohmann::json{{"cursor", 3}, {"type", "user.left"}}));
  auto stored = node_->store->get(storage::column::inbox, storage::encode_u64(2));
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ(**stored, encode_inbox_reference("log key"));
  journal_entry bad;
  bad.inbox = {encode_inbox_reference("")};
  auto refused = ask<std::vector<uint64_t>>(journal_, append_atom::value, bad);
  EXPECT_EQ(refused.error, caf::make_error(errc::bad_request));
  EXPECT_EQ(inbox_of(*node_).size(), 3u);
}

TEST(JournalFailureTest, AFailedWriteIsStickyUntilRestart) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  test::temp_dir dir{"fedrelay-journal"};
  auto fail = std::make_shared<std::atomic<bool>>(false);
  storage::store_options opts;
  opts.fail_wal_io = [fail](storage::wal_io) { return fail->load(); };
  auto store = storage::store::open(dir.path(), opts);
  ASSERT_TRUE(store) << describe(store.error());
  {
    caf::actor_system sys{cfg};
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
    auto journal = spawn_journal(sys, **store, peer_manager_actor{});
    auto append = [&](const std::string& id) {
      auto slot = std::make_shared<testing::reply_slot<std::vector<uint64_t>>>();
      journal_entry entry;
      entry.outbound.push_back({"b.example", "{\"id\":\"" + id + "\"}"});
      sys.spawn([slot, journal, entry](caf::event_based_actor* self) {
        self->request(journal, caf::infinite, append_atom::value, entry)
            .then([slot](std::vector<uint64_t>& seqs) { slot->value = seqs; },
                  [slot](caf::error& err) { slot->error = err; });
      });
      sched.run();
      return *slot;
    };
    EXPECT_TRUE(append("e1").value);
    fail->store(true);
    auto failed = append("e2");
    EXPECT_EQ(failed.error, caf::make_error(errc::storage_failed)) << describe(failed.error);
    fail->store(false);
    auto refused = append("e3");
    EXPECT_EQ(refused.error, caf::make_error(errc::storage_failed)) << describe(refused.error);
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    sched.run();
  }
}

}  // namespace
}  // namespace fedrelay::actors
