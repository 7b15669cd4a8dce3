// The discovery actor driven by CAF's deterministic scheduler: caching, TTLs on the
// actor clock, shared queries, static overrides, persistence, and every failure answer.
#include <gtest/gtest.h>

#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/describe.hpp"
#include "actors/discovery_actor.hpp"
#include "actors/discovery_cache.hpp"
#include "actors/errc.hpp"
#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.console", caf::atom("none"));
  }
};

/// A DNS port that answers from a table and counts the questions it got. The test owns
/// the table; the deterministic scheduler runs everything on the test's thread.
struct fake_zone {
  std::map<std::string, dns_records> records;
  int queries = 0;
  bool silent = false;  // never answer: the resolver died
};

dns_resolver_actor::behavior_type fake_dns(dns_resolver_actor::pointer self,
                                           std::shared_ptr<fake_zone> zone) {
  return {
      [self, zone](lookup_atom, const std::string& domain) -> caf::result<dns_records> {
        ++zone->queries;
        if (zone->silent) return self->make_response_promise<dns_records>();
        if (auto i = zone->records.find(domain); i != zone->records.end()) return i->second;
        dns_records none;
        none.nxdomain = true;
        return none;
      },
  };
}

dns_records published(const crypto::public_key& key, uint32_t ttl, std::string target = "chat",
                      uint16_t port = 8443) {
  dns_records r;
  r.srv.push_back(dns_srv{10, 5, port, target});
  r.has_key = true;
  auto line = crypto::public_key_pem_line(key);
  // Split at an odd place, as some providers do.
  r.key_strings = {line.substr(0, 37), line.substr(37)};
  r.ttl = ttl;
  return r;
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A record for `domain` as the store's discovery column keeps it.
std::string stored_record(const std::string& domain, int64_t expires_at) {
  cached_answer answer;
  answer.record = peer_record{};
  answer.record->domain = domain;
  answer.record->base_url = "https://chat:8443";
  answer.record->protocol = "https";
  answer.record->public_key = std::string(32, 'k');
  answer.expires_at = expires_at;
  return encode_cached_answer(answer);
}

class DiscoveryActorTest : public testing::Test {
 protected:
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  test::temp_dir dir;
  std::unique_ptr<storage::store> db = std::move(*storage::store::open(dir / "db"));
  crypto::identity peer = crypto::identity::generate();
  std::shared_ptr<fake_zone> zone = std::make_shared<fake_zone>();
  dns_resolver_actor dns = sys.spawn(fake_dns, zone);
  std::vector<caf::actor> spawned;

  ~DiscoveryActorTest() override {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(dns, caf::exit_reason::user_shutdown);
    sched.run();
  }

  discovery_actor start(discovery_options options = {}, bool persist = true) {
    auto d = spawn_discovery(sys, options, {dns, {}, persist ? db.get() : nullptr});
    spawned.push_back(caf::actor_cast<caf::actor>(d));
    return d;
  }

  /// Asks `d` and runs the scheduler until the answer is in.
  caf::expected<peer_record> resolve(discovery_actor d, const std::string& domain) {
    caf::scoped_actor self{sys};
    auto handle = self->request(d, caf::infinite, resolve_atom::value, domain);
    sched.run();
    caf::expected<peer_record> result = caf::make_error(errc::not_found, "no answer");
    handle.receive([&](peer_record& rec) { result = std::move(rec); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

TEST_F(DiscoveryActorTest, ResolvesFromDnsAndJoinsSplitKey) {
  zone->records["b.example"] = published(peer.public_key(), 300);
  auto rec = resolve(start(), "b.example");
  ASSERT_TRUE(rec) << to_string(rec.error());
  EXPECT_EQ(rec->base_url, "https://chat:8443");
  EXPECT_EQ(rec->protocol, "https");
  EXPECT_EQ(rec->source, record_source::dns);
  EXPECT_EQ(rec->ttl, 300u);
  EXPECT_EQ(rec->public_key, std::string(peer.public_key().begin(), peer.public_key().end()));
}

TEST_F(DiscoveryActorTest, CachesForTheTtlOnTheActorClock) {
  zone->records["b.example"] = published(peer.public_key(), 300);
  auto d = start();
  ASSERT_TRUE(resolve(d, "b.example"));
  auto again = resolve(d, "b.example");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->source, record_source::cache);
  EXPECT_EQ(zone->queries, 1);
  sched.advance_time(299s);
  ASSERT_TRUE(resolve(d, "b.example"));
  EXPECT_EQ(zone->queries, 1);
  sched.advance_time(2s);
  auto fresh = resolve(d, "b.example");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->source, record_source::dns);
  EXPECT_EQ(zone->queries, 2);
}

TEST_F(DiscoveryActorTest, ConcurrentLookupsShareOneQuery) {
  zone->records["b.example"] = published(peer.public_key(), 300);
  auto d = start();
  caf::scoped_actor self{sys};
  auto h1 = self->request(d, caf::infinite, resolve_atom::value, std::string{"b.example"});
  auto h2 = self->request(d, caf::infinite, resolve_atom::value, std::string{"b.example"});
  auto h3 = self->request(d, caf::infinite, resolve_atom::value, std::string{"b.example"});
  sched.run();
  int answers = 0;
  for (auto* h : {&h1, &h2, &h3})
    h->receive([&](peer_record& rec) { answers += rec.domain == "b.example"; },
               [&](caf::error&) {});
  EXPECT_EQ(answers, 3);
  EXPECT_EQ(zone->queries, 1);
}

TEST_F(DiscoveryActorTest, EachFailureHasItsOwnAnswer) {
  auto good = published(peer.public_key(), 60);
  auto no_srv = good;
  no_srv.srv.clear();
  auto no_key = good;
  no_key.has_key = false;
  no_key.key_strings.clear();
  auto bad_key = good;
  bad_key.key_strings = {"-----BEGIN PUBLIC KEY-----", "bm90IGEga2V5", "-----END PUBLIC KEY-----"};
  auto bad_protocol = good;
  bad_protocol.has_protocol = true;
  bad_protocol.protocol = "gopher";
  zone->records["nosrv.example"] = no_srv;
  zone->records["nokey.example"] = no_key;
  zone->records["badkey.example"] = bad_key;
  zone->records["badproto.example"] = bad_protocol;
  auto d = start();
  auto code = [&](const std::string& domain) {
    auto rec = resolve(d, domain);
    return rec ? errc{} : static_cast<errc>(rec.error().code());
  };
  EXPECT_EQ(code("nosrv.example"), errc::no_srv_record);
  EXPECT_EQ(code("nokey.example"), errc::no_key_record);
  EXPECT_EQ(code("badkey.example"), errc::bad_key_record);
  EXPECT_EQ(code("badproto.example"), errc::bad_protocol);
  EXPECT_EQ(code("missing.example"), errc::nxdomain);
}

TEST_F(DiscoveryActorTest, HttpProtocolRecordIsHonoured) {
  auto rec = published(peer.public_key(), 60);
  rec.has_protocol = true;
  rec.protocol = "http";
  zone->records["b.example"] = rec;
  auto answer = resolve(start(), "b.example");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->base_url, "http://chat:8443");
}

TEST_F(DiscoveryActorTest, LowestPriorityWinsThenWeight) {
  auto rec = published(peer.public_key(), 0);
  rec.srv = {dns_srv{20, 100, 1, "backup"}, dns_srv{10, 0, 2, "zero-weight"},
             dns_srv{10, 50, 3, "primary"}};
  zone->records["b.example"] = rec;
  auto d = start();
  // TTL 0 is never cached, so every call asks DNS and picks again.
  for (int i = 0; i < 20; ++i) {
    auto answer = resolve(d, "b.example");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->base_url, "https://primary:3");
  }
}

TEST_F(DiscoveryActorTest, FailuresAreCachedForTheNegativeTtl) {
  discovery_options options;
  options.negative_ttl = 30s;
  auto d = start(options);
  EXPECT_FALSE(resolve(d, "missing.example"));
  EXPECT_FALSE(resolve(d, "missing.example"));
  EXPECT_EQ(zone->queries, 1);
  zone->records["missing.example"] = published(peer.public_key(), 60);
  sched.advance_time(31s);
  EXPECT_TRUE(resolve(d, "missing.example"));
  EXPECT_EQ(zone->queries, 2);
}

// Anyone may name a made-up origin in a request, and each is looked up: failures stay in
// memory for the negative TTL, never in the store, where each would stay for good.
TEST_F(DiscoveryActorTest, FailuresAreNotKeptInTheStore) {
  zone->records["b.example"] = published(peer.public_key(), 3600);
  auto d = start();
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(resolve(d, "r" + std::to_string(i) + ".invalid"));
  ASSERT_TRUE(resolve(d, "b.example"));
  std::vector<std::string> stored;
  ASSERT_FALSE(db->scan(storage::column::discovery, "", "", 0, [&](std::string_view key, auto) {
    stored.emplace_back(key);
    return true;
  }));
  EXPECT_EQ(stored, std::vector<std::string>{"b.example"});
  // Still cached in memory: asked again within the negative TTL, no new query.
  auto queries = zone->queries;
  EXPECT_FALSE(resolve(d, "r7.invalid"));
  EXPECT_EQ(zone->queries, queries);
}

// A flood of made-up origins held 120 MB of failures for a minute and more: past
// max_cached_domains answers are given but not kept, until expired ones make room.
TEST_F(DiscoveryActorTest, TheCacheHoldsAtMostMaxCachedDomains) {
  zone->records["b.example"] = published(peer.public_key(), 3600);
  discovery_options options;
  options.max_cached_domains = 10;
  options.negative_ttl = 30s;
  auto d = start(options);
  ASSERT_TRUE(resolve(d, "b.example"));
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(resolve(d, "r" + std::to_string(i) + ".invalid"));
  auto queries = zone->queries;
  EXPECT_FALSE(resolve(d, "r3.invalid"));  // among the first nine: kept
  EXPECT_EQ(zone->queries, queries);
  EXPECT_FALSE(resolve(d, "r15.invalid"));  // past the bound: asked again
  EXPECT_EQ(zone->queries, queries + 1);
  ASSERT_TRUE(resolve(d, "b.example"));  // a kept record is still given from the cache
  EXPECT_EQ(zone->queries, queries + 1);
  // A real peer's record takes a failure's place: made-up origins cannot keep it out.
  zone->records["c.example"] = published(peer.public_key(), 3600);
  ASSERT_TRUE(resolve(d, "c.example"));
  queries = zone->queries;
  ASSERT_TRUE(resolve(d, "c.example"));
  EXPECT_EQ(zone->queries, queries);
  // Once the failures expired, new answers are kept again.
  sched.advance_time(31s);
  EXPECT_FALSE(resolve(d, "r15.invalid"));
  queries = zone->queries;
  EXPECT_FALSE(resolve(d, "r15.invalid"));
  EXPECT_EQ(zone->queries, queries);
}

TEST_F(DiscoveryActorTest, StoredAnswersThatWillNeverBeGivenAreDroppedAtStart) {
  auto unix_now = unix_seconds();
  // What older versions left: a failure for every domain a lookup failed for (each still
  // valid for an hour), besides an expired record and bytes that are no answer at all.
  storage::write_batch batch;
  for (int i = 0; i < 3000; ++i) {
    cached_answer failure;
    failure.failure = caf::make_error(errc::nxdomain, "no such domain");
    failure.expires_at = unix_now + 3600;
    batch.put(storage::column::discovery, "r" + std::to_string(i) + ".invalid",
              encode_cached_answer(failure));
  }
  batch.put(storage::column::discovery, "expired.example",
            stored_record("expired.example", unix_now - 1));
  batch.put(storage::column::discovery, "garbage.example", "{not json");
  batch.put(storage::column::discovery, "b.example", stored_record("b.example", unix_now + 3600));
  ASSERT_FALSE(db->write(batch));

  auto d = start();
  sched.run();
  std::vector<std::string> stored;
  ASSERT_FALSE(db->scan(storage::column::discovery, "", "", 0, [&](std::string_view key, auto) {
    stored.emplace_back(key);
    return true;
  }));
  EXPECT_EQ(stored, std::vector<std::string>{"b.example"});
  // The record still valid is given from the store; the dropped failure is looked up.
  auto rec = resolve(d, "b.example");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->source, record_source::cache);
  EXPECT_EQ(zone->queries, 0);
  EXPECT_FALSE(resolve(d, "r7.invalid"));
  EXPECT_GT(zone->queries, 0);
}

