// Federated rooms end to end: three in-process nodes (the host a.example and the members
// b.example and c.example), each with its journal, peers, inbound actor, room manager and
// local bridge, real stores, keys and discovery, talking through the test transport.
#include "actors/room_actor.hpp"

#include <chrono>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/event_reader.hpp"
#include "actors/inbox.hpp"
#include "actors/local_bridge_actor.hpp"
#include "actors/logger.hpp"
#include "actors/outbox.hpp"
#include "actors/previous_keys.hpp"
#include "actors/previous_keys_book.hpp"
#include "actors/request_auth.hpp"
#include "actors/room_event.hpp"
#include "actors/wall_clock.hpp"
#include "tests/actors/transport_fixture.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::reply_slot;
using testing::test_node;
using testing::transport_fixture;

const std::string alice = "alice";  // on a.example, the host
const std::string bob_at_b = "bob@b.example";
const std::string carol_at_c = "carol@c.example";

/// Collects what the peers report as refused for good: "domain message-id: reason".
caf::behavior refusal_collector(caf::event_based_actor*, std::vector<std::string>* out) {
  return {
      [out](rejected_atom, const std::string& domain, const std::string& id,
            const std::string& reason,
            const std::string&) { out->push_back(domain + " " + id + ": " + reason); },
  };
}

class RoomTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    settings_.backoff_initial = 500ms;
    settings_.backoff_max = 2000ms;
    a_ = &add_node("a.example", store_options_of("a.example"));
    b_ = &add_node("b.example", store_options_of("b.example"));
    c_ = &add_node("c.example", store_options_of("c.example"));
    rejection_sink_ = keep(sys_->spawn(refusal_collector, &refusals_));
    for (auto* n : {a_, b_, c_}) start_discovery(*n);
    for (auto* n : {a_, b_, c_}) start_node(*n);
  }

  /// How a node's store is opened: the defaults, unless a fixture says otherwise.
  virtual storage::store_options store_options_of(const std::string& /*domain*/) { return {}; }

  room_context room_context_of(test_node& n) {
    room_context ctx;
    ctx.own_domain = n.domain;
    ctx.identity = n.identity;
    ctx.settings = settings_;
    ctx.store = n.store.get();
    ctx.journal = n.journal;
    ctx.discovery = n.discovery;
    ctx.transport = transport_;
    ctx.catchup_batch = 4;  // small, so catch-up takes several rounds
    ctx.catchup_max_bytes = catchup_max_bytes_;
    ctx.gap_grace = gap_grace_;
    ctx.max_ahead = max_ahead_;
    ctx.idle_room_after = idle_room_after_;
    ctx.metrics = metrics_of(n);
    auto& book = previous_keys_books_[n.domain];
    if (!book) book = std::make_shared<previous_keys_book>();
    ctx.previous_keys = book;
    return ctx;
  }

  /// The node's metrics probe, which its rooms count their events in.
  std::shared_ptr<node_metrics> metrics_of(const test_node& n) {
    auto& m = metrics_[n.domain];
    if (!m) m = std::make_shared<node_metrics>();
    return m;
  }

  void start_node(test_node& n) {
    n.peers = keep(spawn_peer_manager(*sys_, context_of(n)));
    bridges_[n.domain] = keep(spawn_local_bridge(*sys_, *n.store, n.domain));
    n.journal = keep(
        spawn_journal(*sys_, *n.store, n.peers, caf::actor_cast<caf::actor>(bridges_[n.domain])));
    n.rooms = keep(spawn_room_manager(*sys_, room_context_of(n)));
    start_inbound(n);
  }

  std::string create(test_node& n, const std::string& name, const std::string& type,
                     const std::string& owner) {
    auto reply = ask<std::string>(n.rooms, create_atom::value, name, type, owner);
    EXPECT_TRUE(reply.value) << describe(reply.error);
    return reply.value.value_or("");
  }

  reply_slot<std::string> submit(test_node& n, const std::string& room, const std::string& type,
                                 const std::string& user, json content = json::object(),
                                 const std::string& id = "") {
    return ask<std::string>(n.rooms, submit_atom::value,
                            local_submission{room, type, user, content.dump(), id});
  }

  /// Submits and expects the event id.
  std::string accepted(test_node& n, const std::string& room, const std::string& type,
                       const std::string& user, json content = json::object(),
                       const std::string& id = "") {
    auto reply = submit(n, room, type, user, std::move(content), id);
    EXPECT_TRUE(reply.value) << type << " by " << user << " at " << n.domain << ": "
                             << describe(reply.error);
    return reply.value.value_or("");
  }

  /// Submits and expects a refusal; returns its reason.
  std::string refused(test_node& n, const std::string& room, const std::string& type,
                      const std::string& user, json content = json::object()) {
    auto reply = submit(n, room, type, user, std::move(content));
    EXPECT_FALSE(reply.value) << type << " by " << user << " at " << n.domain << " passed";
    EXPECT_EQ(reply.error, caf::make_error(errc::rejected)) << describe(reply.error);
    return detail_of(reply.error);
  }

  std::string send(test_node& n, const std::string& room, const std::string& user,
                   const std::string& text) {
    return accepted(n, room, "message.sent", user, {{"text", text}});
  }

  /// The state `n` stored of `room`, members included, as a host sends it (no authors).
  json stored_state(const test_node& n, const std::string& room) {
    auto stored = read_room_state(*n.store, room);
    EXPECT_TRUE(stored && *stored) << n.domain << ": " << describe(stored.error());
    return stored && *stored ? encode_state((*stored)->room, false) : json::object();
  }

  /// What the member keys of `room` in `n`'s store say: user -> role, former members
  /// (stored as "") left out.
  json stored_members(const test_node& n, const std::string& room) {
    auto members = read_room_members(*n.store, room);
    EXPECT_TRUE(members) << describe(members.error());
    return members ? json(*members) : json::object();
  }

  /// The members of `room` as `n`'s room actor has them, users qualified.
  json members_in_memory(test_node& n, const std::string& room) {
    json out = json::object();
    auto members = info(n, room)["members"];
    for (const auto& [user, role] : members.items())
      out[user.find('@') == std::string::npos ? user + "@" + n.domain : user] = role;
    return out;
  }

  json info(test_node& n, const std::string& room) {
    auto reply = ask<std::string>(n.rooms, info_atom::value, room);
    EXPECT_TRUE(reply.value) << n.domain << ": " << describe(reply.error);
    return json::parse(reply.value.value_or("{}"));
  }

  /// The node's inbox events of `room` (and rejections of it), in cursor order, as its
  /// local server reads them from the bridge.
  std::vector<json> room_inbox(const test_node& n, const std::string& room) {
    std::vector<json> out;
    uint64_t last_cursor = 0;
    for (size_t pages = 0; pages < 1000; ++pages) {
      auto reply = ask<std::string>(bridges_.at(n.domain), fetch_atom::value, last_cursor,
                                    uint32_t{1000}, uint32_t{0});
      EXPECT_TRUE(reply.value) << describe(reply.error);
      auto page = json::parse(reply.value.value_or("{}"));
      if (page.value("events", json::array()).empty()) break;
      for (const auto& e : page["events"]) {
        auto cursor = e["cursor"].get<uint64_t>();
        EXPECT_GT(cursor, last_cursor);
        last_cursor = cursor;
        if (e["room_id"] == room) out.push_back(e);
      }
      EXPECT_EQ(page["next"], last_cursor);
    }
    return out;
  }

  /// "seq type event_id" of each sequenced event in the inbox, checking that seqs only grow
  /// (in order, nothing twice).
  std::vector<std::string> sequenced(const test_node& n, const std::string& room) {
    std::vector<std::string> out;
    uint64_t last = 0;
    for (const auto& e : room_inbox(n, room)) {
      if (e["type"] == "rejected") continue;
      auto seq = e["seq"].get<uint64_t>();
      EXPECT_GT(seq, last) << n.domain << ": " << e.dump();
      last = seq;
      out.push_back(std::to_string(seq) + " " + e["type"].get<std::string>() + " " +
                    e["event_id"].get<std::string>());
    }
    return out;
  }

  std::vector<json> rejections(const test_node& n, const std::string& room) {
    std::vector<json> out;
    for (const auto& e : room_inbox(n, room))
      if (e["type"] == "rejected") out.push_back(e);
    return out;
  }

  /// The tail of `all` from the first entry whose seq is at least `from`.
  static std::vector<std::string> from_seq(const std::vector<std::string>& all, uint64_t from) {
    std::vector<std::string> out;
    for (const auto& line : all)
      if (std::stoull(line) >= from) out.push_back(line);
    return out;
  }

  /// An event of a user of `n`, signed by `n`, as its server would submit it (or, with a
  /// `seq`, as the host sequenced it).
  room_event signed_event(const test_node& n, const std::string& room, event_type type,
                          const std::string& user, json content, const std::string& local_id,
                          uint64_t seq = 0) {
    room_event e;
    e.seq = seq;
    e.id = local_id + ":" + n.domain;
    e.type = type;
    e.room_id = room;
    e.origin = n.domain;
    e.user = user;
    e.ts = 1;
    e.content = std::move(content);
    sign_event(e, *n.identity);
    return e;
  }

  /// Queues a submission from `n` to the host straight into its outbox (past the local
  /// checks of its room actor), as a buggy or hostile server could.
  void inject_submit(test_node& n, const room_event& e) {
    enqueue(n, std::string{domain_of_id(e.room_id)}, {submit_message(e)});
    sched_->run();
  }

  /// Node d.example, started, whose journal writes fail once `fail` is set.
  test_node& add_failing_node(const std::shared_ptr<std::atomic<bool>>& fail) {
    storage::store_options opts;
    opts.fail_wal_io = [fail](storage::wal_io) { return fail->load(); };
    auto& d = add_node("d.example", std::move(opts));
    start_discovery(d);
    start_node(d);
    return d;
  }

  /// A room hosted by A with alice (owner), bob of B and carol of C.
  std::string room_of_three(const std::string& type = "private") {
    auto room = create(*a_, "general", type, alice);
    accepted(*a_, room, "user.invited", alice, {{"target", bob_at_b}});
    accepted(*a_, room, "user.invited", alice, {{"target", carol_at_c}});
    return room;
  }

  /// A message of carol's in `room`, as the host relays it, signed by `by` (a key C had
  /// before, or one it never had).
  static room_event carols(const std::string& room, const crypto::identity& by,
                           const std::string& id, uint64_t seq) {
    room_event e;
    e.seq = seq;
    e.id = id + ":c.example";
    e.type = event_type::message_sent;
    e.room_id = room;
    e.origin = "c.example";
    e.user = carol_at_c;
    e.ts = 1;
    e.content = {{"text", id}};
    sign_event(e, by);
    return e;
  }

  /// Makes C's federation.keys name `old_c` as its previous key, counting the requests
  /// in `asked`.
  void serve_previous_keys_of_c(const crypto::identity& old_c, int& asked) {
    net_.intercept = [this, &old_c,
                      &asked](const outbound_request& req) -> std::optional<inbound_reply> {
      if (req.path != previous_keys_path) return std::nullopt;
      ++asked;
      EXPECT_EQ(req.base_url, c_->url);
      return inbound_reply{
          200, previous_keys_body(*c_->identity, "c.example", {{old_c.public_key(), 1}})};
    };
  }

  /// Stops the room managers (and their rooms) and inbound actors of `nodes` and starts
  /// them again from their stores, as a restart of those nodes would.
  void restart_rooms(std::initializer_list<test_node*> nodes) {
    for (auto* n : nodes) {
      stop(caf::actor_cast<caf::actor>(n->rooms));
      n->rooms = keep(spawn_room_manager(*sys_, room_context_of(*n)));
      stop(caf::actor_cast<caf::actor>(n->inbound));
      start_inbound(*n);
    }
    sched_->run();
  }

  /// Makes every request to `n` fail until restore() (its peers back off).
  void cut_off(const test_node& n) {
    net_.intercept = [url = n.url](const outbound_request& req) -> std::optional<inbound_reply> {
      if (req.base_url != url) return std::nullopt;
      return inbound_reply{503, R"({"success":false,"error":"down"})"};
    };
  }

  /// Answers every transaction to `n` with a receipt accepting it, without delivering it:
  /// the sender forgets those events for good, as if its queue had been lost.
  void swallow_dispatches_to(const test_node& n) {
    net_.intercept = [this, &n](const outbound_request& req) -> std::optional<inbound_reply> {
      if (req.base_url != n.url || req.path != dispatch_path) return std::nullopt;
      return swallowed(n, req);
    };
  }

  /// Holds back the next transaction to `n` (its sender gets a receipt), so the one after
  /// it reaches `n` first: a gap between runs in flight, as under load. The test clears
  /// net_.intercept once the transaction is held.
  void hold_next_dispatch_to(const test_node& n) {
    held_.reset();
    net_.intercept = [this, &n](const outbound_request& req) -> std::optional<inbound_reply> {
      if (req.base_url != n.url || req.path != dispatch_path || held_) return std::nullopt;
      held_ = req;
      return swallowed(n, req);
    };
  }

  /// Hands `n` the transaction hold_next_dispatch_to held back, late.
  void deliver_held_to(const test_node& n) {
    ASSERT_TRUE(held_.has_value());
    auto reply = ask<inbound_reply>(n.inbound, dispatch_atom::value,
                                    testing::header_of(*held_, origin_header),
                                    testing::header_of(*held_, version_header), held_->body);
    ASSERT_TRUE(reply.value) << describe(reply.error);
    EXPECT_EQ(reply.value->status, 200);
  }

  /// B sends `missing` to `room` (which the intercept the caller set holds back or
  /// swallows on its way to C), then `next`, which reaches C first: C sees a gap.
  void send_across_a_gap(const std::string& room, const std::string& missing,
                         const std::string& next) {
    send(*b_, room, "bob", missing);
    net_.intercept = nullptr;
    send(*b_, room, "bob", next);
  }

  /// Moves the actor clock on by `d` and runs what became due.
  void pass(std::chrono::milliseconds d) {
    sched_->advance_time(d);
    sched_->run();
  }

  /// Moves the clock on by `after` in two steps: no catch-up request is made (beyond
  /// `asked_before`) until the last 100 ms, and one is made by their end.
  void expect_one_catchup_after(std::chrono::milliseconds after, size_t asked_before) {
    pass(after - 100ms);
    EXPECT_EQ(since_requests(), asked_before);
    pass(100ms);
    EXPECT_EQ(since_requests(), asked_before + 1);
  }

  /// Catch-up requests made so far (to `host_url` only, when given).
  size_t since_requests(const std::string& host_url = {}) const {
    size_t n = 0;
    for (const auto& req : net_.requests)
      if (req.path == since_path && (host_url.empty() || req.base_url == host_url)) ++n;
    return n;
  }

  /// The receipt `n` would give for the dispatch `req` from A if it took every event,
  /// without delivering it.
  inbound_reply swallowed(const test_node& n, const outbound_request& req) {
    auto key = box_between(n, *a_);
    auto t = decode_transaction(*key.open(req.body));
    receipt r;
    r.transaction_id = t->id;
    for (const auto& e : t->events) r.results.push_back({event_id_of(e), true, {}});
    return inbound_reply{200, key.seal(encode_receipt(r))};
  }

  /// Lifts cut_off and lets every backoff run out.
  void restore() {
    net_.intercept = nullptr;
    for (int i = 0; i < 4; ++i) {
      pass(settings_.backoff_max);
    }
  }

  test_node* a_ = nullptr;
  test_node* b_ = nullptr;
  test_node* c_ = nullptr;
  std::map<std::string, local_bridge_actor> bridges_;
  std::map<std::string, std::shared_ptr<node_metrics>> metrics_;                    // by domain
  std::map<std::string, std::shared_ptr<previous_keys_book>> previous_keys_books_;  // by domain
  std::vector<std::string> refusals_;             // messages a receiver refused in its receipt
  std::chrono::milliseconds gap_grace_{0};        // rooms ask the host at once unless a test says
  std::chrono::milliseconds idle_room_after_{0};  // rooms never idle out unless a test says
  uint64_t catchup_max_bytes_ = 0;                // no cap asked unless a test says
  size_t max_ahead_ = room_context{}.max_ahead;   // events a member holds ahead of a gap
  std::optional<outbound_request> held_;          // see hold_next_dispatch_to
};

