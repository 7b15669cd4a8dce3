// The Hub's registry (a real store, a fake clock), its actor with a fake mailer, and a node's
// registrar against a fake transport, all on CAF's deterministic scheduler.
#include <gtest/gtest.h>

#include <regex>

#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/hub_registrar.hpp"
#include "actors/hub_registry.hpp"
#include "actors/request_auth.hpp"
#include "actors/transaction.hpp"
#include "crypto/hash.hpp"
#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

std::string raw(const crypto::public_key& key) {
  return std::string(key.begin(), key.end());
}

errc code_of(const caf::error& err) {
  return static_cast<errc>(err.code());
}

std::string token_in(const std::string& text) {
  std::smatch m;
  std::regex link{"hub\\.confirm\\?token=([0-9a-f]{64})"};
  return std::regex_search(text, m, link) ? m[1].str() : std::string{};
}

class HubRegistryTest : public testing::Test {
 protected:
  test::temp_dir dir;
  std::unique_ptr<storage::store> db = std::move(*storage::store::open(dir / "db"));
  int64_t now = 1'700'000'000'000;
  hub_registry registry{*db, options()};
  crypto::identity key1 = crypto::identity::generate();
  crypto::identity key2 = crypto::identity::generate();

  hub_registry_options options() {
    hub_registry_options o;
    o.public_url = "https://hub.test";
    o.mail_from = "hub@hub.test";
    o.now_ms = [this] { return now; };
    return o;
  }

  hub_registration reg(const crypto::identity& id, std::string url = "https://chat.b.test:8443",
                       std::string domain = "b.test") {
    return hub_registration{std::move(domain), std::move(url), raw(id.public_key()), {}};
  }

  /// A registration of `domain` with a new key from `client`.
  hub_registration from(std::string client, std::string domain = "b.test") {
    auto r = reg(crypto::identity::generate(), "https://" + domain, std::move(domain));
    r.client = std::move(client);
    return r;
  }

  /// Registers and returns the token that was to be mailed ("" when none).
  std::string register_token(const hub_registration& r) {
    auto step = registry.register_domain(r);
    EXPECT_TRUE(step) << describe(step.error());
    return step && step->token ? *step->token : std::string{};
  }
};

TEST_F(HubRegistryTest, ConfirmedRegistrationIsPublished) {
  auto step = registry.register_domain(reg(key1));
  ASSERT_TRUE(step) << describe(step.error());
  EXPECT_EQ(step->outcome.state, hub_registration_state::pending);
  EXPECT_TRUE(step->outcome.mailed);
  EXPECT_EQ(step->outcome.mail_to, "webmaster@b.test");
  EXPECT_EQ(step->outcome.expires_ms, now + 24 * 3600 * 1000);
  ASSERT_TRUE(step->token);
  EXPECT_EQ(step->token->size(), 64u);
  auto before = registry.lookup("b.test");
  ASSERT_FALSE(before);
  EXPECT_EQ(code_of(before.error()), errc::not_found);

  auto domain = registry.confirm(*step->token);
  ASSERT_TRUE(domain) << describe(domain.error());
  EXPECT_EQ(*domain, "b.test");
  auto rec = registry.lookup("B.Test");
  ASSERT_TRUE(rec) << describe(rec.error());
  EXPECT_EQ(rec->domain, "b.test");
  EXPECT_EQ(rec->url, "https://chat.b.test:8443");
  EXPECT_EQ(rec->public_key, raw(key1.public_key()));
  EXPECT_EQ(rec->ttl, 300u);
}

TEST_F(HubRegistryTest, TokenIsStoredOnlyAsItsHash) {
  auto token = register_token(reg(key1));
  ASSERT_FALSE(token.empty());
  auto hash = crypto::to_hex(crypto::blake2b_256(token));
  bool token_seen = false;
  bool hash_seen = false;
  for (auto c : {storage::column::meta, storage::column::dedup}) {
    auto err = db->scan(c, "", "", 0, [&](std::string_view key, std::string_view value) {
      for (auto text : {key, value}) {
        token_seen |= text.find(token) != std::string_view::npos;
        hash_seen |= text.find(hash) != std::string_view::npos;
      }
      return true;
    });
    ASSERT_FALSE(err);
  }
  EXPECT_FALSE(token_seen);
  EXPECT_TRUE(hash_seen);
}

TEST_F(HubRegistryTest, ExpiredLinkIsRefusedAndANewRegistrationMailsAgain) {
  auto token = register_token(reg(key1));
  now += 24 * 3600 * 1000;
  auto late = registry.confirm(token);
  ASSERT_FALSE(late);
  EXPECT_EQ(code_of(late.error()), errc::rejected);
  EXPECT_NE(detail_of(late.error()).find("expired"), std::string::npos);
  EXPECT_FALSE(registry.lookup("b.test"));
  auto fresh = register_token(reg(key1));
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, token);
  EXPECT_TRUE(registry.confirm(fresh));
}