TEST_F(DiscoveryActorTest, AnExpiredStoredAnswerIsDroppedWhenRead) {
  auto d = start();
  sched.run();  // the start's sweep
  // Written after the start's sweep, as one that expired while the node ran would be.
  storage::write_batch batch;
  batch.put(storage::column::discovery, "c.example",
            stored_record("c.example", unix_seconds() - 10));
  ASSERT_FALSE(db->write(batch));
  EXPECT_FALSE(resolve(d, "c.example"));  // not in the zone: looked up, and it fails
  auto still = db->get(storage::column::discovery, "c.example");
  ASSERT_TRUE(still);
  EXPECT_FALSE(*still);
}

TEST_F(DiscoveryActorTest, ARecordExpiredInMemoryGoesFromTheStoreToo) {
  zone->records["b.example"] = published(peer.public_key(), 300);
  auto d = start();
  ASSERT_TRUE(resolve(d, "b.example"));
  auto stored = db->get(storage::column::discovery, "b.example");
  ASSERT_TRUE(stored && *stored);
  // Expired; the domain's records are gone, so the next lookup fails and writes nothing.
  sched.advance_time(301s);
  zone->records.erase("b.example");
  EXPECT_FALSE(resolve(d, "b.example"));
  stored = db->get(storage::column::discovery, "b.example");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);
}

