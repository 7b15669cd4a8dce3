// Durability between real processes: a receiver killed with SIGKILL, a sender killed with
// SIGKILL, a receiver down while the backlog grows; exact counts of what arrives. The
// SIGKILL tests run with both storage.sync modes: "periodic" answers before the fsync,
// and a crash of the process must still lose nothing.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "net/http_client.hpp"

#include "tests/app/cluster.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

/// The parameter is the nodes' storage.sync mode.
class DurabilityFixture : public testing::TestWithParam<std::string> {
 protected:
  cluster nodes{{"a.test", "b.test"}, "", "sync = \"" + GetParam() + "\"\n"};
  test_node& a = nodes[0];
  test_node& b = nodes[1];
  std::string room;

  void SetUp() override {
    nodes.start_all();
    auto r =
        a.post("/api/v1/rooms.create", {{"name", "load"}, {"type", "private"}, {"owner", "alice"}});
    ASSERT_TRUE(r.value("success", false)) << r.dump();
    room = r["room_id"];
    ASSERT_TRUE(
        a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
            .value("success", false));
    ASSERT_EQ(b.wait_for_room_events(room, 1, 30s).size(), 1u)
        << b.log();  // b sees the room from its invite on
  }

  /// Sends `count` messages from alice; returns the event ids the node accepted.
  std::vector<std::string> send_many(int count, const std::string& tag) {
    std::vector<std::string> accepted;
    for (int i = 0; i < count; ++i) {
      unsigned status = 0;
      auto r = a.post("/api/v1/chat.send",
                      {{"room_id", room}, {"user", "alice"}, {"text", tag + std::to_string(i)}},
                      &status);
      if (status == 200 && r.value("success", false))
        accepted.push_back(r["event_id"]);
      else
        ADD_FAILURE() << "chat.send refused (HTTP " << status << "): " << r.dump();
    }
    return accepted;
  }

  /// Every id of `accepted` is among the messages of `events` exactly once.
  static void expect_each_once(const std::vector<json>& events,
                               const std::vector<std::string>& accepted) {
    auto ids = message_ids(events);
    for (const auto& id : accepted) EXPECT_EQ(ids.count(id), 1u) << id;
  }

  static std::multiset<std::string> message_ids(const std::vector<json>& events) {
    std::multiset<std::string> ids;
    for (const auto& e : events)
      if (e.value("type", "") == "message.sent") ids.insert(e.value("event_id", ""));
    return ids;
  }
};

using DurabilityTest = DurabilityFixture;
using DurabilityKillTest = DurabilityFixture;
INSTANTIATE_TEST_SUITE_P(Sync, DurabilityKillTest, testing::Values("always", "periodic"));
INSTANTIATE_TEST_SUITE_P(Sync, DurabilityTest, testing::Values("always"));

TEST_P(DurabilityKillTest, ReceiverKilledMidStreamGetsEverythingExactlyOnce) {
  auto first = send_many(100, "before ");
  ASSERT_EQ(first.size(), 100u);
  b.kill_hard();
  auto second = send_many(100, "while b is dead ");
  ASSERT_EQ(second.size(), 100u);
  b.start();
  auto on_b = b.wait_for_room_events(room, 201, 60s);
  ASSERT_EQ(on_b.size(), 201u) << b.log();
  EXPECT_EQ(message_ids(on_b).size(), 200u);
  expect_each_once(on_b, first);
  expect_each_once(on_b, second);
}

TEST_P(DurabilityKillTest, SenderKilledMidStreamLosesNothingItAccepted) {
  auto accepted = send_many(150, "accepted ");
  ASSERT_EQ(accepted.size(), 150u);
  // Killed right after accepting: most of these are still in its outbox.
  a.kill_hard();
  a.start();
  auto on_b = b.wait_for_room_events(room, 151, 60s);
  ASSERT_EQ(on_b.size(), 151u) << a.log();
  expect_each_once(on_b, accepted);
  // And the node goes on working after the crash.
  auto more = send_many(5, "after restart ");
  ASSERT_EQ(more.size(), 5u);
  EXPECT_EQ(b.wait_for_room_events(room, 156, 30s).size(), 156u);
}