TEST_F(HubRegistryTest, LinkWorksOnce) {
  auto token = register_token(reg(key1));
  ASSERT_TRUE(registry.confirm(token));
  auto again = registry.confirm(token);
  ASSERT_FALSE(again);
  EXPECT_EQ(code_of(again.error()), errc::rejected);
  EXPECT_NE(detail_of(again.error()).find("already used"), std::string::npos);
}

TEST_F(HubRegistryTest, UnknownOrMalformedTokenIsNotFound) {
  ASSERT_FALSE(register_token(reg(key1)).empty());
  for (std::string bad : {std::string(64, 'a'), std::string{"xyz"}, std::string{},
                          std::string(64, 'G'), std::string(65, 'a')}) {
    auto r = registry.confirm(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(code_of(r.error()), errc::not_found) << bad;
  }
  EXPECT_FALSE(registry.lookup("b.test"));
}

TEST_F(HubRegistryTest, SameRegistrationAgainMailsNobody) {
  auto token = register_token(reg(key1));
  now += 3600 * 1000;
  auto pending = registry.register_domain(reg(key1));
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->outcome.state, hub_registration_state::pending);
  EXPECT_FALSE(pending->outcome.mailed);
  EXPECT_FALSE(pending->token);
  ASSERT_TRUE(registry.confirm(token));  // the first link still works
  auto confirmed = registry.register_domain(reg(key1));
  ASSERT_TRUE(confirmed);
  EXPECT_EQ(confirmed->outcome.state, hub_registration_state::confirmed);
  EXPECT_FALSE(confirmed->token);
}

TEST_F(HubRegistryTest, NewKeyKeepsTheOldRecordServingUntilConfirmed) {
  ASSERT_TRUE(registry.confirm(register_token(reg(key1))));
  auto token2 = register_token(reg(key2, "https://new.b.test"));
  ASSERT_FALSE(token2.empty());
  auto served = registry.lookup("b.test");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->public_key, raw(key1.public_key()));
  EXPECT_EQ(served->url, "https://chat.b.test:8443");
  ASSERT_TRUE(registry.confirm(token2));
  served = registry.lookup("b.test");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->public_key, raw(key2.public_key()));
  EXPECT_EQ(served->url, "https://new.b.test");
}

TEST_F(HubRegistryTest, NewUrlAloneNeedsConfirmationToo) {
  ASSERT_TRUE(registry.confirm(register_token(reg(key1))));
  auto step = registry.register_domain(reg(key1, "https://moved.b.test"));
  ASSERT_TRUE(step);
  EXPECT_EQ(step->outcome.state, hub_registration_state::pending);
  EXPECT_TRUE(step->token);
  EXPECT_EQ(registry.lookup("b.test")->url, "https://chat.b.test:8443");
}

TEST_F(HubRegistryTest, ADifferentRegistrationSoonAfterAMailIsThrottled) {
  ASSERT_FALSE(register_token(reg(key1)).empty());
  now += 60 * 1000;
  auto step = registry.register_domain(reg(key2));
  ASSERT_TRUE(step);
  EXPECT_EQ(step->outcome.state, hub_registration_state::throttled);
  EXPECT_FALSE(step->token);
  EXPECT_EQ(step->outcome.retry_after_s, 240u);
  // Another domain is not held back.
  EXPECT_FALSE(register_token(reg(key2, "https://c.test", "c.test")).empty());
}

// Registrations of a domain with ever new keys mail its webmaster a few times a day, not
// every 5 minutes for good; a mail that could not be sent does not count.
TEST_F(HubRegistryTest, ADomainIsMailedAtMostSoManyTimesInADay) {
  auto o = options();
  o.mails_per_domain_per_day = 3;
  hub_registry limited{*db, o};
  auto fresh = [&] {
    auto step = limited.register_domain(reg(crypto::identity::generate()));
    EXPECT_TRUE(step) << describe(step.error());
    return step ? *step : hub_register_step{};
  };
  auto abandoned = fresh();
  ASSERT_TRUE(abandoned.token);
  ASSERT_FALSE(limited.abandon("b.test", abandoned));
  now += 6 * 60 * 1000;
  auto first = now;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fresh().token) << i;
    now += 6 * 60 * 1000;
  }
  auto held = fresh();
  EXPECT_EQ(held.outcome.state, hub_registration_state::throttled);
  EXPECT_FALSE(held.token);
  EXPECT_NE(held.outcome.reason.find("3 confirmation mails in the last 24 hours"),
            std::string::npos)
      << held.outcome.reason;
  EXPECT_EQ(held.outcome.retry_after_s, (first + 24 * 3600 * 1000 - now) / 1000);
  // Other domains are not held back; once a day has passed since the first mail, one more
  // goes to this one.
  EXPECT_TRUE(limited.register_domain(reg(key1, "https://c.test", "c.test"))->token);
  now = first + 24 * 3600 * 1000 - 1;
  EXPECT_FALSE(fresh().token);
  now = first + 24 * 3600 * 1000;
  EXPECT_TRUE(fresh().token);
}