TEST_F(DiscoveryActorTest, DeadResolverGivesTimeoutWithinTheBound) {
  zone->silent = true;
  discovery_options options;
  options.lookup_timeout = 1s;
  auto d = start(options);
  caf::scoped_actor self{sys};
  auto handle = self->request(d, caf::infinite, resolve_atom::value, std::string{"b.example"});
  sched.run();
  sched.advance_time(3s);  // lookup bound plus the guard margin
  sched.run();
  caf::error failure;
  handle.receive([](peer_record&) {}, [&](caf::error& err) { failure = err; });
  EXPECT_EQ(failure, caf::make_error(errc::resolver_timeout));
}

TEST_F(DiscoveryActorTest, StaticEntriesOverrideDns) {
  crypto::identity other = crypto::identity::generate();
  zone->records["b.example"] = published(peer.public_key(), 300);
  discovery_options options;
  options.static_peers.push_back(config::static_peer{"b.example", "http://127.0.0.1:8002/",
                                                     crypto::public_key_pem(other.public_key())});
  auto rec = resolve(start(options), "b.example");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->source, record_source::static_table);
  EXPECT_EQ(rec->base_url, "http://127.0.0.1:8002");
  EXPECT_EQ(rec->protocol, "http");
  EXPECT_EQ(rec->public_key, std::string(other.public_key().begin(), other.public_key().end()));
  EXPECT_EQ(zone->queries, 0);
}

