// GET /metrics of two real nodes that find each other through a real DNS server, read
// by a real Prometheus text parser (Debian's python3-prometheus-client): the figures
// match what the test made happen.
#include <gtest/gtest.h>

#include <string_view>
#include <thread>

#include "net/http_client.hpp"
#include "tests/app/cluster.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

/// Parses the exposition with prometheus_client and prints every sample as JSON; a text
/// the parser refuses makes it exit non-zero.
constexpr const char* parser_script = R"py(
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = {}
samples = []
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    families[family.name] = {"type": family.type, "help": family.documentation}
    for s in family.samples:
        samples.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps({"families": families, "samples": samples}))
)py";

/// One scrape, parsed.
struct scrape {
  json families;
  json samples;

  /// The value of the sample `name` with exactly these labels; -1 when absent.
  double value(const std::string& name, const json& labels = json::object()) const {
    for (const auto& s : samples)
      if (s["name"] == name && s["labels"] == labels) return s["value"].get<double>();
    return -1;
  }
};

class MetricsTest : public testing::Test {
 protected:
  temp_dir root;
  test_node a{"a.test", root.path()};
  test_node b{"b.test", root.path()};
  dns_server dns{"test", 300};

  void SetUp() override {
    publish_records(dns, a);
    publish_records(dns, b);
    dns.start();
    for (test_node* n : {&a, &b}) {
      n->use_dns(dns.port());
      n->configure({});
      n->start();
    }
    write_file(root / "parse.py", parser_script);
  }

  net::http_response get_metrics(const test_node& n, const std::string& token) {
    net::http_request req;
    req.target = "/metrics";
    if (!token.empty()) req.headers = {{"Authorization", "Bearer " + token}};
    auto res =
        net::http_request_blocking({"http", "127.0.0.1", n.local_port(), {}}, std::move(req), 10s);
    EXPECT_TRUE(res) << caf::to_string(res.error());
    return res ? *res : net::http_response{};
  }

  scrape read(const test_node& n) {
    auto res = get_metrics(n, n.token());
    EXPECT_EQ(res.status, 200u) << res.body;
    EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
    write_file(root / "metrics.txt", res.body);
    auto parsed = run_command({debian_python(), root / "parse.py", root / "metrics.txt"}, 30s);
    EXPECT_EQ(parsed.exit_code, 0) << parsed.output << "\nfor\n" << res.body;
    auto j = json::parse(parsed.output, nullptr, false);
    if (j.is_discarded()) return {};
    return {j["families"], j["samples"]};
  }

  /// Scrapes `n` until the queue for `peer` is empty (bounded).
  scrape drained(const test_node& n, const std::string& peer) {
    scrape s;
    wait_until(
        [&] {
          s = read(n);
          return s.value("fedrelay_peer_queue_depth", {{"peer", peer}}) == 0;
        },
        20s);
    return s;
  }

  std::string send(test_node& n, const std::string& room, const std::string& user,
                   const std::string& text, unsigned* status = nullptr) {
    return n.post("/api/v1/chat.send", {{"room_id", room}, {"user", user}, {"text", text}}, status)
        .value("event_id", "");
  }
};

TEST_F(MetricsTest, NeedsTheBearerToken) {
  EXPECT_EQ(get_metrics(a, "").status, 401u);
  EXPECT_EQ(get_metrics(a, "wrong").status, 401u);
  EXPECT_EQ(get_metrics(a, "LOCAL" + a.token().substr(5)).status, 401u);
  // The scheme's case does not matter (RFC 9110), the token's does.
  net::http_request req;
  req.target = "/metrics";
  req.headers = {{"Authorization", "bearer " + a.token()}};
  auto res =
      net::http_request_blocking({"http", "127.0.0.1", a.local_port(), {}}, std::move(req), 10s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u) << res->body;
}