// A mail that could not be sent gives its place back in both budgets, also when another
// registration was confirmed meanwhile; and a budget lowered below what was sent frees
// a place once enough of the mails are a day old.
TEST_F(HubRegistryTest, AMailNotSentCountsAgainstNoBudget) {
  auto o = options();
  o.mails_per_domain_per_day = 2;
  o.mails_per_day = 2;
  hub_registry limited{*db, o};
  auto first = limited.register_domain(reg(key1));
  ASSERT_TRUE(first && first->token);
  now += 6 * 60 * 1000;
  auto second = limited.register_domain(reg(key2));
  ASSERT_TRUE(second && second->token);
  // The first mail failed after the webmaster had confirmed the second registration.
  ASSERT_TRUE(limited.confirm(*second->token));
  ASSERT_FALSE(limited.abandon("b.test", *first));
  now += 6 * 60 * 1000;
  auto third = limited.register_domain(reg(crypto::identity::generate()));
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->token) << third->outcome.reason;
  EXPECT_FALSE(limited.register_domain(reg(key1, "https://c.test", "c.test"))->token);
  ASSERT_FALSE(limited.abandon("b.test", *third));
  EXPECT_TRUE(limited.register_domain(reg(key1, "https://c.test", "c.test"))->token);

  // With the defaults b.test gets one more mail, its second of the day; with the budget
  // then lowered to one a day, it is free once the later of the two is a day old.
  now += 6 * 60 * 1000;
  hub_registry roomy{*db, options()};
  ASSERT_TRUE(roomy.register_domain(reg(crypto::identity::generate()))->token);
  auto last = now;
  auto lowered_options = options();
  lowered_options.mails_per_domain_per_day = 1;
  hub_registry lowered{*db, lowered_options};
  now += 6 * 60 * 1000;
  auto held = lowered.register_domain(reg(crypto::identity::generate()));
  ASSERT_TRUE(held);
  EXPECT_EQ(held->outcome.state, hub_registration_state::throttled);
  EXPECT_EQ(held->outcome.retry_after_s, (last + 24 * 3600 * 1000 - now) / 1000);
}

// All domains together get at most so many mails in a UTC day.
TEST_F(HubRegistryTest, TheHubMailsAtMostSoManyInADay) {
  auto o = options();
  o.mails_per_day = 2;
  hub_registry limited{*db, o};
  EXPECT_TRUE(limited.register_domain(reg(key1, "https://b.test", "b.test"))->token);
  EXPECT_TRUE(limited.register_domain(reg(key1, "https://c.test", "c.test"))->token);
  auto held = limited.register_domain(reg(key1, "https://d.test", "d.test"));
  ASSERT_TRUE(held);
  EXPECT_EQ(held->outcome.state, hub_registration_state::throttled);
  EXPECT_NE(held->outcome.reason.find("the 2 confirmation mails it sends in a day"),
            std::string::npos)
      << held->outcome.reason;
  constexpr int64_t day = 24 * 3600 * 1000;
  auto next_day = (now / day + 1) * day;
  EXPECT_EQ(held->outcome.retry_after_s, (next_day - now + 999) / 1000);
  now = next_day;
  EXPECT_TRUE(limited.register_domain(reg(key1, "https://d.test", "d.test"))->token);
}

// Anyone may register any domain, so a stranger's registration must not break the
// owner's link: each link confirms what its mail named until the webmaster chose one.
TEST_F(HubRegistryTest, AStrangersRegistrationLeavesTheOwnersLinkWorking) {
  auto owners = register_token(reg(key1));
  now += 6 * 60 * 1000;
  auto strangers = register_token(reg(key2, "https://elsewhere.test"));
  ASSERT_FALSE(owners.empty());
  ASSERT_FALSE(strangers.empty());
  auto shown = registry.pending_for(owners);
  ASSERT_TRUE(shown) << describe(shown.error());
  EXPECT_EQ(shown->url, "https://chat.b.test:8443");
  EXPECT_EQ(shown->public_key, raw(key1.public_key()));
  shown = registry.pending_for(strangers);
  ASSERT_TRUE(shown) << describe(shown.error());
  EXPECT_EQ(shown->url, "https://elsewhere.test");
  // The owner's node registering again is still pending without a new mail.
  auto again = registry.register_domain(reg(key1));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome.state, hub_registration_state::pending);
  EXPECT_FALSE(again->token);

  ASSERT_TRUE(registry.confirm(owners));
  EXPECT_EQ(registry.lookup("b.test")->public_key, raw(key1.public_key()));
  // The webmaster chose; the other link would undo the choice, so it ends with it.
  auto late = registry.confirm(strangers);
  ASSERT_FALSE(late);
  EXPECT_EQ(code_of(late.error()), errc::not_found);
  EXPECT_NE(detail_of(late.error()).find("another registration"), std::string::npos);
  EXPECT_EQ(registry.lookup("b.test")->public_key, raw(key1.public_key()));
}

