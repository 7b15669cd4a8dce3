// A deterministic world for the peer transport and room tests: CAF's test_coordinator,
// in-process nodes with real stores, identities and static discovery, and a test transport
// that hands each outbound request to the inbound actor of the node at that URL.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/discovery_actor.hpp"
#include "actors/errc.hpp"
#include "actors/inbound_actor.hpp"
#include "actors/inbox.hpp"
#include "actors/journal_actor.hpp"
#include "actors/peer_manager_actor.hpp"
#include "actors/room_manager_actor.hpp"
#include "actors/transaction.hpp"
#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "crypto/sealing.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::actors::testing {

/// What a stand-in room manager was given: each message with the domain it came from.
struct applied_message {
  std::string origin;
  nlohmann::json message;
};

/// Stands in for a node's room manager where a test looks at the transport only: records
/// every message and accepts it, unless `refuse` names its id (id -> reason). Like the
/// rooms, it marks what it accepted in `store` (dedup_event_key), which the inbound actor
/// reads to hand no message over twice.
struct room_recorder {
  std::vector<applied_message> applied;
  std::map<std::string, std::string> refuse;
  storage::store* store = nullptr;
  /// Answers catch-up (origin, room id, after, limit, max bytes); empty: not_found.
  std::function<caf::expected<std::string>(const std::string&, const std::string&, uint64_t,
                                           uint32_t, uint64_t)>
      since;

  event_result apply(const std::string& origin, const std::string& text) {
    auto doc = nlohmann::json::parse(text);
    applied.push_back({origin, doc});
    auto id = doc.value("id", "");
    auto refused = refuse.find(id);
    if (refused != refuse.end()) return event_result{id, false, refused->second};
    if (store) {
      storage::write_batch mark;
      mark.put(storage::column::dedup, dedup_event_key(id), "recorded");
      EXPECT_FALSE(store->write(mark, storage::durability::synced));
    }
    return event_result{id, true, {}};
  }

  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& a : applied) out.push_back(a.message.value("id", ""));
    return out;
  }
};

inline room_manager_actor::behavior_type recording_rooms(room_manager_actor::pointer,
                                                         room_recorder* rec) {
  auto none = [] { return caf::make_error(errc::not_found, "no rooms in this test"); };
  return {
      [none](create_atom, const std::string&, const std::string&,
             const std::string&) -> caf::result<std::string> { return none(); },
      [none](dm_atom, const std::string&, const std::string&) -> caf::result<std::string> {
        return none();
      },
      [none](submit_atom, const local_submission&) -> caf::result<std::string> { return none(); },
      [none](submit_atom, const std::vector<local_submission>&)
          -> caf::result<std::vector<event_result>> { return none(); },
      [none](info_atom, const std::string&) -> caf::result<std::string> { return none(); },
      [](info_atom, const std::string&, const std::string&) { return false; },
      [none](history_atom, const std::string&, uint64_t, uint32_t) -> caf::result<std::string> {
        return none();
      },
      [rec](apply_atom, const std::string& origin, const std::string& text) {
        return rec->apply(origin, text);
      },
      [rec](apply_atom, const std::string& origin, const std::vector<std::string>& texts,
            const std::vector<std::string>&) {
        std::vector<event_result> out;
        for (const auto& text : texts) out.push_back(rec->apply(origin, text));
        return out;
      },
      [rec, none](since_atom, const std::string& origin, const std::string& room, uint64_t after,
                  uint32_t limit, uint64_t max_bytes) -> caf::result<std::string> {
        if (!rec->since) return none();
        auto answer = rec->since(origin, room, after, limit, max_bytes);
        if (!answer) return answer.error();
        return *answer;
      },
      [](forget_atom) { return uint32_t{0}; },
      [](rejected_atom, const std::string&, const std::string&, const std::string&,
         const std::string&) { return event_result{}; },
  };
}

/// One in-process node: its store and identity, and whichever actors a test starts.
struct test_node {
  std::string domain;
  std::string url;
  std::unique_ptr<test::temp_dir> dir;
  std::unique_ptr<storage::store> store;
  std::shared_ptr<const crypto::identity> identity;
  discovery_actor discovery;
  inbound_actor inbound;
  journal_actor journal;
  peer_manager_actor peers;
  room_manager_actor rooms;
  room_recorder recorder;  // what the stand-in room manager got, when there is one

  crypto::public_key public_key() const { return identity->public_key(); }
};