// A node whose federation is off still answers a scrape, with its status, so that
// monitoring sees "Disabled" rather than a failed scrape.
TEST_F(MetricsTest, ANodeSetOffIsScrapedWithItsStatus) {
  auto r = a.post("/api/v1/federation.settings", {{"enabled", false}});
  ASSERT_TRUE(r.value("applying", false)) << r.dump();
  ASSERT_TRUE(wait_until(
      [&] { return a.get("/api/v1/federation.status").value("status", "") == "Disabled"; }, 20s))
      << a.log();
  auto s = read(a);
  EXPECT_EQ(s.value("fedrelay_node_info", {{"domain", "a.test"}, {"status", "Disabled"}}), 1);
  EXPECT_EQ(get_metrics(a, "").status, 401u);
}

TEST_F(MetricsTest, FiguresMatchWhatHappened) {
  constexpr int from_a = 5, from_b = 3;
  auto room =
      a.post("/api/v1/rooms.create", {{"name", "m"}, {"type", "private"}, {"owner", "alice"}})
          .value("room_id", "");
  ASSERT_FALSE(room.empty());
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  for (int i = 0; i < from_a; ++i)
    ASSERT_FALSE(send(a, room, "alice", "a" + std::to_string(i)).empty());
  // bob's replica knows the room once the invite arrived (seq 2 on).
  ASSERT_EQ(b.wait_for_room_events(room, 1 + from_a, 20s).size(), 1u + from_a) << b.log();
  for (int i = 0; i < from_b; ++i)
    ASSERT_FALSE(send(b, room, "bob", "b" + std::to_string(i)).empty());
  // Refused by the room's rules: mallory is no member.
  unsigned status = 0;
  EXPECT_TRUE(send(a, room, "mallory", "let me in", &status).empty());
  EXPECT_EQ(status, 403u);
  ASSERT_EQ(a.wait_for_room_events(room, 2 + from_a + from_b, 20s).size(), 2u + from_a + from_b);
  ASSERT_EQ(b.wait_for_room_events(room, 1 + from_a + from_b, 20s).size(), 1u + from_a + from_b);

  auto sa = drained(a, "b.test");
  auto sb = drained(b, "a.test");
  // Every family has HELP and TYPE and a fedrelay_ name.
  for (const auto& [name, family] : sa.families.items()) {
    EXPECT_EQ(name.rfind("fedrelay_", 0), 0u) << name;
    EXPECT_FALSE(family["help"].get<std::string>().empty()) << name;
  }
  EXPECT_EQ(sa.families["fedrelay_store_write_seconds"]["type"], "histogram");
  EXPECT_EQ(sa.families["fedrelay_peer_queue_depth"]["type"], "gauge");

  // a: alice's room, invite and messages from its local server; bob's messages from b.
  EXPECT_EQ(sa.value("fedrelay_events_accepted_total", {{"source", "local"}}), 2 + from_a);
  EXPECT_EQ(sa.value("fedrelay_events_accepted_total", {{"source", "peer"}}), from_b);
  EXPECT_EQ(sa.value("fedrelay_events_rejected_total", {{"source", "local"}}), 1);
  EXPECT_EQ(sa.value("fedrelay_events_rejected_total", {{"source", "peer"}}), 0);
  // b: bob's messages from its local server; from the host, the invite and every message.
  EXPECT_EQ(sb.value("fedrelay_events_accepted_total", {{"source", "local"}}), from_b);
  EXPECT_EQ(sb.value("fedrelay_events_accepted_total", {{"source", "peer"}}), 1 + from_a + from_b);
  EXPECT_EQ(sb.value("fedrelay_events_rejected_total", {{"source", "local"}}), 0);

  // b's replica asked the host on getting the room's state (and again if a gap between
  // transactions outlasted its grace); the host asks nobody, and nothing came too far
  // ahead.
  EXPECT_EQ(sa.value("fedrelay_room_catchup_requests_total"), 0);
  EXPECT_GE(sb.value("fedrelay_room_catchup_requests_total"), 1);
  EXPECT_EQ(sa.value("fedrelay_room_events_dropped_ahead_total"), 0);
  EXPECT_EQ(sb.value("fedrelay_room_events_dropped_ahead_total"), 0);

  // Relayed: a sent b the room's state, the invite and every message; b sent a its own.
  EXPECT_EQ(sa.value("fedrelay_events_relayed_total", {{"peer", "b.test"}}), 2 + from_a + from_b);
  EXPECT_EQ(sb.value("fedrelay_events_relayed_total", {{"peer", "a.test"}}), from_b);
  EXPECT_EQ(sa.value("fedrelay_events_refused_by_peer_total", {{"peer", "b.test"}}), 0);
  for (const auto* s : {&sa, &sb}) {
    auto peer = s == &sa ? "b.test" : "a.test";
    EXPECT_EQ(s->value("fedrelay_peer_queue_depth", {{"peer", peer}}), 0);
    EXPECT_EQ(s->value("fedrelay_peer_oldest_queued_age_seconds", {{"peer", peer}}), 0);
    EXPECT_GE(s->value("fedrelay_peer_transactions_sent_total", {{"peer", peer}}), 1);
    EXPECT_EQ(s->value("fedrelay_peer_failures_total", {{"peer", peer}}), 0);
    EXPECT_EQ(s->value("fedrelay_peer_backoff_seconds", {{"peer", peer}}), 0);
    EXPECT_EQ(s->value("fedrelay_peer_state", {{"peer", peer}, {"state", "connected"}}), 1);
    EXPECT_EQ(s->value("fedrelay_peer_state", {{"peer", peer}, {"state", "backing_off"}}), 0);
    // One domain asked of DNS once (its TTL is 300 s); every later need of its key or
    // address is a cache hit.
    EXPECT_EQ(s->value("fedrelay_discovery_lookups_total", {{"method", "dns"}}), 1);
    EXPECT_GE(s->value("fedrelay_discovery_cache_hits_total"), 1);
    // Synced writes: the +Inf bucket holds them all, and each took some time.
    auto writes = s->value("fedrelay_store_write_seconds_count");
    EXPECT_GE(writes, 1);
    EXPECT_EQ(s->value("fedrelay_store_write_seconds_bucket", {{"le", "+Inf"}}), writes);
    EXPECT_GT(s->value("fedrelay_store_write_seconds_sum"), 0);
  }
  EXPECT_EQ(sa.value("fedrelay_node_info", {{"domain", "a.test"}, {"status", "Running"}}), 1);
}