TEST_F(RoomTest, ARoomFederatesToTheServersOfItsMembers) {
  auto room = room_of_three();
  EXPECT_TRUE(valid_room_id(room));
  EXPECT_EQ(domain_of_id(room), "a.example");
  auto members = json{{"alice@a.example", "owner"}, {"bob", "member"}, {carol_at_c, "member"}};
  EXPECT_EQ(info(*b_, room)["members"], members);
  EXPECT_EQ(info(*a_, room)["members"],
            (json{{"alice", "owner"}, {bob_at_b, "member"}, {carol_at_c, "member"}}));
  EXPECT_EQ(info(*c_, room)["last_seq"], 3);
  EXPECT_EQ(info(*c_, room)["type"], "private");
  EXPECT_EQ(info(*c_, room)["name"], "general");
  // B joined with its invitation (seq 2), C with its own (seq 3); each sees its invitation.
  auto all = sequenced(*a_, room);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].substr(0, 15), "1 room.created ");
  EXPECT_EQ(sequenced(*b_, room), from_seq(all, 2));
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
  auto invite = room_inbox(*b_, room).front();
  EXPECT_EQ(invite["type"], "user.invited");
  EXPECT_EQ(invite["user"], "alice@a.example");
  EXPECT_EQ(invite["target"], "bob");
  EXPECT_EQ(invite["origin"], "a.example");
}

/// RoomTest whose host A and member B answer before the fsync (storage.sync = "periodic")
/// and would sync by themselves only after an hour; their WAL syncs are counted.
class PeriodicSyncRoomTest : public RoomTest {
 protected:
  storage::store_options store_options_of(const std::string& domain) override {
    storage::store_options opts;
    if (domain != "a.example" && domain != "b.example") return opts;
    opts.wal_sync_period = std::chrono::hours{1};
    opts.fail_wal_io = [syncs = domain == "a.example" ? syncs_ : syncs_b_](storage::wal_io io) {
      if (io == storage::wal_io::sync) ++*syncs;
      return false;
    };
    return opts;
  }
  std::shared_ptr<std::atomic<int>> syncs_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> syncs_b_ = std::make_shared<std::atomic<int>>(0);
};

TEST_F(PeriodicSyncRoomTest, TheHostSyncsItsLogBeforeATransactionLeaves) {
  auto room = create(*a_, "quick", "private", alice);
  EXPECT_EQ(syncs_->load(), 0);  // accepted, not yet on disk, and nothing has left
  // rooms.info names the last seq: it leaves only once that is on disk.
  EXPECT_EQ(info(*a_, room)["last_seq"], 1);
  auto after_info = syncs_->load();
  EXPECT_GE(after_info, 1);
  accepted(*a_, room, "user.invited", alice, {{"target", bob_at_b}});
  // B's receipt went out once what B applied was on disk.
  EXPECT_GE(syncs_b_->load(), 1);
  auto on_b = room_inbox(*b_, room);
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b.front()["type"], "user.invited");
  // Only A's peer can have synced since: A's own period is an hour, and nothing read A's
  // inbox.
  EXPECT_GT(syncs_->load(), after_info);
}

TEST_F(RoomTest, TheHostQueuesItsEventsForEveryServerAsReferencesToItsLog) {
  auto room = room_of_three();
  net_.intercept = [this](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.base_url != b_->url && req.base_url != c_->url) return std::nullopt;
    return inbound_reply{503, R"({"success":false,"error":"down"})"};
  };
  send(*a_, room, alice, "stored once on the host");
  // Both queues hold the event; neither holds a copy of it, only the log does.
  for (const char* domain : {"b.example", "c.example"}) {
    auto queued = outbox{*a_->store, domain}.read(0, 100, 1 << 20);
    ASSERT_TRUE(queued);
    ASSERT_FALSE(queued->entries.empty()) << domain;
    const auto& last = queued->entries.back();
    EXPECT_NE(last.event.find("stored once on the host"), std::string::npos) << last.event;
    auto raw =
        a_->store->get(storage::column::outbox, storage::sequenced_key(domain, queued->last_seq));
    ASSERT_TRUE(raw && *raw);
    EXPECT_EQ((*raw)->find("stored once on the host"), std::string::npos);
    EXPECT_FALSE(last.log_key.empty());
  }
  // Once the servers are back the event reaches them from those references.
  restore();
  EXPECT_EQ(room_inbox(*b_, room).back()["text"], "stored once on the host");
  EXPECT_EQ(room_inbox(*c_, room).back()["text"], "stored once on the host");
}

TEST_F(RoomTest, MessagesGoToTheInboxAsReferencesWhichTheFilesActorPassesOver) {
  auto room = room_of_three();
  const std::string big(2000, 'x');
  send(*c_, room, "carol", "short");
  auto message = send(*b_, room, "bob", big);
  accepted(*b_, room, "message.edited", "bob", {{"target", message}, {"text", big + "y"}});
  for (auto* n : {a_, b_, c_}) {
    // Stored: each message, short or long, as a reference to the log; the edit (as
    // large) whole.
    size_t references = 0;
    std::vector<std::string> whole;
    auto err = n->store->scan(storage::column::inbox, "", "", 0,
                              [&](std::string_view, std::string_view value) {
                                if (inbox_reference(value))
                                  ++references;
                                else if (value.find(big) != std::string_view::npos)
                                  whole.push_back(json::parse(value)["type"]);
                                return true;
                              });
    ASSERT_FALSE(err) << describe(err);
    EXPECT_EQ(references, 2u) << n->domain;
    EXPECT_EQ(whole, std::vector<std::string>{"message.edited"}) << n->domain;
    // The local server sees all three; the files actor's fetch only the edit.
    auto all = room_inbox(*n, room);
    ASSERT_GE(all.size(), 3u) << n->domain;
    EXPECT_EQ(all[all.size() - 3]["text"], "short") << n->domain;
    EXPECT_EQ(all[all.size() - 2]["type"], "message.sent") << n->domain;
    EXPECT_EQ(all.back()["type"], "message.edited") << n->domain;
    auto raw = ask<std::string>(bridges_.at(n->domain), fetch_whole_atom::value, uint64_t{0},
                                uint32_t{1000}, uint32_t{0});
    ASSERT_TRUE(raw.value) << describe(raw.error);
    auto page = json::parse(*raw.value);
    std::vector<std::string> types;
    for (const auto& e : page["events"])
      if (e.value("room_id", "") == room) types.push_back(e["type"]);
    ASSERT_FALSE(types.empty()) << n->domain;
    EXPECT_EQ(types.back(), "message.edited") << n->domain;
    EXPECT_EQ(std::count(types.begin(), types.end(), "message.sent"), 0) << n->domain;
  }
}

TEST_F(RoomTest, MessagesEditsReactionsReceiptsAndNotificationsReachEveryMember) {
  auto room = room_of_three();
  auto hi_b = send(*b_, room, "bob", "hi from b");
  auto hi_c = send(*c_, room, "carol", "hi from c");
  auto hi_a = send(*a_, room, alice, "hi from a");
  EXPECT_EQ(domain_of_id(hi_b), "b.example");
  accepted(*b_, room, "message.edited", "bob", {{"target", hi_b}, {"text", "hello from b"}});
  EXPECT_EQ(refused(*c_, room, "message.edited", "carol", {{"target", hi_b}, {"text", "x"}}),
            "only the author may edit a message");
  accepted(*c_, room, "reaction.set", "carol", {{"target", hi_b}, {"emoji", ":+1:"}});
  accepted(*c_, room, "reaction.unset", "carol", {{"target", hi_b}, {"emoji", ":+1:"}});
  accepted(*b_, room, "read.receipt", "bob", {{"up_to", hi_a}});
  accepted(*a_, room, "notification", alice,
           {{"to", carol_at_c}, {"kind", "mention"}, {"text", "@carol look"}});
  accepted(*a_, room, "message.deleted", alice, {{"target", hi_c}});  // an owner may
  EXPECT_EQ(refused(*c_, room, "reaction.set", "carol", {{"target", hi_c}, {"emoji", "x"}}),
            "no such message " + hi_c);
  auto all = sequenced(*a_, room);
  ASSERT_EQ(all.size(), 12u);
  EXPECT_EQ(sequenced(*b_, room), from_seq(all, 2));
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
  // What the local servers see: their own users bare, others qualified.
  auto at_c = room_inbox(*c_, room);
  auto edit = std::find_if(at_c.begin(), at_c.end(),
                           [](const json& e) { return e["type"] == "message.edited"; });
  ASSERT_NE(edit, at_c.end());
  EXPECT_EQ((*edit)["user"], bob_at_b);
  EXPECT_EQ((*edit)["target"], hi_b);
  EXPECT_EQ((*edit)["text"], "hello from b");
  auto note = std::find_if(at_c.begin(), at_c.end(),
                           [](const json& e) { return e["type"] == "notification"; });
  ASSERT_NE(note, at_c.end());
  EXPECT_EQ((*note)["to"], "carol");
  EXPECT_EQ((*note)["kind"], "mention");
  EXPECT_EQ((*note)["user"], "alice@a.example");
  // The history is the same log, in the same local view.
  auto history = ask<std::string>(b_->rooms, history_atom::value, room, uint64_t{3}, uint32_t{2});
  ASSERT_TRUE(history.value) << describe(history.error);
  auto page = json::parse(*history.value);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0]["seq"], 4);
  EXPECT_EQ(page[0]["user"], "bob");
  EXPECT_EQ(page[0]["text"], "hi from b");
  EXPECT_EQ(page[1]["event_id"], hi_c);
  for (auto* n : {a_, b_, c_}) EXPECT_TRUE(rejections(*n, room).empty()) << n->domain;
}