/// What the test transport does; tests flip and inspect it between runs of the scheduler.
struct test_network {
  bool down = false;                            // every request fails with errc::unavailable
  std::map<std::string, inbound_actor> routes;  // base_url -> the node's inbound actor
  std::vector<outbound_request> requests;       // every request, in order
  /// When set and returning a reply, answers instead of the route (faults, forgeries).
  std::function<std::optional<inbound_reply>(const outbound_request&)> intercept;
  /// When set and returning an error, the request fails with it before reaching the route
  /// (a timeout on a slow link).
  std::function<caf::error(const outbound_request&)> fail;
};

inline std::string header_of(const outbound_request& req, std::string_view name) {
  for (const auto& [key, value] : req.headers)
    if (key == name) return value;
  return {};
}

inline transport_actor::behavior_type test_transport(transport_actor::pointer self,
                                                     test_network* net) {
  return {
      [self, net](send_atom, outbound_request& req) -> caf::result<inbound_reply> {
        net->requests.push_back(req);
        if (net->down) return caf::make_error(errc::unavailable, "connection refused");
        if (net->fail)
          if (auto err = net->fail(req)) return err;
        if (net->intercept)
          if (auto reply = net->intercept(req)) return *reply;
        auto route = net->routes.find(req.base_url);
        if (route == net->routes.end())
          return caf::make_error(errc::unavailable, "no route to " + req.base_url);
        // The fixture's nodes never changed their keys: none to name.
        if (req.path == previous_keys_path) return inbound_reply{404, {}};
        if (req.path == since_path)
          return self->delegate(route->second, since_atom::value, header_of(req, origin_header),
                                header_of(req, version_header), std::move(req.body));
        return self->delegate(route->second, dispatch_atom::value, header_of(req, origin_header),
                              header_of(req, version_header), std::move(req.body));
      },
  };
}

/// A request's outcome, filled in when the scheduler runs.
template <class T>
struct reply_slot {
  bool done = false;
  std::optional<T> value;
  caf::error error;
};

