// The inbound actor. Each dispatch is two steps: ask discovery for the origin's key (the
// only asynchronous part), then open, check, deduplicate and apply in one go, so two
// dispatches of the same transaction can never both pass the dedup check.
#include "actors/inbound_actor.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/logger.hpp"
#include "actors/transaction.hpp"
#include "crypto/sealing.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {

std::string dedup_transaction_key(std::string_view origin, std::string_view transaction_id) {
  std::string key = "t";
  key.push_back('\0');
  key.append(origin);
  key.push_back('\0');
  key.append(transaction_id);
  return key;
}

std::string dedup_event_key(std::string_view event_id) {
  std::string key = "e";
  key.push_back('\0');
  key.append(event_id);
  return key;
}

namespace {

using json = nlohmann::json;
using reply_promise = caf::typed_response_promise<inbound_reply>;

struct cached_key {
  std::string public_key;  // raw, as discovery gave it
  crypto::box_key key;
};

struct inbound_state {
  inbound_options options;
  inbound_ports ports;
  std::unordered_map<std::string, cached_key> keys;
  std::unordered_map<std::string, caf::actor_clock::time_point> refreshed;
  uint64_t next_cursor = 0;  // 0: not read from the store yet
  static inline const char* name = "inbound";
};

using inbound_pointer = inbound_actor::stateful_pointer<inbound_state>;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
  crypto::public_key peer{};
  if (public_key.size() != peer.size())
    return caf::make_error(errc::bad_key_record, "discovery gave a key of " +
                                                     std::to_string(public_key.size()) + " bytes");
  std::copy(public_key.begin(), public_key.end(), peer.begin());
  auto key = crypto::box_key::derive(*st.options.identity, peer);
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

[[nodiscard]] caf::expected<uint64_t> next_cursor(inbound_pointer self) {
  auto& st = self->state;
  if (st.next_cursor != 0) return st.next_cursor;
  auto last = st.ports.store->last_in_range(storage::column::inbox, "", "");
  if (!last) return last.error();
  uint64_t cursor = 1;
  if (*last) cursor = storage::decode_u64((*last)->first).value_or(0) + 1;
  st.next_cursor = cursor;
  return cursor;
}

inbound_reply storage_failure(const std::string& origin, const caf::error& err) {
  log()->error("dispatch from {}: {}", origin, describe(err));
  return failure(503, "storage failed on the receiving node");
}

/// Checks and applies an opened transaction; every outcome is an HTTP answer.
inbound_reply apply(inbound_pointer self, const std::string& origin, const crypto::box_key& key,
                    const std::string& plaintext) {
  auto& st = self->state;
  auto& store = *st.ports.store;
  auto txn = decode_transaction(plaintext);
  if (!txn) {
    log()->warn("dispatch from {}: {}", origin, describe(txn.error()));
    return failure(400, detail_of(txn.error()));
  }
  if (!speaks(txn->version)) return unsupported_version(std::to_string(txn->version));
  if (txn->origin != origin)
    return failure(
        403, "transaction origin " + txn->origin + " does not match the origin header " + origin);
  if (txn->destination != st.options.own_domain)
    return failure(
        403, "transaction is for " + txn->destination + ", this node is " + st.options.own_domain);
  auto skew = std::chrono::milliseconds{unix_ms() - txn->created_ms};
  if (skew > st.options.clock_skew || -skew > st.options.clock_skew)
    return failure(422, "transaction time outside the accepted window");
  auto txn_key = dedup_transaction_key(origin, txn->id);
  auto stored = store.get(storage::column::dedup, txn_key);
  if (!stored) return storage_failure(origin, stored.error());
  if (*stored) return {200, key.seal(**stored)};
  auto cursor = next_cursor(self);
  if (!cursor) return storage_failure(origin, cursor.error());
  storage::write_batch batch;
  receipt r;
  r.transaction_id = txn->id;
  std::unordered_set<std::string> applied_here;
  uint64_t next = *cursor;
  for (const auto& text : txn->events) {
    // decode_transaction checked that each event is an object with a string id.
    auto event = json::parse(text, nullptr, false);
    auto id = event["id"].get<std::string>();
    r.results.push_back(event_result{id, true, {}});
    if (applied_here.count(id) > 0) continue;
    auto event_key = dedup_event_key(id);
    auto seen = store.get(storage::column::dedup, event_key);
    if (!seen) return storage_failure(origin, seen.error());
    if (*seen) continue;
    event["origin"] = origin;
    batch.put(storage::column::inbox, storage::encode_u64(next++),
              event.dump(-1, ' ', false, json::error_handler_t::replace));
    batch.put(storage::column::dedup, event_key, txn->id);
    applied_here.insert(std::move(id));
  }
  auto encoded = encode_receipt(r);
  batch.put(storage::column::dedup, txn_key, encoded);
  if (auto err = store.write(batch, storage::durability::synced))
    return storage_failure(origin, err);
  if (next != *cursor) {
    st.next_cursor = next;
    if (st.ports.inbox_listener)
      caf::anon_send(st.ports.inbox_listener, inbox_atom::value, next - 1);
  }
  return {200, key.seal(encoded)};
}

void open_from(inbound_pointer self, std::string origin, std::shared_ptr<const std::string> body,
               reply_promise promise, bool refreshed) {
  auto& st = self->state;
  self->request(st.ports.discovery, st.options.lookup_timeout, resolve_atom::value, origin)
      .then(
          [self, origin, body, promise, refreshed](peer_record& rec) mutable {
            auto& st = self->state;
            auto key = key_for(self, origin, rec.public_key);
            if (!key) {
              promise.deliver(failure(503, origin + ": " + detail_of(key.error())));
              return;
            }
            auto plaintext = key->open(*body);
            if (plaintext) {
              promise.deliver(apply(self, origin, *key, *plaintext));
              return;
            }
            if (!refreshed && may_refresh(self, origin)) {
              // Perhaps the origin rotated its key: forget what discovery cached, ask again.
              auto retry = [self, origin, body, promise]() mutable {
                open_from(self, origin, body, promise, true);
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
            log()->info("dispatch from {}: cannot resolve it: {}", origin, describe(err));
            promise.deliver(failure(503, "cannot resolve " + origin + ": " + detail_of(err)));
          });
}

inbound_actor::behavior_type inbound(inbound_pointer self, inbound_options options,
                                     inbound_ports ports) {
  self->state.options = std::move(options);
  self->state.ports = std::move(ports);
  return {
      [self](dispatch_atom, std::string& origin, const std::string& version,
             std::string& body) -> caf::result<inbound_reply> {
        auto& st = self->state;
        if (!speaks(version)) return unsupported_version(version);
        if (origin.empty())
          return failure(400, "missing " + std::string{origin_header} + " header");
        if (st.options.allowed && !st.options.allowed(origin))
          return failure(403, origin + " may not federate with " + st.options.own_domain);
        auto promise = self->make_response_promise<inbound_reply>();
        open_from(self, std::move(origin), std::make_shared<const std::string>(std::move(body)),
                  promise, false);
        return promise;
      },
  };
}

}  // namespace

inbound_actor spawn_inbound(caf::actor_system& sys, inbound_options options, inbound_ports ports,
                            bool detached) {
  if (detached) return sys.spawn<caf::detached>(inbound, std::move(options), std::move(ports));
  return sys.spawn(inbound, std::move(options), std::move(ports));
}

}  // namespace fedrelay::actors