TEST_F(RoomTest, AMutedUsersPostIsRejectedByTheHostAndTheRejectionReachesItsServer) {
  auto room = room_of_three("public");
  // C does not hear of the mute yet, so its own check lets carol's post through.
  cut_off(*c_);
  accepted(*a_, room, "user.muted", alice, {{"target", carol_at_c}});
  auto post = send(*c_, room, "carol", "can you hear me?");
  EXPECT_EQ(domain_of_id(post), "c.example");
  restore();
  auto refusals = rejections(*c_, room);
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0]["event_id"], post);
  EXPECT_EQ(refusals[0]["reason"], "user is muted");
  EXPECT_EQ(refusals[0]["user"], "carol");
  EXPECT_EQ(refusals[0]["origin"], "a.example");
  EXPECT_GT(refusals[0]["cursor"], 0);
  // Now C knows: the next post is refused at once, without a round trip.
  EXPECT_EQ(refused(*c_, room, "message.sent", "carol", {{"text", "again"}}), "user is muted");
  EXPECT_EQ(refused(*c_, room, "reaction.set", "carol", {{"target", post}, {"emoji", "x"}}),
            "user is muted");
  accepted(*a_, room, "user.unmuted", alice, {{"target", carol_at_c}});
  auto back = send(*c_, room, "carol", "back");
  auto all = sequenced(*a_, room);
  EXPECT_EQ(all.back(), std::to_string(all.size()) + " message.sent " + back);
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
  EXPECT_EQ(sequenced(*b_, room), from_seq(all, 2));
  EXPECT_TRUE(rejections(*b_, room).empty());
  EXPECT_EQ(rejections(*c_, room).size(), 1u);
}

TEST_F(RoomTest, OnlyOwnersAndModeratorsPostInABroadcastRoom) {
  auto room = room_of_three("broadcast");
  send(*a_, room, alice, "announcement");
  EXPECT_EQ(refused(*b_, room, "message.sent", "bob", {{"text", "me too"}}),
            "only owners and moderators post in a broadcast room");
  // The host refuses it as well when a server skips its own check.
  auto e = signed_event(*b_, room, event_type::message_sent, bob_at_b, {{"text", "sneaky"}}, "s1");
  inject_submit(*b_, e);
  auto refusals = rejections(*b_, room);
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0]["event_id"], e.id);
  EXPECT_EQ(refusals[0]["reason"], "only owners and moderators post in a broadcast room");
  // The host counts each member submission once, as taken or refused (GET /metrics).
  inject_submit(*b_, e);
  EXPECT_EQ(rejections(*b_, room).size(), 1u);
  EXPECT_EQ(metrics_of(*a_)->rejected_peer, 1u);
  EXPECT_EQ(metrics_of(*a_)->accepted_peer, 0u);
  EXPECT_EQ(metrics_of(*b_)->rejected_local, 1u);  // the "me too" B's replica refused
  accepted(*a_, room, "role.changed", alice, {{"target", bob_at_b}, {"role", "moderator"}});
  send(*b_, room, "bob", "now I may");
  EXPECT_EQ(metrics_of(*a_)->accepted_peer, 1u);
  EXPECT_EQ(info(*c_, room)["members"][bob_at_b], "moderator");
  auto all = sequenced(*a_, room);
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
}

TEST_F(RoomTest, KickRolesAndDeletion) {
  auto room = room_of_three();
  // Whether a server has a member in the room (what a file fetch asks of the host).
  auto has_members_on = [&](const std::string& domain) {
    auto reply = ask<bool>(a_->rooms, info_atom::value, room, domain);
    EXPECT_TRUE(reply.value) << describe(reply.error);
    return reply.value.value_or(false);
  };
  EXPECT_TRUE(has_members_on("c.example"));
  EXPECT_FALSE(has_members_on("z.example"));
  EXPECT_EQ(refused(*b_, room, "user.removed", "bob", {{"target", carol_at_c}}),
            "only owners and moderators may remove users");
  accepted(*a_, room, "user.removed", alice, {{"target", carol_at_c}});
  EXPECT_FALSE(has_members_on("c.example"));
  EXPECT_TRUE(has_members_on("b.example"));
  // C hears of its own removal, then of nothing more.
  EXPECT_EQ(room_inbox(*c_, room).back()["type"], "user.removed");
  EXPECT_EQ(room_inbox(*c_, room).back()["target"], "carol");
  EXPECT_EQ(refused(*c_, room, "message.sent", "carol", {{"text", "x"}}), "not a member");
  auto after_kick = send(*a_, room, alice, "carol is gone");
  EXPECT_EQ(room_inbox(*b_, room).back()["event_id"], after_kick);
  EXPECT_NE(room_inbox(*c_, room).back()["event_id"], after_kick);
  // A moderator invites carol back: C gets the room's state anew and goes on from it.
  accepted(*a_, room, "role.changed", alice, {{"target", bob_at_b}, {"role", "moderator"}});
  accepted(*b_, room, "user.invited", "bob", {{"target", carol_at_c}});
  EXPECT_EQ(info(*c_, room)["members"]["carol"], "member");
  EXPECT_EQ(info(*c_, room)["members"][bob_at_b], "moderator");
  auto welcome = send(*c_, room, "carol", "I am back");
  EXPECT_EQ(room_inbox(*b_, room).back()["event_id"], welcome);
  // Only an owner deletes the room; nothing is accepted after it.
  EXPECT_EQ(refused(*b_, room, "room.deleted", "bob"), "only an owner may delete the room");
  accepted(*a_, room, "room.deleted", alice);
  EXPECT_FALSE(has_members_on("b.example"));
  for (auto* n : {a_, b_, c_}) {
    EXPECT_EQ(info(*n, room)["deleted"], true) << n->domain;
    EXPECT_EQ(room_inbox(*n, room).back()["type"], "room.deleted") << n->domain;
  }
  EXPECT_EQ(refused(*a_, room, "message.sent", alice, {{"text", "x"}}), "room deleted");
  EXPECT_EQ(refused(*b_, room, "message.sent", "bob", {{"text", "x"}}), "room deleted");
  auto late =
      signed_event(*c_, room, event_type::message_sent, carol_at_c, {{"text", "late"}}, "l1");
  inject_submit(*c_, late);
  auto refusals = rejections(*c_, room);
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0]["event_id"], late.id);
  EXPECT_EQ(refusals[0]["reason"], "room deleted");
  // Every node saw the events of its membership in the host's order, nothing twice.
  auto all = sequenced(*a_, room);
  EXPECT_EQ(sequenced(*b_, room), from_seq(all, 2));
  auto at_c = sequenced(*c_, room);
  ASSERT_FALSE(at_c.empty());
  EXPECT_EQ(at_c.front().substr(0, 2), "3 ");
}

// Each member is stored under a key of its own, not in the state value: a join writes one
// key. In a room of 10,000 members, rewriting the whole list took 4.7 ms an invitation.
TEST_F(RoomTest, MembersAreStoredUnderKeysOfTheirOwnOnEveryServerAndComeBackFromThem) {
  auto room = room_of_three();
  for (int i = 0; i < 20; ++i)
    accepted(*a_, room, "user.invited", alice,
             {{"target", "u" + std::to_string(i) + "@b.example"}});
  accepted(*a_, room, "user.removed", alice, {{"target", "u3@b.example"}});
  accepted(*a_, room, "role.changed", alice, {{"target", "u4@b.example"}, {"role", "moderator"}});
  // C is removed and invited again: it gets the room's state anew, over what it stored.
  accepted(*a_, room, "user.removed", alice, {{"target", carol_at_c}});
  accepted(*a_, room, "user.removed", alice, {{"target", "u5@b.example"}});
  accepted(*a_, room, "user.invited", alice, {{"target", carol_at_c}});
  auto members = members_in_memory(*a_, room);
  ASSERT_EQ(members.size(), 21u);  // alice, bob, carol and 18 of the 20
  EXPECT_EQ(members["u4@b.example"], "moderator");
  for (auto* n : {a_, b_, c_}) {
    EXPECT_EQ(members_in_memory(*n, room), members) << n->domain;
    EXPECT_EQ(stored_members(*n, room), members) << n->domain;
    auto value = n->store->get(storage::column::rooms, room);
    ASSERT_TRUE(value && *value) << n->domain;
    EXPECT_EQ(json::parse(**value).count("members"), 0u) << n->domain << ": " << **value;
  }
  restart_rooms({a_, b_, c_});
  for (auto* n : {a_, b_, c_}) EXPECT_EQ(members_in_memory(*n, room), members) << n->domain;
  EXPECT_EQ(refused(*b_, room, "message.sent", "u3", {{"text", "x"}}), "not a member");
  send(*b_, room, "u4", "still here");
}

// A state an earlier version stored, its members inside the value and no member keys,
// loads with its members; the next change of the state moves them all to keys of their own.
TEST_F(RoomTest, AStateStoredWithItsMembersInsideMovesThemToKeysAtItsNextChange) {
  auto room = room_of_three();
  auto members = members_in_memory(*a_, room);
  auto stored = read_room_state(*a_->store, room);
  ASSERT_TRUE(stored && *stored);
  storage::write_batch earlier;
  earlier.put(storage::column::rooms, room, dump(encode_state((*stored)->room, false)));
  // "" reads as no member (RocksDB's single deletes, all this column takes, may not
  // follow several puts of a key).
  for (const auto& [user, role] : members.items())
    earlier.put(storage::column::rooms, room_member_key(room, user), "");
  ASSERT_FALSE(a_->store->write(earlier));
  ASSERT_EQ(stored_members(*a_, room), json::object());
  restart_rooms({a_});
  EXPECT_EQ(members_in_memory(*a_, room), members);
  accepted(*a_, room, "user.invited", alice, {{"target", "dave@b.example"}});
  members["dave@b.example"] = "member";
  EXPECT_EQ(stored_members(*a_, room), members);
  restart_rooms({a_});
  EXPECT_EQ(members_in_memory(*a_, room), members);
}

TEST_F(RoomTest, IdleRoomsStopAndTheirNextMessageBringsThemBackFromTheStore) {
  idle_room_after_ = 60s;
  gap_grace_ = 90s;
  restart_rooms({a_, b_, c_});
  auto running = [this](const test_node& n) { return metrics_of(n)->rooms_running.load(); };
  auto room = room_of_three();
  send(*b_, room, "bob", "before the pause");
  // C misses the next event (its transaction is swallowed) and holds the one after it
  // ahead of the gap, waiting gap_grace before it asks the host.
  swallow_dispatches_to(*c_);
  send(*b_, room, "bob", "lost on the way to C");
  net_.intercept = nullptr;
  send(*b_, room, "bob", "shows C the gap");
  EXPECT_EQ(info(*c_, room)["last_seq"], 4);
  for (auto* n : {a_, b_, c_}) EXPECT_EQ(running(*n), 1) << n->domain;
  // Half a minute on, A's room is asked for its state: it counts as used then.
  pass(30s);
  EXPECT_EQ(info(*a_, room)["last_seq"], 6);
  // A minute without a message: B's room stops; A's, used 30 s ago, stays, and so does
  // C's, which holds an event ahead.
  pass(30s);
  EXPECT_EQ(running(*a_), 1);
  EXPECT_EQ(running(*b_), 0);
  EXPECT_EQ(running(*c_), 1);
  // C's grace ends: it asks the host, whose room comes back from the store to answer.
  pass(30s);
  EXPECT_EQ(info(*c_, room)["last_seq"], 6);
  EXPECT_EQ(running(*a_), 1);
  // Nothing under way any more: the next sweeps stop them all.
  pass(60s);
  pass(60s);
  for (auto* n : {a_, b_, c_}) EXPECT_EQ(running(*n), 0) << n->domain;
  // The rooms come back from the store with their state: the next event takes the next
  // seq on every node, and the logs agree. The replicas, stopped with nothing missing, do
  // not ask the host what they missed (they did, once each, before).
  auto asked = since_requests(a_->url);
  auto after = send(*b_, room, "bob", "after the pause");
  auto all = sequenced(*a_, room);
  ASSERT_EQ(all.size(), 7u);
  // Each member's log starts where its server joined (B at its invitation, C at its own).
  EXPECT_EQ(sequenced(*b_, room), from_seq(all, 2));
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
  EXPECT_EQ(info(*c_, room)["last_seq"], 7);
  EXPECT_EQ(room_inbox(*c_, room).back()["event_id"], after);
  for (auto* n : {a_, b_, c_}) EXPECT_EQ(running(*n), 1) << n->domain;
  EXPECT_EQ(since_requests(a_->url), asked);
  // After a restart of the node a replica does ask.
  restart_rooms({c_});
  EXPECT_EQ(since_requests(a_->url), asked + 1);
}

