// The inbound actor. Each dispatch is three steps: ask discovery for the origin's key,
// open and check the transaction, then hand its new events to the room manager and store
// the receipt once every answer is in. A transaction being applied is kept in memory, so a
// replay that arrives meanwhile waits for the same receipt instead of applying it again.
#include "actors/inbound_actor.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "actors/log_budget.hpp"
#include "actors/logger.hpp"
#include "actors/request_auth.hpp"
#include "actors/stored_receipts.hpp"
#include "actors/transaction.hpp"
#include "actors/wall_clock.hpp"
#include "crypto/raw_key.hpp"
#include "crypto/sealing.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {

std::string dedup_event_key(std::string_view event_id) {
  return storage::joined_key({"e", event_id});
}

namespace {

using json = nlohmann::json;

using reply_promise = caf::typed_response_promise<inbound_reply>;

struct cached_key {
  std::string public_key;  // raw, as discovery gave it
  crypto::box_key key;
};

/// A transaction whose events are with the room manager: its answers are counted as they
/// come, and a replay of the same transaction meanwhile waits for the same receipt.
struct applying {
  std::string origin;
  std::string txn_key;
  crypto::box_key key;
  receipt r;
  caf::error failure;  // the room manager did not answer one of them
  std::vector<reply_promise> promises;
  std::vector<size_t> repeats;  // results of event ids seen earlier in the transaction
};

struct inbound_state {
  inbound_options options;
  inbound_ports ports;
  std::unordered_map<std::string, cached_key> keys;
  std::unordered_map<std::string, caf::actor_clock::time_point> refreshed;
  std::unordered_map<std::string, std::shared_ptr<applying>> in_flight;  // by txn_key
  // Requests from origins that cannot be resolved: anyone can send them, naming made-up
  // domains, so their lines in the log are bounded.
  log_budget unresolved_lines{10, std::chrono::seconds(60)};
  static inline const char* name = "inbound";
};

using inbound_pointer = inbound_actor::stateful_pointer<inbound_state>;

inbound_reply failure(uint16_t status, const std::string& message) {
  json body = {{"success", false}, {"error", message}};
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

inbound_reply unsupported_version(const std::string& version) {
  json body = {{"success", false},
               {"error", "unsupported protocol version " + (version.empty() ? "(none)" : version)},
               {"versions", supported_versions}};
  return {400, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

bool speaks(uint32_t version) {
  return std::find(supported_versions.begin(), supported_versions.end(), version) !=
         supported_versions.end();
}

bool speaks(const std::string& header) {
  if (header.empty() || header.size() > 9) return false;
  if (!std::all_of(header.begin(), header.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  return speaks(static_cast<uint32_t>(std::stoul(header)));
}

[[nodiscard]] caf::expected<crypto::box_key> key_for(inbound_pointer self,
                                                     const std::string& origin,
                                                     const std::string& public_key) {
  auto& st = self->state;
  if (auto i = st.keys.find(origin); i != st.keys.end() && i->second.public_key == public_key)
    return i->second.key;
  if (public_key.size() != crypto::public_key{}.size())
    return caf::make_error(errc::bad_key_record, "discovery gave a key of " +
                                                     std::to_string(public_key.size()) + " bytes");
  auto key = crypto::box_key::derive(*st.options.identity, crypto::public_key_of_raw(public_key));
  if (!key) return key.error();
  st.keys.insert_or_assign(origin, cached_key{public_key, *key});
  return key;
}

/// Whether the origin's key may be looked up afresh now (at most once per interval).
bool may_refresh(inbound_pointer self, const std::string& origin) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto i = st.refreshed.find(origin);
  if (i != st.refreshed.end() && now - i->second < st.options.refresh_interval) return false;
  st.refreshed[origin] = now;
  return true;
}

inbound_reply storage_failure(const std::string& origin, const caf::error& err) {
  log()->error("dispatch from {}: {}", origin, describe(err));
  return failure(503, "storage failed on the receiving node");
}

/// Every answer is in: stores the receipt, and answers the dispatch and any replay that
/// waited for it.
/// Gives each repeat of an event id in one transaction (`repeats`, indices of `results`) the
/// result of its first copy, the one the rooms were handed: a receipt that accepts and
/// refuses the same id would leave the sender to guess. Repeats are rare; each finds its
/// first copy by a walk.
void same_result_for_repeats(std::vector<event_result>& results,
                             const std::vector<size_t>& repeats) {
  for (auto i : repeats) {
    auto first = std::find_if(results.begin(), results.begin() + static_cast<ptrdiff_t>(i),
                              [&](const event_result& r) { return r.id == results[i].id; });
    results[i].accepted = first->accepted;
    results[i].reason = first->reason;
  }
}

void finish(inbound_pointer self, const std::shared_ptr<applying>& a) {
  auto& st = self->state;
  same_result_for_repeats(a->r.results, a->repeats);
  st.in_flight.erase(a->txn_key);
  auto answer = [&a](const inbound_reply& reply) {
    for (auto& p : a->promises) p.deliver(reply);
  };
  if (a->failure) {
    // Nothing is stored: the sender retries the whole transaction, and what the rooms
    // took already is deduplicated by them.
    log()->warn("dispatch from {}: {}", a->origin, describe(a->failure));
    answer(failure(503, "the rooms could not take the events now: " + detail_of(a->failure)));
    return;
  }
  // Only the receipt: a message's mark (dedup_event_key) is the room's, written in the
  // synced append that applied it, and a sequenced event needs none (its room drops every
  // seq it applied). Writing marks here cost a put per event, and marked events a room
  // had only held back for a gap, which a resend then could not bring.
  storage::write_batch batch;
  auto encoded = encode_receipt(a->r);
  batch.put(storage::column::receipts, a->txn_key, stored_receipt_value(encoded, unix_ms_now()));
  // Not synced: the rooms' appends are, so a receipt lost with the machine only makes a
  // resent transaction reach the rooms again, which answer from their logs (by seq) and
  // marks. A second fsync per transaction on the receiving side bought nothing but latency.
  if (auto err = st.ports.store->write(batch, storage::durability::buffered)) {
    answer(storage_failure(a->origin, err));
    return;
  }
  // A receipt lets the sender forget the events: with storage.sync = "periodic" what the
  // rooms applied must be on disk first (a no-op otherwise, their appends were synced).
  if (auto err = st.ports.store->make_durable()) {
    answer(storage_failure(a->origin, err));
    return;
  }
  answer({200, a->key.seal(encoded)});
}

/// Checks an opened transaction and hands its new events to the room manager; every
/// outcome is an HTTP answer.
void apply(inbound_pointer self, const std::string& origin, const crypto::box_key& key,
           const std::string& plaintext, reply_promise promise) {
  auto& st = self->state;
  auto& store = *st.ports.store;
  auto txn = decode_transaction(plaintext, plaintext.capacity());
  if (!txn) {
    log()->warn("dispatch from {}: {}", origin, describe(txn.error()));
    promise.deliver(failure(400, detail_of(txn.error())));
    return;
  }
  if (!speaks(txn->version)) {
    promise.deliver(unsupported_version(std::to_string(txn->version)));
    return;
  }
  if (txn->origin != origin) {
    promise.deliver(failure(
        403, "transaction origin " + txn->origin + " does not match the origin header " + origin));
    return;
  }
  if (txn->destination != st.options.own_domain) {
    promise.deliver(failure(
        403, "transaction is for " + txn->destination + ", this node is " + st.options.own_domain));
    return;
  }
  if (!within_skew(unix_ms_now(), txn->created_ms, st.options.clock_skew)) {
    promise.deliver(failure(422, "transaction time outside the accepted window"));
    return;
  }
  auto txn_key = transaction_receipt_key(origin, txn->id);
  if (auto i = st.in_flight.find(txn_key); i != st.in_flight.end()) {
    i->second->promises.push_back(promise);
    return;
  }
  auto stored = stored_receipt(store, txn_key);
  if (!stored) {
    promise.deliver(storage_failure(origin, stored.error()));
    return;
  }
  if (*stored) {
    // Stored may not yet mean on disk (storage.sync = "periodic"), see finish.
    if (auto err = store.make_durable()) {
      promise.deliver(storage_failure(origin, err));
      return;
    }
    promise.deliver(inbound_reply{200, key.seal(**stored)});
    return;
  }
  auto a = std::make_shared<applying>(applying{origin, txn_key, key, {}, {}, {}, {}});
  a->r.transaction_id = txn->id;
  a->promises.push_back(promise);
  // One request for the whole transaction: the room manager hands each room its share in
  // one message, so a room applies a run of events in one append.
  std::vector<std::string> texts;
  std::vector<std::string> rooms;
  std::vector<size_t> indices;
  std::unordered_set<std::string> seen_here;
  for (size_t i = 0; i < txn->events.size(); ++i) {
    const auto& id = txn->event_ids[i];
    a->r.results.push_back(event_result{id, true, {}});
    if (!seen_here.insert(id).second) {
      a->repeats.push_back(i);
      continue;
    }
    // A sequenced event (event_rooms names its room) needs no lookup: its room drops every
    // seq it applied, and one of a room the sender does not host is refused. Saves a store
    // read per event of the bulk of the traffic.
    if (txn->event_rooms[i].empty()) {
      auto seen = store.get(storage::column::dedup, dedup_event_key(id));
      if (!seen) {
        promise.deliver(storage_failure(origin, seen.error()));
        return;
      }
      if (*seen) continue;
    }
    texts.push_back(std::move(txn->events[i]));
    rooms.push_back(std::move(txn->event_rooms[i]));
    indices.push_back(i);
  }
  if (indices.empty()) {
    finish(self, a);
    return;
  }
  st.in_flight.emplace(txn_key, a);
  self->request(st.ports.rooms, st.options.room_timeout, apply_atom::value, origin,
                std::move(texts), std::move(rooms))
      .then(
          [self, a, indices](std::vector<event_result>& results) {
            for (size_t k = 0; k < indices.size() && k < results.size(); ++k) {
              a->r.results[indices[k]].accepted = results[k].accepted;
              a->r.results[indices[k]].reason = std::move(results[k].reason);
            }
            finish(self, a);
          },
          [self, a](caf::error& err) {
            a->failure = std::move(err);
            finish(self, a);
          });
}

/// Answers an opened catch-up request with what the room manager says.
void answer_since(inbound_pointer self, const std::string& origin, const crypto::box_key& key,
                  const std::string& plaintext, reply_promise promise) {
  auto& st = self->state;
  auto doc = parse_json(plaintext);
  auto field = [&doc](const char* name) { return doc.is_object() ? doc.find(name) : doc.end(); };
  auto room = field("room_id");
  auto after = field("after");
  auto limit = field("limit");
  auto max_bytes = field("max_bytes");
  if (!doc.is_object() || room == doc.end() || !room->is_string() || after == doc.end() ||
      !after->is_number_unsigned() ||
      (limit != doc.end() && (!limit->is_number_unsigned() ||
                              limit->get<uint64_t>() > std::numeric_limits<uint32_t>::max())) ||
      (max_bytes != doc.end() && !max_bytes->is_number_unsigned())) {
    promise.deliver(failure(400,
                            "a catch-up request is {\"room_id\": string, \"after\": "
                            "unsigned[, \"limit\": unsigned][, \"max_bytes\": unsigned]}"));
    return;
  }
  uint32_t max = limit == doc.end() ? 0 : limit->get<uint32_t>();
  uint64_t bytes = max_bytes == doc.end() ? 0 : max_bytes->get<uint64_t>();
  self->request(st.ports.rooms, st.options.room_timeout, since_atom::value, origin,
                room->get<std::string>(), after->get<uint64_t>(), max, bytes)
      .then(
          [promise, key](std::string& events) mutable {
            promise.deliver(inbound_reply{200, key.seal(events)});
          },
          [promise, origin](caf::error& err) mutable {
            if (err == errc::rejected)
              promise.deliver(failure(403, detail_of(err)));
            else if (err == errc::not_found)
              promise.deliver(failure(404, detail_of(err)));
            else
              promise.deliver(failure(503, detail_of(err)));
          });
}

using opened_fn =
    std::function<void(const crypto::box_key&, const std::string& plaintext, reply_promise)>;

void open_from(inbound_pointer self, std::string origin, std::shared_ptr<const std::string> body,
               reply_promise promise, bool refreshed, opened_fn then) {
  auto& st = self->state;
  self->request(st.ports.discovery, st.options.lookup_timeout, resolve_atom::value, origin)
      .then(
          [self, origin, body, promise, refreshed, then](peer_record& rec) mutable {
            auto& st = self->state;
            auto key = key_for(self, origin, rec.public_key);
            if (!key) {
              promise.deliver(failure(503, origin + ": " + detail_of(key.error())));
              return;
            }
            auto plaintext = key->open(*body, transaction_read_padding);
            if (plaintext) {
              then(*key, *plaintext, promise);
              return;
            }
            if (!refreshed && may_refresh(self, origin)) {
              // Perhaps the origin rotated its key: forget what discovery cached, ask again.
              auto retry = [self, origin, body, promise, then]() mutable {
                open_from(self, origin, body, promise, true, then);
              };
              self->request(st.ports.discovery, st.options.lookup_timeout, forget_atom::value,
                            origin)
                  .then([retry](bool) mutable { retry(); },
                        [retry](caf::error&) mutable { retry(); });
              return;
            }
            promise.deliver(failure(401, "body is not sealed for " + st.options.own_domain +
                                             " by the key of " + origin));
          },
          [self, origin, promise](caf::error& err) mutable {
            uint64_t held_back = 0;
            if (self->state.unresolved_lines.take(self->clock().now(), held_back))
              log()->info("request from {}: cannot resolve it: {}{}", origin, describe(err),
                          not_logged(held_back));
            promise.deliver(failure(503, "cannot resolve " + origin + ": " + detail_of(err)));
          });
}

/// The checks every request passes before its body is opened; an answer when it fails.
std::optional<inbound_reply> precheck(inbound_pointer self, const std::string& origin,
                                      const std::string& version) {
  auto& st = self->state;
  if (!speaks(version)) return unsupported_version(version);
  if (origin.empty()) return failure(400, "missing " + std::string{origin_header} + " header");
  if (st.options.allowed && !st.options.allowed(origin))
    return failure(403, origin + " may not federate with " + st.options.own_domain);
  return std::nullopt;
}

inbound_actor::behavior_type inbound(inbound_pointer self, inbound_options options,
                                     inbound_ports ports) {
  self->state.options = std::move(options);
  self->state.ports = std::move(ports);
  return {
      [self](dispatch_atom, std::string& origin, const std::string& version,
             std::string& body) -> caf::result<inbound_reply> {
        if (auto refused = precheck(self, origin, version)) return *refused;
        auto promise = self->make_response_promise<inbound_reply>();
        open_from(self, origin, std::make_shared<const std::string>(std::move(body)), promise,
                  false,
                  [self, origin](const crypto::box_key& key, const std::string& plaintext,
                                 reply_promise p) { apply(self, origin, key, plaintext, p); });
        return promise;
      },
      [self](since_atom, std::string& origin, const std::string& version,
             std::string& body) -> caf::result<inbound_reply> {
        if (auto refused = precheck(self, origin, version)) return *refused;
        auto promise = self->make_response_promise<inbound_reply>();
        open_from(
            self, origin, std::make_shared<const std::string>(std::move(body)), promise, false,
            [self, origin](const crypto::box_key& key, const std::string& plaintext,
                           reply_promise p) { answer_since(self, origin, key, plaintext, p); });
        return promise;
      },
  };
}

}  // namespace

inbound_actor spawn_inbound(caf::actor_system& sys, inbound_options options, inbound_ports ports) {
  return sys.spawn(inbound, std::move(options), std::move(ports));
}

}  // namespace fedrelay::actors
