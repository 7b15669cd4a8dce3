// The discovery actor: static table, then DNS or the Hub, with one query in flight per
// domain, answers cached for their TTL in memory and in the store (failures for the
// negative TTL, in memory only).
#include "actors/discovery_actor.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/describe.hpp"
#include "actors/discovery_cache.hpp"
#include "actors/errc.hpp"
#include "actors/log_budget.hpp"
#include "actors/logger.hpp"
#include "actors/wall_clock.hpp"
#include "crypto/pem.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using clock_type = caf::actor_clock::clock_type;
using time_point = caf::actor_clock::time_point;

struct cache_entry {
  cached_answer answer;
  time_point expires;  // on the actor clock, so tests can advance it
};

/// Expired entries are swept from the cache once it holds this many, and after that
/// whenever it has doubled since the last sweep.
constexpr size_t min_sweep_size = 1024;

struct discovery_state {
  discovery_options options;
  discovery_ports ports;
  std::unordered_map<std::string, peer_record> static_table;
  std::unordered_map<std::string, cache_entry> cache;
  // The cache's size at which expired entries are swept next (see remember).
  size_t sweep_at = min_sweep_size;
  time_point last_full_sweep{};  // when a full cache was last swept (see make_room)
  std::unordered_map<std::string, std::vector<caf::typed_response_promise<peer_record>>> pending;
  // When each domain was last forgotten (forget_atom), to bound how often that happens.
  std::unordered_map<std::string, caf::actor_clock::time_point> forgotten;
  uint64_t lookups = 0;
  uint64_t cache_hits = 0;
  std::minstd_rand rng{std::random_device{}()};
  // Lookups that fail: a federation request can name any domain, so their lines in the
  // log are bounded.
  log_budget failure_lines{10, std::chrono::seconds(60)};
  static inline const char* name = "discovery";
};

using discovery_pointer = discovery_actor::stateful_pointer<discovery_state>;

/// RFC 2782: the lowest priority wins; among equals, a weighted random pick.
const dns_srv& pick_srv(const std::vector<dns_srv>& records, std::minstd_rand& rng) {
  uint16_t best = records.front().priority;
  for (const auto& r : records) best = std::min(best, r.priority);
  std::vector<const dns_srv*> candidates;
  uint32_t total = 0;
  for (const auto& r : records) {
    if (r.priority != best) continue;
    candidates.push_back(&r);
    total += r.weight;
  }
  if (total == 0) return *candidates[rng() % candidates.size()];
  uint32_t ticket = std::uniform_int_distribution<uint32_t>{0, total - 1}(rng);
  for (const auto* r : candidates) {
    if (ticket < r->weight) return *r;
    ticket -= r->weight;
  }
  return *candidates.back();
}

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

caf::expected<peer_record> record_from_dns(const std::string& domain, const dns_records& dns,
                                           std::minstd_rand& rng) {
  auto srv_name = "_rocketchat._tcp." + domain;
  if (dns.nxdomain)
    return caf::make_error(errc::nxdomain,
                           domain + ": no such domain (NXDOMAIN for " + srv_name + ")");
  if (dns.srv.empty())
    return caf::make_error(errc::no_srv_record, domain + ": no SRV record " + srv_name);
  if (!dns.has_key)
    return caf::make_error(errc::no_key_record,
                           domain + ": no TXT record rocketchat-public-key." + domain);
  std::string joined;
  for (const auto& s : dns.key_strings) joined += s;
  auto key = crypto::parse_public_key_pem(joined);
  if (!key)
    return caf::make_error(errc::bad_key_record,
                           domain + ": rocketchat-public-key." + domain +
                               " is not a PEM Ed25519 public key: " + detail_of(key.error()));
  std::string protocol = "https";
  if (dns.has_protocol) {
    protocol = dns.protocol;
    if (protocol != "http" && protocol != "https")
      return caf::make_error(errc::bad_protocol, domain + ": rocketchat-protocol." + domain +
                                                     " is \"" + dns.protocol +
                                                     "\" (expected http or https)");
  }
  const auto& srv = pick_srv(dns.srv, rng);
  peer_record rec;
  rec.domain = domain;
  rec.protocol = protocol;
  rec.base_url = protocol + "://" + host_for_url(srv.target) + ":" + std::to_string(srv.port);
  rec.public_key.assign(reinterpret_cast<const char*>(key->data()), key->size());
  rec.ttl = dns.ttl;
  rec.source = record_source::dns;
  return rec;
}