// A node's start brought back a replica of every room it ever joined, each asking its
// host what it missed: after a year of rooms made and deleted, thousands of requests and
// room actors for nothing.
TEST_F(RoomTest, AReplicaOfADeletedRoomIsNotStartedAfterARestart) {
  auto running = [this](const test_node& n) { return metrics_of(n)->rooms_running.load(); };
  auto room = room_of_three();
  accepted(*a_, room, "room.deleted", alice);
  EXPECT_EQ(info(*c_, room)["deleted"], true);
  auto asked = since_requests(a_->url);
  restart_rooms({c_});
  EXPECT_EQ(since_requests(a_->url), asked);
  EXPECT_EQ(running(*c_), 0);
  // Still there for whoever asks.
  EXPECT_EQ(info(*c_, room)["deleted"], true);
}

// A host that cannot be reached fails the catch-up of every replica of its rooms at once:
// one line each was thousands of lines for a node in thousands of rooms.
TEST_F(RoomTest, FailedCatchUpsOfManyRoomsLogAFewLinesPerHost) {
  std::vector<std::string> rooms;
  for (int i = 0; i < 15; ++i) rooms.push_back(room_of_three());
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
  log()->sinks().push_back(sink);
  cut_off(*a_);
  auto asked = since_requests(a_->url);
  restart_rooms({c_});
  log()->sinks().pop_back();
  EXPECT_EQ(since_requests(a_->url) - asked, rooms.size());
  size_t logged = 0;
  std::string line;
  for (std::istringstream in{lines.str()}; std::getline(in, line);)
    if (line.find("catch-up from a.example failed") != std::string::npos) ++logged;
  EXPECT_EQ(logged, 10u) << lines.str();
  restore();
}

// The journal ends before the rooms when a node stops; a submission between the two is
// refused, and logged as what it is rather than as an error.
TEST_F(RoomTest, ASubmissionAfterTheJournalStoppedIsRefusedWithoutAnErrorLine) {
  auto room = room_of_three();
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
  log()->sinks().push_back(sink);
  stop(caf::actor_cast<caf::actor>(a_->journal));
  auto reply = submit(*a_, room, "message.sent", alice, {{"text", "too late"}});
  log()->sinks().pop_back();
  EXPECT_FALSE(reply.value);
  EXPECT_NE(lines.str().find("the journal has stopped"), std::string::npos) << lines.str();
  EXPECT_EQ(lines.str().find("[error]"), std::string::npos) << lines.str();
}

TEST_F(RoomTest, AMemberThatMissedARangeCatchesUpFromTheHost) {
  auto room = room_of_three();
  // Transactions to C are swallowed: a receipt comes back, so A forgets them for good.
  swallow_dispatches_to(*c_);
  std::vector<std::string> missed;
  for (int i = 0; i < 9; ++i) missed.push_back(send(*b_, room, "bob", "m" + std::to_string(i)));
  EXPECT_EQ(info(*c_, room)["last_seq"], 3);
  net_.intercept = nullptr;
  // The next event shows C the gap; it asks the host, four events at a time.
  auto next = send(*a_, room, alice, "did everyone get that?");
  auto all = sequenced(*a_, room);
  ASSERT_EQ(all.size(), 13u);
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
  EXPECT_EQ(info(*c_, room)["last_seq"], 13);
  EXPECT_GE(since_requests(a_->url), 3u);
  EXPECT_EQ(room_inbox(*c_, room).back()["event_id"], next);
}

// A member asks for no more bytes of events than it takes in a response, and the host's
// answer holds no more (the first event whatever its size). Before, a page was only
// bounded by its count: 500 events of 100 KB were more than a node takes in a response
// by default, and the member asked for the same page for good.
TEST_F(RoomTest, ACatchUpAnswerHoldsNoMoreBytesThanTheMemberAsksFor) {
  catchup_max_bytes_ = 8000;  // two of the texts below, not three
  restart_rooms({c_});
  auto room = room_of_three();
  swallow_dispatches_to(*c_);
  for (int i = 0; i < 9; ++i) send(*b_, room, "bob", std::to_string(i) + std::string(3000, 'x'));
  net_.intercept = nullptr;
  send(*a_, room, alice, "did everyone get that?");
  auto all = sequenced(*a_, room);
  ASSERT_EQ(all.size(), 13u);
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
  // Seqs 4 to 12 two at a time: five answers (three at four a page without the cap).
  EXPECT_GE(since_requests(a_->url), 5u);
  auto page = [&](uint64_t max_bytes) {
    auto events = ask<std::string>(a_->rooms, since_atom::value, std::string{"c.example"}, room,
                                   uint64_t{3}, uint32_t{0}, max_bytes);
    EXPECT_TRUE(events.value) << describe(events.error);
    return json::parse(events.value.value_or("[]")).size();
  };
  EXPECT_EQ(page(0), 4u);  // the count alone (catchup_batch here)
  EXPECT_EQ(page(8000), 2u);
  EXPECT_EQ(page(1), 1u);  // the first event comes whatever its size
  // The host's own cap (transport.batch_max_bytes) bounds an answer asked without one,
  // and a page of rooms.history.
  settings_.batch_max_bytes = 8000;
  restart_rooms({a_});
  EXPECT_EQ(page(0), 2u);
  auto history = ask<std::string>(a_->rooms, history_atom::value, room, uint64_t{3}, uint32_t{100});
  ASSERT_TRUE(history.value) << describe(history.error);
  EXPECT_EQ(json::parse(*history.value).size(), 2u);
}

TEST_F(RoomTest, AGapWaitsForTheTransactionInFlightBeforeAskingTheHost) {
  gap_grace_ = 1000ms;
  restart_rooms({c_});
  auto room = room_of_three();
  // The host's transaction to C with one event is held back (A gets a receipt), and the
  // next one reaches C first: C sees a gap.
  hold_next_dispatch_to(*c_);
  send_across_a_gap(room, "late", "early");
  ASSERT_TRUE(held_.has_value());
  EXPECT_EQ(info(*c_, room)["last_seq"], 3);
  auto asked_before = since_requests();
  // Within the grace the late transaction arrives and fills the gap: nobody asks the host.
  pass(500ms);
  EXPECT_EQ(since_requests(), asked_before);
  deliver_held_to(*c_);
  EXPECT_EQ(info(*c_, room)["last_seq"], 5);
  pass(1000ms);
  EXPECT_EQ(since_requests(), asked_before);
  // A gap that stays is asked for once the grace has passed, and not before.
  swallow_dispatches_to(*c_);
  send_across_a_gap(room, "lost", "shows the gap");
  EXPECT_EQ(info(*c_, room)["last_seq"], 5);
  expect_one_catchup_after(1000ms, asked_before);
  EXPECT_EQ(info(*c_, room)["last_seq"], 7);
  EXPECT_EQ(sequenced(*c_, room), from_seq(sequenced(*a_, room), 3));
}

TEST_F(RoomTest, AGapThatCameSinceTheRoomMovedOnHasAGraceOfItsOwn) {
  gap_grace_ = 1000ms;
  restart_rooms({c_});
  auto room = room_of_three();
  // One of the host's transactions to C at a time is held back, so the next reaches C
  // first.
  auto asked_before = since_requests();
  hold_next_dispatch_to(*c_);
  send_across_a_gap(room, "late 1", "early 1");
  EXPECT_EQ(info(*c_, room)["last_seq"], 3);
  // The first gap fills within its grace, and another opens.
  pass(600ms);
  deliver_held_to(*c_);
  EXPECT_EQ(info(*c_, room)["last_seq"], 5);
  hold_next_dispatch_to(*c_);
  send_across_a_gap(room, "late 2", "early 2");
  EXPECT_EQ(info(*c_, room)["last_seq"], 5);
  // The check due for the first gap finds the second, 400 ms old: the room moved on since,
  // so nobody asks the host, and the second gap fills in its own grace.
  pass(400ms);
  EXPECT_EQ(since_requests(), asked_before);
  pass(500ms);
  deliver_held_to(*c_);
  EXPECT_EQ(info(*c_, room)["last_seq"], 7);
  // A gap that stays (its transaction lost, 500 ms before the next check) is asked for
  // at the first check that finds the room where the check before left it.
  swallow_dispatches_to(*c_);
  send_across_a_gap(room, "lost", "shows the gap");
  EXPECT_EQ(info(*c_, room)["last_seq"], 7);
  // 500 ms on, the check finds the room moved on since the second gap; a grace later the
  // room has not moved, and asks.
  pass(500ms);
  EXPECT_EQ(since_requests(), asked_before);
  expect_one_catchup_after(1000ms, asked_before);
  EXPECT_EQ(info(*c_, room)["last_seq"], 9);
  EXPECT_EQ(sequenced(*c_, room), from_seq(sequenced(*a_, room), 3));
}

TEST_F(RoomTest, ARestartedMemberLeavesTheRestToTheHostsQueueWhileTheQueueBringsEvents) {
  gap_grace_ = 1000ms;
  restart_rooms({c_});
  auto room = room_of_three();
  // A's transactions to C are held (A gets receipts): they stand for A's queue to C, which
  // the test delivers below as a queue that drains after C's restart would.
  std::vector<outbound_request> held;
  net_.intercept = [this, &held](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.base_url != c_->url || req.path != dispatch_path) return std::nullopt;
    held.push_back(req);
    return swallowed(*c_, req);
  };
  for (int i = 0; i < 16; ++i) send(*a_, room, alice, "m" + std::to_string(i));
  ASSERT_EQ(held.size(), 16u);  // seqs 4 to 19, one a transaction
  EXPECT_EQ(info(*c_, room)["last_seq"], 3);
  auto deliver = [this, &held](size_t i) {
    caf::anon_send(c_->inbound, dispatch_atom::value, testing::header_of(held[i], origin_header),
                   testing::header_of(held[i], version_header), held[i].body);
  };
  // The event of held[i] handed to C's rooms alone (the path of anything but a run).
  auto deliver_alone = [this, &held](size_t i) {
    auto t = decode_transaction(*box_between(*a_, *c_).open(held[i].body));
    ASSERT_TRUE(t && t->events.size() == 1);
    auto reply = ask<event_result>(c_->rooms, apply_atom::value, std::string{"a.example"},
                                   t->events.front());
    ASSERT_TRUE(reply.value) << describe(reply.error);
    EXPECT_TRUE(reply.value->accepted) << reply.value->reason;
  };
  // C restarts while the host cannot be asked, and the queue brings seq 4.
  bool host_up = false;
  bool brought = false;
  net_.intercept = [&](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.path != since_path) return std::nullopt;
    if (!host_up) return inbound_reply{503, R"({"success":false,"error":"down"})"};
    // The host answers the retry (four events a round); while that round is under way the
    // queue brings the events of seqs 5 to 11.
    if (!brought)
      for (size_t i = 1; i < 8; ++i) deliver(i);
    brought = true;
    return std::nullopt;
  };
  restart_rooms({c_});
  deliver(0);
  sched_->run();
  EXPECT_EQ(info(*c_, room)["last_seq"], 4);
  host_up = true;
  auto asked_before = since_requests(a_->url);
  pass(settings_.backoff_initial);
  net_.intercept = nullptr;
  ASSERT_TRUE(brought);
  EXPECT_EQ(info(*c_, room)["last_seq"], 11);
  // The answer was full, but the queue brought events meanwhile: the rest is left to it.
  EXPECT_EQ(since_requests(a_->url), asked_before + 1);
  // In the next grace it brings four new events (one by the path of a lone event), as
  // many as a catch-up answer holds: the room waits on.
  for (size_t i = 8; i < 11; ++i) deliver(i);
  sched_->run();
  deliver_alone(11);
  EXPECT_EQ(info(*c_, room)["last_seq"], 15);
  pass(1000ms);
  EXPECT_EQ(since_requests(a_->url), asked_before + 1);
  // In the grace after it, one new event and three it had: fewer than an answer holds,
  // so the room asks the host, which has the rest.
  deliver(12);
  sched_->run();
  for (size_t i = 8; i < 11; ++i) deliver_alone(i);
  pass(1000ms);
  EXPECT_EQ(since_requests(a_->url), asked_before + 2);
  EXPECT_EQ(info(*c_, room)["last_seq"], 19);
  // What the queue still brings is applied once.
  for (size_t i = 13; i < held.size(); ++i) deliver(i);
  sched_->run();
  EXPECT_EQ(sequenced(*c_, room), from_seq(sequenced(*a_, room), 3));
  // With nothing more to bring, nobody asks again.
  pass(5000ms);
  EXPECT_EQ(since_requests(a_->url), asked_before + 2);
}