TEST_P(DurabilityKillTest, QueuedEventsSurviveASenderCrash) {
  // b is down, so every accepted event is still in a's outbox when a is killed.
  ASSERT_TRUE(b.stop());
  auto accepted = send_many(150, "queued ");
  ASSERT_EQ(accepted.size(), 150u);
  a.kill_hard();
  a.start();
  b.start();
  auto on_b = b.wait_for_room_events(room, 151, 60s);
  ASSERT_EQ(on_b.size(), 151u) << a.log();
  expect_each_once(on_b, accepted);
}

TEST_P(DurabilityTest, BacklogGrowsWhileTheReceiverIsDownThenDrains) {
  ASSERT_TRUE(b.stop());
  auto accepted = send_many(300, "backlog ");
  ASSERT_EQ(accepted.size(), 300u);
  bool backlog_seen =
      wait_until([&] { return peer_status(a, "b.test").value("queue_depth", 0u) >= 300u; }, 10s);
  EXPECT_TRUE(backlog_seen) << a.get("/api/v1/federation.status").dump();
  b.start();
  EXPECT_EQ(b.wait_for_room_events(room, 301, 60s).size(), 301u);
  bool drained =
      wait_until([&] { return peer_status(a, "b.test").value("queue_depth", 1u) == 0u; }, 30s);
  EXPECT_TRUE(drained) << a.get("/api/v1/federation.status").dump();
}

TEST_P(DurabilityTest, AReceiverStoppedUnderLoadExitsCleanlyAndLosesNothing) {
  // A backlog makes b busy applying big transactions right after it starts, so calls are
  // in flight inside it when SIGTERM comes.
  ASSERT_TRUE(b.stop());
  std::vector<std::string> accepted;
  for (int batch = 0; batch < 20; ++batch) {
    json messages = json::array();
    for (int i = 0; i < 500; ++i)
      messages.push_back({{"room_id", room},
                          {"user", "alice"},
                          {"text", "load " + std::to_string(batch) + "/" + std::to_string(i)}});
    unsigned status = 0;
    auto r = a.post("/api/v1/chat.sendBatch", {{"messages", messages}}, &status);
    ASSERT_EQ(status, 200u) << r.dump();
    for (const auto& result : r["results"]) accepted.push_back(result.value("event_id", ""));
  }
  b.start();
  ASSERT_GE(b.wait_for_room_events(room, 50, 30s).size(), 50u) << b.log();
  EXPECT_TRUE(b.stop()) << "b did not exit with status 0 within 10 s of SIGTERM\n" << b.log();
  b.start();
  auto on_b = b.wait_for_room_events(room, accepted.size() + 1, 90s);
  ASSERT_EQ(on_b.size(), accepted.size() + 1) << b.log();
  expect_each_once(on_b, accepted);
}

