// The local bridge: inbox pages by cursor, long-poll wake-up and timeout on the actor clock,
// and the registry of local users.
#include "actors/local_bridge_actor.hpp"

#include <chrono>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/inbox.hpp"
#include "actors/room_event.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/actors/transport_fixture.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::test_node;
using testing::transport_fixture;

class LocalBridgeTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    node_ = &add_node("a.example");
    bridge_ = keep(spawn_local_bridge(*sys_, *node_->store, node_->domain));
    node_->journal = keep(spawn_journal(*sys_, *node_->store, peer_manager_actor{},
                                        caf::actor_cast<caf::actor>(bridge_)));
  }

  /// Writes inbox events through the journal, as the rooms do.
  void write_inbox(const std::vector<std::string>& texts) {
    journal_entry entry;
    for (const auto& text : texts) entry.inbox.push_back(json{{"text", text}}.dump());
    auto reply = ask<std::vector<uint64_t>>(node_->journal, append_atom::value, entry);
    ASSERT_TRUE(reply.value) << describe(reply.error);
  }

  /// A message of bob@b.example in b.example's room, sequenced at `seq`.
  static room_event logged_event(uint64_t seq, json content) {
    room_event e;
    e.id = "m1:b.example";
    e.room_id = "0123456789abcdef0123456789abcdef:b.example";
    e.origin = "b.example";
    e.user = "bob@b.example";
    e.ts = 1700000000000;
    e.content = std::move(content);
    e.sig = "c2lnbmF0dXJl";
    e.seq = seq;
    return e;
  }

  /// Adds `e`'s room log entry to `entry`, as a room does.
  static void log_into(journal_entry& entry, const room_event& e) {
    entry.puts.push_back(journal_put{static_cast<uint8_t>(storage::column::room_log),
                                     storage::sequenced_key(e.room_id, e.seq), encode_event(e)});
  }

  static std::vector<std::string> texts(const json& page) {
    std::vector<std::string> out;
    for (const auto& e : page["events"]) out.push_back(e["text"]);
    return out;
  }

  json fetch(uint64_t after, uint32_t limit, uint32_t wait_ms = 0) {
    auto reply = ask<std::string>(bridge_, fetch_atom::value, after, limit, wait_ms);
    EXPECT_TRUE(reply.value) << describe(reply.error);
    return json::parse(reply.value.value_or("{}"));
  }

  test_node* node_ = nullptr;
  local_bridge_actor bridge_;
};

/// A bridge over a store that answers before the fsync (storage.sync = "periodic") and
/// would sync by itself only after an hour; its WAL syncs are counted.
class PeriodicSyncBridgeTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    storage::store_options opts;
    opts.wal_sync_period = std::chrono::hours{1};
    opts.fail_wal_io = [syncs = syncs_](storage::wal_io io) {
      if (io == storage::wal_io::sync) ++*syncs;
      return false;
    };
    node_ = &add_node("a.example", std::move(opts));
    bridge_ = keep(spawn_local_bridge(*sys_, *node_->store, node_->domain));
  }
  std::shared_ptr<std::atomic<int>> syncs_ = std::make_shared<std::atomic<int>>(0);
  test_node* node_ = nullptr;
  local_bridge_actor bridge_;
};

TEST_F(PeriodicSyncBridgeTest, APageIsOnDiskBeforeTheChatServerSeesIt) {
  auto page = [&](uint64_t after) {
    auto reply = ask<std::string>(bridge_, fetch_atom::value, after, uint32_t{10}, uint32_t{0});
    EXPECT_TRUE(reply.value) << describe(reply.error);
    return json::parse(reply.value.value_or("{}"));
  };
  EXPECT_TRUE(page(0)["events"].empty());
  EXPECT_EQ(syncs_->load(), 0);  // an empty page hands out nothing
  storage::write_batch b;
  b.put(storage::column::inbox, storage::encode_u64(1), R"({"cursor":1,"text":"one"})");
  ASSERT_EQ(node_->store->write(b), caf::none);
  EXPECT_EQ(syncs_->load(), 0);  // answered before the fsync
  EXPECT_EQ(page(0)["events"].size(), 1u);
  auto synced = syncs_->load();
  EXPECT_GE(synced, 1);
  EXPECT_EQ(page(0)["events"].size(), 1u);
  EXPECT_EQ(syncs_->load(), synced);  // already on disk: no second sync
}