TEST_F(RoomTest, HostEventsSentAgainInANewTransactionFillAForgottenGapAndApplyOnce) {
  gap_grace_ = 60s;
  restart_rooms({c_});
  auto room = room_of_three();
  // The host's first transaction to C is swallowed, the second reaches C, which holds its
  // event back behind the gap (accepting it) and then restarts, forgetting what it held.
  // The host cannot be asked: only the resends can fill the gap.
  std::vector<transaction> to_c;
  auto key = box_between(*a_, *c_);
  net_.intercept = [&](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.path == since_path) return inbound_reply{503, R"({"success":false,"error":"down"})"};
    if (req.base_url != c_->url || req.path != dispatch_path) return std::nullopt;
    to_c.push_back(*decode_transaction(*key.open(req.body)));
    if (to_c.size() == 1) return swallowed(*c_, req);
    return std::nullopt;
  };
  send(*b_, room, "bob", "late");
  send(*b_, room, "bob", "early");
  ASSERT_EQ(to_c.size(), 2u);
  auto before = info(*c_, room)["last_seq"].get<uint64_t>();
  restart_rooms({c_});
  ASSERT_EQ(info(*c_, room)["last_seq"], before);
  // The host sends both again in a transaction of its own, and then once more.
  auto resend = [&] {
    transaction t;
    t.id = make_transaction_id("a.example");
    t.origin = "a.example";
    t.destination = "c.example";
    t.created_ms = unix_ms_now();
    for (const auto& held : to_c)
      t.events.insert(t.events.end(), held.events.begin(), held.events.end());
    auto reply = ask<inbound_reply>(c_->inbound, dispatch_atom::value, std::string{"a.example"},
                                    std::string{"1"}, key.seal(encode_transaction(t)));
    ASSERT_TRUE(reply.value) << describe(reply.error);
    ASSERT_EQ(reply.value->status, 200);
    auto r = decode_receipt(*key.open(reply.value->body));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->results.size(), t.events.size());
    for (const auto& result : r->results) EXPECT_TRUE(result.accepted) << result.reason;
  };
  resend();
  EXPECT_EQ(info(*c_, room)["last_seq"], before + 2);
  resend();
  net_.intercept = nullptr;
  EXPECT_EQ(info(*c_, room)["last_seq"], before + 2);
  EXPECT_EQ(sequenced(*c_, room), from_seq(sequenced(*a_, room), 3));
}

TEST_F(RoomTest, AMemberLogsAHostEventAsItCameWhereItsEndIsCertainAndWritesItAgainOtherwise) {
  auto room = room_of_three();
  std::vector<transaction> to_c;
  auto key = box_between(*a_, *c_);
  net_.intercept = [&](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.base_url != c_->url || req.path != dispatch_path) return std::nullopt;
    to_c.push_back(*decode_transaction(*key.open(req.body)));
    return swallowed(*c_, req);
  };
  send(*a_, room, alice, "kept as it came");
  send(*a_, room, alice, "written again");
  ASSERT_EQ(to_c.size(), 2u);
  ASSERT_EQ(to_c[0].events.size(), 1u);
  ASSERT_EQ(to_c[1].events.size(), 1u);
  // A member ignores a field it does not know; that shows which text its log holds. The
  // first message keeps the envelope's shape, the second gets a member more, so where its
  // event ends is not certain without parsing it.
  auto with_extra = [](std::string message) {
    message.insert(message.rfind(R"(},"id":")"), R"(,"zz_unknown":1)");
    return message;
  };
  auto first = with_extra(to_c[0].events[0]);
  auto second = with_extra(to_c[1].events[0]);
  second.insert(second.size() - 1, R"(,"note":"x")");
  transaction t;
  t.id = make_transaction_id("a.example");
  t.origin = "a.example";
  t.destination = "c.example";
  t.created_ms = unix_ms_now();
  t.events = {first, second};
  net_.intercept = nullptr;
  auto reply = ask<inbound_reply>(c_->inbound, dispatch_atom::value, std::string{"a.example"},
                                  std::string{"1"}, key.seal(encode_transaction(t)));
  ASSERT_TRUE(reply.value) << describe(reply.error);
  ASSERT_EQ(reply.value->status, 200);
  auto seq = info(*c_, room)["last_seq"].get<uint64_t>();
  auto logged = [&](uint64_t n) {
    auto value = c_->store->get(storage::column::room_log, storage::sequenced_key(room, n));
    return value && *value ? **value : std::string{};
  };
  auto first_event = first.substr(9, first.rfind(R"(,"id":")") - 9);
  EXPECT_EQ(logged(seq - 1), first_event);
  auto second_parsed = read_room_message(second).event;
  ASSERT_TRUE(second_parsed && *second_parsed);
  EXPECT_EQ(logged(seq), encode_event(**second_parsed));
  EXPECT_EQ(logged(seq).find("zz_unknown"), std::string::npos);
  // Both show to the local server as any message does.
  auto inbox = room_inbox(*c_, room);
  ASSERT_GE(inbox.size(), 2u);
  EXPECT_EQ(inbox[inbox.size() - 2]["text"], "kept as it came");
  EXPECT_EQ(inbox.back()["text"], "written again");
  EXPECT_EQ(inbox.back().count("zz_unknown"), 0u);
}

TEST_F(RoomTest, SubmissionsAreMarkedForDedupButAMemberMarksNoneOfTheHostsEvents) {
  auto room = room_of_three();
  auto from_b = accepted(*b_, room, "message.sent", "bob", {{"text", "from a member"}}, "b-1");
  auto from_a = accepted(*a_, room, "message.sent", alice, {{"text", "from the host"}}, "a-1");
  // Without an id from the chat server: the node makes the event id.
  auto made_b = send(*b_, room, "bob", "made at a member");
  auto made_a = send(*a_, room, alice, "made at the host");
  // Each member has every event from its own invitation on, the messages among them.
  auto all = sequenced(*a_, room);
  ASSERT_EQ(all.size(), 7u);
  ASSERT_EQ(sequenced(*b_, room), from_seq(all, 2));
  ASSERT_EQ(sequenced(*c_, room), from_seq(all, 3));
  auto marked = [](const test_node& n, const std::string& message_id) {
    auto mark = n.store->get(storage::column::dedup, room_message_key(message_id));
    EXPECT_TRUE(mark) << describe(mark.error());
    return mark && mark->has_value();
  };
  // A submission with the chat server's id stays idempotent: the node that made it marks
  // it, and the host marks every submission a member sent, whatever its id.
  EXPECT_TRUE(marked(*a_, submit_message_id(room, from_a)));
  EXPECT_TRUE(marked(*a_, submit_message_id(room, from_b)));
  EXPECT_TRUE(marked(*b_, submit_message_id(room, from_b)));
  EXPECT_TRUE(marked(*a_, submit_message_id(room, made_b)));
  // An id the node made cannot come again from its chat server, nor from a peer (an event
  // id names its origin's domain): no mark where it was made.
  EXPECT_FALSE(marked(*a_, submit_message_id(room, made_a)));
  EXPECT_FALSE(marked(*b_, submit_message_id(room, made_b)));
  // The events the host sent its members are dropped by seq when they come again (the
  // resend tests above), so a member keeps no mark per event.
  for (const auto* member : {b_, c_})
    for (const auto& id : {from_a, from_b, made_a, made_b})
      EXPECT_FALSE(marked(*member, event_message_id(room, id))) << member->domain << " " << id;
}

TEST_F(RoomTest, TheEventNextInLineFindsRoomWhenTheRoomHoldsTheMostEventsAhead) {
  auto room = room_of_three();
  auto last = info(*c_, room)["last_seq"].get<uint64_t>();
  auto from_host = [&](uint64_t seq) {
    return event_message(signed_event(*a_, room, event_type::message_sent, "alice@a.example",
                                      {{"text", "t"}}, "h" + std::to_string(seq), seq));
  };

  auto deliver = [&](uint64_t first, uint64_t count) {
    std::vector<std::string> texts, rooms;
    for (uint64_t seq = first; seq < first + count; ++seq) {
      texts.push_back(from_host(seq));
      rooms.push_back(room);
    }
    auto reply = ask<std::vector<event_result>>(c_->rooms, apply_atom::value,
                                                std::string{"a.example"}, texts, rooms);
    ASSERT_TRUE(reply.value) << describe(reply.error);
  };
  // 10,000 events after a gap of one: more than the room keeps ahead (max_ahead, 8192).
  deliver(last + 2, 10'000);
  EXPECT_EQ(info(*c_, room)["last_seq"], last);
  // The missing one arrives: it is kept (the furthest is dropped for it), and everything
  // kept behind it is applied.
  deliver(last + 1, 1);
  EXPECT_EQ(info(*c_, room)["last_seq"], last + 8192);
  auto seqs = sequenced(*c_, room);
  EXPECT_EQ(seqs.back().substr(0, seqs.back().find(' ')), std::to_string(last + 8192));
  // The host has none of the events C dropped (the test made them up): its empty answer
  // ends the asking, where a gap it cannot fill would be asked for with backoff for good.
  pass(settings_.backoff_max);
  pass(settings_.backoff_max);
  auto asked = since_requests();
  for (int i = 0; i < 5; ++i) pass(settings_.backoff_max);
  EXPECT_EQ(since_requests(), asked);
}

TEST_F(RoomTest, EventsDroppedPastTheLimitAheadAreFetchedWhenNothingComesAfterThem) {
  max_ahead_ = 4;
  gap_grace_ = 60s;
  restart_rooms({c_});
  auto room = room_of_three();
  // The host's next eleven events to C are acknowledged for C and kept, not delivered.
  std::vector<std::string> to_c;
  auto key = box_between(*a_, *c_);
  net_.intercept = [&](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.base_url != c_->url || req.path != dispatch_path) return std::nullopt;
    auto t = decode_transaction(*key.open(req.body));
    to_c.insert(to_c.end(), t->events.begin(), t->events.end());
    return swallowed(*c_, req);
  };
  for (int i = 0; i < 11; ++i) send(*a_, room, alice, "m" + std::to_string(i));
  net_.intercept = nullptr;
  ASSERT_EQ(to_c.size(), 11u);
  auto dispatch_to_c = [&](std::vector<std::string> events) {
    transaction t;
    t.id = make_transaction_id("a.example");
    t.origin = "a.example";
    t.destination = "c.example";
    t.created_ms = unix_ms_now();
    t.events = std::move(events);
    auto reply = ask<inbound_reply>(c_->inbound, dispatch_atom::value, std::string{"a.example"},
                                    std::string{"1"}, key.seal(encode_transaction(t)));
    ASSERT_TRUE(reply.value) << describe(reply.error);
    ASSERT_EQ(reply.value->status, 200);
  };
  auto before = info(*c_, room)["last_seq"].get<uint64_t>();
  auto asked = since_requests();
  auto asked_by_c = metrics_of(*c_)->catchup_requests.load();
  // All but the first reach C: it holds four of them behind the gap and drops six.
  dispatch_to_c({to_c.begin() + 1, to_c.end()});
  EXPECT_EQ(info(*c_, room)["last_seq"], before);
  // The first comes, the furthest held event making room for it: C applies it and the
  // three held behind it, and holds nothing any more. The host has nothing more to send,
  // yet C still misses the seven it dropped, and asks for them once the gap has stayed
  // two graces.
  dispatch_to_c({to_c.front()});
  EXPECT_EQ(info(*c_, room)["last_seq"], before + 4);
  EXPECT_EQ(since_requests(), asked);
  pass(60s);
  pass(60s);
  EXPECT_GT(since_requests(), asked);
  EXPECT_EQ(info(*c_, room)["last_seq"], before + 11);
  // What the node's metrics say: the seven dropped, and C's requests for them.
  EXPECT_EQ(metrics_of(*c_)->dropped_ahead.load(), 7u);
  EXPECT_EQ(metrics_of(*c_)->catchup_requests.load() - asked_by_c, since_requests() - asked);
  EXPECT_EQ(sequenced(*c_, room), from_seq(sequenced(*a_, room), 3));
}

TEST_F(RoomTest, CatchUpRetriesWithBackoffUntilTheHostAnswers) {
  auto room = room_of_three();
  // C misses an event, and the host cannot be asked for a while.
  net_.intercept = [this](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.base_url == c_->url && req.path == dispatch_path) return swallowed(*c_, req);
    if (req.path == since_path) return inbound_reply{503, "busy"};
    return std::nullopt;
  };
  send(*b_, room, "bob", "lost");
  net_.intercept = [](const outbound_request& req) -> std::optional<inbound_reply> {
    if (req.path == since_path) return inbound_reply{503, "busy"};
    return std::nullopt;
  };
  send(*b_, room, "bob", "shows the gap");
  EXPECT_EQ(info(*c_, room)["last_seq"], 3);
  auto before = since_requests();
  pass(settings_.backoff_initial);
  EXPECT_EQ(since_requests(), before + 1);  // the first retry after backoff_initial
  net_.intercept = nullptr;
  pass(2 * settings_.backoff_initial);
  EXPECT_EQ(info(*c_, room)["last_seq"], 5);
  EXPECT_EQ(sequenced(*c_, room), from_seq(sequenced(*a_, room), 3));
}