class transport_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    transport_ = keep(sys_->spawn(test_transport, &net_));
  }

  void TearDown() override {
    for (auto& a : running_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    running_.clear();
    sched_->run();
    // Handles go before the system, stores after their actors are gone.
    transport_ = nullptr;
    rejection_sink_ = nullptr;
    net_.routes.clear();
    nodes_.clear();
    sys_.reset();
  }

  /// Remembers a long-lived actor so TearDown stops it (~actor_system waits for all).
  template <class Handle>
  Handle keep(Handle h) {
    running_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  void stop(const caf::actor& a) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched_->run();
  }

  test_node& add_node(const std::string& domain, storage::store_options store_options = {}) {
    auto node = std::make_unique<test_node>();
    node->domain = domain;
    node->url = "http://127.0.0.1:" + std::to_string(8001 + nodes_.size());
    node->dir = std::make_unique<test::temp_dir>("fedrelay-actors");
    auto store = storage::store::open(node->dir->path(), std::move(store_options));
    EXPECT_TRUE(store) << caf::to_string(store.error());
    node->store = std::move(*store);
    node->identity = std::make_shared<const crypto::identity>(crypto::identity::generate());
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }

  /// Static discovery on `node` that knows every other node added so far.
  void start_discovery(test_node& node) {
    discovery_options options;
    options.method = config::discovery_method::static_table;
    for (const auto& other : nodes_)
      if (other->domain != node.domain)
        options.static_peers.push_back(config::static_peer{
            other->domain, other->url, crypto::public_key_pem(other->public_key())});
    node.discovery = keep(spawn_discovery(*sys_, std::move(options), discovery_ports{}));
  }

  /// The node's inbound actor, handing events to node.rooms, or to a stand-in that records
  /// them in node.recorder when the node has no room manager.
  void start_inbound(test_node& node,
                     std::chrono::milliseconds clock_skew = std::chrono::minutes(5)) {
    inbound_options options;
    options.own_domain = node.domain;
    options.identity = node.identity;
    options.clock_skew = clock_skew;
    if (!node.rooms) {
      node.recorder.store = node.store.get();
      node.rooms = keep(sys_->spawn(recording_rooms, &node.recorder));
    }
    inbound_ports ports;
    ports.store = node.store.get();
    ports.discovery = node.discovery;
    ports.rooms = node.rooms;
    node.inbound = keep(spawn_inbound(*sys_, std::move(options), ports));
    net_.routes[node.url] = node.inbound;
  }

  peer_context context_of(test_node& node) {
    peer_context ctx;
    ctx.own_domain = node.domain;
    ctx.identity = node.identity;
    ctx.settings = settings_;
    ctx.store = node.store.get();
    ctx.discovery = node.discovery;
    ctx.transport = transport_;
    ctx.rejection_sink = rejection_sink_;
    ctx.rng_seed = 42;
    ctx.max_span = max_span_;
    return ctx;
  }

  /// The sending side: a peer manager and a journal that wakes it.
  void start_sender(test_node& node) {
    node.peers = keep(spawn_peer_manager(*sys_, context_of(node)));
    node.journal = keep(spawn_journal(*sys_, *node.store, node.peers));
  }

  void stop_sender(test_node& node) {
    stop(caf::actor_cast<caf::actor>(node.journal));
    stop(caf::actor_cast<caf::actor>(node.peers));
  }

  /// Sends one request from a short-lived probe actor; the slot fills when the
  /// scheduler runs.
  template <class T, class Handle, class... Ts>
  std::shared_ptr<reply_slot<T>> request(Handle h, Ts... xs) {
    auto slot = std::make_shared<reply_slot<T>>();
    sys_->spawn([slot, h, xs...](caf::event_based_actor* self) {
      self->request(h, caf::infinite, xs...)
          .then(
              [slot](T& value) {
                slot->done = true;
                slot->value = std::move(value);
              },
              [slot](caf::error& err) {
                slot->done = true;
                slot->error = std::move(err);
              });
    });
    return slot;
  }

  /// request() and run the scheduler until nothing is left to do.
  template <class T, class Handle, class... Ts>
  reply_slot<T> ask(Handle h, Ts... xs) {
    auto slot = request<T>(h, xs...);
    sched_->run();
    EXPECT_TRUE(slot->done) << "no reply";
    return *slot;
  }

  /// Queues `events` for `destination` through the node's journal; returns their seqs.
  std::vector<uint64_t> enqueue(test_node& node, const std::string& destination,
                                const std::vector<std::string>& events) {
    journal_entry entry;
    for (const auto& e : events) entry.outbound.push_back(journal_outbound{destination, e});
    auto reply = ask<std::vector<uint64_t>>(node.journal, append_atom::value, entry);
    EXPECT_TRUE(reply.value) << caf::to_string(reply.error);
    return reply.value.value_or(std::vector<uint64_t>{});
  }

  /// The node's inbox as stored, in cursor order: (cursor, event JSON), where a reference
  /// to the room log shows as {"reference": log key}.
  static std::vector<std::pair<uint64_t, nlohmann::json>> inbox_of(const test_node& node) {
    std::vector<std::pair<uint64_t, nlohmann::json>> out;
    auto err = node.store->scan(
        storage::column::inbox, "", "", 0, [&out](std::string_view key, std::string_view value) {
          auto log_key = inbox_reference(value);
          out.emplace_back(storage::decode_u64(key).value_or(0),
                           log_key ? nlohmann::json{{"reference", std::string{*log_key}}}
                                   : nlohmann::json::parse(value));
          return true;
        });
    EXPECT_FALSE(err) << caf::to_string(err);
    return out;
  }

  static size_t count_keys(const test_node& node, storage::column c) {
    size_t n = 0;
    auto err = node.store->scan(c, "", "", 0, [&n](std::string_view, std::string_view) {
      ++n;
      return true;
    });
    EXPECT_FALSE(err) << caf::to_string(err);
    return n;
  }

  /// An event JSON as the journal stores it.
  static std::string event(const std::string& id, const std::string& text = "hi") {
    return nlohmann::json{{"id", id}, {"type", "message"}, {"text", text}}.dump();
  }

  static crypto::box_key box_between(const test_node& self, const test_node& peer) {
    auto key = crypto::box_key::derive(*self.identity, peer.public_key());
    EXPECT_TRUE(key);
    return *key;
  }

  /// Due time of the earliest delayed message (retry timers), relative to now.
  std::optional<caf::timespan> next_delayed_message() const {
    auto& clock = sched_->clock();
    for (const auto& [due, event] : clock.schedule())
      if (event->subtype == caf::detail::simple_actor_clock::actor_msg_type)
        return due - clock.now();
    return std::nullopt;
  }

  caf::actor_system_config cfg_;
  test_network net_;
  std::vector<std::unique_ptr<test_node>> nodes_;
  config::transport_settings settings_;
  size_t max_span_ = member_holds_ahead;  // peer_context::max_span of the senders
  caf::actor rejection_sink_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  transport_actor transport_;
  std::vector<caf::actor> running_;
};

}  // namespace fedrelay::actors::testing