TEST_F(LocalBridgeTest, PagesThroughTheInboxByCursor) {
  write_inbox({"one", "two", "three", "four", "five"});
  auto first = fetch(0, 2);
  EXPECT_EQ(texts(first), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(first["next"], 2);
  EXPECT_EQ(first["events"][0]["cursor"], 1);
  EXPECT_EQ(first["events"][1]["cursor"], 2);
  auto rest = fetch(2, 0);
  EXPECT_EQ(texts(rest), (std::vector<std::string>{"three", "four", "five"}));
  EXPECT_EQ(rest["next"], 5);
  auto none = fetch(5, 10);
  EXPECT_TRUE(none["events"].empty());
  EXPECT_EQ(none["next"], 5);
  EXPECT_EQ(texts(fetch(3, 1)), (std::vector<std::string>{"four"}));
}

// A page ends once its events pass 4 MiB, holding one at least, whether they are stored
// whole or as references to the room log: a thousand messages of 1 MiB were one reply.
TEST_F(LocalBridgeTest, APageEndsAtFourMebibytesOfEvents) {
  const std::string mib(1u << 20, 'x');
  write_inbox({mib + "1", mib + "2", mib + "3", mib + "4", mib + "5", "small"});
  journal_entry entry;
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    auto e = logged_event(seq, {{"text", mib + "r" + std::to_string(seq)}});
    e.id = "m" + std::to_string(seq) + ":b.example";
    log_into(entry, e);
    entry.inbox.push_back(encode_inbox_reference(storage::sequenced_key(e.room_id, seq)));
  }
  ASSERT_TRUE(ask<std::vector<uint64_t>>(node_->journal, append_atom::value, entry).value);
  auto sizes = [](const json& page) {
    std::vector<size_t> out;
    for (const auto& e : page["events"]) out.push_back(e["text"].get<std::string>().size());
    return out;
  };
  auto first = fetch(0, 1000);
  EXPECT_EQ(first["events"].size(), 4u);  // four whole MiB pass the mark at the fourth
  EXPECT_EQ(first["next"], 4);
  auto second = fetch(4, 1000);
  EXPECT_EQ(texts(second).front().back(), '5');
  EXPECT_EQ(second["events"].size(), 5u);  // the fifth, "small", three references
  EXPECT_EQ(second["next"], 9);
  auto third = fetch(9, 1000);
  EXPECT_EQ(third["events"].size(), 3u);  // the last three references
  EXPECT_EQ(third["next"], 12);
  EXPECT_EQ(sizes(third), (std::vector<size_t>(3, mib.size() + 2)));
  // One event over the mark alone still comes.
  write_inbox({std::string(5u << 20, 'y')});
  EXPECT_EQ(fetch(12, 1000)["events"].size(), 1u);
}

// A room's large events are in the inbox as references to its log (stored once); the
// local server reads each as its local view, in cursor order with the events stored whole.
TEST_F(LocalBridgeTest, AReferenceIsShownAsTheLocalViewOfItsLogEntry) {
  auto e =
      logged_event(7, {{"text", "from the log"}, {"mentions", json::array({"alice@a.example"})}});
  auto log_key = storage::sequenced_key(e.room_id, e.seq);
  journal_entry entry;
  log_into(entry, e);
  entry.inbox = {json{{"text", "whole"}}.dump(), encode_inbox_reference(log_key),
                 encode_inbox_reference(storage::sequenced_key(e.room_id, 8))};  // 8: not logged
  ASSERT_TRUE(ask<std::vector<uint64_t>>(node_->journal, append_atom::value, entry).value);
  write_inbox({"after"});
  auto raw = ask<std::string>(bridge_, fetch_atom::value, uint64_t{0}, uint32_t{10}, uint32_t{0});
  ASSERT_TRUE(raw.value) << describe(raw.error);
  EXPECT_NE(raw.value->find(R"({"cursor":2,)"), std::string::npos) << "the cursor comes first";
  auto page = json::parse(*raw.value);
  ASSERT_EQ(page["events"].size(), 3u) << page.dump();
  EXPECT_EQ(page["events"][0]["text"], "whole");
  auto shown = page["events"][1];
  auto expected = local_view(e, node_->domain);
  expected["cursor"] = 2;
  EXPECT_EQ(shown, expected);
  EXPECT_EQ(shown["user"], "bob@b.example");
  EXPECT_EQ(shown["seq"], 7);
  // The reference to a missing entry (cursor 3) is skipped, and the cursor goes past it.
  EXPECT_EQ(page["events"][2]["text"], "after");
  EXPECT_EQ(page["events"][2]["cursor"], 4);
  EXPECT_EQ(page["next"], 4);
  // A page of nothing but a skipped entry still moves the reader on, at once.
  auto skipped = fetch(2, 1, 30'000);
  EXPECT_TRUE(skipped["events"].empty());
  EXPECT_EQ(skipped["next"], 3);
  // Stored, the reference holds the key and not the event.
  auto stored = node_->store->get(storage::column::inbox, storage::encode_u64(2));
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->find("from the log"), std::string::npos);
  EXPECT_LT((*stored)->size(), log_key.size() + 8);
}