TEST_F(RoomTest, AServerSpeaksOnlyForItsOwnUsers) {
  auto room = room_of_three("public");
  // B submits in carol's name, signed by B.
  auto forged =
      signed_event(*b_, room, event_type::message_sent, carol_at_c, {{"text", "I am carol"}}, "f1");
  inject_submit(*b_, forged);
  auto refusals = rejections(*b_, room);
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0]["event_id"], forged.id);
  EXPECT_EQ(refusals[0]["reason"], "user carol@c.example is not of origin b.example");
  // A signature that does not hold.
  auto tampered =
      signed_event(*b_, room, event_type::message_sent, bob_at_b, {{"text", "original"}}, "t1");
  tampered.content["text"] = "changed";
  inject_submit(*b_, tampered);
  refusals = rejections(*b_, room);
  ASSERT_EQ(refusals.size(), 2u);
  EXPECT_EQ(refusals[1]["event_id"], tampered.id);
  EXPECT_EQ(refusals[1]["reason"], "bad signature");
  // Nothing of it reached the room.
  EXPECT_EQ(sequenced(*a_, room).size(), 3u);
  EXPECT_TRUE(rejections(*c_, room).empty());
}

TEST_F(RoomTest, AMemberRefusesAForgedEventFromTheHost) {
  auto room = room_of_three();
  // A host that relays an event of carol's it made up itself.
  auto fake = signed_event(*a_, room, event_type::message_sent, carol_at_c, {{"text", "x"}}, "x1");
  fake.origin = "c.example";
  fake.id = "x1:c.example";
  fake.seq = 4;
  enqueue(*a_, "b.example", {event_message(fake)});
  sched_->run();
  EXPECT_EQ(info(*b_, room)["last_seq"], 3);
  auto real = send(*c_, room, "carol", "the real one");
  EXPECT_EQ(room_inbox(*b_, room).back()["event_id"], real);
  EXPECT_EQ(sequenced(*b_, room), from_seq(sequenced(*a_, room), 2));
}

// An event signed with a key its origin had before (its federation.keys names it, signed
// by its current key) is taken; the origin is asked for them seldom, however many events
// with bad signatures come.
TEST_F(RoomTest, AMemberTakesAnEventSignedWithAPreviousKeyOfItsOriginAndAsksForThemSeldom) {
  auto room = room_of_three();
  auto old_c = crypto::identity::generate();
  int asked = 0;
  serve_previous_keys_of_c(old_c, asked);
  enqueue(*a_, "b.example", {event_message(carols(room, old_c, "old", 4))});
  sched_->run();
  EXPECT_EQ(info(*b_, room)["last_seq"], 4);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(room_inbox(*b_, room).back()["text"], "old");

  // Events no key of carol's signed: refused, and the keys are not asked for again soon.
  for (int i = 0; i < 3; ++i) {
    enqueue(*a_, "b.example",
            {event_message(
                carols(room, crypto::identity::generate(), "forged" + std::to_string(i), 5))});
    sched_->run();
  }
  EXPECT_EQ(info(*b_, room)["last_seq"], 4);
  EXPECT_EQ(asked, 1);
  pass(std::chrono::minutes{11});
  enqueue(*a_, "b.example",
          {event_message(carols(room, crypto::identity::generate(), "later", 5))});
  sched_->run();
  EXPECT_EQ(info(*b_, room)["last_seq"], 4);
  EXPECT_EQ(asked, 2);
  net_.intercept = nullptr;
}

// The rooms of a node share what an origin's federation.keys said: a host that shares
// many rooms with the node cannot make it ask the origin once per room. Two rooms that
// meet such events in one transaction ask once between them (the second, should it come
// while the first asks, is answered "unavailable" and comes again), and a third room
// later asks nothing.
TEST_F(RoomTest, TheRoomsOfANodeAskAnOriginForItsPreviousKeysOnce) {
  std::vector<std::string> rooms{room_of_three(), room_of_three(), room_of_three()};
  auto old_c = crypto::identity::generate();
  int asked = 0;
  serve_previous_keys_of_c(old_c, asked);
  enqueue(*a_, "b.example",
          {event_message(carols(rooms[0], old_c, "first", 4)),
           event_message(carols(rooms[1], old_c, "second", 4))});
  sched_->run();
  pass(4 * settings_.backoff_max);
  EXPECT_EQ(asked, 1);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(info(*b_, rooms[i])["last_seq"], 4) << "room " << i;
    EXPECT_EQ(room_inbox(*b_, rooms[i]).back()["text"], i == 0 ? "first" : "second");
  }
  enqueue(*a_, "b.example", {event_message(carols(rooms[2], old_c, "third", 4))});
  sched_->run();
  EXPECT_EQ(info(*b_, rooms[2])["last_seq"], 4);
  EXPECT_EQ(asked, 1);
  net_.intercept = nullptr;
}

TEST_F(RoomTest, OnlyTheHostSendsARoomsEventsAndState) {
  auto room = room_of_three();
  // B pretends to sequence the host's room for C.
  auto e = signed_event(*b_, room, event_type::message_sent, bob_at_b, {{"text", "x"}}, "p1");
  e.seq = 4;
  enqueue(*b_, "c.example", {event_message(e), state_message(room, 9, json::object())});
  // And submits to C, which does not host the room.
  enqueue(*b_, "c.example", {submit_message(e)});
  sched_->run();
  EXPECT_EQ(refusals_, (std::vector<std::string>{"c.example " + event_message_id(room, e.id) +
                                                     ": only the host a.example sends room " + room,
                                                 "c.example " + state_message_id(room, 9) +
                                                     ": only the host a.example sends room " + room,
                                                 "c.example " + submit_message_id(room, e.id) +
                                                     ": c.example does not host room " + room}));
  EXPECT_EQ(info(*c_, room)["last_seq"], 3);
  // Nothing of it counts: the next real event goes on from seq 3.
  auto real = send(*b_, room, "bob", "real");
  EXPECT_EQ(room_inbox(*c_, room).back()["event_id"], real);
  EXPECT_EQ(room_inbox(*c_, room).back()["seq"], 4);
}

TEST_F(RoomTest, SubmittingAnIdTwiceChangesNothing) {
  auto room = room_of_three();
  auto first = accepted(*a_, room, "message.sent", alice, {{"text", "once"}}, "local-1");
  EXPECT_EQ(first, "local-1:a.example");
  EXPECT_EQ(accepted(*a_, room, "message.sent", alice, {{"text", "twice"}}, "local-1"), first);
  auto from_b = accepted(*b_, room, "message.sent", "bob", {{"text", "once"}}, "b-1");
  EXPECT_EQ(from_b, "b-1:b.example");
  EXPECT_EQ(accepted(*b_, room, "message.sent", "bob", {{"text", "twice"}}, "b-1"), from_b);
  auto all = sequenced(*a_, room);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3], "4 message.sent " + first);
  EXPECT_EQ(all[4], "5 message.sent " + from_b);
  EXPECT_EQ(sequenced(*c_, room), from_seq(all, 3));
  // The same submission resent by B's server (say after a crash) is not sequenced again.
  auto e = signed_event(*b_, room, event_type::message_sent, bob_at_b, {{"text", "once"}}, "b-2");
  inject_submit(*b_, e);
  inject_submit(*b_, e);
  EXPECT_EQ(sequenced(*a_, room).size(), 6u);
  EXPECT_TRUE(rejections(*b_, room).empty());
}

TEST_F(RoomTest, BadLocalSubmissionsAreBadRequests) {
  auto room = room_of_three();
  auto bad = [&](test_node& n, const std::string& r, const std::string& type,
                 const std::string& user, json content) {
    auto reply = submit(n, r, type, user, std::move(content));
    EXPECT_FALSE(reply.value);
    return reply.error;
  };
  EXPECT_EQ(bad(*a_, room, "message.shouted", alice, {{"text", "x"}}),
            caf::make_error(errc::bad_request));
  EXPECT_EQ(bad(*a_, room, "message.sent", alice, json::object()),
            caf::make_error(errc::bad_request));
  EXPECT_EQ(bad(*a_, room, "message.sent", "bob@b.example", {{"text", "x"}}),
            caf::make_error(errc::bad_request));
  EXPECT_EQ(bad(*a_, room, "room.created", alice, {{"name", "x"}, {"room_type", "public"}}),
            caf::make_error(errc::bad_request));
  EXPECT_EQ(bad(*a_, "0123456789abcdef0123456789abcdef:a.example", "message.sent", alice,
                {{"text", "x"}}),
            caf::make_error(errc::not_found));
  EXPECT_EQ(bad(*b_, "0123456789abcdef0123456789abcdef:a.example", "message.sent", "bob",
                {{"text", "x"}}),
            caf::make_error(errc::not_found));
  auto created = ask<std::string>(a_->rooms, create_atom::value, std::string{"x"},
                                  std::string{"secret"}, alice);
  EXPECT_EQ(created.error, caf::make_error(errc::bad_request));
  auto no_info = ask<std::string>(a_->rooms, info_atom::value, std::string{"nope"});
  EXPECT_EQ(no_info.error, caf::make_error(errc::not_found));
}

TEST_F(RoomTest, ARemoteUserJoinsAPublicRoomWithoutAReplica) {
  auto room = create(*a_, "lobby", "public", alice);
  accepted(*b_, room, "user.joined", "bob");
  EXPECT_EQ(info(*b_, room)["members"]["bob"], "member");
  EXPECT_EQ(info(*a_, room)["members"][bob_at_b], "member");
  send(*b_, room, "bob", "hello lobby");
  EXPECT_EQ(sequenced(*b_, room), from_seq(sequenced(*a_, room), 2));
  // A private room is not joined so.
  auto closed = create(*a_, "staff", "private", alice);
  EXPECT_TRUE(submit(*c_, closed, "user.joined", "carol").value);  // C cannot check: no replica
  auto refusals = rejections(*c_, closed);
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0]["reason"], "the room is invite only");
}

TEST_F(RoomTest, DirectChatsAreReusedForTheSamePair) {
  auto opened = ask<std::string>(a_->rooms, dm_atom::value, alice, bob_at_b);
  ASSERT_TRUE(opened.value) << describe(opened.error);
  auto room = *opened.value;
  EXPECT_EQ(domain_of_id(room), "a.example");
  auto again = ask<std::string>(a_->rooms, dm_atom::value, alice, bob_at_b);
  EXPECT_EQ(again.value, room);
  // Bob's server finds the same room from its side.
  auto from_b = ask<std::string>(b_->rooms, dm_atom::value, std::string{"bob"},
                                 std::string{"alice@a.example"});
  EXPECT_EQ(from_b.value, room);
  EXPECT_EQ(info(*b_, room)["type"], "direct");
  EXPECT_EQ(info(*b_, room)["members"], (json{{"alice@a.example", "owner"}, {"bob", "member"}}));
  send(*b_, room, "bob", "hi alice");
  EXPECT_EQ(room_inbox(*a_, room).back()["text"], "hi alice");
  EXPECT_EQ(refused(*a_, room, "user.invited", alice, {{"target", carol_at_c}}),
            "no invites in a direct room");
  auto self_chat = ask<std::string>(a_->rooms, dm_atom::value, alice, std::string{"alice"});
  EXPECT_EQ(self_chat.error, caf::make_error(errc::bad_request));
  auto local = ask<std::string>(a_->rooms, dm_atom::value, alice, std::string{"dave"});
  ASSERT_TRUE(local.value);
  EXPECT_NE(*local.value, room);
  EXPECT_EQ(info(*a_, *local.value)["members"], (json{{"alice", "owner"}, {"dave", "member"}}));
}