// A mail that could not be sent drops its own link only; the domain's other pending
// registration still confirms. And the least time between mails counts from the newest.
TEST_F(HubRegistryTest, AnAbandonedLinkLeavesTheDomainsOtherLinkWorking) {
  auto first = registry.register_domain(reg(key1));
  ASSERT_TRUE(first && first->token);
  now += 6 * 60 * 1000;
  auto second = registry.register_domain(reg(key2, "https://elsewhere.test"));
  ASSERT_TRUE(second && second->token);
  now += 60 * 1000;
  auto soon = registry.register_domain(reg(crypto::identity::generate()));
  ASSERT_TRUE(soon);
  EXPECT_EQ(soon->outcome.state, hub_registration_state::throttled);
  EXPECT_EQ(soon->outcome.retry_after_s, 240u);
  ASSERT_FALSE(registry.abandon("b.test", *first));
  EXPECT_EQ(code_of(registry.confirm(*first->token).error()), errc::not_found);
  ASSERT_TRUE(registry.confirm(*second->token));
  EXPECT_EQ(registry.lookup("b.test")->url, "https://elsewhere.test");
}

// One client alone cannot use up a domain's mails of the day before its owner registers.
TEST_F(HubRegistryTest, OneClientCausesAtMostHalfOfADomainsMails) {
  auto mailed = [&](const hub_registration& r) {
    auto step = registry.register_domain(r);
    EXPECT_TRUE(step) << describe(step.error());
    now += 6 * 60 * 1000;
    return step ? *step : hub_register_step{};
  };
  auto first = now;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(mailed(from("198.51.100.7")).token) << i;
  auto held = mailed(from("198.51.100.7"));
  EXPECT_EQ(held.outcome.state, hub_registration_state::throttled);
  EXPECT_NE(held.outcome.reason.find("caused 3 of this domain's confirmation mails"),
            std::string::npos)
      << held.outcome.reason;
  EXPECT_EQ(held.outcome.retry_after_s, (first + 24 * 3600 * 1000 - (now - 6 * 60 * 1000)) / 1000);
  // The same client may still mail other domains, and other clients this one.
  EXPECT_TRUE(mailed(from("198.51.100.7", "c.test")).token);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(mailed(from("2001:db8:1:2::/64")).token) << i;
  auto full = mailed(from("203.0.113.9"));
  EXPECT_EQ(full.outcome.state, hub_registration_state::throttled);
  EXPECT_NE(full.outcome.reason.find("6 confirmation mails in the last 24 hours"),
            std::string::npos)
      << full.outcome.reason;
}

// One client alone cannot use up the Hub's mails of the day.
TEST_F(HubRegistryTest, OneClientCausesAtMostSoManyMailsInADay) {
  auto o = options();
  o.mails_per_client_per_day = 2;
  hub_registry limited{*db, o};
  auto first = now;
  auto b = limited.register_domain(from("198.51.100.7", "b.test"));
  ASSERT_TRUE(b && b->token);
  EXPECT_TRUE(limited.register_domain(from("198.51.100.7", "c.test"))->token);
  auto held = limited.register_domain(from("198.51.100.7", "d.test"));
  ASSERT_TRUE(held);
  EXPECT_EQ(held->outcome.state, hub_registration_state::throttled);
  EXPECT_NE(held->outcome.reason.find("caused 2 confirmation mails in the last 24 hours"),
            std::string::npos)
      << held->outcome.reason;
  EXPECT_EQ(held->outcome.retry_after_s, 24u * 3600);
  EXPECT_TRUE(limited.register_domain(from("198.51.100.8", "d.test"))->token);
  // A mail that could not be sent gives the client its place back.
  ASSERT_FALSE(limited.abandon("b.test", *b));
  EXPECT_TRUE(limited.register_domain(from("198.51.100.7", "e.test"))->token);
  EXPECT_FALSE(limited.register_domain(from("198.51.100.7", "f.test"))->token);
  now = first + 24 * 3600 * 1000;
  EXPECT_TRUE(limited.register_domain(from("198.51.100.7", "f.test"))->token);
}