// The node keeps the memory it frees for reuse while busy, and hands it back once idle
// (app/idle_memory_return.hpp, a check every 10 s): after a thousand 4 KiB messages and
// a quiet while, the counter shows at least the megabyte it waits for.
TEST_F(MetricsTest, FreedMemoryGoesBackOnceTheNodeIdles) {
#ifdef FEDRELAY_SANITIZED
  GTEST_SKIP() << "a sanitizer build links no jemalloc, whose freed pages this counts";
#endif
  auto room =
      a.post("/api/v1/rooms.create", {{"name", "m"}, {"type", "private"}, {"owner", "alice"}})
          .value("room_id", "");
  ASSERT_FALSE(room.empty());
  for (int batch = 0; batch < 10; ++batch) {
    json messages = json::array();
    for (int i = 0; i < 100; ++i)
      messages.push_back({{"room_id", room},
                          {"user", "alice"},
                          {"text", std::string(4096, static_cast<char>('a' + i % 26))}});
    auto reply = a.post("/api/v1/chat.sendBatch", {{"messages", messages}});
    ASSERT_EQ(reply.value("accepted", 0), 100) << reply.dump();
  }
  // Asked once a second, and read without the parser: the node must see itself idle.
  constexpr std::string_view name = "\nfedrelay_memory_returned_bytes_total ";
  double returned = 0;
  for (int i = 0; i < 60 && returned < (1u << 20); ++i) {
    std::this_thread::sleep_for(1s);
    auto body = get_metrics(a, a.token()).body;
    auto at = body.find(name);
    ASSERT_NE(at, std::string::npos) << body;
    returned = std::stod(body.substr(at + name.size()));
  }
  EXPECT_GE(returned, 1u << 20) << a.log();
  // And the family is well formed for a real parser (which names a counter without _total).
  EXPECT_EQ(read(a).families["fedrelay_memory_returned_bytes"]["type"], "counter");
}

}  // namespace
}  // namespace fedrelay::test