namespace {

void sweep_expired(discovery_state& st, time_point now) {
  for (auto i = st.cache.begin(); i != st.cache.end();)
    i = i->second.expires <= now ? st.cache.erase(i) : std::next(i);
  st.sweep_at = std::max(min_sweep_size, 2 * st.cache.size());
}

/// Whether the full cache has room for one more answer: expired entries are swept (at
/// most once a second, a sweep walks the whole cache), and a record takes the place of a
/// failure, so made-up origins cannot keep real peers' answers out.
bool make_room(discovery_state& st, time_point now, bool for_record) {
  if (now - st.last_full_sweep >= std::chrono::seconds(1)) {
    st.last_full_sweep = now;
    sweep_expired(st, now);
    if (st.cache.size() < st.options.max_cached_domains) return true;
  }
  if (!for_record) return false;
  auto failure = std::find_if(st.cache.begin(), st.cache.end(),
                              [](const auto& entry) { return !entry.second.answer.record; });
  if (failure == st.cache.end()) return false;
  st.cache.erase(failure);
  return true;
}

void remember(discovery_pointer self, const std::string& domain, cached_answer answer,
              std::chrono::seconds ttl) {
  auto& st = self->state;
  ttl = std::min(ttl, st.options.max_ttl);
  answer.expires_at = unix_seconds_now() + ttl.count();
  if (answer.record) answer.record->expires_at = answer.expires_at;
  if (ttl.count() <= 0) {
    st.cache.erase(domain);
    return;
  }
  auto now = self->clock().now();
  if (st.cache.size() >= st.options.max_cached_domains && st.cache.count(domain) == 0 &&
      !make_room(st, now, answer.record.has_value()))
    return;
  // Failures are kept in memory only: anyone may name a made-up origin in a request, and
  // each would otherwise stay in the store for good. What the store holds for the domain
  // has expired (or a lookup would not have run), so a restart looks it up afresh.
  if (st.ports.store != nullptr && answer.record) {
    storage::write_batch batch;
    batch.put(storage::column::discovery, domain, encode_cached_answer(answer));
    // A lost cache entry only costs one more lookup after a crash: no fsync.
    if (auto err = st.ports.store->write(batch, storage::durability::buffered))
      log()->warn("discovery cache for {} not persisted: {}", domain, describe(err));
  }
  st.cache[domain] = cache_entry{std::move(answer), now + ttl};
  // An expired entry goes when its domain is asked for again; those of domains never asked
  // for again (a stream of made-up origins) go here, so the cache holds at most about
  // twice what lookups of the last max_ttl left, and max_cached_domains in any case.
  if (st.cache.size() >= st.sweep_at) sweep_expired(st, now);
}

void settle(discovery_pointer self, const std::string& domain,
            const caf::expected<peer_record>& result) {
  auto& st = self->state;
  auto waiting = std::move(st.pending[domain]);
  st.pending.erase(domain);
  for (auto& promise : waiting) {
    if (result)
      promise.deliver(*result);
    else
      promise.deliver(result.error());
  }
}

void finish_lookup(discovery_pointer self, const std::string& domain,
                   caf::expected<peer_record> result) {
  cached_answer answer;
  std::chrono::seconds ttl;
  if (result) {
    answer.record = *result;
    ttl = std::chrono::seconds{result->ttl};
  } else {
    answer.failure = result.error();
    ttl = self->state.options.negative_ttl;
    uint64_t held_back = 0;
    if (self->state.failure_lines.take(self->clock().now(), held_back))
      log()->info("discovery of {} failed: {}{}", domain, describe(result.error()),
                  not_logged(held_back));
  }
  remember(self, domain, std::move(answer), ttl);
  settle(self, domain, result);
}

caf::error timeout_error(const caf::error& err, const std::string& what) {
  if (err == caf::sec::request_timeout)
    return caf::make_error(errc::resolver_timeout, what + " did not answer in time");
  return err;
}

void ask_dns(discovery_pointer self, const std::string& domain) {
  auto& st = self->state;
  if (!st.ports.dns) {
    finish_lookup(self, domain, caf::make_error(errc::resolver_failed, "no DNS resolver"));
    return;
  }
  // The resolver bounds itself; the margin only guards against a resolver that died.
  auto bound = st.options.lookup_timeout + std::chrono::seconds(2);
  self->request(st.ports.dns, bound, lookup_atom::value, domain)
      .then(
          [self, domain](dns_records& dns) {
            finish_lookup(self, domain, record_from_dns(domain, dns, self->state.rng));
          },
          [self, domain](caf::error& err) {
            finish_lookup(self, domain, timeout_error(err, "DNS resolver"));
          });
}

void ask_hub(discovery_pointer self, const std::string& domain) {
  auto& st = self->state;
  if (!st.ports.hub) {
    finish_lookup(self, domain, caf::make_error(errc::resolver_failed, "no Hub configured"));
    return;
  }
  auto bound = st.options.lookup_timeout + std::chrono::seconds(2);
  self->request(st.ports.hub, bound, lookup_atom::value, domain)
      .then(
          [self, domain](peer_record& rec) {
            rec.domain = domain;
            rec.source = record_source::hub;
            finish_lookup(self, domain, std::move(rec));
          },
          [self, domain](caf::error& err) {
            finish_lookup(self, domain, timeout_error(err, "Hub"));
          });
}

/// Whether a stored answer may still be given: a record that has not expired. Nothing
/// else is worth keeping in the store: failures are not written there any more, but older
/// versions wrote one for every domain a lookup failed for (made-up origins included).
bool still_usable(const std::optional<cached_answer>& answer, int64_t now) {
  return answer && answer->record && answer->expires_at > now;
}

/// Writes the deletions of `batch` and empties it; false when the store refused them.
bool drop_stored(storage::store& store, storage::write_batch& batch) {
  if (batch.empty()) return true;
  // Only costs a lookup more if lost: no fsync.
  auto err = store.write(batch, storage::durability::buffered);
  if (err) log()->warn("discovery: cached answers not dropped from the store: {}", describe(err));
  batch.clear();
  return !err;
}

/// Deletes what the store holds for `domain`.
void drop_stored(storage::store& store, const std::string& domain) {
  storage::write_batch batch;
  batch.del(storage::column::discovery, domain);
  drop_stored(store, batch);
}

/// Deletes what the store holds and will never give again (see still_usable), once at
/// start, so that answers of domains never asked for again do not stay for good.
void sweep_store(storage::store& store) {
  constexpr size_t per_write = 1024;
  auto now = unix_seconds_now();
  storage::write_batch batch;
  size_t dropped = 0;
  bool writing = true;  // a store that refused a write refuses every later one
  auto err = store.scan(storage::column::discovery, "", "", 0,
                        [&](std::string_view key, std::string_view value) {
                          if (still_usable(decode_cached_answer(std::string{value}), now))
                            return true;
                          batch.del(storage::column::discovery, key);
                          ++dropped;
                          if (batch.count() >= per_write) writing = drop_stored(store, batch);
                          return writing;
                        });
  if (!writing || !drop_stored(store, batch)) return;
  if (err) log()->warn("discovery: stored answers not all read: {}", describe(err));
  if (dropped > 0) log()->info("discovery: dropped {} expired or failed stored answers", dropped);
}

/// A cached answer from memory, or after a restart from the store.
const cached_answer* cached(discovery_pointer self, const std::string& domain) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (auto i = st.cache.find(domain); i != st.cache.end()) {
    if (i->second.expires > now) return &i->second.answer;
    // Expired in memory: the store's copy of a record is the same answer, expired too.
    if (i->second.answer.record && st.ports.store != nullptr) drop_stored(*st.ports.store, domain);
    st.cache.erase(i);
    return nullptr;
  }
  if (st.ports.store == nullptr) return nullptr;
  auto bytes = st.ports.store->get(storage::column::discovery, domain);
  if (!bytes || !*bytes) return nullptr;
  auto answer = decode_cached_answer(**bytes);
  auto unix = unix_seconds_now();
  if (!still_usable(answer, unix)) {
    drop_stored(*st.ports.store, domain);
    return nullptr;
  }
  auto& entry = st.cache[domain];
  entry.expires = now + std::chrono::seconds{answer->expires_at - unix};
  entry.answer = std::move(*answer);
  return &entry.answer;
}

}  // namespace