// A referenced log entry that cannot be read now (a read error, not a missing entry)
// ends the page before it, and the next read, once the store reads again, shows it: the
// reader's cursor never passes an event it was not given.
TEST_F(LocalBridgeTest, AReferenceThatCannotBeReadNowEndsThePageAndIsReadAgainLater) {
  auto unreadable = std::make_shared<std::atomic<bool>>(true);
  storage::store_options opts;
  opts.fail_reads = [unreadable](storage::column c) {
    return c == storage::column::room_log && unreadable->load();
  };
  auto& n = add_node("c.example", std::move(opts));
  auto bridge = keep(spawn_local_bridge(*sys_, *n.store, n.domain));
  n.journal = keep(
      spawn_journal(*sys_, *n.store, peer_manager_actor{}, caf::actor_cast<caf::actor>(bridge)));
  auto e = logged_event(1, {{"text", "from the log"}});
  auto log_key = storage::sequenced_key(e.room_id, e.seq);
  journal_entry entry;
  log_into(entry, e);
  entry.inbox = {json{{"text", "before"}}.dump(), encode_inbox_reference(log_key),
                 json{{"text", "after"}}.dump()};
  ASSERT_TRUE(ask<std::vector<uint64_t>>(n.journal, append_atom::value, entry).value);
  auto page_at = [&](uint64_t after) {
    return ask<std::string>(bridge, fetch_atom::value, after, uint32_t{10}, uint32_t{0});
  };
  auto first = page_at(0);
  ASSERT_TRUE(first.value) << describe(first.error);
  auto page = json::parse(*first.value);
  ASSERT_EQ(page["events"].size(), 1u) << page.dump();
  EXPECT_EQ(page["events"][0]["text"], "before");
  EXPECT_EQ(page["next"], 1);
  // The files actor's fetch passes over the reference without reading the log at all.
  auto whole =
      ask<std::string>(bridge, fetch_whole_atom::value, uint64_t{0}, uint32_t{10}, uint32_t{0});
  ASSERT_TRUE(whole.value) << describe(whole.error);
  page = json::parse(*whole.value);
  ASSERT_EQ(page["events"].size(), 2u) << page.dump();
  EXPECT_EQ(page["events"][0]["text"], "before");
  EXPECT_EQ(page["events"][1]["text"], "after");
  EXPECT_EQ(page["next"], 3);
  // A page that would begin with it is an error the local server retries, not a skip.
  auto stuck = page_at(1);
  EXPECT_FALSE(stuck.value);
  EXPECT_EQ(stuck.error, caf::make_error(errc::storage_failed)) << describe(stuck.error);
  unreadable->store(false);
  auto again = page_at(1);
  ASSERT_TRUE(again.value) << describe(again.error);
  page = json::parse(*again.value);
  ASSERT_EQ(page["events"].size(), 2u) << page.dump();
  EXPECT_EQ(page["events"][0]["event_id"], e.id);
  EXPECT_EQ(page["events"][0]["cursor"], 2);
  EXPECT_EQ(page["events"][1]["text"], "after");
  EXPECT_EQ(page["next"], 3);
}