/// Lets each file of process `pid` grow to `bytes` only (RLIM_INFINITY: no bound). fedrelay
/// ignores SIGXFSZ, so a write past it fails with EFBIG, as one to a full disk fails.
bool limit_file_size(pid_t pid, rlim_t bytes) {
  rlimit limit{bytes, RLIM_INFINITY};
  return ::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

// A disk that takes no more makes the store refuse writes; the node starts itself again from
// its data, waiting longer each time that fails, and once the disk takes writes again it
// serves as before: every event it accepted arrives once, none it refused arrives.
/// Overwrites 64 bytes a quarter into the largest RocksDB table file under `db`, where
/// its data blocks are: a disk that gives back other bytes than it was given.
void damage_largest_table_file(const std::string& db) {
  std::filesystem::path largest;
  uintmax_t size = 0;
  for (const auto& entry : std::filesystem::directory_iterator{db})
    if (entry.path().extension() == ".sst" && entry.file_size() > size) {
      largest = entry.path();
      size = entry.file_size();
    }
  ASSERT_GT(size, 0u) << "no table file in " << db;
  std::fstream f{largest, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(static_cast<std::streamoff>(size / 4));
  f << std::string(64, '\xA5');
}

// A part of the store that cannot be read stopped the queue to a peer for good: nothing
// tried again, and the peer looked connected while nothing moved.
TEST_P(DurabilityTest, AQueueInADamagedPartOfTheStoreIsTriedAgainAndShown) {
  ASSERT_TRUE(b.stop());
  ASSERT_EQ(send_many(200, "queued ").size(), 200u);
  ASSERT_TRUE(a.stop());
  a.start();  // which writes what its log held into table files
  ASSERT_TRUE(a.stop());
  auto dir = a.config_path().substr(0, a.config_path().rfind('/'));
  damage_largest_table_file(dir + "/data/db");
  a.start();
  b.start();
  ASSERT_TRUE(wait_until(
      [&] {
        return peer_status(a, "b.test").value("last_error", "").find("orrupt") != std::string::npos;
      },
      30s))
      << a.get("/api/v1/federation.status").dump() << "\n"
      << a.log();
  auto failures = peer_status(a, "b.test").value("failures", 0u);
  // Tried again after a backoff (500 ms, then doubling), as a failed send is.
  EXPECT_TRUE(wait_until(
      [&] { return peer_status(a, "b.test").value("failures", 0u) > failures + 1; }, 20s))
      << peer_status(a, "b.test").dump();
  // Not "connected" with a queue that stands still: backing off (or resolving, as each
  // retry begins).
  EXPECT_NE(peer_status(a, "b.test").value("state", ""), "connected")
      << peer_status(a, "b.test").dump();
}

TEST_P(DurabilityTest, AfterAFullDiskTheNodeStartsAgainByItselfAndLosesNothing) {
  auto accepted = send_many(20, "before ");
  ASSERT_EQ(accepted.size(), 20u);
  ASSERT_TRUE(limit_file_size(a.pid(), 1u << 20));
  const std::string padding(4000, 'x');
  unsigned refused_status = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int i = 0; i < 5000 && std::chrono::steady_clock::now() < deadline; ++i) {
    unsigned status = 0;
    auto r =
        a.post("/api/v1/chat.send",
               {{"room_id", room}, {"user", "alice"}, {"text", "filling " + padding}}, &status);
    if (status != 200 || !r.value("success", false)) {
      refused_status = status;
      break;
    }
    accepted.push_back(r["event_id"]);
  }
  ASSERT_NE(refused_status, 200u);
  ASSERT_TRUE(wait_until(
      [&] {
        return a.log().find("the store failed a write: starting the node again") !=
               std::string::npos;
      },
      30s))
      << a.log();
  EXPECT_TRUE(a.running());
  ASSERT_TRUE(limit_file_size(a.pid(), RLIM_INFINITY));
  // Back within its longest wait (a minute) of the disk's return.
  bool back = wait_until(
      [&] {
        unsigned status = 0;
        auto r = a.post("/api/v1/chat.send",
                        {{"room_id", room}, {"user", "alice"}, {"text", "back"}}, &status);
        if (status != 200 || !r.value("success", false)) return false;
        accepted.push_back(r["event_id"]);
        return true;
      },
      90s);
  ASSERT_TRUE(back) << a.log();
  auto after = send_many(20, "after ");
  accepted.insert(accepted.end(), after.begin(), after.end());
  auto on_b = b.wait_for_room_events(room, accepted.size() + 1, 60s);
  EXPECT_EQ(on_b.size(), accepted.size() + 1) << b.log();
  expect_each_once(on_b, accepted);
  EXPECT_EQ(a.get("/api/v1/federation.status").value("status", ""), "Running");
  // The process counts the failures across the node's starts, for an alert to see.
  net::http_request req;
  req.target = "/metrics";
  req.headers = {{"Authorization", "Bearer " + a.token()}};
  auto metrics =
      net::http_request_blocking({"http", "127.0.0.1", a.local_port(), {}}, std::move(req), 10s);
  ASSERT_TRUE(metrics) << caf::to_string(metrics.error());
  std::smatch failures;
  ASSERT_TRUE(std::regex_search(metrics->body, failures,
                                std::regex{"\nfedrelay_store_write_failures_total (\\d+)\n"}))
      << metrics->body;
  EXPECT_GE(std::stoi(failures[1].str()), 1);
}

}  // namespace
}  // namespace fedrelay::test