// A Hub upgraded with a registration pending keeps its link working and its mail counted.
TEST_F(HubRegistryTest, APendingRegistrationOfTheVersionBeforeStillConfirms) {
  auto o = options();
  o.mails_per_domain_per_day = 2;
  hub_registry limited{*db, o};
  auto token = std::string(64, 'c');
  auto hash = crypto::to_hex(crypto::blake2b_256(token));
  nlohmann::json pending{{"url", "https://old.b.test"},
                         {"key", crypto::to_hex(raw(key1.public_key()))},
                         {"token", hash},
                         {"expires_ms", now + 3600 * 1000},
                         {"mailed_ms", now}};
  nlohmann::json entry{{"domain", "b.test"}, {"expires_ms", now + 3600 * 1000}, {"used", false}};
  storage::write_batch batch;
  batch.put(storage::column::meta, "hub/pending/b.test", pending.dump());
  batch.put(storage::column::dedup, "hub/token/" + hash, entry.dump());
  batch.put(storage::column::meta, "hub/mailed/b.test", nlohmann::json{{"sent", {now}}}.dump());
  ASSERT_FALSE(db->write(batch));

  auto same = limited.register_domain(reg(key1, "https://old.b.test"));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->outcome.state, hub_registration_state::pending);
  EXPECT_FALSE(same->token);
  now += 60 * 1000;
  EXPECT_EQ(limited.register_domain(reg(key2))->outcome.state, hub_registration_state::throttled);
  now += 6 * 60 * 1000;
  auto second = limited.register_domain(reg(key2));
  ASSERT_TRUE(second && second->token);
  now += 6 * 60 * 1000;
  auto third = limited.register_domain(reg(crypto::identity::generate()));
  ASSERT_TRUE(third);
  EXPECT_NE(third->outcome.reason.find("2 confirmation mails"), std::string::npos)
      << third->outcome.reason;
  auto domain = limited.confirm(token);
  ASSERT_TRUE(domain) << describe(domain.error());
  EXPECT_EQ(limited.lookup("b.test")->url, "https://old.b.test");
  EXPECT_EQ(code_of(limited.confirm(*second->token).error()), errc::not_found);
}

// An expired link goes at the sweep while the domain's newer one keeps working.
TEST_F(HubRegistryTest, SweepDropsExpiredLinksOneByOne) {
  auto first = register_token(reg(key1));
  now += 6 * 60 * 1000;
  auto second = register_token(reg(key2));
  now += 24 * 3600 * 1000 - 6 * 60 * 1000;
  auto removed = registry.sweep();
  ASSERT_TRUE(removed) << describe(removed.error());
  // The first link's token, and the domain's entry rewritten without it.
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(code_of(registry.confirm(first).error()), errc::not_found);
  ASSERT_TRUE(registry.confirm(second));
  EXPECT_EQ(registry.lookup("b.test")->public_key, raw(key2.public_key()));
}

TEST_F(HubRegistryTest, AbandonedRegistrationLeavesNothingBehind) {
  auto step = registry.register_domain(reg(key1));
  ASSERT_TRUE(step && step->token);
  auto token = *step->token;
  ASSERT_FALSE(registry.abandon("b.test", *step));
  EXPECT_EQ(code_of(registry.confirm(token).error()), errc::not_found);
  // Not throttled: that mail never went out.
  auto again = register_token(reg(key1));
  EXPECT_FALSE(again.empty());
}

TEST_F(HubRegistryTest, SweepDropsExpiredEntries) {
  auto token = register_token(reg(key1));
  ASSERT_TRUE(registry.confirm(register_token(reg(key2, "https://c.test", "c.test"))));
  auto none = registry.sweep();
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
  now += 25 * 3600 * 1000;
  auto removed = registry.sweep();
  ASSERT_TRUE(removed);
  // b.test's pending and token, c.test's used token, and the mail counts of both
  EXPECT_EQ(*removed, 5u);
  EXPECT_TRUE(registry.lookup("c.test"));
  EXPECT_EQ(code_of(registry.confirm(token).error()), errc::not_found);
}

TEST_F(HubRegistryTest, MalformedRegistrationsAreRefused) {
  for (std::string domain : {"", "nodot", "bad_char.test", "-lead.test", "a..test"}) {
    auto r = registry.register_domain(reg(key1, "https://x.test", domain));
    ASSERT_FALSE(r) << domain;
    EXPECT_EQ(code_of(r.error()), errc::bad_request) << domain;
  }
  auto short_key = reg(key1);
  short_key.public_key.resize(31);
  EXPECT_EQ(code_of(registry.register_domain(short_key).error()), errc::bad_request);
  EXPECT_EQ(code_of(registry.register_domain(reg(key1, "")).error()), errc::bad_request);
}

