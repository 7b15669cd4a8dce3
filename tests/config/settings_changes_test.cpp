// Which keys a reload finds changed: each key of the file on its own, nothing for a key
// written out at its default, and the [[peers.static]] tables as one key.
#include "config/settings_changes.hpp"

#include <utility>

#include <gtest/gtest.h>

#include "config/errc.hpp"
#include "tests/config/test_util.hpp"

namespace fedrelay::config {
namespace {

using strings = std::vector<std::string>;

settings parsed(const std::string& text) {
  auto s = parse_settings(text, "node.toml");
  EXPECT_TRUE(s) << (s ? "" : error_lines(s.error()).front());
  return s ? std::move(*s) : settings{};
}

std::string static_peer_of(const char* url, const char* domain = "b.example") {
  return std::string("[[peers.static]]\ndomain = \"") + domain + "\"\nurl = \"" + url +
         "\"\npublic_key = \"\"\"" + test::test_pem + "\"\"\"\n";
}

TEST(ChangedKeysTest, EachKeyOfTheFileIsNamedWhenItAloneChanges) {
  // A key's table, the key written at another value than its default, and its name.
  const std::vector<std::pair<std::string, std::string>> edits{
      {"[federation]\nenabled = false", "federation.enabled"},
      {"[federation]\ndomain = \"x.example\"", "federation.domain"},
      {"[federation]\ndiscovery = \"static\"", "federation.discovery"},
      {"[federation]\nhub_url = \"https://hub.example/\"", "federation.hub_url"},
      {"[federation]\npublic_url = \"https://x.example/\"", "federation.public_url"},
      {"[listen]\nfederation = \"127.0.0.1:9443\"", "listen.federation"},
      {"[listen]\nlocal = \"127.0.0.1:3200\"", "listen.local"},
      {"[storage]\ndir = \"/var/lib/x\"", "storage.dir"},
      {"[storage]\nsync = \"periodic\"", "storage.sync"},
      {"[storage]\nsync_period_ms = 50", "storage.sync_period_ms"},
      {"[storage]\nreceipts_kept_hours = 24", "storage.receipts_kept_hours"},
      {"[storage]\nmarks_kept_hours = 24", "storage.marks_kept_hours"},
      {"[dns]\nresolver = \"127.0.0.1:5353\"", "dns.resolver"},
      {"[dns]\ntimeout_ms = 750", "dns.timeout_ms"},
      {"[dns]\nnegative_ttl_s = 5", "dns.negative_ttl_s"},
      {"[local_api]\ntoken = \"other\"", "local_api.token"},
      {"[tls]\ncert = \"/c.pem\"\nkey = \"/k.pem\"", "tls.cert, tls.key"},
      {"[tls]\nca = \"/ca.pem\"", "tls.ca"},
      {"[peers]\nallow = [\"b.example\"]", "peers.allow"},
      {"[peers]\ndeny = [\"b.example\"]", "peers.deny"},
      {"[peers]\naddresses = \"any\"", "peers.addresses"},
      {static_peer_of("http://127.0.0.1:8002"), "peers.static"},
      {"[transport]\nbatch_max_events = 10", "transport.batch_max_events"},
      {"[transport]\nbatch_max_bytes = 65536", "transport.batch_max_bytes"},
      {"[transport]\nwindow = 8", "transport.window"},
      {"[transport]\nbackoff_initial_ms = 100", "transport.backoff_initial_ms"},
      {"[transport]\nbackoff_max_ms = 120000", "transport.backoff_max_ms"},
      {"[transport]\nrequest_timeout_ms = 5000", "transport.request_timeout_ms"},
      {"[limits]\nmax_body_bytes = 33554432", "limits.max_body_bytes"},
      {"[limits]\nmax_content_bytes = 4096", "limits.max_content_bytes"},
      {"[limits]\nmax_connections = 10", "limits.max_connections"},
      {"[limits]\nread_timeout_s = 5", "limits.read_timeout_s"},
      {"[limits]\nclock_skew_s = 60", "limits.clock_skew_s"},
      {"[files]\nmax_bytes = 1024", "files.max_bytes"},
      {"[files]\nallowed_types = [\"image/*\"]", "files.allowed_types"},
      {"[files]\nfetch_chunk_bytes = 65536", "files.fetch_chunk_bytes"},
      {"[files]\nfetch_max_bytes_per_s = 1000", "files.fetch_max_bytes_per_s"},
      {"[files]\nfetch_attempts = 2", "files.fetch_attempts"},
  };
  auto base = parsed("");
  for (const auto& [text, names] : edits) {
    auto changed = changed_keys(base, parsed(text));
    std::string joined;
    for (const auto& k : changed) joined += (joined.empty() ? "" : ", ") + k;
    EXPECT_EQ(joined, names) << text;
  }
}

// A key added to the file's reader and not to the comparison would never be named by a
// reload: the two lists are one.
TEST(ChangedKeysTest, EveryKeyOfANodesFileIsCompared) {
  EXPECT_EQ(compared_keys(), node_file_keys());
}

TEST(ChangedKeysTest, AKeyWrittenAtItsDefaultIsNoChange) {
  EXPECT_EQ(
      changed_keys(parsed(""), parsed("[transport]\nwindow = 4\n[storage]\nsync = \"always\"")),
      strings{});
}

TEST(ChangedKeysTest, AnyChangeOfThePeersStaticTablesIsOneKey) {
  auto one = parsed(static_peer_of("http://127.0.0.1:8002"));
  EXPECT_EQ(changed_keys(one, parsed(static_peer_of("http://127.0.0.1:8002"))), strings{});
  EXPECT_EQ(changed_keys(one, parsed(static_peer_of("http://127.0.0.1:9002"))),
            strings{"peers.static"});
  EXPECT_EQ(changed_keys(one, parsed(static_peer_of("http://127.0.0.1:8002") + "\n" +
                                     static_peer_of("http://127.0.0.1:8003", "c.example"))),
            strings{"peers.static"});
}

}  // namespace
}  // namespace fedrelay::config
