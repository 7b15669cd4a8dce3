// Tests that every bad value is reported as "FILE:LINE: KEY: what (expected)", that all
// problems of a file come together in file order, and that good values pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/errc.hpp"
#include "config/settings.hpp"
#include "tests/config/test_util.hpp"

namespace fedrelay::config {
namespace {

using test::lines;
using test::problems;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The value of one key under [section] (line 2), or its problems.
std::vector<std::string> problems_of(const char* section, const std::string& assignment) {
  return problems(std::string("[") + section + "]\n" + assignment + "\n");
}

caf::expected<settings> parse(const std::string& text) {
  return parse_settings(text, "/etc/fedrelay/node.toml");
}

// --- types ------------------------------------------------------------------------------

TEST(ValidationTest, BadValueIsInvalidWithContext) {
  auto s = parse_settings(lines({"[federation]", "enabled = \"yes\""}), "node.toml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::invalid);
  EXPECT_EQ(s.error().context().size(), 1u);
  EXPECT_EQ(s.error().context().get_as<std::string>(0),
            "node.toml:2: federation.enabled: \"yes\" is a string (expected true or false)");
}

TEST(ValidationTest, TypeErrorsNameKeyAndExpectedType) {
  EXPECT_THAT(problems_of("federation", "domain = 3"),
              ElementsAre("node.toml:2: federation.domain: 3 is an integer (expected a domain "
                          "name such as \"chat.example.com\")"));
  EXPECT_THAT(problems_of("transport", "window = 1.5"),
              ElementsAre("node.toml:2: transport.window: 1.5 is a float (expected an integer "
                          ">= 1)"));
  EXPECT_THAT(problems_of("dns", "timeout_ms = \"5\""),
              ElementsAre("node.toml:2: dns.timeout_ms: \"5\" is a string (expected an integer "
                          ">= 1)"));
  EXPECT_THAT(problems_of("storage", "dir = [\"a\"]"),
              ElementsAre("node.toml:2: storage.dir: got an array (expected a directory path)"));
  EXPECT_THAT(problems_of("listen", "local = 3100"),
              ElementsAre("node.toml:2: listen.local: 3100 is an integer (expected \"host:port\", "
                          "or \"[v6-address]:port\")"));
  EXPECT_THAT(problems_of("tls", "cert = true"),
              ElementsAre("node.toml:2: tls.cert: true is a boolean (expected a file path)"));
  EXPECT_THAT(problems_of("limits", "read_timeout_s = 1979-05-27"),
              ElementsAre("node.toml:2: limits.read_timeout_s: got a date or time (expected an "
                          "integer >= 1)"));
}

TEST(ValidationTest, SectionMustBeATable) {
  EXPECT_THAT(problems("storage = \"/var/lib\"\n"),
              ElementsAre("node.toml:1: storage: \"/var/lib\" is a string (expected a table "
                          "[storage])"));
}

TEST(ValidationTest, IntegersMustBeInRange) {
  EXPECT_THAT(problems_of("transport", "window = 0"),
              ElementsAre("node.toml:2: transport.window: 0 is too small (expected an integer >= "
                          "1)"));
  EXPECT_THAT(problems_of("limits", "max_body_bytes = -5"),
              ElementsAre("node.toml:2: limits.max_body_bytes: -5 is too small (expected an "
                          "integer >= 1)"));
  EXPECT_THAT(problems_of("dns", "negative_ttl_s = -1"),
              ElementsAre("node.toml:2: dns.negative_ttl_s: -1 is too small (expected an integer "
                          ">= 0)"));
  EXPECT_THAT(problems_of("dns", "negative_ttl_s = 0"), IsEmpty());
  for (const char* key : {"batch_max_events", "batch_max_bytes", "window", "backoff_initial_ms",
                          "backoff_max_ms", "request_timeout_ms"})
    EXPECT_THAT(problems_of("transport", std::string(key) + " = 0"),
                ElementsAre(HasSubstr(std::string("transport.") + key + ": 0 is too small")));
  for (const char* key :
       {"max_body_bytes", "max_content_bytes", "max_connections", "read_timeout_s", "clock_skew_s"})
    EXPECT_THAT(problems_of("limits", std::string(key) + " = 0"),
                ElementsAre(HasSubstr(std::string("limits.") + key + ": 0 is too small")));
  for (const char* key : {"registrations_per_minute", "lookups_per_minute", "mails_per_day",
                          "mails_per_client_per_day"}) {
    EXPECT_THAT(problems_of("hub", std::string(key) + " = 0"),
                ElementsAre(HasSubstr(std::string("hub.") + key + ": 0 is too small")));
    EXPECT_THAT(problems_of("hub", std::string(key) + " = 1000001"),
                ElementsAre(std::string("node.toml:2: hub.") + key +
                            ": 1000001 is too large (expected an integer from 1 to 1000000)"));
  }
}

TEST(ValidationTest, StorageSyncIsAModeAndItsPeriodAtMostAMinute) {
  EXPECT_THAT(problems_of("storage", "sync = \"sometimes\""),
              ElementsAre("node.toml:2: storage.sync: \"sometimes\" is not a sync mode (expected "
                          "\"always\" or \"periodic\")"));
  EXPECT_THAT(problems_of("storage", "sync = false"),
              ElementsAre(HasSubstr("storage.sync: false is a boolean")));
  EXPECT_THAT(problems_of("storage", "sync_period_ms = 0"),
              ElementsAre(HasSubstr("storage.sync_period_ms: 0 is too small")));
  EXPECT_THAT(problems_of("storage", "sync_period_ms = 60001"),
              ElementsAre("node.toml:2: storage.sync_period_ms: 60001 is too large (expected an "
                          "integer from 1 to 60000)"));
  EXPECT_THAT(problems_of("storage", "sync_period_ms = 60000"), IsEmpty());
  EXPECT_THAT(problems_of("storage", "sync = \"periodic\""), IsEmpty());
}

TEST(ValidationTest, PeerAddressesAreOneOfThreeChoices) {
  EXPECT_THAT(problems_of("peers", "addresses = \"everywhere\""),
              ElementsAre("node.toml:2: peers.addresses: \"everywhere\" is not a choice of peer "
                          "addresses (expected \"public\", \"private\" or \"any\")"));
  EXPECT_THAT(problems_of("peers", "addresses = \"any\""), IsEmpty());
}

TEST(ValidationTest, ReceiptsAndMarksAreKeptFromAnHourToTenYears) {
  EXPECT_THAT(problems_of("storage", "receipts_kept_hours = 0"),
              ElementsAre(HasSubstr("storage.receipts_kept_hours: 0 is too small")));
  EXPECT_THAT(problems_of("storage", "receipts_kept_hours = 87601"),
              ElementsAre(HasSubstr("storage.receipts_kept_hours: 87601 is too large")));
  EXPECT_THAT(problems_of("storage", "receipts_kept_hours = 1"), IsEmpty());
  EXPECT_THAT(problems_of("storage", "receipts_kept_hours = 87600"), IsEmpty());
  EXPECT_THAT(problems_of("storage", "marks_kept_hours = 0"),
              ElementsAre(HasSubstr("storage.marks_kept_hours: 0 is too small")));
  EXPECT_THAT(problems_of("storage", "marks_kept_hours = 87601"),
              ElementsAre(HasSubstr("storage.marks_kept_hours: 87601 is too large")));
  EXPECT_THAT(problems_of("storage", "marks_kept_hours = 1"), IsEmpty());
}

TEST(ValidationTest, BackoffMaxMustNotBeBelowInitial) {
  EXPECT_THAT(
      problems(lines({"[transport]", "backoff_initial_ms = 2000", "backoff_max_ms = 1000"})),
      ElementsAre("node.toml:3: transport.backoff_max_ms: 1000 ms of backoff_max_ms is "
                  "below the 2000 ms of backoff_initial_ms (expected backoff_max_ms >= "
                  "backoff_initial_ms)"));
  // Only the initial delay written: the default maximum (60 s) is below it, blame the key
  // the user wrote.
  EXPECT_THAT(problems(lines({"[transport]", "backoff_initial_ms = 120000"})),
              ElementsAre(HasSubstr("node.toml:2: transport.backoff_initial_ms: 60000 ms")));
  EXPECT_THAT(
      problems(lines({"[transport]", "backoff_initial_ms = 1000", "backoff_max_ms = 1000"})),
      IsEmpty());
}

TEST(ValidationTest, AUrlIsNamedByItsLengthPastTheLongestTaken) {
  auto long_url =
      "[federation]\nhub_url = \"https://hub.example/" + std::string(3000, 'x') + "\"\n";
  EXPECT_THAT(problems(long_url),
              ElementsAre("node.toml:2: federation.hub_url: is 3020 bytes long, more than a URL "
                          "here may be (2048) (expected \"https://host[:port][/path]\")"));
  auto taken = "[federation]\nhub_url = \"https://hub.example/" + std::string(2000, 'x') + "\"\n";
  EXPECT_THAT(problems(taken), IsEmpty());
}

TEST(ValidationTest, TheLargestContentMustFitInOneRequest) {
  EXPECT_THAT(
      problems(lines({"[limits]", "max_body_bytes = 65536", "max_content_bytes = 65536"})),
      ElementsAre("node.toml:3: limits.max_content_bytes: 65536 bytes of max_content_bytes and "
                  "4096 for the event around it exceed the 65536 of max_body_bytes (expected "
                  "max_content_bytes <= max_body_bytes - 4096)"));
  // Only the request limit written, below the default content limit (1 MiB): the content
  // limit follows it, unless no event would fit.
  auto lowered = parse(lines({"[limits]", "max_body_bytes = 65536"}));
  ASSERT_TRUE(lowered) << caf::to_string(lowered.error());
  EXPECT_EQ(lowered->limits.max_content_bytes, 61440u);
  EXPECT_THAT(problems(lines({"[limits]", "max_body_bytes = 4096"})),
              ElementsAre(AllOf(HasSubstr("node.toml:2: limits.max_body_bytes: 1048576 bytes"),
                                HasSubstr("(expected max_body_bytes >= 4352 (the least "
                                          "max_content_bytes, 256, and the event around it))"))));
  EXPECT_THAT(problems(lines({"[limits]", "max_body_bytes = 65536", "max_content_bytes = 61440"})),
              IsEmpty());
}

// --- federation -------------------------------------------------------------------------

TEST(ValidationTest, DomainMustBeADnsName) {
  auto expect_bad = [](const char* domain, const std::string& why) {
    EXPECT_THAT(problems_of("federation", std::string("domain = \"") + domain + "\""),
                ElementsAre("node.toml:2: federation.domain: \"" + std::string(domain) + "\" " +
                            why + " (expected a domain name such as \"chat.example.com\")"))
        << domain;
  };
  expect_bad("a..example", "has an empty label");
  expect_bad(".a.example", "has an empty label");
  expect_bad("a.example.", "has an empty label");
  expect_bad("a_b.example", "contains \"_\"");
  expect_bad("a b.example", "contains \" \"");
  expect_bad("-a.example", "has a label that starts or ends with '-'");
  expect_bad("a-.example", "has a label that starts or ends with '-'");
  expect_bad("https://a.example", "contains \":\"");
  std::string long_label(64, 'x');
  EXPECT_THAT(problems_of("federation", "domain = \"" + long_label + ".example\""),
              ElementsAre(HasSubstr("has a label longer than 63 characters")));
  std::string long_name;
  for (int i = 0; i < 50; ++i) long_name += "abcd.";
  long_name += "example";
  EXPECT_THAT(problems_of("federation", "domain = \"" + long_name + "\""),
              ElementsAre(HasSubstr("is longer than 253 characters")));
}

TEST(ValidationTest, DomainIsLowercased) {
  auto s = parse(lines({"[federation]", "domain = \"Chat.A-1.EXAMPLE\""}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->domain, "chat.a-1.example");
  auto single = parse(lines({"[federation]", "domain = \"localhost\""}));
  ASSERT_TRUE(single);
  EXPECT_EQ(single->domain, "localhost");
}

TEST(ValidationTest, DiscoveryMustBeKnown) {
  EXPECT_THAT(problems_of("federation", "discovery = \"DNS\""),
              ElementsAre("node.toml:2: federation.discovery: \"DNS\" is not a discovery method "
                          "(expected \"dns\", \"hub\" or \"static\")"));
  EXPECT_THAT(problems_of("federation", "discovery = \"mdns\""),
              ElementsAre(HasSubstr("federation.discovery: \"mdns\" is not a discovery method")));
}

TEST(ValidationTest, PublicUrlIsHttpHostPortWithoutPath) {
  auto expect_bad = [](const char* url, const std::string& why) {
    EXPECT_THAT(problems_of("federation", std::string("public_url = \"") + url + "\""),
                ElementsAre("node.toml:2: federation.public_url: \"" + std::string(url) + "\" " +
                            why + " (expected \"https://host[:port]\" without a path)"))
        << url;
  };
  expect_bad("chat.a.example:8443", "has no scheme");
  expect_bad("ftp://chat.a.example", "has the scheme \"ftp\"");
  expect_bad("https://chat.a.example/fed", "has a path \"/fed\"");
  expect_bad("https://chat.a.example?x=1", "has a query or fragment");
  expect_bad("https://chat.a.example/#top", "has a query or fragment");
  expect_bad("https://user@chat.a.example", "has user info");
  expect_bad("https://", "has no host");
  expect_bad("https://:8443", "has no host");
  expect_bad("https://chat.a.example:", "has no port after ':'");
  expect_bad("https://chat.a.example:99999", "has a port over 65535");
  expect_bad("https://chat.a.example:84x3", "has a port that is not a number");
  expect_bad("https://chat.a.example:0", "has port 0");
  expect_bad("https://chat_a.example", "has an invalid host \"chat_a.example\"");
  expect_bad("https://[::g]:8443", "has \"::g\" in brackets, which is not an IPv6 address");
  expect_bad("https://chat a.example", "contains whitespace");

  for (auto [given, stored] : {std::pair{"https://chat.a.example/", "https://chat.a.example"},
                               std::pair{"http://127.0.0.1:8443", "http://127.0.0.1:8443"},
                               std::pair{"HTTPS://Chat.A.Example:1", "HTTPS://Chat.A.Example:1"},
                               std::pair{"https://[::1]:8443/", "https://[::1]:8443"}}) {
    auto s = parse(std::string("federation.public_url = \"") + given + "\"");
    ASSERT_TRUE(s) << given;
    EXPECT_EQ(s->public_url, stored);
  }
}

TEST(ValidationTest, HubUrlMayHaveAPath) {
  auto s = parse("federation.hub_url = \"https://hub.example/rc/\"");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->hub_url, "https://hub.example/rc");
  EXPECT_THAT(problems_of("federation", "hub_url = \"hub.example\""),
              ElementsAre("node.toml:2: federation.hub_url: \"hub.example\" has no scheme "
                          "(expected \"https://host[:port][/path]\")"));
}

// --- listen, dns, local_api, tls ----------------------------------------------------------

TEST(ValidationTest, ListenAddressesAreEndpoints) {
  const std::string expected = " (expected \"host:port\", or \"[v6-address]:port\")";
  EXPECT_THAT(problems(lines({"[listen]", "", "federation = \"0.0.0.0\""})),
              ElementsAre("node.toml:3: listen.federation: \"0.0.0.0\" has no port" + expected));
  EXPECT_THAT(problems_of("listen", "local = \"127.0.0.1:70000\""),
              ElementsAre("node.toml:2: listen.local: \"127.0.0.1:70000\" has a port over 65535" +
                          expected));
  EXPECT_THAT(problems_of("listen", "local = \"127.0.0.1:http\""),
              ElementsAre(HasSubstr("has a port that is not a number")));
  EXPECT_THAT(problems_of("listen", "local = \"127.0.0.1:0\""),
              ElementsAre(HasSubstr("listen.local: \"127.0.0.1:0\" has port 0")));
  EXPECT_THAT(problems_of("listen", "local = \"::1:3100\""),
              ElementsAre(HasSubstr("has an IPv6 address without brackets")));
  EXPECT_THAT(problems_of("listen", "local = \":3100\""), ElementsAre(HasSubstr("has no host")));
  EXPECT_THAT(problems_of("listen", "local = \"\""), ElementsAre(HasSubstr("is empty")));

  auto s = parse(lines({"[listen]", "federation = \"[::]:8443\"", "local = \"localhost:3100\""}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->listen_federation.host, "::");
  EXPECT_EQ(s->listen_local.host, "localhost");
}

TEST(ValidationTest, ResolverPortDefaultsTo53) {
  auto resolver = [](const char* text) -> std::string {
    auto s = parse(std::string("dns.resolver = \"") + text + "\"");
    if (!s) return "error";
    return s->dns_resolver ? s->dns_resolver->to_string() : "system";
  };
  EXPECT_EQ(resolver("127.0.0.1:5353"), "127.0.0.1:5353");
  EXPECT_EQ(resolver("127.0.0.1"), "127.0.0.1:53");
  EXPECT_EQ(resolver("[::1]:5353"), "[::1]:5353");
  EXPECT_EQ(resolver("[::1]"), "[::1]:53");
  EXPECT_EQ(resolver("::1"), "[::1]:53");
  EXPECT_EQ(resolver(""), "system");
}

TEST(ValidationTest, ResolverMustBeAnIpAddress) {
  const std::string expected =
      " (expected an IP address with an optional port, such as \"127.0.0.1:53\")";
  EXPECT_THAT(problems_of("dns", "resolver = \"dns.example:53\""),
              ElementsAre("node.toml:2: dns.resolver: \"dns.example:53\" has the host "
                          "\"dns.example\", which is not an IP address" +
                          expected));
  EXPECT_THAT(problems_of("dns", "resolver = \"127.0.0.1:x\""),
              ElementsAre("node.toml:2: dns.resolver: \"127.0.0.1:x\" has a port that is not a "
                          "number" +
                          expected));
  EXPECT_THAT(problems_of("dns", "resolver = \"127.0.0.1:0\""),
              ElementsAre(HasSubstr("has port 0")));
  EXPECT_THAT(problems_of("dns", "resolver = \"300.0.0.1\""),
              ElementsAre(HasSubstr("which is not an IP address")));
}

TEST(ValidationTest, TokenWithWhitespaceIsRejectedWithoutEchoingIt) {
  auto out = problems_of("local_api", "token = \"my secret\"");
  EXPECT_THAT(out, ElementsAre("node.toml:2: local_api.token: contains whitespace (expected "
                               "printable characters without spaces)"));
  EXPECT_THAT(out[0], Not(HasSubstr("secret")));
}

TEST(ValidationTest, TlsNeedsCertAndKeyTogether) {
  EXPECT_THAT(problems(lines({"[tls]", "cert = \"/c.pem\""})),
              ElementsAre("node.toml:2: tls.cert: is set without tls.key (expected both "
                          "tls.cert and tls.key, or neither)"));
  EXPECT_THAT(problems(lines({"[tls]", "ca = \"/ca.pem\"", "key = \"/k.pem\""})),
              ElementsAre("node.toml:3: tls.key: is set without tls.cert (expected both "
                          "tls.cert and tls.key, or neither)"));
  auto s = parse(lines({"[tls]", "ca = \"ca.pem\""}));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->tls.enabled());
  EXPECT_EQ(s->tls.ca, "/etc/fedrelay/ca.pem");
}

// --- peers --------------------------------------------------------------------------------

TEST(ValidationTest, AllowAndDenyEntriesAreDomainsOrWildcards) {
  const std::string expected =
      " (expected a domain such as \"b.example\" or a wildcard such as \"*.example.com\")";
  EXPECT_THAT(
      problems(lines({"[peers]", "allow = [\"b.example\", \"*.corp.example\"]",
                      "deny = [\"ok.example\",", "  \"also-ok.example\",", "  \"bad..example\",",
                      "  \"*\", \"a.*.example\", 7]"})),
      ElementsAre("node.toml:5: peers.deny[2]: \"bad..example\" has an empty label" + expected,
                  "node.toml:6: peers.deny[3]: \"*\" contains \"*\"" + expected,
                  "node.toml:6: peers.deny[4]: \"a.*.example\" contains \"*\"" + expected,
                  "node.toml:6: peers.deny[5]: 7 is an integer" + expected));
  EXPECT_THAT(problems_of("peers", "allow = \"b.example\""),
              ElementsAre("node.toml:2: peers.allow: \"b.example\" is a string (expected an "
                          "array of domains, such as [\"b.example\"])"));
  EXPECT_THAT(problems_of("peers", "allow = [\"\"]"),
              ElementsAre(HasSubstr("peers.allow[0]: \"\" is empty")));
  EXPECT_THAT(problems_of("peers", "allow = [\"*.\"]"),
              ElementsAre(HasSubstr("peers.allow[0]: \"*.\" is empty")));
}

TEST(ValidationTest, AllowAndDenyAreLowercased) {
  auto s = parse(lines({"[peers]", "allow = [\"B.Example\", \"*.CORP.example\"]"}));
  ASSERT_TRUE(s);
  EXPECT_THAT(s->allow, ElementsAre("b.example", "*.corp.example"));
}

TEST(ValidationTest, PeerAllowed) {
  settings s;
  EXPECT_TRUE(peer_allowed(s, "anything.example"));
  s.deny = {"spam.example", "*.bad.example"};
  EXPECT_FALSE(peer_allowed(s, "spam.example"));
  EXPECT_FALSE(peer_allowed(s, "SPAM.example"));
  EXPECT_FALSE(peer_allowed(s, "x.bad.example"));
  EXPECT_FALSE(peer_allowed(s, "y.x.bad.example"));
  EXPECT_TRUE(peer_allowed(s, "bad.example"));  // a wildcard is for names below it
  EXPECT_TRUE(peer_allowed(s, "notbad.example"));
  EXPECT_TRUE(peer_allowed(s, "sub.spam.example"));
  s.allow = {"b.example", "*.corp.example"};
  EXPECT_TRUE(peer_allowed(s, "b.example"));
  EXPECT_TRUE(peer_allowed(s, "eu.corp.example"));
  EXPECT_FALSE(peer_allowed(s, "c.example"));
  EXPECT_FALSE(peer_allowed(s, "corp.example"));
  s.deny.push_back("b.example");
  EXPECT_FALSE(peer_allowed(s, "b.example"));  // deny wins
}

TEST(ValidationTest, StaticPeersAreChecked) {
  std::string pem = test::test_pem;
  auto text =
      "[[peers.static]]\n"                  // 1
      "domain = \"B.example\"\n"            // 2
      "url = \"http://127.0.0.1:8002/\"\n"  // 3
      "public_key = \"\"\"" +               // 4
      pem +
      "\n\"\"\"\n" +                                  // 5, 6, 7
      "[[peers.static]]\n"                            // 8
      "domain = \"b.example\"\n"                      // 9
      "url = \"ftp://b.example\"\n"                   // 10
      "public_key = \"MCowBQYDK2VwAyEA\"\n"           // 11
      "pubkey = \"x\"\n"                              // 12
      "[[peers.static]]\n"                            // 13
      "domain = \"c..example\"\n"                     // 14
      "[[peers.static]]\n"                            // 15
      "public_key = \"-----BEGIN PUBLIC KEY-----\\n"  // 16
      "\"\n";
  const std::string url_expected = " (expected \"http://host:port\" or \"https://host:port\")";
  const std::string pem_expected =
      " (expected a PEM block from \"-----BEGIN PUBLIC KEY-----\" to \"-----END PUBLIC "
      "KEY-----\")";
  EXPECT_THAT(
      problems(text),
      ElementsAre(
          "node.toml:9: peers.static[1].domain: \"b.example\" is already listed on line 2 "
          "(expected each domain once)",
          "node.toml:10: peers.static[1].url: \"ftp://b.example\" has the scheme \"ftp\"" +
              url_expected,
          "node.toml:11: peers.static[1].public_key: does not start with \"-----BEGIN PUBLIC "
          "KEY-----\"" +
              pem_expected,
          "node.toml:12: peers.static[1].pubkey: unknown key (did you mean "
          "peers.static[1].public_key?)",
          "node.toml:13: peers.static[2].url: is not set" + url_expected,
          "node.toml:13: peers.static[2].public_key: is not set" + pem_expected,
          "node.toml:14: peers.static[2].domain: \"c..example\" has an empty label (expected the "
          "peer's domain, such as \"b.example\")",
          "node.toml:15: peers.static[3].domain: is not set (expected the peer's domain, such as "
          "\"b.example\")",
          "node.toml:15: peers.static[3].url: is not set" + url_expected,
          "node.toml:16: peers.static[3].public_key: does not end with \"-----END PUBLIC "
          "KEY-----\"" +
              pem_expected));
}

TEST(ValidationTest, StaticPeerKeyArmour) {
  auto key_problem = [](const std::string& key) {
    auto out = problems(
        "[[peers.static]]\ndomain = \"b.example\"\nurl = \"http://b.example\"\n"
        "public_key = '''" +
        key + "'''\n");
    return out.empty() ? std::string() : out[0];
  };
  EXPECT_EQ(key_problem(test::test_pem), "");
  EXPECT_EQ(key_problem(std::string("\n  ") + test::test_pem + "\n\n"), "");
  EXPECT_THAT(key_problem("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----"),
              HasSubstr("has no key between the BEGIN and END lines"));
  EXPECT_THAT(key_problem("-----BEGIN PUBLIC KEY-----\nMCow!BQ\n-----END PUBLIC KEY-----"),
              HasSubstr("has a character that is not base64 (\"!\") between the BEGIN and END"));
  EXPECT_THAT(key_problem("-----BEGIN PRIVATE KEY-----\nMCow\n-----END PRIVATE KEY-----"),
              HasSubstr("does not start with"));
  EXPECT_THAT(key_problem("-----BEGIN PUBLIC KEY-----"), HasSubstr("does not end with"));
}

TEST(ValidationTest, StaticPeersMustBeAnArrayOfTables) {
  EXPECT_THAT(problems(lines({"[peers.static]", "domain = \"b.example\""})),
              ElementsAre("node.toml:1: peers.static: got a table (expected an array of tables, "
                          "written [[peers.static]])"));
  EXPECT_THAT(problems(lines({"[peers]", "static = [1]"})),
              ElementsAre("node.toml:2: peers.static[0]: 1 is an integer (expected a table with "
                          "domain, url and public_key)"));
}

// --- hub ----------------------------------------------------------------------------------

TEST(ValidationTest, HubSettingsAreChecked) {
  EXPECT_THAT(
      problems(lines({"[hub]", "listen = \"8600\"", "public_url = \"http://hub.example/x\"",
                      "dir = \"hub\"", "smtp_url = \"http://mail.example\"",
                      "mail_from = \"hub.example\""})),
      ElementsAre("node.toml:2: hub.listen: \"8600\" has no port (expected \"host:port\", or "
                  "\"[v6-address]:port\")",
                  "node.toml:3: hub.public_url: \"http://hub.example/x\" has a path \"/x\" "
                  "(expected \"https://host[:port]\" without a path)",
                  "node.toml:5: hub.smtp_url: \"http://mail.example\" has the scheme \"http\" "
                  "(expected \"smtp://host[:port]\" or \"smtps://host[:port]\")",
                  "node.toml:6: hub.mail_from: \"hub.example\" is not an address of the form "
                  "name@domain (expected an address such as \"hub@hub.example\")"));
  EXPECT_THAT(problems_of("hub", "mail_from = \"hub@bad_domain\""),
              ElementsAre(HasSubstr("hub.mail_from: \"hub@bad_domain\" has a domain that "
                                    "contains \"_\"")));
  EXPECT_THAT(problems_of("hub", "mail_from = \"Hub <hub@hub.example>\""),
              ElementsAre(HasSubstr("contains whitespace")));
  auto s =
      parse(lines({"[hub]", "listen = \"[::1]:8600\"", "smtp_url = \"smtp://127.0.0.1:2525/\""}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->hub.listen, "[::1]:8600");
  EXPECT_EQ(s->hub.smtp_url, "smtp://127.0.0.1:2525");
}

// --- unknown keys -------------------------------------------------------------------------

TEST(ValidationTest, UnknownKeysAreProblems) {
  EXPECT_THAT(problems(lines({"[federation]", "enabeld = true"})),
              ElementsAre("node.toml:2: federation.enabeld: unknown key (did you mean "
                          "federation.enabled?)"));
  EXPECT_THAT(problems(lines({"[listen]", "dir = \"/x\""})),
              ElementsAre("node.toml:2: listen.dir: unknown key (it belongs in [storage]: "
                          "storage.dir)"));
  EXPECT_THAT(problems(lines({"[storage]", "compression = \"zstd\""})),
              ElementsAre("node.toml:2: storage.compression: unknown key (expected one of dir, "
                          "sync, sync_period_ms, receipts_kept_hours, marks_kept_hours)"));
  EXPECT_THAT(problems(lines({"[federation.extra]", "x = 1"})),
              ElementsAre(HasSubstr("node.toml:1: federation.extra: unknown key")));
}

TEST(ValidationTest, UnknownTablesAreProblems) {
  EXPECT_THAT(problems(lines({"", "[lsten]", "local = \"127.0.0.1:1\""})),
              ElementsAre("node.toml:2: lsten: unknown table (did you mean [listen]?)"));
  EXPECT_THAT(problems(lines({"[metrics]", "port = 9100"})),
              ElementsAre("node.toml:1: metrics: unknown table (expected one of [federation], "
                          "[listen], [storage], [dns], [local_api], [tls], [peers], "
                          "[transport], [limits], [files], [hub])"));
  EXPECT_THAT(problems("domain = \"a.example\"\n"),
              ElementsAre("node.toml:1: domain: unknown key (it belongs in [federation]: "
                          "federation.domain)"));
  EXPECT_THAT(
      problems("local = \"127.0.0.1:1\"\n"),
      ElementsAre("node.toml:1: local: unknown key (it belongs in [listen]: listen.local)"));
  EXPECT_THAT(problems(lines({"[local]", "token = \"t\""})),
              ElementsAre("node.toml:1: local: unknown table (did you mean [local_api]?)"));
}

// --- many at once -------------------------------------------------------------------------

TEST(ValidationTest, AllProblemsAreReportedInFileOrder) {
  auto s = parse_settings(lines({
                              "[federation]",                      // 1
                              "enabled = 1",                       // 2
                              "domain = \"a..example\"",           // 3
                              "discovery = \"carrier-pigeon\"",    // 4
                              "[listen]",                          // 5
                              "federation = \"0.0.0.0\"",          // 6
                              "[transport]",                       // 7
                              "window = 0",                        // 8
                              "[peers]",                           // 9
                              "deny = [\"ok.example\", \"b@d\"]",  // 10
                              "[typo]",                            // 11
                          }),
                          "node.toml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::invalid);
  auto out = error_lines(s.error());
  ASSERT_EQ(out.size(), 7u) << ::testing::PrintToString(out);
  EXPECT_THAT(out[0], HasSubstr("node.toml:2: federation.enabled: 1 is an integer"));
  EXPECT_THAT(out[1], HasSubstr("node.toml:3: federation.domain: \"a..example\""));
  EXPECT_THAT(out[2], HasSubstr("node.toml:4: federation.discovery: \"carrier-pigeon\""));
  EXPECT_THAT(out[3], HasSubstr("node.toml:6: listen.federation: \"0.0.0.0\" has no port"));
  EXPECT_THAT(out[4], HasSubstr("node.toml:8: transport.window: 0 is too small"));
  EXPECT_THAT(out[5], HasSubstr("node.toml:10: peers.deny[1]: \"b@d\" contains \"@\""));
  EXPECT_THAT(out[6], HasSubstr("node.toml:11: typo: unknown table"));
}

TEST(ValidationTest, LongValuesAreShortenedInMessages) {
  std::string long_value(200, 'x');
  auto out = problems_of("federation", "discovery = \"" + long_value + "\"");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], HasSubstr("\"" + std::string(60, 'x') + "...\""));
  EXPECT_LT(out[0].size(), 200u);
}

// --- files ------------------------------------------------------------------------------

TEST(ValidationTest, FilesSectionReadsLimitsAndTypes) {
  auto s = parse(
      lines({"[files]", "max_bytes = 1048576", "allowed_types = [\"Image/*\", \"text/plain\"]",
             "fetch_chunk_bytes = 65536", "fetch_max_bytes_per_s = 0", "fetch_attempts = 3"}));
  ASSERT_TRUE(s) << caf::to_string(s.error());
  EXPECT_EQ(s->files.max_bytes, 1048576u);
  EXPECT_EQ(s->files.allowed_types, (std::vector<std::string>{"image/*", "text/plain"}));
  EXPECT_EQ(s->files.fetch_chunk_bytes, 65536u);
  EXPECT_EQ(s->files.fetch_attempts, 3u);
}

TEST(ValidationTest, FilesSectionNamesBadValues) {
  EXPECT_THAT(
      problems_of("files", "max_bytes = 0"),
      ElementsAre("node.toml:2: files.max_bytes: 0 is too small (expected an integer >= 1)"));
  EXPECT_THAT(problems_of("files", "allowed_types = \"image/*\""),
              ElementsAre(HasSubstr("node.toml:2: files.allowed_types: ")));
  EXPECT_THAT(problems_of("files", "allowed_types = [\"image\", \"*/png\", \"te xt/plain\"]"),
              ElementsAre("node.toml:2: files.allowed_types[0]: \"image\" has no '/' (expected a "
                          "MIME type such as \"image/png\" or a wildcard such as \"image/*\")",
                          HasSubstr("files.allowed_types[1]: \"*/png\" may only be"),
                          HasSubstr("files.allowed_types[2]: \"te xt/plain\" has a bad type")));
  EXPECT_THAT(problems_of("files", "max_byte = 3"),
              ElementsAre(HasSubstr("did you mean files.max_bytes?")));
}

TEST(ValidationTest, FileTypesMatchExactlyOrByWildcard) {
  file_settings f;
  EXPECT_TRUE(file_type_allowed(f, "application/x-anything"));  // empty list: any type
  f.allowed_types = {"image/*", "text/plain"};
  EXPECT_TRUE(file_type_allowed(f, "image/png"));
  EXPECT_TRUE(file_type_allowed(f, "IMAGE/JPEG"));
  EXPECT_TRUE(file_type_allowed(f, "text/plain; charset=utf-8"));
  EXPECT_FALSE(file_type_allowed(f, "text/html"));
  EXPECT_FALSE(file_type_allowed(f, "imagex/png"));
  EXPECT_FALSE(file_type_allowed(f, "image/*"));  // a pattern is not a type
  EXPECT_FALSE(file_type_allowed(f, "garbage"));
  f.allowed_types = {"*/*"};
  EXPECT_TRUE(file_type_allowed(f, "video/mp4"));
}

}  // namespace
}  // namespace fedrelay::config