TEST_F(DiscoveryActorTest, StaticMethodRefusesUnknownDomains) {
  discovery_options options;
  options.method = config::discovery_method::static_table;
  auto rec = resolve(start(options), "b.example");
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error(), caf::make_error(errc::not_found));
  EXPECT_EQ(zone->queries, 0);
}

TEST_F(DiscoveryActorTest, RefusedDomainsAreNeverLookedUp) {
  zone->records["b.example"] = published(peer.public_key(), 300);
  discovery_options options;
  options.allowed = [](const std::string& d) { return d != "b.example"; };
  auto rec = resolve(start(options), "b.example");
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error(), caf::make_error(errc::domain_not_allowed));
  EXPECT_EQ(actors::describe(rec.error()),
            "actors: domain_not_allowed: domain not allowed: b.example");
  EXPECT_EQ(zone->queries, 0);
}

TEST_F(DiscoveryActorTest, CacheSurvivesARestart) {
  zone->records["b.example"] = published(peer.public_key(), 3600);
  ASSERT_TRUE(resolve(start(), "b.example"));
  // A second actor on the same store stands for the node after a restart.
  auto rec = resolve(start(), "b.example");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->source, record_source::cache);
  EXPECT_EQ(zone->queries, 1);
}

TEST_F(DiscoveryActorTest, ForgetAsksAgain) {
  zone->records["b.example"] = published(peer.public_key(), 3600);
  auto d = start();
  ASSERT_TRUE(resolve(d, "b.example"));
  crypto::identity rotated = crypto::identity::generate();
  zone->records["b.example"] = published(rotated.public_key(), 3600);
  caf::scoped_actor self{sys};
  auto handle = self->request(d, caf::infinite, forget_atom::value, std::string{"b.example"});
  sched.run();
  handle.receive([](bool had) { EXPECT_TRUE(had); }, [](caf::error&) { FAIL(); });
  auto rec = resolve(d, "b.example");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->public_key, std::string(rotated.public_key().begin(), rotated.public_key().end()));
  // The forgotten answer is gone from the store too.
  auto restarted = resolve(start(), "b.example");
  ASSERT_TRUE(restarted);
  EXPECT_EQ(restarted->public_key, rec->public_key);

  // Asked again within forget_interval (10 s), it keeps the answer it just looked up.
  auto queries = zone->queries;
  auto forget = [&] {
    bool forgot = false;
    auto again = self->request(d, caf::infinite, forget_atom::value, std::string{"b.example"});
    sched.run();
    again.receive([&](bool had) { forgot = had; }, [](caf::error&) { FAIL(); });
    return forgot;
  };
  EXPECT_FALSE(forget());
  ASSERT_TRUE(resolve(d, "b.example"));
  EXPECT_EQ(zone->queries, queries);
  sched.advance_time(std::chrono::seconds{10});
  EXPECT_TRUE(forget());
  ASSERT_TRUE(resolve(d, "b.example"));
  EXPECT_EQ(zone->queries, queries + 1);
}

}  // namespace
}  // namespace fedrelay::actors
