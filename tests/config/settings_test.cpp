// Tests of load_settings/parse_settings: every field read, defaults, paths, missing keys,
// the example file, and how syntax errors and unreadable files are reported.
#include <sys/stat.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <caf/sec.hpp>

#include "config/settings.hpp"
#include "config/settings_file.hpp"
#include "tests/config/test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::config {
namespace {

using test::lines;
using test::problems;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string full_file() {
  return std::string(R"(
[federation]
enabled = false
domain = "Chat.A.Example"
discovery = "hub"
hub_url = "https://hub.example/federation/"
public_url = "https://chat.a.example:8443/"

[listen]
federation = "[::]:9443"
local = "127.0.0.2:3200"

[storage]
dir = "/var/lib/fedrelay-a"

[dns]
resolver = "127.0.0.1:5353"
timeout_ms = 750
negative_ttl_s = 0

[local_api]
token = "s3cret-token"

[tls]
cert = "/etc/fedrelay/cert.pem"
key = "/etc/fedrelay/key.pem"
ca = "/etc/fedrelay/ca.pem"

[peers]
allow = ["b.example", "*.Corp.Example"]
deny = ["spam.example"]

[[peers.static]]
domain = "b.example"
url = "http://127.0.0.1:8002"
public_key = """)") +
         test::test_pem + R"("""

[[peers.static]]
domain = "c.example"
url = "https://[::1]:8003/"
public_key = "-----BEGIN PUBLIC KEY-----MCowBQYDK2VwAyEAHOA6PDWHOKbmHRVjTf31NcC7TS9wnNtZl+ESeimUr9M=-----END PUBLIC KEY-----"

[transport]
batch_max_events = 100
batch_max_bytes = 65536
window = 2
backoff_initial_ms = 100
backoff_max_ms = 1000
request_timeout_ms = 5000

[limits]
max_body_bytes = 1048576
max_content_bytes = 65536
max_connections = 64
read_timeout_s = 10
clock_skew_s = 60

[hub]
listen = "127.0.0.1:8600"
public_url = "http://hub.example:8600"
dir = "/var/lib/fedrelay-hub"
smtp_url = "smtps://user:pass@mail.example:465"
mail_from = "hub@Hub.Example"
registrations_per_minute = 3
lookups_per_minute = 600
mails_per_domain_per_day = 2
mails_per_day = 50
mails_per_client_per_day = 7
)";
}

TEST(SettingsTest, ReadsEveryField) {
  auto s = parse_settings(full_file(), "/etc/fedrelay/node.toml");
  ASSERT_TRUE(s) << ::testing::PrintToString(error_lines(s.error()));
  EXPECT_FALSE(s->enabled);
  EXPECT_EQ(s->domain, "chat.a.example");
  EXPECT_EQ(s->discovery, discovery_method::hub);
  EXPECT_EQ(s->hub_url, "https://hub.example/federation");
  EXPECT_EQ(s->public_url, "https://chat.a.example:8443");
  EXPECT_EQ(s->listen_federation.host, "::");
  EXPECT_EQ(s->listen_federation.port, 9443);
  EXPECT_EQ(s->listen_local.host, "127.0.0.2");
  EXPECT_EQ(s->listen_local.port, 3200);
  EXPECT_EQ(s->storage_dir, "/var/lib/fedrelay-a");
  ASSERT_TRUE(s->dns_resolver);
  EXPECT_EQ(s->dns_resolver->host, "127.0.0.1");
  EXPECT_EQ(s->dns_resolver->port, 5353);
  EXPECT_EQ(s->dns_timeout, std::chrono::milliseconds(750));
  EXPECT_EQ(s->dns_negative_ttl, std::chrono::seconds(0));
  EXPECT_EQ(s->local_api_token, "s3cret-token");
  EXPECT_EQ(s->tls.cert, "/etc/fedrelay/cert.pem");
  EXPECT_EQ(s->tls.key, "/etc/fedrelay/key.pem");
  EXPECT_EQ(s->tls.ca, "/etc/fedrelay/ca.pem");
  EXPECT_TRUE(s->tls.enabled());
  EXPECT_THAT(s->allow, ElementsAre("b.example", "*.corp.example"));
  EXPECT_THAT(s->deny, ElementsAre("spam.example"));
  ASSERT_EQ(s->static_peers.size(), 2u);
  EXPECT_EQ(s->static_peers[0].domain, "b.example");
  EXPECT_EQ(s->static_peers[0].url, "http://127.0.0.1:8002");
  EXPECT_EQ(s->static_peers[0].public_key_pem, test::test_pem);
  EXPECT_EQ(s->static_peers[1].domain, "c.example");
  EXPECT_EQ(s->static_peers[1].url, "https://[::1]:8003");
  EXPECT_THAT(s->static_peers[1].public_key_pem, StartsWith("-----BEGIN PUBLIC KEY-----MCow"));
  EXPECT_EQ(s->transport.batch_max_events, 100u);
  EXPECT_EQ(s->transport.batch_max_bytes, 65536u);
  EXPECT_EQ(s->transport.window, 2u);
  EXPECT_EQ(s->transport.backoff_initial, std::chrono::milliseconds(100));
  EXPECT_EQ(s->transport.backoff_max, std::chrono::milliseconds(1000));
  EXPECT_EQ(s->transport.request_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(s->limits.max_body_bytes, 1048576u);
  EXPECT_EQ(s->limits.max_content_bytes, 65536u);
  EXPECT_EQ(s->limits.max_connections, 64u);
  EXPECT_EQ(s->limits.read_timeout, std::chrono::seconds(10));
  EXPECT_EQ(s->limits.clock_skew, std::chrono::seconds(60));
  EXPECT_EQ(s->hub.listen, "127.0.0.1:8600");
  EXPECT_EQ(s->hub.public_url, "http://hub.example:8600");
  EXPECT_EQ(s->hub.dir, "/var/lib/fedrelay-hub");
  EXPECT_EQ(s->hub.smtp_url, "smtps://user:pass@mail.example:465");
  EXPECT_EQ(s->hub.mail_from, "hub@hub.example");
  EXPECT_EQ(s->hub.registrations_per_minute, 3u);
  EXPECT_EQ(s->hub.lookups_per_minute, 600u);
  EXPECT_EQ(s->hub.mails_per_domain_per_day, 2u);
  EXPECT_EQ(s->hub.mails_per_day, 50u);
  EXPECT_EQ(s->hub.mails_per_client_per_day, 7u);
  EXPECT_EQ(s->source_path, "/etc/fedrelay/node.toml");
  EXPECT_TRUE(missing_keys(*s).empty());
}

TEST(SettingsTest, EmptyFileGivesDefaults) {
  auto s = parse_settings("", "/etc/fedrelay/node.toml");
  ASSERT_TRUE(s);
  settings defaults;
  EXPECT_TRUE(s->enabled);
  EXPECT_EQ(s->domain, "");
  EXPECT_EQ(s->discovery, discovery_method::dns);
  EXPECT_EQ(s->hub_url, "");
  EXPECT_EQ(s->public_url, "");
  EXPECT_EQ(s->listen_federation.to_string(), "0.0.0.0:8443");
  EXPECT_EQ(s->listen_local.to_string(), "127.0.0.1:3100");
  EXPECT_EQ(s->storage_dir, "");
  EXPECT_FALSE(s->dns_resolver);
  EXPECT_EQ(s->dns_timeout, defaults.dns_timeout);
  EXPECT_EQ(s->dns_negative_ttl, defaults.dns_negative_ttl);
  EXPECT_FALSE(s->tls.enabled());
  EXPECT_TRUE(s->allow.empty());
  EXPECT_TRUE(s->deny.empty());
  EXPECT_TRUE(s->static_peers.empty());
  EXPECT_EQ(s->transport.batch_max_events, defaults.transport.batch_max_events);
  EXPECT_EQ(s->transport.backoff_max, defaults.transport.backoff_max);
  EXPECT_EQ(s->limits.max_body_bytes, defaults.limits.max_body_bytes);
  EXPECT_EQ(s->limits.max_content_bytes, 1048576u);
  EXPECT_EQ(s->hub.listen, "");
  EXPECT_EQ(s->hub.registrations_per_minute, 10u);
  EXPECT_EQ(s->hub.lookups_per_minute, 120u);
  EXPECT_EQ(s->hub.mails_per_domain_per_day, 6u);
  EXPECT_EQ(s->hub.mails_per_day, 1000u);
  EXPECT_EQ(s->hub.mails_per_client_per_day, 20u);
  EXPECT_THAT(missing_keys(*s), ElementsAre("federation.domain", "federation.public_url",
                                            "storage.dir", "local_api.token"));
}

TEST(SettingsTest, CommentsOnlyAndEmptyTablesAreFine) {
  auto s = parse_settings(lines({"# nothing yet", "[federation]", "[peers]", "allow = []"}),
                          "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->domain, "");
}

TEST(SettingsTest, DottedAndInlineTablesAreTheSameKeys) {
  auto s = parse_settings(
      lines({"federation.domain = \"a.example\"", "listen = { local = \"127.0.0.1:4000\" }"}),
      "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->domain, "a.example");
  EXPECT_EQ(s->listen_local.port, 4000);
}

TEST(SettingsTest, MissingKeysNamesEachUnsetRequiredKey) {
  auto s = parse_settings(
      lines({"[federation]", "domain = \"a.example\"", "public_url = \"http://127.0.0.1:1\"",
             "[storage]", "dir = \"/d\"", "[local_api]", "token = \"t\""}),
      "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_TRUE(missing_keys(*s).empty());

  settings copy = *s;
  copy.local_api_token.clear();
  EXPECT_THAT(missing_keys(copy), ElementsAre("local_api.token"));
  copy = *s;
  copy.storage_dir.clear();
  copy.domain.clear();
  EXPECT_THAT(missing_keys(copy), ElementsAre("federation.domain", "storage.dir"));
}

TEST(SettingsTest, HubDiscoveryRequiresHubUrl) {
  auto base = std::string(
      "[federation]\ndomain = \"a.example\"\n"
      "public_url = \"http://127.0.0.1:1\"\n"
      "discovery = \"hub\"\n");
  auto rest = std::string("[storage]\ndir = \"/d\"\n[local_api]\ntoken = \"t\"\n");
  auto without = parse_settings(base + rest, "/x/node.toml");
  ASSERT_TRUE(without);
  EXPECT_THAT(missing_keys(*without), ElementsAre("federation.hub_url"));
  auto with = parse_settings(base + "hub_url = \"https://hub.example\"\n" + rest, "/x/node.toml");
  ASSERT_TRUE(with);
  EXPECT_TRUE(missing_keys(*with).empty());
}

TEST(SettingsTest, HubUrlIsNotRequiredByOtherMethods) {
  auto s = parse_settings(lines({"[federation]", "discovery = \"static\""}), "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->discovery, discovery_method::static_table);
  EXPECT_THAT(missing_keys(*s), ElementsAre("federation.domain", "federation.public_url",
                                            "storage.dir", "local_api.token"));
}

TEST(SettingsTest, EmptyStringsOfRequiredKeysMeanNotSet) {
  auto text = lines({"[federation]", "domain = \"\"", "public_url = \"\"", "[storage]",
                     "dir = \"\"", "[local_api]", "token = \"\""});
  auto s = parse_settings(text, "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_THAT(missing_keys(*s), ElementsAre("federation.domain", "federation.public_url",
                                            "storage.dir", "local_api.token"));
}

TEST(SettingsTest, DiscoveryNames) {
  EXPECT_EQ(to_string(discovery_method::dns), "dns");
  EXPECT_EQ(to_string(discovery_method::hub), "hub");
  EXPECT_EQ(to_string(discovery_method::static_table), "static");
  for (auto m : {discovery_method::dns, discovery_method::hub, discovery_method::static_table}) {
    auto s = parse_settings("federation.discovery = \"" + to_string(m) + "\"", "/x/node.toml");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->discovery, m);
  }
}

TEST(SettingsTest, StorageSyncsEveryWriteUnlessPeriodic) {
  auto defaults = parse_settings("", "/x/node.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->storage_sync, sync_mode::always);
  EXPECT_EQ(defaults->storage_sync_period, std::chrono::milliseconds{1000});
  auto s = parse_settings(lines({"[storage]", "sync = \"periodic\"", "sync_period_ms = 250"}),
                          "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->storage_sync, sync_mode::periodic);
  EXPECT_EQ(s->storage_sync_period, std::chrono::milliseconds{250});
  EXPECT_EQ(to_string(sync_mode::always), "always");
  EXPECT_EQ(to_string(sync_mode::periodic), "periodic");
}

TEST(SettingsTest, PeersAreReachedAtPublicAndPrivateAddressesUnlessSaidOtherwise) {
  auto defaults = parse_settings("", "/x/node.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->peer_addresses, address_reach::private_networks);
  for (auto [text, reach] : {std::pair{"public", address_reach::public_only},
                             std::pair{"private", address_reach::private_networks},
                             std::pair{"any", address_reach::any}}) {
    auto line = std::string("addresses = \"") + text + "\"";
    auto s = parse_settings(lines({"[peers]", line.c_str()}), "/x/node.toml");
    ASSERT_TRUE(s) << text;
    EXPECT_EQ(s->peer_addresses, reach);
    EXPECT_EQ(to_string(reach), text);
  }
}

TEST(SettingsTest, ReceiptsAreKeptAWeekUnlessSaidOtherwise) {
  auto defaults = parse_settings("", "/x/node.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->storage_receipts_kept, std::chrono::hours{168});
  auto s = parse_settings(lines({"[storage]", "receipts_kept_hours = 2"}), "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->storage_receipts_kept, std::chrono::hours{2});
}

TEST(SettingsTest, MarksOfHandledMessagesAreKeptThirtyDaysUnlessSaidOtherwise) {
  auto defaults = parse_settings("", "/x/node.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->storage_marks_kept, std::chrono::hours{720});
  auto s = parse_settings(lines({"[storage]", "marks_kept_hours = 48"}), "/x/node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->storage_marks_kept, std::chrono::hours{48});
}

TEST(SettingsTest, RelativePathsAreRelativeToTheFile) {
  fedrelay::test::temp_dir dir;
  std::filesystem::create_directories(dir / "etc");
  fedrelay::test::write_file(
      dir / "etc/node.toml",
      lines({"[storage]", "dir = \"./data/a/\"", "[tls]", "cert = \"tls/cert.pem\"",
             "key = \"../keys/key.pem\"", "ca = \"/abs/ca.pem\"", "[hub]", "dir = \"hubdata\""}));
  auto s = load_settings(dir / "etc/node.toml");
  ASSERT_TRUE(s) << ::testing::PrintToString(error_lines(s.error()));
  EXPECT_EQ(s->source_path, dir / "etc/node.toml");
  EXPECT_EQ(s->storage_dir, dir / "etc/data/a");
  EXPECT_EQ(s->tls.cert, dir / "etc/tls/cert.pem");
  EXPECT_EQ(s->tls.key, dir / "keys/key.pem");
  EXPECT_EQ(s->tls.ca, "/abs/ca.pem");
  EXPECT_EQ(s->hub.dir, dir / "etc/hubdata");
}

TEST(SettingsTest, RelativeNameIsAnchoredAtTheWorkingDirectory) {
  auto s = parse_settings("storage.dir = \"data\"", "conf/node.toml");
  ASSERT_TRUE(s);
  auto cwd = std::filesystem::current_path();
  EXPECT_EQ(s->source_path, (cwd / "conf/node.toml").string());
  EXPECT_EQ(s->storage_dir, (cwd / "conf/data").string());
}

TEST(SettingsTest, LoadsFromFile) {
  fedrelay::test::temp_dir dir;
  fedrelay::test::write_file(dir / "node.toml", "[federation]\ndomain = \"a.example\"\n");
  auto s = load_settings(dir / "node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->domain, "a.example");
}

TEST(SettingsTest, MissingFileIsParseFailedNamingThePath) {
  fedrelay::test::temp_dir dir;
  auto path = dir / "nope.toml";
  auto s = load_settings(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  EXPECT_THAT(error_lines(s.error()),
              ElementsAre(path + ": cannot read: No such file or directory"));
}

TEST(SettingsTest, DirectoryIsParseFailed) {
  fedrelay::test::temp_dir dir;
  auto s = load_settings(dir.path());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  EXPECT_THAT(error_lines(s.error()), ElementsAre(dir.path() + ": cannot read: it is a directory"));
}

// A FIFO would block the reader until someone writes to it: every command would hang.
TEST(SettingsTest, AFileThatIsNotARegularFileIsParseFailed) {
  fedrelay::test::temp_dir dir;
  auto path = dir / "node.toml";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto s = load_settings(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  EXPECT_THAT(error_lines(s.error()),
              ElementsAre(path + ": cannot read: it is a FIFO, not a regular file"));
}

TEST(SettingsTest, AFileLargerThanTheCapIsParseFailedUnread) {
  fedrelay::test::temp_dir dir;
  auto path = dir / "node.toml";
  // Comment lines of 1 KiB each, no line over max_settings_line_bytes.
  std::string comment;
  while (comment.size() + 2048 <= max_settings_file_bytes)
    comment += "# " + std::string(1021, 'x') + "\n";
  comment += "# " + std::string(max_settings_file_bytes - comment.size() - 3, 'x') + "\n";
  fedrelay::test::write_file(path, comment);
  EXPECT_TRUE(load_settings(path)) << "a file of exactly the cap is read";
  fedrelay::test::write_file(path, comment + "\n");
  auto s = load_settings(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  EXPECT_THAT(error_lines(s.error()),
              ElementsAre(path + ": cannot read: larger than 1 MiB, the most a settings file may "
                                 "hold (a node's settings take a few KiB)"));
}

TEST(SettingsTest, SyntaxErrorIsParseFailedWithLine) {
  auto s =
      parse_settings(lines({"[federation]", "enabled = true", "domain = = \"a\""}), "node.toml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  auto msgs = error_lines(s.error());
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_THAT(msgs[0], StartsWith("node.toml:3: "));
  EXPECT_THAT(msgs[0], HasSubstr("domain = = \"a\""));  // toml11 quotes the line
}

TEST(SettingsTest, SyntaxErrorInFileNamesTheFile) {
  fedrelay::test::temp_dir dir;
  fedrelay::test::write_file(dir / "node.toml", "a = 1\n\n[federation\n");
  auto s = load_settings(dir / "node.toml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  EXPECT_THAT(error_lines(s.error())[0], StartsWith(dir / "node.toml:3: "));
}

// toml11 parses each level of an array or inline table with a call of its own: a file
// nested thousands deep would overflow the stack and kill the process reading it.
TEST(SettingsTest, DeeplyNestedValuesAreParseFailedNotACrash) {
  const std::string arrays = "x = " + std::string(8000, '[') + std::string(8000, ']') + "\n";
  std::string tables = "x = ";
  for (int i = 0; i < 8000; ++i) tables += "{a=";
  tables += "1" + std::string(8000, '}') + "\n";
  for (const auto& deep : {arrays, tables}) {
    auto s = parse_settings(lines({"[federation]", "enabled = true"}) + deep, "node.toml");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), errc::parse_failed);
    EXPECT_THAT(error_lines(s.error()),
                ElementsAre("node.toml:3: values nested more than 64 levels deep (arrays and "
                            "inline tables); no setting needs more than 2"));
  }
  // The bound leaves room for any list a node's file holds.
  EXPECT_THAT(problems("x = " + std::string(64, '[') + std::string(64, ']') + "\n"),
              ElementsAre(HasSubstr("x: unknown key")));
}

// toml11 reads a long one-line list in time that grows with the square of its length.
TEST(SettingsTest, ALineLongerThanTheBoundIsParseFailed) {
  std::string list = "deny = [";
  for (int i = 0; list.size() <= max_settings_line_bytes; ++i)
    list += "\"d" + std::to_string(i) + ".example\", ";
  list += "\"last.example\"]\n";
  auto s = parse_settings(lines({"[peers]"}) + list, "node.toml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  EXPECT_THAT(error_lines(s.error()),
              ElementsAre("node.toml:2: a line longer than 64 KiB; write a long list one entry "
                          "per line"));
  // The same list one entry per line loads.
  std::string per_line = "deny = [\n";
  for (int i = 0; per_line.size() <= max_settings_line_bytes; ++i)
    per_line += "  \"d" + std::to_string(i) + ".example\",\n";
  per_line += "]\n";
  auto loaded = parse_settings(lines({"[peers]"}) + per_line, "node.toml");
  EXPECT_TRUE(loaded || loaded.error() != errc::parse_failed) << caf::to_string(loaded.error());
  EXPECT_EQ(line_too_long(lines({"[peers]"}) + per_line), 0u);
}

TEST(SettingsTest, DuplicateKeyIsParseFailed) {
  auto s = parse_settings(lines({"[storage]", "dir = \"a\"", "dir = \"b\""}), "node.toml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::parse_failed);
  EXPECT_THAT(error_lines(s.error())[0], StartsWith("node.toml:3: "));
}

TEST(SettingsTest, ExampleFileLoadsAndIsComplete) {
  auto path = std::string(FEDRELAY_SOURCE_DIR) + "/examples/node.toml";
  auto s = load_settings(path);
  ASSERT_TRUE(s) << ::testing::PrintToString(error_lines(s.error()));
  EXPECT_TRUE(missing_keys(*s).empty());
  EXPECT_TRUE(s->enabled);
  EXPECT_EQ(s->domain, "a.example");
  EXPECT_EQ(s->discovery, discovery_method::static_table);
  EXPECT_EQ(s->public_url, "http://127.0.0.1:8443");
  EXPECT_EQ(s->listen_federation.to_string(), "127.0.0.1:8443");
  EXPECT_EQ(s->listen_local.to_string(), "127.0.0.1:3100");
  EXPECT_EQ(s->storage_dir, std::string(FEDRELAY_SOURCE_DIR) + "/examples/data/a");
  EXPECT_FALSE(s->tls.enabled());
  ASSERT_EQ(s->static_peers.size(), 1u);
  EXPECT_EQ(s->static_peers[0].domain, "b.example");
  EXPECT_FALSE(s->hub.listen.empty());
}

// An operator who lowers only max_body_bytes in the example gets a file that loads: the
// example leaves max_content_bytes to follow it.
TEST(SettingsTest, TheExampleWithALowerBodyLimitAloneStillLoads) {
  auto text = fedrelay::test::read_file(std::string(FEDRELAY_SOURCE_DIR) + "/examples/node.toml");
  auto at = text.find("max_body_bytes = 16777216");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 25, "max_body_bytes = 65536");
  auto s = parse_settings(text, std::string(FEDRELAY_SOURCE_DIR) + "/examples/node.toml");
  ASSERT_TRUE(s) << ::testing::PrintToString(error_lines(s.error()));
  EXPECT_EQ(s->limits.max_content_bytes, 65536u - event_overhead_bytes);
}

TEST(SettingsTest, ExampleFileUsesEveryKey) {
  // Every key the reader knows appears in the example, set or commented out, so the
  // example documents them all.
  auto text = fedrelay::test::read_file(std::string(FEDRELAY_SOURCE_DIR) + "/examples/node.toml");
  for (const char* key : {"enabled",
                          "domain",
                          "discovery",
                          "hub_url",
                          "public_url",
                          "federation",
                          "local",
                          "dir",
                          "resolver",
                          "timeout_ms",
                          "negative_ttl_s",
                          "token",
                          "cert",
                          "key",
                          "ca",
                          "allow",
                          "deny",
                          "[[peers.static]]",
                          "url",
                          "public_key",
                          "batch_max_events",
                          "batch_max_bytes",
                          "window",
                          "backoff_initial_ms",
                          "backoff_max_ms",
                          "request_timeout_ms",
                          "max_body_bytes",
                          "max_content_bytes",
                          "max_connections",
                          "read_timeout_s",
                          "clock_skew_s",
                          "listen",
                          "smtp_url",
                          "mail_from"})
    EXPECT_THAT(text,
                AnyOf(HasSubstr(std::string("\n") + key), HasSubstr(std::string("\n# ") + key)))
        << key;  // a key shown commented out keeps its default
}

TEST(SettingsTest, ErrorLinesOfOtherErrors) {
  caf::error err = caf::make_error(caf::sec::unexpected_message);
  auto out = error_lines(err);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].empty());
}

TEST(SettingsTest, PasswordsInUrlsAreRedactedUpToTheLastAt) {
  EXPECT_EQ(redacted_url("smtp://user:secret@mail.example:587"),
            "smtp://user:***@mail.example:587");
  EXPECT_EQ(redacted_url("smtp://user:p@ss@mail.example/x@y"), "smtp://user:***@mail.example/x@y");
  EXPECT_EQ(redacted_url("smtps://user@mail.example"), "smtps://user@mail.example");
  EXPECT_EQ(redacted_url("smtp://mail.example:25"), "smtp://mail.example:25");
  EXPECT_EQ(redacted_url("not a url"), "not a url");
  // A setting that is refused is quoted without its password.
  auto s = parse_settings("[hub]\nsmtp_url = \"ftp://u:hunter2@mail.example\"\n", "hub.toml");
  ASSERT_FALSE(s);
  auto lines = error_lines(s.error());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find("hunter2"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("ftp://u:***@mail.example"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace fedrelay::config