TEST_F(LocalBridgeTest, AWholeFetchPastOnlyReferencesMovesOnAtOnceAndWhenTheyArrive) {
  auto e = logged_event(1, {{"text", "from the log"}});
  auto append_reference = [&](const room_event& logged) {
    journal_entry entry;
    log_into(entry, logged);
    entry.inbox = {encode_inbox_reference(storage::sequenced_key(logged.room_id, logged.seq))};
    ASSERT_TRUE(ask<std::vector<uint64_t>>(node_->journal, append_atom::value, entry).value);
  };
  append_reference(e);
  // Nothing but a reference: an empty page at once, past it, though asked to wait.
  auto skipped = ask<std::string>(bridge_, fetch_whole_atom::value, uint64_t{0}, uint32_t{10},
                                  uint32_t{30'000});
  ASSERT_TRUE(skipped.value) << describe(skipped.error);
  EXPECT_EQ(json::parse(*skipped.value), (json{{"events", json::array()}, {"next", 1}}));
  // A long poll past it waits; a reference arriving moves it on, empty.
  auto waiting = request<std::string>(bridge_, fetch_whole_atom::value, uint64_t{1}, uint32_t{10},
                                      uint32_t{30'000});
  sched_->run();
  EXPECT_FALSE(waiting->done);
  append_reference(logged_event(2, {{"text", "also from the log"}}));
  ASSERT_TRUE(waiting->done);
  EXPECT_EQ(json::parse(*waiting->value), (json{{"events", json::array()}, {"next", 2}}));
  // And events stored whole come as they are.
  auto next = request<std::string>(bridge_, fetch_whole_atom::value, uint64_t{2}, uint32_t{10},
                                   uint32_t{30'000});
  sched_->run();
  EXPECT_FALSE(next->done);
  write_inbox({"later"});
  ASSERT_TRUE(next->done);
  auto page = json::parse(*next->value);
  EXPECT_EQ(texts(page), (std::vector<std::string>{"later"}));
  EXPECT_EQ(page["next"], 3);
}

TEST_F(LocalBridgeTest, AReferenceOfAnEarlierVersionIsShownToTheWholeFetchToo) {
  // Earlier versions referred to large events of any type (with the byte 0x01): the files
  // actor's fetch cannot pass over those unread, as one may be a file event.
  auto old_event = logged_event(1, {{"text", "any type, earlier version"}});
  auto message = logged_event(2, {{"text", "a message"}});
  journal_entry entry;
  log_into(entry, old_event);
  log_into(entry, message);
  entry.inbox = {"\x01" + storage::sequenced_key(old_event.room_id, old_event.seq),
                 encode_inbox_reference(storage::sequenced_key(message.room_id, message.seq))};
  ASSERT_TRUE(ask<std::vector<uint64_t>>(node_->journal, append_atom::value, entry).value);
  auto whole =
      ask<std::string>(bridge_, fetch_whole_atom::value, uint64_t{0}, uint32_t{10}, uint32_t{0});
  ASSERT_TRUE(whole.value) << describe(whole.error);
  auto page = json::parse(*whole.value);
  ASSERT_EQ(page["events"].size(), 1u) << page.dump();
  EXPECT_EQ(page["events"][0]["text"], "any type, earlier version");
  EXPECT_EQ(page["next"], 2);
  auto all = fetch(0, 10);
  ASSERT_EQ(all["events"].size(), 2u) << all.dump();
  EXPECT_EQ(all["events"][1]["text"], "a message");
}

TEST_F(LocalBridgeTest, WhenTheRunOfAPagesReferencesCannotBeReadEachIsLookedUpAlone) {
  // The first read of the log (the scan of the page's run) fails; the lookups one by one
  // that follow succeed, and the page shows every event.
  auto reads = std::make_shared<std::atomic<int>>(0);
  storage::store_options opts;
  opts.fail_reads = [reads](storage::column c) {
    return c == storage::column::room_log && reads->fetch_add(1) == 0;
  };
  auto& n = add_node("c.example", std::move(opts));
  auto bridge = keep(spawn_local_bridge(*sys_, *n.store, n.domain));
  n.journal = keep(
      spawn_journal(*sys_, *n.store, peer_manager_actor{}, caf::actor_cast<caf::actor>(bridge)));
  journal_entry entry;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    auto e = logged_event(seq, {{"text", "message " + std::to_string(seq)}});
    log_into(entry, e);
    entry.inbox.push_back(encode_inbox_reference(storage::sequenced_key(e.room_id, e.seq)));
  }
  ASSERT_TRUE(ask<std::vector<uint64_t>>(n.journal, append_atom::value, entry).value);
  auto raw = ask<std::string>(bridge, fetch_atom::value, uint64_t{0}, uint32_t{10}, uint32_t{0});
  ASSERT_TRUE(raw.value) << describe(raw.error);
  auto page = json::parse(*raw.value);
  EXPECT_EQ(texts(page), (std::vector<std::string>{"message 1", "message 2", "message 3"}));
  EXPECT_EQ(page["next"], 3);
  EXPECT_EQ(reads->load(), 4) << "one failed scan, then three lookups";
}

TEST_F(LocalBridgeTest, ALongPollWakesWhenEventsArrive) {
  write_inbox({"old"});
  auto waiting =
      request<std::string>(bridge_, fetch_atom::value, uint64_t{1}, uint32_t{10}, uint32_t{30'000});
  sched_->run();
  EXPECT_FALSE(waiting->done);
  write_inbox({"new", "newer"});
  ASSERT_TRUE(waiting->done);
  auto page = json::parse(*waiting->value);
  EXPECT_EQ(texts(page), (std::vector<std::string>{"new", "newer"}));
  EXPECT_EQ(page["next"], 3);
}

// A chat server holding a cursor past the newest (kept from before the node's data was
// replaced by an older copy) is moved back to the newest at once, not left waiting there:
// it would then skip every event numbered up to its cursor.
TEST_F(LocalBridgeTest, ACursorPastTheNewestIsAnsweredAtOnceWithTheNewest) {
  EXPECT_EQ(fetch(7, 10, 30'000), (json{{"events", json::array()}, {"next", 0}}));
  write_inbox({"one", "two"});
  auto ahead =
      request<std::string>(bridge_, fetch_atom::value, uint64_t{5}, uint32_t{10}, uint32_t{30'000});
  sched_->run();
  ASSERT_TRUE(ahead->done);
  EXPECT_EQ(json::parse(*ahead->value), (json{{"events", json::array()}, {"next", 2}}));
  write_inbox({"three", "four", "five", "six"});
  EXPECT_EQ(texts(fetch(2, 10)), (std::vector<std::string>{"three", "four", "five", "six"}));
  EXPECT_EQ(fetch(6, 10)["next"], 6);
  EXPECT_EQ(fetch(std::numeric_limits<uint64_t>::max(), 10)["next"], 6);
}

// A page can show events before the journal's wake about them reaches the bridge: the
// cursor that page handed out is never taken for one past the newest, which would send
// the reader back over the same events.
TEST_F(LocalBridgeTest, ACursorHandedOutBeforeItsWakeIsNotMovedBack) {
  EXPECT_EQ(fetch(3, 10)["next"], 0);  // the newest is read: nothing yet
  storage::write_batch b;              // written as the journal does, its wake still to come
  for (uint64_t c = 1; c <= 3; ++c)
    b.put(storage::column::inbox, storage::encode_u64(c),
          json{{"cursor", c}, {"text", std::to_string(c)}}.dump());
  ASSERT_EQ(node_->store->write(b), caf::none);
  auto page = fetch(0, 10);
  EXPECT_EQ(texts(page), (std::vector<std::string>{"1", "2", "3"}));
  ASSERT_EQ(page["next"], 3);
  EXPECT_EQ(fetch(3, 10), (json{{"events", json::array()}, {"next", 3}}));
}

// The newest cursor is read from the store when the bridge starts, not only learnt from
// the journal's wakes.
TEST_F(LocalBridgeTest, ABridgeStartedOverAnInboxKnowsItsNewestCursor) {
  write_inbox({"one", "two", "three"});
  auto fresh = keep(spawn_local_bridge(*sys_, *node_->store, node_->domain));
  auto reply = ask<std::string>(fresh, fetch_atom::value, uint64_t{9}, uint32_t{10}, uint32_t{0});
  ASSERT_TRUE(reply.value) << describe(reply.error);
  EXPECT_EQ(json::parse(*reply.value)["next"], 3);
}

TEST_F(LocalBridgeTest, ALongPollEndsEmptyWhenItsWaitExpires) {
  auto waiting =
      request<std::string>(bridge_, fetch_atom::value, uint64_t{0}, uint32_t{10}, uint32_t{1000});
  sched_->run();
  sched_->advance_time(999ms);
  sched_->run();
  EXPECT_FALSE(waiting->done);
  sched_->advance_time(1ms);
  sched_->run();
  ASSERT_TRUE(waiting->done);
  EXPECT_EQ(json::parse(*waiting->value), (json{{"events", json::array()}, {"next", 0}}));
  // Events after the expiry are there for the next call.
  write_inbox({"late"});
  EXPECT_EQ(texts(fetch(0, 10, 1000)), (std::vector<std::string>{"late"}));
}

TEST_F(LocalBridgeTest, EachLongPollEndsAtItsOwnDeadlineWithOneTimerOnTheClock) {
  auto poll = [&](uint32_t wait_ms) {
    return request<std::string>(bridge_, fetch_atom::value, uint64_t{0}, uint32_t{10}, wait_ms);
  };
  auto slow = poll(1000);
  sched_->run();
  auto answered = poll(1000);
  sched_->run();
  write_inbox({"wakes both"});
  ASSERT_TRUE(slow->done);
  ASSERT_TRUE(answered->done);
  // Many polls parked one after the other put one timer on the clock, not one each.
  auto slow2 =
      request<std::string>(bridge_, fetch_atom::value, uint64_t{1}, uint32_t{10}, uint32_t{1000});
  sched_->run();
  sched_->advance_time(200ms);
  std::vector<decltype(poll(0))> later;
  for (int i = 0; i < 50; ++i)
    later.push_back(request<std::string>(bridge_, fetch_atom::value, uint64_t{1}, uint32_t{10},
                                         uint32_t{1000}));
  sched_->run();
  EXPECT_EQ(sched_->clock().schedule().size(), 1u);
  // A shorter wait parked later ends first.
  auto quick =
      request<std::string>(bridge_, fetch_atom::value, uint64_t{1}, uint32_t{10}, uint32_t{100});
  sched_->run();
  sched_->advance_time(100ms);
  sched_->run();
  EXPECT_TRUE(quick->done);
  EXPECT_FALSE(slow2->done);
  sched_->advance_time(700ms);  // 1000 ms after slow2
  sched_->run();
  ASSERT_TRUE(slow2->done);
  EXPECT_EQ(json::parse(*slow2->value), (json{{"events", json::array()}, {"next", 1}}));
  for (auto& w : later) EXPECT_FALSE(w->done);
  sched_->advance_time(200ms);  // 1000 ms after the fifty
  sched_->run();
  for (auto& w : later) {
    ASSERT_TRUE(w->done);
    EXPECT_EQ(json::parse(*w->value), (json{{"events", json::array()}, {"next", 1}}));
  }
  EXPECT_TRUE(sched_->clock().schedule().empty());
}

TEST_F(LocalBridgeTest, RegistersAndSearchesLocalUsers) {
  auto reg = [&](const std::string& user, const std::string& name) {
    return ask<bool>(bridge_, register_atom::value, user, name);
  };
  EXPECT_EQ(reg("alice", "Alice A.").value, true);
  EXPECT_EQ(reg("alfred", "Alfred").value, true);
  EXPECT_EQ(reg("bob", "Bob").value, true);
  EXPECT_EQ(reg("alice", "Alice A.").value, false);
  EXPECT_EQ(reg("alice", "Alice B.").value, false);  // renamed, not new
  auto bad = reg("no one", "x");
  EXPECT_EQ(bad.error, caf::make_error(errc::bad_request)) << describe(bad.error);
  EXPECT_EQ(reg("", "x").error, caf::make_error(errc::bad_request));
  EXPECT_EQ(reg("bob@b.example", "x").error, caf::make_error(errc::bad_request));
  auto search = [&](const std::string& q) {
    auto reply = ask<std::string>(bridge_, search_atom::value, q);
    EXPECT_TRUE(reply.value);
    return json::parse(reply.value.value_or("[]"));
  };
  EXPECT_EQ(search("al"), (json{{{"name", "Alfred"}, {"username", "alfred"}},
                                {{"name", "Alice B."}, {"username", "alice"}}}));
  EXPECT_EQ(search("bob"), (json{{{"name", "Bob"}, {"username", "bob"}}}));
  EXPECT_EQ(search("carol"), json::array());
  EXPECT_EQ(search("").size(), 3u);
}

}  // namespace
}  // namespace fedrelay::actors