TEST_F(HubRegistryTest, MailNamesTheRecordAndCarriesTheLink) {
  auto r = reg(key1);
  r.domain = "B.test";
  auto token = register_token(r);
  auto mail = registry.confirmation_mail(r, token);
  EXPECT_EQ(mail.to, "webmaster@b.test");
  EXPECT_EQ(mail.from, "hub@hub.test");
  EXPECT_NE(mail.subject.find("b.test"), std::string::npos);
  EXPECT_NE(mail.text.find("https://hub.test/api/v1/hub.confirm?token=" + token),
            std::string::npos);
  EXPECT_NE(mail.text.find("https://chat.b.test:8443"), std::string::npos);
  EXPECT_NE(mail.text.find(crypto::fingerprint(key1.public_key())), std::string::npos);
  EXPECT_EQ(token_in(mail.text), token);
}

// ---- the registry actor with a fake mailer ----

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.console", caf::atom("none"));
  }
};

struct fake_post_office {
  std::vector<mail_message> sent;
  bool fail = false;
};

mailer_actor::behavior_type fake_mailer(mailer_actor::pointer,
                                        std::shared_ptr<fake_post_office> po) {
  return {
      [po](mail_atom, const mail_message& m) -> caf::result<bool> {
        if (po->fail) return caf::make_error(errc::unavailable, "550 No such mailbox");
        po->sent.push_back(m);
        return true;
      },
  };
}

class HubActorTest : public testing::Test {
 protected:
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::vector<caf::actor> spawned;