TEST_F(RoomTest, CatchUpIsOnlyForMemberServers) {
  auto room = create(*a_, "general", "private", alice);
  accepted(*a_, room, "user.invited", alice, {{"target", bob_at_b}});
  auto as = [&](const std::string& origin) {
    return ask<std::string>(a_->rooms, since_atom::value, origin, room, uint64_t{0}, uint32_t{0},
                            uint64_t{0});
  };
  auto for_b = as("b.example");
  ASSERT_TRUE(for_b.value) << describe(for_b.error);
  auto events = json::parse(*for_b.value);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["seq"], 1);
  EXPECT_TRUE(events[0].contains("sig"));
  auto for_c = as("c.example");
  EXPECT_EQ(for_c.error, caf::make_error(errc::rejected));
  EXPECT_EQ(detail_of(for_c.error), "not a member server");
  // Over the wire: C asks through its key and gets 403.
  auto key = box_between(*c_, *a_);
  auto reply =
      ask<inbound_reply>(a_->inbound, since_atom::value, std::string{"c.example"}, std::string{"1"},
                         key.seal(json{{"room_id", room}, {"after", 0}}.dump()));
  ASSERT_TRUE(reply.value);
  EXPECT_EQ(reply.value->status, 403);
  auto unknown = ask<std::string>(a_->rooms, since_atom::value, std::string{"b.example"},
                                  std::string{"0123456789abcdef0123456789abcdef:a.example"},
                                  uint64_t{0}, uint32_t{0}, uint64_t{0});
  EXPECT_EQ(unknown.error, caf::make_error(errc::not_found));
}

TEST_F(RoomTest, AReplicaLoadedAtStartAsksForWhatItMissed) {
  auto room = room_of_three();
  // C goes down, and what A queued for it meanwhile is lost.
  stop(caf::actor_cast<caf::actor>(c_->rooms));
  swallow_dispatches_to(*c_);
  send(*a_, room, alice, "while c was away");
  send(*b_, room, "bob", "me too");
  net_.intercept = nullptr;
  // C comes back: its room manager starts the replica, which asks the host at once.
  c_->rooms = keep(spawn_room_manager(*sys_, room_context_of(*c_)));
  stop(caf::actor_cast<caf::actor>(c_->inbound));
  start_inbound(*c_);
  sched_->run();
  EXPECT_EQ(info(*c_, room)["last_seq"], 5);
  EXPECT_EQ(sequenced(*c_, room), from_seq(sequenced(*a_, room), 3));
}

TEST_F(RoomTest, RestartedRoomsGoOnFromTheLastSeqInTheirLog) {
  auto room = room_of_three();
  // Messages leave the stored state value at seq 3; only the log knows seqs 4 to 6.
  for (const auto* text : {"one", "two", "three"}) send(*a_, room, alice, text);
  ASSERT_EQ(info(*b_, room)["last_seq"], 6);
  restart_rooms({a_, b_});
  EXPECT_EQ(info(*a_, room)["last_seq"], 6);
  EXPECT_EQ(info(*b_, room)["last_seq"], 6);
  // The host neither reuses a seq nor skips one, and the member applies the next in line.
  auto next = send(*a_, room, alice, "four");
  auto at_a = sequenced(*a_, room);
  ASSERT_EQ(at_a.size(), 7u);
  EXPECT_EQ(at_a.back(), "7 message.sent " + next);
  EXPECT_EQ(sequenced(*b_, room), from_seq(at_a, 2));
  EXPECT_EQ(sequenced(*c_, room), from_seq(at_a, 3));
}

TEST_F(RoomTest, ABatchOfSubmissionsGetsOneResultEachInOrder) {
  auto room = room_of_three("broadcast");
  auto other = create(*a_, "other", "private", alice);
  auto msg = [](const std::string& room_id, const std::string& user, const std::string& text,
                const std::string& id = "") {
    return local_submission{room_id, "message.sent", user, json{{"text", text}}.dump(), id};
  };
  std::vector<local_submission> batch{
      msg(room, alice, "first", "k1"),
      msg(room, "bob", "bob may not post here"),  // not a user of a.example: not a member
      msg(other, alice, "in another room"),
      msg(room, alice, "again", "k1"),  // the same id: answered, not sequenced twice
      msg("nope:a.example", alice, "no such room"),
      msg(room, alice, "last"),
  };
  auto reply = ask<std::vector<event_result>>(a_->rooms, submit_atom::value, batch);
  ASSERT_TRUE(reply.value) << describe(reply.error);
  const auto& results = *reply.value;
  ASSERT_EQ(results.size(), 6u);
  EXPECT_TRUE(results[0].accepted);
  EXPECT_EQ(results[0].id, "k1:a.example");
  EXPECT_FALSE(results[1].accepted);
  EXPECT_NE(results[1].reason.find("not a member"), std::string::npos) << results[1].reason;
  EXPECT_TRUE(results[2].accepted);
  EXPECT_TRUE(results[3].accepted);
  EXPECT_EQ(results[3].id, "k1:a.example");
  EXPECT_FALSE(results[4].accepted);
  EXPECT_NE(results[4].reason.find("no such room"), std::string::npos) << results[4].reason;
  EXPECT_TRUE(results[5].accepted);
  auto at_a = sequenced(*a_, room);
  ASSERT_EQ(at_a.size(), 5u);
  EXPECT_EQ(at_a[3], "4 message.sent k1:a.example");
  EXPECT_EQ(at_a[4], "5 message.sent " + results[5].id);
  EXPECT_EQ(sequenced(*b_, room), from_seq(at_a, 2));
  EXPECT_EQ(sequenced(*c_, room), from_seq(at_a, 3));
  EXPECT_EQ(sequenced(*a_, other).back(), "2 message.sent " + results[2].id);
  // A member's batch goes to the host and comes back sequenced, in order.
  accepted(*a_, room, "role.changed", alice, {{"target", bob_at_b}, {"role", "moderator"}});
  auto from_b = ask<std::vector<event_result>>(
      b_->rooms, submit_atom::value,
      std::vector<local_submission>{msg(room, "bob", "b1"), msg(room, "bob", "b2")});
  ASSERT_TRUE(from_b.value) << describe(from_b.error);
  ASSERT_EQ(from_b.value->size(), 2u);
  auto tail = from_seq(sequenced(*c_, room), 7);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0], "7 message.sent " + (*from_b.value)[0].id);
  EXPECT_EQ(tail[1], "8 message.sent " + (*from_b.value)[1].id);
}

TEST_F(RoomTest, SingleSubmissionsThatArriveTogetherShareOneAppendAndOneSignature) {
  auto room = room_of_three("broadcast");
  auto appends = [&] {
    auto count = std::make_shared<uint64_t>(0);
    sys_->spawn([count, j = a_->journal](caf::event_based_actor* self) {
      self->request(j, caf::infinite, stats_atom::value).then([count](uint64_t, uint64_t a) {
        *count = a;
      });
    });
    sched_->run();
    return *count;
  };
  auto single = [&](const std::string& user, const std::string& text) {
    return request<std::string>(
        a_->rooms, submit_atom::value,
        local_submission{room, "message.sent", user, json{{"text", text}}.dump(), ""});
  };
  auto before = appends();
  // All in the mailbox before the room runs: two singles, a refused one, a batch, one more.
  auto s1 = single(alice, "one");
  auto s2 = single(alice, "two");
  auto refused_one = single("bob", "bob may not post here");
  auto batch = request<std::vector<event_result>>(
      a_->rooms, submit_atom::value,
      std::vector<local_submission>{
          {room, "message.sent", alice, json{{"text", "batched"}}.dump(), ""}});
  auto s3 = single(alice, "three");
  sched_->run();
  ASSERT_TRUE(s1->value && s2->value && s3->value && batch->value);
  ASSERT_TRUE(refused_one->done);
  EXPECT_FALSE(refused_one->value);
  EXPECT_NE(detail_of(refused_one->error).find("not a member"), std::string::npos);
  // The singles before the batch went in one append, the batch in its own, the last single
  // in a third: the batch kept its place between them.
  EXPECT_EQ(appends() - before, 3u);
  auto at_a = sequenced(*a_, room);
  ASSERT_GE(at_a.size(), 4u);
  auto last4 = std::vector<std::string>(at_a.end() - 4, at_a.end());
  EXPECT_NE(last4[0].find(*s1->value), std::string::npos);
  EXPECT_NE(last4[1].find(*s2->value), std::string::npos);
  EXPECT_NE(last4[2].find((*batch->value)[0].id), std::string::npos);
  EXPECT_NE(last4[3].find(*s3->value), std::string::npos);
  // The first two carry one group signature ("b1."), the last one a plain one; the
  // members apply all four.
  auto logged = [&](const std::string& line) {
    auto seq = std::stoull(line.substr(0, line.find(' ')));
    auto raw = a_->store->get(storage::column::room_log, storage::sequenced_key(room, seq));
    EXPECT_TRUE(raw && *raw);
    return parse_event(raw && *raw ? **raw : "");
  };
  auto e1 = logged(last4[0]);
  auto e2 = logged(last4[1]);
  auto e4 = logged(last4[3]);
  ASSERT_TRUE(e1 && e2 && e4);
  EXPECT_EQ(e1->sig.rfind("b1.", 0), 0u) << e1->sig;
  EXPECT_EQ(e2->sig.rfind("b1.", 0), 0u) << e2->sig;
  EXPECT_NE(e4->sig.rfind("b1.", 0), 0u) << e4->sig;
  EXPECT_EQ(sequenced(*b_, room), from_seq(at_a, 2));
}

// A batch across rooms is signed as one: a room alone would sign its share of one event
// with an Ed25519 signature of its own.
TEST_F(RoomTest, ABatchAcrossRoomsIsSignedTogetherAndEachEventVerifiesAlone) {
  std::vector<std::string> rooms;
  for (const char* name : {"r1", "r2", "r3"}) rooms.push_back(create(*a_, name, "public", alice));
  auto msg = [](const std::string& room_id, const std::string& text, const std::string& id = "") {
    return local_submission{room_id, "message.sent", alice, json{{"text", text}}.dump(), id};
  };
  std::vector<local_submission> batch{msg(rooms[0], "one"), msg(rooms[1], "two", "given"),
                                      msg(rooms[2], "three"), msg(rooms[0], "four"),
                                      msg("nope:a.example", "no such room")};
  auto reply = ask<std::vector<event_result>>(a_->rooms, submit_atom::value, batch);
  ASSERT_TRUE(reply.value) << describe(reply.error);
  const auto& results = *reply.value;
  ASSERT_EQ(results.size(), 5u);
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(results[i].accepted) << i << results[i].reason;
  EXPECT_EQ(results[1].id, "given:a.example");
  EXPECT_FALSE(results[4].accepted);
  std::set<std::string> signatures;
  for (size_t i = 0; i < 4; ++i) {
    auto room = batch[i].room_id;
    auto at_a = sequenced(*a_, room);
    ASSERT_FALSE(at_a.empty());
    auto line = std::find_if(at_a.begin(), at_a.end(), [&](const std::string& l) {
      return l.find(results[i].id) != std::string::npos;
    });
    ASSERT_NE(line, at_a.end()) << results[i].id;
    auto seq = std::stoull(line->substr(0, line->find(' ')));
    auto raw = a_->store->get(storage::column::room_log, storage::sequenced_key(room, seq));
    ASSERT_TRUE(raw && *raw);
    auto e = parse_event(**raw);
    ASSERT_TRUE(e) << **raw;
    EXPECT_EQ(e->sig.rfind("b1.", 0), 0u) << e->sig;
    EXPECT_EQ(e->room_id, room);
    EXPECT_EQ(verify_event(*e, a_->identity->public_key()), caf::none) << **raw;
    signatures.insert(e->sig.substr(0, e->sig.find('.', 3)));
  }
  EXPECT_EQ(signatures.size(), 1u);  // one group signature over the four
  // A member's batch across two rooms of one host: the host checks each event alone
  // against b's key, and sequences both.
  auto r1 = room_of_three("public");
  auto r2 = room_of_three("public");
  auto by_bob = [](const std::string& room_id, const std::string& text) {
    return local_submission{room_id, "message.sent", "bob", json{{"text", text}}.dump(), ""};
  };
  auto from_b = ask<std::vector<event_result>>(
      b_->rooms, submit_atom::value,
      std::vector<local_submission>{by_bob(r1, "to r1"), by_bob(r2, "to r2")});
  ASSERT_TRUE(from_b.value) << describe(from_b.error);
  ASSERT_EQ(from_b.value->size(), 2u);
  EXPECT_EQ(sequenced(*a_, r1).back(), "4 message.sent " + (*from_b.value)[0].id);
  EXPECT_EQ(sequenced(*a_, r2).back(), "4 message.sent " + (*from_b.value)[1].id);
  EXPECT_EQ(sequenced(*c_, r2).back(), "4 message.sent " + (*from_b.value)[1].id);
}