discovery_actor::behavior_type discovery(discovery_pointer self, discovery_options options,
                                         discovery_ports ports) {
  auto& st = self->state;
  st.options = std::move(options);
  st.ports = ports;
  if (st.ports.store != nullptr) sweep_store(*st.ports.store);
  for (const auto& peer : st.options.static_peers) {
    peer_record rec;
    rec.domain = peer.domain;
    rec.base_url = peer.url;
    while (!rec.base_url.empty() && rec.base_url.back() == '/') rec.base_url.pop_back();
    rec.protocol = rec.base_url.rfind("https://", 0) == 0 ? "https" : "http";
    if (auto key = crypto::parse_public_key_pem(peer.public_key_pem))
      rec.public_key.assign(reinterpret_cast<const char*>(key->data()), key->size());
    else
      log()->error("static peer {} has an unusable key: {}", peer.domain, describe(key.error()));
    rec.ttl = 0;
    rec.source = record_source::static_table;
    st.static_table.emplace(peer.domain, std::move(rec));
  }
  return {
      [self](resolve_atom, const std::string& domain) -> caf::result<peer_record> {
        auto& st = self->state;
        if (st.options.allowed && !st.options.allowed(domain))
          return caf::make_error(errc::domain_not_allowed, "domain not allowed: " + domain);
        if (auto i = st.static_table.find(domain); i != st.static_table.end()) {
          if (i->second.public_key.empty())
            return caf::make_error(errc::bad_key_record,
                                   domain + ": the static peer's public_key is not valid");
          return i->second;
        }
        if (auto* answer = cached(self, domain)) {
          ++st.cache_hits;
          if (!answer->record) return answer->failure;
          auto rec = *answer->record;
          rec.source = record_source::cache;
          return rec;
        }
        auto promise = self->make_response_promise<peer_record>();
        auto& waiting = st.pending[domain];
        waiting.push_back(promise);
        if (waiting.size() > 1) return promise;  // a query for it is already in flight
        ++st.lookups;
        switch (st.options.method) {
          case config::discovery_method::dns:
            ask_dns(self, domain);
            break;
          case config::discovery_method::hub:
            ask_hub(self, domain);
            break;
          case config::discovery_method::static_table:
            finish_lookup(
                self, domain,
                caf::make_error(errc::not_found, domain + ": not in the static peer table"));
            break;
        }
        return promise;
      },
      [self](forget_atom, const std::string& domain) {
        auto& st = self->state;
        // Many callers may ask at once (each room that met a bad signature, the inbound
        // actor): the answer looked up after the first is fresh enough for the others, and
        // a peer sending bad signatures cannot make every event a lookup.
        auto now = self->clock().now();
        if (auto last = st.forgotten.find(domain);
            last != st.forgotten.end() && now - last->second < st.options.forget_interval)
          return false;
        if (st.forgotten.size() >= 1024)
          for (auto i = st.forgotten.begin(); i != st.forgotten.end();)
            i = now - i->second >= st.options.forget_interval ? st.forgotten.erase(i)
                                                              : std::next(i);
        st.forgotten[domain] = now;
        bool had = st.cache.erase(domain) > 0;
        if (st.ports.store != nullptr) drop_stored(*st.ports.store, domain);
        return had;
      },
      [self](stats_atom) -> caf::result<uint64_t, uint64_t> {
        return {self->state.lookups, self->state.cache_hits};
      },
  };
}

discovery_actor spawn_discovery(caf::actor_system& sys, discovery_options options,
                                discovery_ports ports) {
  return sys.spawn(discovery, std::move(options), ports);
}

}  // namespace fedrelay::actors