  ~HubActorTest() override {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  template <class Handle>
  Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  /// Asks `target` and runs the scheduler until the answer is in.
  template <class R, class Handle, class... Ts>
  caf::expected<R> ask(const Handle& target, Ts... xs) {
    caf::scoped_actor self{sys};
    auto handle = self->request(target, caf::infinite, xs...);
    sched.run();
    caf::expected<R> result = caf::make_error(errc::not_found, "no answer");
    handle.receive([&](R& value) { result = std::move(value); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

class HubRegistryActorTest : public HubActorTest {
 protected:
  test::temp_dir dir;
  std::unique_ptr<storage::store> db = std::move(*storage::store::open(dir / "db"));
  std::shared_ptr<fake_post_office> po = std::make_shared<fake_post_office>();
  crypto::identity key = crypto::identity::generate();
  hub_registry_actor registry;

  void SetUp() override {
    hub_registry_options o;
    o.public_url = "http://127.0.0.1:8600";
    o.mail_from = "hub@hub.test";
    auto mailer = keep(sys.spawn(fake_mailer, po));
    registry = keep(spawn_hub_registry(sys, *db, o, mailer));
    sched.run();
  }

  hub_registration reg() {
    return hub_registration{"b.test", "http://127.0.0.1:9000", raw(key.public_key()), {}};
  }
};

TEST_F(HubRegistryActorTest, MailsTheLinkBeforeReplyingAndConfirmsIt) {
  auto out = ask<hub_register_outcome>(registry, hub_register_atom::value, reg());
  ASSERT_TRUE(out) << describe(out.error());
  EXPECT_EQ(out->state, hub_registration_state::pending);
  EXPECT_TRUE(out->mailed);
  ASSERT_EQ(po->sent.size(), 1u);
  EXPECT_EQ(po->sent[0].to, "webmaster@b.test");
  auto token = token_in(po->sent[0].text);
  ASSERT_FALSE(token.empty()) << po->sent[0].text;
  EXPECT_EQ(code_of(ask<hub_record>(registry, lookup_atom::value, std::string{"b.test"}).error()),
            errc::not_found);
  // What the link would confirm, shown before its button is pressed: nothing confirmed yet.
  for (int i = 0; i < 2; ++i) {
    auto shown = ask<hub_registration>(registry, hub_peek_atom::value, token);
    ASSERT_TRUE(shown) << describe(shown.error());
    EXPECT_EQ(shown->domain, "b.test");
    EXPECT_EQ(shown->url, "http://127.0.0.1:9000");
    EXPECT_EQ(shown->public_key, reg().public_key);
  }
  EXPECT_EQ(code_of(ask<hub_record>(registry, lookup_atom::value, std::string{"b.test"}).error()),
            errc::not_found);
  EXPECT_EQ(
      code_of(ask<hub_registration>(registry, hub_peek_atom::value, std::string(64, '0')).error()),
      errc::not_found);
  auto domain = ask<std::string>(registry, hub_confirm_atom::value, token);
  ASSERT_TRUE(domain) << describe(domain.error());
  EXPECT_EQ(*domain, "b.test");
  auto rec = ask<hub_record>(registry, lookup_atom::value, std::string{"b.test"});
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->url, "http://127.0.0.1:9000");
  EXPECT_EQ(code_of(ask<hub_registration>(registry, hub_peek_atom::value, token).error()),
            errc::rejected);  // used
  // The node registering again at its next boot costs no mail.
  auto again = ask<hub_register_outcome>(registry, hub_register_atom::value, reg());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state, hub_registration_state::confirmed);
  EXPECT_EQ(po->sent.size(), 1u);
}

TEST_F(HubRegistryActorTest, FailedMailLeavesNothingPending) {
  po->fail = true;
  auto out = ask<hub_register_outcome>(registry, hub_register_atom::value, reg());
  ASSERT_FALSE(out);
  EXPECT_EQ(code_of(out.error()), errc::unavailable);
  EXPECT_NE(detail_of(out.error()).find("webmaster@b.test"), std::string::npos);
  EXPECT_NE(detail_of(out.error()).find("550"), std::string::npos);
  po->fail = false;
  auto retry = ask<hub_register_outcome>(registry, hub_register_atom::value, reg());
  ASSERT_TRUE(retry) << describe(retry.error());
  EXPECT_TRUE(retry->mailed);
  EXPECT_EQ(po->sent.size(), 1u);
}

// ---- a node's registrar against a fake transport ----

struct fake_hub {
  bool down = false;
  inbound_reply reply{200, R"({"success":true,"status":"pending","mail_to":"webmaster@a.test"})"};
  std::vector<outbound_request> requests;
};

transport_actor::behavior_type fake_transport(transport_actor::pointer,
                                              std::shared_ptr<fake_hub> hub) {
  return {
      [hub](send_atom, outbound_request& req) -> caf::result<inbound_reply> {
        hub->requests.push_back(req);
        if (hub->down) return caf::make_error(errc::unavailable, "connection refused");
        return hub->reply;
      },
  };
}

std::string header_of(const outbound_request& req, std::string_view name) {
  for (const auto& [key, value] : req.headers)
    if (key == name) return value;
  return {};
}

class HubRegistrarTest : public HubActorTest {
 protected:
  std::shared_ptr<fake_hub> hub = std::make_shared<fake_hub>();
  std::shared_ptr<const crypto::identity> id =
      std::make_shared<const crypto::identity>(crypto::identity::generate());
  std::vector<std::pair<config::status, std::string>> reports;

  hub_registrar_actor start(std::string hub_url = "http://hub.test:8600") {
    hub_registrar_options o;
    o.hub_url = std::move(hub_url);
    o.domain = "a.test";
    o.public_url = "https://chat.a.test:8443";
    o.identity = id;
    o.transport = keep(sys.spawn(fake_transport, hub));
    o.on_status = [this](config::status s, const std::string& why) {
      reports.emplace_back(s, why);
    };
    o.jitter_seed = 42;
    return keep(spawn_hub_registrar(sys, o));
  }

  config::status last() const { return reports.back().first; }

  /// Runs the clock to a second before `due`, then past it: the second attempt (and only
  /// it) comes then.
  void expect_second_attempt_at(std::chrono::milliseconds due) {
    sched.advance_time(due - 1s);
    sched.run();
    EXPECT_EQ(hub->requests.size(), 1u);
    sched.advance_time(1001ms);
    sched.run();
    EXPECT_EQ(hub->requests.size(), 2u);
  }

  /// Fires the next retry timer and runs what it starts.
  void next_attempt() {
    sched.trigger_timeouts();
    sched.run();
  }
};

TEST_F(HubRegistrarTest, SignedRegistrationMakesTheNodeRunning) {
  auto registrar = start("http://hub.test:8600/prefix/");
  sched.run();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].first, config::status::hub_registering);
  EXPECT_EQ(reports[1].first, config::status::running);
  EXPECT_NE(reports[1].second.find("waiting for webmaster@a.test"), std::string::npos)
      << reports[1].second;
  ASSERT_EQ(hub->requests.size(), 1u);
  const auto& req = hub->requests[0];
  EXPECT_EQ(req.path, "/prefix/api/v1/hub.register");
  EXPECT_EQ(header_of(req, origin_header), "a.test");
  auto body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["domain"], "a.test");
  EXPECT_EQ(body["url"], "https://chat.a.test:8443");
  auto key = crypto::parse_public_key_pem(body["public_key"].get<std::string>());
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, id->public_key());
  EXPECT_FALSE(verify_request(raw(*key), "POST", hub_register_path, header_of(req, time_header),
                              req.body, header_of(req, signature_header), 60s));
  auto report = ask<hub_registrar_report>(registrar, stats_atom::value);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->status, config::status::running);
  EXPECT_FALSE(report->confirmed);
  EXPECT_EQ(report->attempts, 1u);
}

TEST_F(HubRegistrarTest, HubDownAtBootFailsAfterThreeAttemptsThenRecovers) {
  hub->down = true;
  start();
  sched.run();
  EXPECT_EQ(last(), config::status::hub_registering);
  next_attempt();
  EXPECT_EQ(last(), config::status::hub_registering);
  next_attempt();
  ASSERT_EQ(hub->requests.size(), 3u);
  EXPECT_EQ(last(), config::status::hub_failed);
  EXPECT_NE(reports.back().second.find("cannot be reached: connection refused"), std::string::npos)
      << reports.back().second;
  next_attempt();  // still failing: no new report for the same reason
  auto count = reports.size();
  EXPECT_EQ(hub->requests.size(), 4u);
  hub->down = false;
  next_attempt();
  EXPECT_EQ(reports.size(), count + 1);
  EXPECT_EQ(last(), config::status::running);
}