// A state that names only the room's most recent authors (a room.state of a long room)
// leaves the authors a member knew as they were: before, each known author the state did
// not name was marked deleted.
TEST_F(RoomTest, AStateWithTheMostRecentAuthorsOnlyLeavesTheAuthorsAMemberKnew) {
  auto room = room_of_three("public");
  auto old = send(*a_, room, alice, "old");
  const auto edit_of_old = json{{"target", old}, {"text", "x"}};
  EXPECT_EQ(refused(*c_, room, "message.edited", "carol", edit_of_old),
            "only the author may edit a message");
  auto state = stored_state(*a_, room);
  state["authors"] = json::object();
  state["authors_complete"] = false;
  auto seq = info(*a_, room)["last_seq"].get<uint64_t>() + 1;
  auto got = ask<event_result>(c_->rooms, apply_atom::value, std::string{"a.example"},
                               state_message(room, seq, state));
  ASSERT_TRUE(got.value && got.value->accepted) << describe(got.error);
  EXPECT_EQ(refused(*c_, room, "message.edited", "carol", edit_of_old),
            "only the author may edit a message");
  // A message it never heard of is left to the host.
  auto unknown = submit(*c_, room, "reaction.set", "carol",
                        {{"target", "0123456789abcdef:a.example"}, {"emoji", "x"}});
  EXPECT_TRUE(unknown.value) << describe(unknown.error);
}

// A room stops when the journal fails, as its state in memory is then ahead of the disk;
// everyone who was waiting on it still gets an answer, not a timeout.
TEST_F(RoomTest, WhenTheJournalFailsEveryWaitingCallerIsAnsweredBeforeTheRoomStops) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  auto& d = add_failing_node(fail);
  auto room_id = create(d, "failing", "broadcast", alice);
  ASSERT_FALSE(room_id.empty());
  auto logged_before = sequenced(d, room_id).size();
  // The room's own actor, watched: what ended it, and how many callers had no answer then.
  auto room = spawn_room(*sys_, room_context_of(d), room_id);
  sched_->run();
  std::vector<std::shared_ptr<reply_slot<std::string>>> singles;
  auto stopped = std::make_shared<std::optional<caf::error>>();
  auto unanswered_then = std::make_shared<size_t>(0);
  keep(sys_->spawn(
      [room, stopped, unanswered_then, &singles](caf::event_based_actor* self) -> caf::behavior {
        self->monitor(room);
        self->set_down_handler([=, &singles](caf::down_msg& msg) {
          *stopped = msg.reason;
          for (const auto& s : singles) *unanswered_then += s->done ? 0 : 1;
        });
        return {[](int) {}};  // stays until the fixture stops it
      }));
  auto single = [&](const std::string& text) {
    singles.push_back(request<std::string>(
        room, submit_atom::value,
        local_submission{room_id, "message.sent", alice, json{{"text", text}}.dump(), ""}));
    return singles.back();
  };
  fail->store(true);
  // All in the mailbox at once: three appends are in flight when the first fails.
  auto s1 = single("one");
  auto batch = request<std::vector<event_result>>(
      room, submit_atom::value,
      std::vector<local_submission>{
          {room_id, "message.sent", alice, json{{"text", "batched"}}.dump(), ""}});
  auto s2 = single("two");
  sched_->run();
  for (auto* slot : {s1.get(), s2.get()}) {
    ASSERT_TRUE(slot->done);
    EXPECT_FALSE(slot->value);
    EXPECT_TRUE(slot->error);
  }
  // A batch answers each event: refused, with the reason.
  ASSERT_TRUE(batch->done);
  ASSERT_TRUE(batch->value) << describe(batch->error);
  ASSERT_EQ(batch->value->size(), 1u);
  EXPECT_FALSE((*batch->value)[0].accepted);
  EXPECT_NE((*batch->value)[0].reason.find("write"), std::string::npos)
      << (*batch->value)[0].reason;
  // The room stopped with the journal's error, after the last answer; nothing was logged.
  ASSERT_TRUE(stopped->has_value());
  EXPECT_EQ(**stopped, caf::make_error(errc::storage_failed)) << describe(**stopped);
  EXPECT_EQ(*unanswered_then, 0u);
  EXPECT_EQ(sequenced(d, room_id).size(), logged_before);
}

TEST_F(RoomTest, AResendWhileItsFirstCopyIsBeingWrittenSharesThatWritesOutcome) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  auto& d = add_failing_node(fail);
  auto room_id = create(d, "lobby", "public", alice);
  ASSERT_FALSE(room_id.empty());
  auto room = spawn_room(*sys_, room_context_of(d), room_id);
  // A first submission from B, so B's key is known and the copies below run back to back.
  auto warm_up =
      request<event_result>(room, apply_atom::value, std::string{"b.example"},
                            submit_message(signed_event(*b_, room_id, event_type::user_joined,
                                                        "bert@b.example", json::object(), "j0")));
  sched_->run();
  ASSERT_TRUE(warm_up->value && warm_up->value->accepted) << describe(warm_up->error);
  fail->store(true);
  // All in the mailbox at once, each message twice: the second copy comes while the
  // first one's append is in flight, and that append fails.
  auto message = [&](const std::string& id) {
    return local_submission{room_id, "message.sent", alice, json{{"text", id}}.dump(), id};
  };
  auto single = request<std::string>(room, submit_atom::value, message("s1"));
  auto single_again = request<std::string>(room, submit_atom::value, message("s1"));
  auto batch = request<std::vector<event_result>>(
      room, submit_atom::value, std::vector<local_submission>{message("b1"), message("b1")});
  auto joined = signed_event(*b_, room_id, event_type::user_joined, bob_at_b, json::object(), "j1");
  auto submitted = request<event_result>(room, apply_atom::value, std::string{"b.example"},
                                         submit_message(joined));
  auto submitted_again = request<event_result>(room, apply_atom::value, std::string{"b.example"},
                                               submit_message(joined));
  sched_->run();
  // No copy is acknowledged: the sender keeps each message and sends it again.
  for (auto* slot : {single.get(), single_again.get()}) {
    ASSERT_TRUE(slot->done);
    EXPECT_FALSE(slot->value) << *slot->value;
  }
  ASSERT_TRUE(batch->done);
  ASSERT_TRUE(batch->value) << describe(batch->error);
  ASSERT_EQ(batch->value->size(), 2u);
  for (const auto& result : *batch->value) EXPECT_FALSE(result.accepted) << result.id;
  for (auto* slot : {submitted.get(), submitted_again.get()}) {
    ASSERT_TRUE(slot->done);
    EXPECT_FALSE(slot->value && slot->value->accepted);
    EXPECT_TRUE(slot->error);
  }
}

/// A journal in front of `real` that refuses the next append once `armed` is set, as the
/// journal refuses an entry it cannot take and goes on with the next.
journal_actor::behavior_type refusing_journal(journal_actor::pointer self, journal_actor real,
                                              std::shared_ptr<bool> armed) {
  return {
      [=](append_atom, journal_entry& entry) -> caf::result<std::vector<uint64_t>> {
        if (*armed) {
          *armed = false;
          return caf::make_error(errc::bad_request, "refused by the test");
        }
        return self->delegate(real, append_atom::value, std::move(entry));
      },
      [=](stats_atom) -> caf::result<uint64_t, uint64_t> {
        return self->delegate(real, stats_atom::value);
      },
  };
}

TEST_F(RoomTest, ARunIsAnsweredOnlyOnceTheAppendOfAnEventOfItSeenBeforeIsOnDisk) {
  auto room_id = room_of_three();
  auto last_seq = info(*c_, room_id)["last_seq"].get<uint64_t>();
  // C's replica, writing through a journal that refuses the first append, and takes the
  // next: the run's own append succeeds after the one holding its first event failed.
  auto armed = std::make_shared<bool>(true);
  auto ctx = room_context_of(*c_);
  ctx.journal = keep(sys_->spawn(refusing_journal, c_->journal, armed));
  auto room = spawn_room(*sys_, ctx, room_id);
  sched_->run();
  auto first = signed_event(*a_, room_id, event_type::message_sent, alice + "@a.example",
                            {{"text", "first"}}, "r1", last_seq + 1);
  auto second = signed_event(*a_, room_id, event_type::message_sent, alice + "@a.example",
                             {{"text", "second"}}, "r2", last_seq + 2);
  auto alone = request<event_result>(room, apply_atom::value, std::string{"a.example"},
                                     event_message(first));
  auto run = request<std::vector<event_result>>(
      room, apply_atom::value, std::string{"a.example"},
      std::vector<std::string>{event_message(first), event_message(second)});
  sched_->run();
  ASSERT_TRUE(alone->done);
  EXPECT_TRUE(alone->error);
  // The run holds the first event, which is not on disk: no event of it is acknowledged.
  ASSERT_TRUE(run->done);
  EXPECT_FALSE(run->value) << "acknowledged a run whose first event was refused";
  EXPECT_TRUE(run->error);
}

TEST_F(RoomTest, ARefusalOfTheRoomManagerSentTwiceIsAcknowledgedOnlyOnceItIsOnDisk) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  auto& d = add_failing_node(fail);
  // A submission to a room D would host but does not have: the manager queues the refusal
  // for B. Twice at once, while that append fails.
  auto e = signed_event(*b_, "0123456789abcdef0123456789abcdef:d.example", event_type::message_sent,
                        bob_at_b, {{"text", "x"}}, "n1");
  fail->store(true);
  auto first = request<event_result>(d.rooms, apply_atom::value, std::string{"b.example"},
                                     submit_message(e));
  auto again = request<event_result>(d.rooms, apply_atom::value, std::string{"b.example"},
                                     submit_message(e));
  sched_->run();
  for (auto* slot : {first.get(), again.get()}) {
    ASSERT_TRUE(slot->done);
    EXPECT_FALSE(slot->value) << slot->value->id;
    EXPECT_TRUE(slot->error);
  }
}

TEST_F(RoomTest, AMemberAcknowledgesAHostEventSentTwiceOnlyOnceItIsOnDisk) {
  auto room_id = room_of_three();
  auto fail = std::make_shared<std::atomic<bool>>(false);
  auto& d = add_failing_node(fail);
  // D holds a replica of A's room from its state, as a member server would.
  auto state = stored_state(*a_, room_id);
  auto last_seq = info(*a_, room_id)["last_seq"].get<uint64_t>();
  auto room = spawn_room(*sys_, room_context_of(d), room_id);
  auto from_host = [&](const std::string& text) {
    return request<event_result>(room, apply_atom::value, std::string{"a.example"}, text);
  };
  auto loaded = from_host(state_message(room_id, last_seq, state));
  sched_->run();
  ASSERT_TRUE(loaded->value && loaded->value->accepted) << describe(loaded->error);
  fail->store(true);
  auto e = signed_event(*a_, room_id, event_type::message_sent, alice + "@a.example",
                        {{"text", "twice"}}, "t1", last_seq + 1);
  auto first = from_host(event_message(e));
  auto again = from_host(event_message(e));
  auto in_a_run =
      request<std::vector<event_result>>(room, apply_atom::value, std::string{"a.example"},
                                         std::vector<std::string>{event_message(e)});
  sched_->run();
  for (auto* slot : {first.get(), again.get()}) {
    ASSERT_TRUE(slot->done);
    EXPECT_FALSE(slot->value && slot->value->accepted);
    EXPECT_TRUE(slot->error);
  }
  ASSERT_TRUE(in_a_run->done);
  EXPECT_FALSE(in_a_run->value);
  EXPECT_TRUE(in_a_run->error);
}

TEST_F(RoomTest, AuthorsComeFromTheStoreAfterARestartAndReachAJoiningServer) {
  auto room = create(*a_, "general", "public", alice);
  accepted(*a_, room, "user.invited", alice, {{"target", bob_at_b}});
  auto by_alice = send(*a_, room, alice, "mine");
  auto by_bob = send(*b_, room, "bob", "his");
  auto gone = send(*a_, room, alice, "soon deleted");
  accepted(*a_, room, "message.deleted", alice, {{"target", gone}});
  restart_rooms({a_, b_});
  accepted(*a_, room, "message.edited", alice, {{"target", by_alice}, {"text", "edited"}});
  EXPECT_EQ(refused(*a_, room, "message.edited", alice, {{"target", by_bob}, {"text", "x"}}),
            "only the author may edit a message");
  EXPECT_EQ(refused(*b_, room, "reaction.set", "bob", {{"target", gone}, {"emoji", "x"}}),
            "no such message " + gone);
  // C joins later: the snapshot it gets names the authors, so its replica judges as well.
  accepted(*a_, room, "user.invited", alice, {{"target", carol_at_c}});
  EXPECT_EQ(refused(*c_, room, "message.edited", "carol", {{"target", by_bob}, {"text", "x"}}),
            "only the author may edit a message");
  EXPECT_EQ(refused(*c_, room, "message.deleted", "carol", {{"target", gone}}),
            "no such message " + gone);
  accepted(*c_, room, "reaction.set", "carol", {{"target", by_alice}, {"emoji", "y"}});
}

}  // namespace
}  // namespace fedrelay::actors