TEST_F(HubRegistrarTest, RefusalFailsAtOnceAndRetriesInTheBackground) {
  hub->reply = {401, R"({"success":false,"error":"request time outside the accepted window"})"};
  start();
  sched.run();
  EXPECT_EQ(last(), config::status::hub_failed);
  EXPECT_NE(reports.back().second.find("refused the registration (HTTP 401: request time outside"),
            std::string::npos)
      << reports.back().second;
  hub->reply = {200, R"({"success":true,"status":"confirmed"})"};
  next_attempt();
  EXPECT_EQ(last(), config::status::running);
  EXPECT_NE(reports.back().second.find("confirmed"), std::string::npos);
}

TEST_F(HubRegistrarTest, BackoffDoublesWithinItsBounds) {
  hub->down = true;
  start();
  sched.run();
  ASSERT_EQ(hub->requests.size(), 1u);
  // First retry in [1 s, 2 s] (backoff_initial 2 s, equal jitter), the next in [2 s, 4 s].
  sched.advance_time(999ms);
  sched.run();
  EXPECT_EQ(hub->requests.size(), 1u);
  sched.advance_time(1001ms);
  sched.run();
  ASSERT_EQ(hub->requests.size(), 2u);
  sched.advance_time(1999ms);
  sched.run();
  EXPECT_EQ(hub->requests.size(), 2u);
  sched.advance_time(2001ms);
  sched.run();
  EXPECT_EQ(hub->requests.size(), 3u);
}

TEST_F(HubRegistrarTest, RateLimitedAttemptWaitsForRetryAfter) {
  hub->reply = {429, R"({"success":false,"error":"slow down","retry_after":30})"};
  start();
  sched.run();
  EXPECT_EQ(last(), config::status::hub_registering);  // transient, not yet failed
  expect_second_attempt_at(30s);
}

// A Hub that asks to wait for years is waited for the longest backoff (5 minutes here).
TEST_F(HubRegistrarTest, AHubsRetryAfterIsBoundedByTheLongestBackoff) {
  hub->reply = {429, R"({"success":false,"error":"slow down","retry_after":4000000000})"};
  start();
  sched.run();
  expect_second_attempt_at(std::chrono::minutes(5));
}

// Members of the wrong type are not a registration, and the registrar lives on: nlohmann's
// value() threw on them, which ended the actor, and the node never registered again.
TEST_F(HubRegistrarTest, AnAnswerWithMembersOfTheWrongTypeIsRefusedAndTheRegistrarGoesOn) {
  for (std::string body :
       {R"({"success":"yes","status":"confirmed"})", R"({"success":true,"status":1})",
        R"({"success":true,"status":"pending","mail_to":["x"]})"}) {
    hub->reply = {200, body};
    auto registrar = start();
    sched.run();
    if (body.find("mail_to") != std::string::npos) {
      EXPECT_EQ(last(), config::status::running) << body;  // mail_to is only shown
    } else {
      EXPECT_EQ(last(), config::status::hub_failed) << body;
      EXPECT_NE(reports.back().second.find("not a registration"), std::string::npos) << body;
    }
    EXPECT_TRUE(ask<hub_registrar_report>(registrar, stats_atom::value)) << body;
  }
  hub->reply = {429, R"({"success":false,"error":["slow"],"retry_after":"soon"})"};
  auto registrar = start();
  sched.run();
  EXPECT_TRUE(ask<hub_registrar_report>(registrar, stats_atom::value));
}

TEST_F(HubRegistrarTest, PendingRegistrationIsPolledUntilConfirmed) {
  auto registrar = start();
  sched.run();
  EXPECT_EQ(last(), config::status::running);
  hub->reply = {200, R"({"success":true,"status":"confirmed"})"};
  next_attempt();
  auto report = ask<hub_registrar_report>(registrar, stats_atom::value);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->confirmed);
  EXPECT_NE(report->reason.find("; confirmed"), std::string::npos) << report->reason;
}

TEST_F(HubRegistrarTest, FailedRefreshKeepsTheNodeRunning) {
  hub->reply = {200, R"({"success":true,"status":"confirmed"})"};
  start();
  sched.run();
  hub->down = true;
  for (int i = 0; i < 4; ++i) next_attempt();
  EXPECT_EQ(last(), config::status::running);
  EXPECT_NE(reports.back().second.find("the last refresh failed"), std::string::npos);
}

}  // namespace
}  // namespace fedrelay::actors
