// Files shared in federated rooms between real nodes: uploads through the local API, fetches
// by member servers from the origin in ranges, verification against the content hash,
// resumption after a crash, refusals (size, type, non-member servers) and removal once no
// room refers to a content.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "actors/request_auth.hpp"
#include "actors/transaction.hpp"
#include "crypto/hash.hpp"
#include "crypto/identity.hpp"
#include "crypto/keys.hpp"
#include "net/http_client.hpp"
#include "tests/app/cluster.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto settle = 60s;  // bound on waiting for federation to deliver and fetch

std::string content_id(const std::string& bytes) {
  return crypto::to_hex(crypto::blake2b_256(bytes));
}

/// `size` reproducible pseudo-random bytes.
std::string random_bytes(size_t size, uint32_t seed) {
  std::mt19937 gen{seed};
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

std::string data_dir(const test_node& n) {
  return fs::path{n.config_path()}.parent_path().string() + "/data";
}

std::string blob_path(const test_node& n, const std::string& id) {
  return data_dir(n) + "/files/blobs/" + id;
}

std::string partial_path(const test_node& n, const std::string& id) {
  return data_dir(n) + "/files/partial/" + id;
}

uint64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

/// Overwrites `bytes.size()` bytes of `path` at `offset`, keeping its size.
void overwrite(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// `req` to 127.0.0.1:`port`; the answer, or status 0 with the error as body.
net::http_response send_to(uint16_t port, net::http_request req) {
  auto res =
      net::http_request_blocking(net::url{"http", "127.0.0.1", port, {}}, std::move(req), 70s);
  if (res) return *res;
  net::http_response failed;
  failed.status = 0;
  failed.body = caf::to_string(res.error());
  return failed;
}

net::http_response local_call(const test_node& n, net::http_request req) {
  req.headers.emplace_back("Authorization", "Bearer " + n.token());
  return send_to(n.local_port(), std::move(req));
}

json parsed(const net::http_response& res) {
  auto j = json::parse(res.body, nullptr, false);
  return j.is_discarded() ? json{{"body", res.body}} : j;
}

/// POST files.upload with a raw body; the reply as JSON, the status in `status`.
/// `id`: the submission's id (none when empty).
json upload(const test_node& n, const std::string& room, const std::string& user,
            const std::string& name, const std::string& mime, const std::string& bytes,
            unsigned* status = nullptr, const std::string& id = {}) {
  net::http_request req;
  req.method = "POST";
  std::vector<std::pair<std::string, std::string>> query{
      {"room_id", room}, {"user", user}, {"name", name}};
  if (!id.empty()) query.emplace_back("id", id);
  req.target = net::make_target("/api/v1/files.upload", query);
  req.headers = {{"Content-Type", mime}};
  req.body = bytes;
  auto res = local_call(n, std::move(req));
  if (status) *status = res.status;
  return parsed(res);
}

net::http_response download(const test_node& n, const std::string& id,
                            const std::string& range = {}) {
  net::http_request req;
  req.target = "/api/v1/files.get?id=" + id;
  if (!range.empty()) req.headers = {{"Range", range}};
  return local_call(n, std::move(req));
}

/// Waits until `n` serves content `id` (200); its bytes, or "" after `timeout`.
std::string wait_for_file(const test_node& n, const std::string& id,
                          std::chrono::milliseconds timeout = settle) {
  std::string bytes;
  wait_until(
      [&] {
        auto res = download(n, id);
        if (res.status != 200) return false;
        bytes = std::move(res.body);
        return true;
      },
      timeout);
  return bytes;
}

json file_info(const test_node& n, const std::string& id) {
  return n.get("/api/v1/files.info?id=" + id);
}

/// The inbox events of `type` for content `id`.
std::vector<json> file_events(const test_node& n, const std::string& type, const std::string& id) {
  std::vector<json> out;
  for (auto& e : n.all_events())
    if (e.value("type", "") == type && e.value("file_id", "") == id) out.push_back(e);
  return out;
}

/// A signed federation.files.get to `to` in the name of `as` (whose key is in its data
/// directory), as that server's node would send it.
net::http_response peer_get(const test_node& to, const test_node& as, const std::string& id,
                            const std::string& range, bool sign = true) {
  net::http_request req;
  req.target = std::string{actors::files_get_path} + "?id=" + id;
  req.headers = {{std::string{actors::origin_header}, as.domain()}};
  if (sign) {
    auto identity = crypto::load_identity(data_dir(as));
    EXPECT_TRUE(identity);
    req.headers =
        actors::signed_headers(*identity, as.domain(), to.domain(), "GET", req.target, "");
  }
  req.headers.emplace_back("Range", range);
  return send_to(to.federation_port(), std::move(req));
}

class FilesTest : public testing::Test {
 protected:
  void start(cluster& nodes) {
    nodes.start_all();
    const char* users[] = {"alice", "bob", "carol"};
    for (size_t i = 0; i < nodes.size(); ++i)
      nodes[i].post("/api/v1/users.register", {{"username", users[i]}});
  }

  /// A room hosted by `host` (alice's server) with the given remote members.
  std::string room_with(test_node& host, const std::vector<std::string>& members) {
    auto r = host.post("/api/v1/rooms.create",
                       {{"name", "files"}, {"type", "private"}, {"owner", "alice"}});
    EXPECT_TRUE(r.value("success", false)) << r.dump();
    auto room = r.value("room_id", "");
    for (const auto& m : members) {
      auto inv =
          host.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", m}, {"by", "alice"}});
      EXPECT_TRUE(inv.value("success", false)) << inv.dump() << host.log();
    }
    return room;
  }

  /// Starts a.test, b.test and c.test and makes a room of alice's with bob and carol,
  /// known to both members when this returns.
  std::string room_of_three(cluster& nodes) {
    start(nodes);
    auto room = room_with(nodes[0], {"bob@b.test", "carol@c.test"});
    for (size_t i : {1, 2}) EXPECT_GE(nodes[i].wait_for_room_events(room, 1, settle).size(), 1u);
    return room;
  }

  void every_share_told(bool kill_b);

  /// Starts the nodes, makes a room of alice's (a.test) with bob (b.test), and alice
  /// shares `bytes` in it.
  void share_with_bob(cluster& nodes, const std::string& bytes, const std::string& name) {
    start(nodes);
    auto room = room_with(nodes[0], {"bob@b.test"});
    ASSERT_GE(nodes[1].wait_for_room_events(room, 1, settle).size(), 1u);
    unsigned status = 0;
    auto up = upload(nodes[0], room, "alice", name, "application/octet-stream", bytes, &status);
    ASSERT_EQ(status, 200u) << up.dump();
  }
};

TEST_F(FilesTest, SmallAndLargeFilesReachEveryMemberServerVerified) {
  cluster nodes{{"a.test", "b.test", "c.test"}};
  auto room = room_of_three(nodes);
  auto &a = nodes[0], &b = nodes[1], &c = nodes[2];

  const std::string small = "hello, files";
  unsigned status = 0;
  auto up = upload(a, room, "alice", "hello.txt", "text/plain", small, &status);
  ASSERT_EQ(status, 200u) << up.dump();
  EXPECT_EQ(up["file_id"], content_id(small));  // the id is the content's BLAKE2b-256
  EXPECT_EQ(up["size"], small.size());

  // A large file shared by a member server (bob's): it reaches the host and c through the
  // room, and both fetch it from b.
  auto large = random_bytes(30u << 20, 7);
  auto large_id = content_id(large);
  auto up_large = upload(b, room, "bob", "large.bin", "application/octet-stream", large, &status);
  ASSERT_EQ(status, 200u) << up_large.dump();
  EXPECT_EQ(up_large["file_id"], large_id);

  for (auto* n : {&b, &c}) {
    auto got = wait_for_file(*n, content_id(small));
    EXPECT_EQ(got, small) << n->domain() << n->log();
  }
  for (auto* n : {&a, &c}) {
    auto got = wait_for_file(*n, large_id);
    ASSERT_EQ(got.size(), large.size()) << n->domain() << n->log();
    EXPECT_EQ(content_id(got), large_id) << n->domain();
  }

  // The member servers' local servers were told, once the bytes were verified.
  auto available = file_events(c, "file.available", large_id);
  ASSERT_EQ(available.size(), 1u);
  EXPECT_EQ(available[0]["origin"], "b.test");
  EXPECT_EQ(available[0]["user"], "bob@b.test");
  EXPECT_EQ(available[0]["room_id"], room);
  EXPECT_EQ(available[0]["size"], large.size());
  auto shared = file_events(c, "file.shared", large_id);
  ASSERT_EQ(shared.size(), 1u);
  EXPECT_EQ(shared[0]["name"], "large.bin");
  EXPECT_EQ(shared[0]["mime"], "application/octet-stream");
  EXPECT_LT(shared[0]["cursor"].get<uint64_t>(), available[0]["cursor"].get<uint64_t>());

  // Ranges and metadata on a member server.
  auto part = download(c, content_id(small), "bytes=0-4");
  EXPECT_EQ(part.status, 206u);
  EXPECT_EQ(part.body, "hello");
  EXPECT_EQ(part.header("Content-Range"), "bytes 0-4/12");
  EXPECT_EQ(download(c, content_id(small), "bytes=7-").body, "files");
  EXPECT_EQ(download(c, content_id(small), "bytes=-5").body, "files");
  EXPECT_EQ(download(c, content_id(small), "bytes=7-99").header("Content-Range"), "bytes 7-11/12");
  // Positions past 64 bits are past the end.
  EXPECT_EQ(download(c, content_id(small), "bytes=0-99999999999999999999").body, small);
  EXPECT_EQ(download(c, content_id(small), "bytes=-99999999999999999999").body, small);
  // What is not one valid byte range is ignored (RFC 9110): the whole file. Ends that are
  // no numbers are not an open range.
  for (std::string ignored : {"bytes=0-abc", "bytes=x-4", "bytes=4-2", "bytes=0-4,6-7", "items=0-4",
                              "bytes=-", "bytes=0 -4"}) {
    auto whole = download(c, content_id(small), ignored);
    EXPECT_EQ(whole.status, 200u) << ignored;
    EXPECT_EQ(whole.body, small) << ignored;
  }
  // A valid range that starts past the end cannot be served.
  for (std::string past : {"bytes=12-", "bytes=99999999999999999999-", "bytes=-0"}) {
    auto refused = download(c, content_id(small), past);
    EXPECT_EQ(refused.status, 416u) << past;
    EXPECT_EQ(refused.header("Content-Range"), "bytes */12") << past;
  }
  EXPECT_EQ(download(c, content_id(small)).content_type, "text/plain");
  auto info = file_info(c, large_id);
  EXPECT_EQ(info["file"]["state"], "ready") << info.dump();
  EXPECT_EQ(info["file"]["origin"], "b.test");

  // Sharing the same content again is one more reference, not another copy.
  auto again = upload(a, room, "alice", "hello-again.txt", "text/plain", small, &status);
  ASSERT_EQ(status, 200u) << again.dump();
  EXPECT_EQ(again["file_id"], content_id(small));
  EXPECT_TRUE(wait_until(
      [&] { return file_events(c, "file.shared", content_id(small)).size() == 2; }, settle));
  EXPECT_EQ(entries(data_dir(c) + "/files/blobs"), 2u);
  EXPECT_EQ(entries(data_dir(c) + "/files/partial"), 0u);

  // An unknown id is 404; a bad one 400.
  EXPECT_EQ(download(c, std::string(64, '0')).status, 404u);
  EXPECT_EQ(download(c, "../../etc/passwd").status, 400u);
}

TEST_F(FilesTest, ABrokenTransferResumesFromThePartialFileAfterACrash) {
  // Ranges of 256 KiB at 4 MB/s: a 12 MB fetch takes about 3 s, long enough to cut it.
  cluster nodes{{"a.test", "b.test"},
                "[files]\nfetch_chunk_bytes = 262144\nfetch_max_bytes_per_s = 4000000\n"};
  auto &a = nodes[0], &b = nodes[1];
  auto bytes = random_bytes(12u << 20, 11);
  auto id = content_id(bytes);
  share_with_bob(nodes, bytes, "video.bin");
  if (HasFatalFailure()) return;

  // Cut it in the middle: b dies with part of the content in its partial file.
  ASSERT_TRUE(
      wait_until([&] { return file_size_or_zero(partial_path(b, id)) >= (1u << 20); }, settle))
      << b.log();
  EXPECT_EQ(download(b, id).status, 202u);  // not offered before it is complete and verified
  b.kill_hard();
  auto cut_at = file_size_or_zero(partial_path(b, id));
  ASSERT_GT(cut_at, 0u);
  ASSERT_LT(cut_at, bytes.size());

  b.start();
  // And cut it again from the other side: the origin crashes while b fetches, and comes back.
  ASSERT_TRUE(wait_until(
      [&] { return file_size_or_zero(partial_path(b, id)) >= cut_at + (1u << 20); }, settle))
      << b.log();
  a.kill_hard();
  auto origin_cut_at = file_size_or_zero(partial_path(b, id));
  EXPECT_LT(origin_cut_at, bytes.size());
  a.start();
  auto got = wait_for_file(b, id);
  ASSERT_EQ(got.size(), bytes.size()) << b.log();
  EXPECT_EQ(content_id(got), id);

  // It went on from the partial file instead of starting over.
  std::smatch m;
  auto log = b.log();
  ASSERT_TRUE(
      std::regex_search(log, m,
                        std::regex{"fetched " + id +
                                   " from a\\.test: (\\d+) bytes, (\\d+) received in this run "
                                   "\\(resumed at byte (\\d+)\\)"}))
      << log;
  auto received = std::stoull(m[2]), resumed_at = std::stoull(m[3]);
  EXPECT_GE(resumed_at, cut_at);
  EXPECT_EQ(received + resumed_at, bytes.size());
  EXPECT_NE(log.find("resuming the fetch of " + id + " at byte " + std::to_string(resumed_at)),
            std::string::npos);
}

/// Alice shares the same 1 MiB three times while bob's server fetches it (ranges of 64 KiB
/// at 256 KB/s, about 4 s): the second right after the first (one inbox page of b's may
/// hold both), the third once the fetch is under way; with `kill_b`, b is then killed
/// with SIGKILL and started again before the fetch ends. Each share must be told with its
/// own name and type, and the content keep its first share's.
void FilesTest::every_share_told(bool kill_b) {
  cluster nodes{{"a.test", "b.test"},
                "[files]\nfetch_chunk_bytes = 65536\nfetch_max_bytes_per_s = 256000\n"};
  auto& b = nodes[1];
  start(nodes);
  auto room = room_with(nodes[0], {"bob@b.test"});
  ASSERT_GE(b.wait_for_room_events(room, 1, settle).size(), 1u);
  auto bytes = random_bytes(1u << 20, 21);
  auto id = content_id(bytes);
  std::vector<std::pair<std::string, std::string>> shares = {
      {"first.bin", "application/octet-stream"}, {"second.txt", "text/plain"}};
  std::vector<std::string> events;
  for (const auto& [name, mime] : shares) {
    unsigned status = 0;
    auto up = upload(nodes[0], room, "alice", name, mime, bytes, &status);
    ASSERT_EQ(status, 200u) << up.dump();
    events.push_back(up.value("event_id", ""));
  }
  ASSERT_TRUE(wait_until([&] { return file_size_or_zero(partial_path(b, id)) > 0; }, settle))
      << b.log();
  shares.emplace_back("third.png", "image/png");
  unsigned status = 0;
  auto up = upload(nodes[0], room, "alice", "third.png", "image/png", bytes, &status);
  ASSERT_EQ(status, 200u) << up.dump();
  events.push_back(up.value("event_id", ""));
  EXPECT_EQ(download(b, id).status, 202u);  // still being fetched
  if (kill_b) {
    // Once b has read the third share, so that what it knows of it lives in its store.
    ASSERT_TRUE(wait_until([&] { return file_events(b, "file.shared", id).size() == 3; }, settle));
    b.kill_hard();
    b.start();
  }

  ASSERT_EQ(wait_for_file(b, id), bytes) << b.log();
  std::vector<json> available;
  ASSERT_TRUE(wait_until(
      [&] {
        available = file_events(b, "file.available", id);
        return available.size() >= shares.size();
      },
      settle))
      << available.size() << " file.available events\n"
      << b.log();
  // One for each share, under its own event, name and type, with the size of the bytes.
  std::map<std::string, json> by_event;
  for (const auto& e : available) by_event[e.value("event_id", "")] = e;
  ASSERT_EQ(by_event.size(), shares.size()) << json(available).dump();
  for (size_t i = 0; i < shares.size(); ++i) {
    auto& e = by_event[events[i]];
    EXPECT_EQ(e.value("name", ""), shares[i].first) << e.dump();
    EXPECT_EQ(e.value("mime", ""), shares[i].second) << e.dump();
    EXPECT_EQ(e.value("size", uint64_t{0}), bytes.size()) << e.dump();
  }
  EXPECT_EQ(available.size(), shares.size());
  // The content is served as its first share named it.
  auto info = file_info(b, id);
  EXPECT_EQ(info["file"].value("name", ""), "first.bin") << info.dump();
  EXPECT_EQ(info["file"].value("mime", ""), "application/octet-stream") << info.dump();
}

TEST_F(FilesTest, EveryShareOfAContentBeingFetchedIsToldWithItsOwnNameAndTheFirstKeepsTheFile) {
  every_share_told(false);
}

TEST_F(FilesTest, SharesWaitingForAFetchAreStillToldAfterTheServerWasKilledMidFetch) {
  every_share_told(true);
}

TEST_F(FilesTest, ATamperedTransferIsDiscardedAndRetriedUntilTheBytesMatch) {
  cluster nodes{{"a.test", "b.test"},
                "[files]\nfetch_chunk_bytes = 262144\nfetch_max_bytes_per_s = 2000000\n"
                "fetch_attempts = 50\n"};
  auto &a = nodes[0], &b = nodes[1];
  auto bytes = random_bytes(4u << 20, 13);
  auto id = content_id(bytes);
  share_with_bob(nodes, bytes, "doc.bin");
  if (HasFatalFailure()) return;
  // The origin's copy goes bad at its end, which b reads last (about 2 s from now).
  std::string tail = bytes.substr(bytes.size() - 65536);
  overwrite(blob_path(a, id), bytes.size() - 65536, std::string(65536, '\0'));

  ASSERT_TRUE(wait_until(
      [&] { return b.log().find("hash mismatch for " + id) != std::string::npos; }, settle))
      << b.log();
  // Wrong bytes are never offered: the file is still being fetched, the partial discarded.
  auto info = file_info(b, id);
  EXPECT_EQ(info["file"]["state"], "fetching") << info.dump();
  EXPECT_GE(info["file"]["attempts"].get<int>(), 1);
  EXPECT_NE(download(b, id).status, 200u);
  EXPECT_TRUE(file_events(b, "file.available", id).empty());

  // Once the origin serves the right bytes again, the retry succeeds.
  overwrite(blob_path(a, id), bytes.size() - 65536, tail);
  auto got = wait_for_file(b, id);
  EXPECT_EQ(content_id(got), id) << b.log();
  EXPECT_EQ(file_events(b, "file.available", id).size(), 1u);
}

TEST_F(FilesTest, AFetchThatNeverMatchesIsGivenUpAfterBoundedAttempts) {
  cluster nodes{{"a.test", "b.test"},
                "[files]\nfetch_chunk_bytes = 65536\nfetch_max_bytes_per_s = 200000\n"
                "fetch_attempts = 2\n"};
  auto &a = nodes[0], &b = nodes[1];
  auto bytes = random_bytes(400'000, 17);
  auto id = content_id(bytes);
  share_with_bob(nodes, bytes, "bad.bin");
  if (HasFatalFailure()) return;
  overwrite(blob_path(a, id), bytes.size() - 1000, std::string(1000, 'x'));

  ASSERT_TRUE(wait_until([&] { return !file_events(b, "file.failed", id).empty(); }, settle))
      << b.log();
  auto failed = file_events(b, "file.failed", id);
  EXPECT_NE(failed[0].value("reason", "").find("do not match"), std::string::npos)
      << failed[0].dump();
  auto res = download(b, id);
  EXPECT_EQ(res.status, 502u);
  EXPECT_NE(res.body.find("could not be fetched from a.test"), std::string::npos) << res.body;
  EXPECT_EQ(file_size_or_zero(partial_path(b, id)), 0u);
  EXPECT_EQ(file_size_or_zero(blob_path(b, id)), 0u);
  // files.info still counts the attempts its error names.
  auto info = file_info(b, id);
  EXPECT_EQ(info["file"].value("state", ""), "failed") << info.dump();
  EXPECT_EQ(info["file"].value("attempts", 0), 2) << info.dump();
  EXPECT_NE(info["file"].value("error", "").find("(2 attempts)"), std::string::npos) << info.dump();
}

TEST_F(FilesTest, UploadsOverTheLimitOrOfRefusedTypesAreRefusedAndNothingIsStored) {
  cluster nodes{{"a.test", "b.test"},
                "[files]\nmax_bytes = 1048576\n"
                "allowed_types = [\"text/plain\", \"image/*\", \"application/octet-stream\"]\n"};
  start(nodes);
  auto& a = nodes[0];
  auto room = room_with(a, {"bob@b.test"});
  auto blobs = data_dir(a) + "/files/blobs";

  unsigned status = 0;
  auto big = upload(a, room, "alice", "big.bin", "application/octet-stream",
                    std::string((1u << 20) + 1, 'x'), &status);
  EXPECT_EQ(status, 413u);
  EXPECT_EQ(big["success"], false);
  EXPECT_EQ(big["error"], "file too large: 1048577 bytes (files.max_bytes is 1048576)");

  auto exe = upload(a, room, "alice", "x.exe", "application/x-msdownload", "MZ", &status);
  EXPECT_EQ(status, 415u);
  EXPECT_NE(exe.value("error", "").find("application/x-msdownload is not allowed"),
            std::string::npos);

  auto unnamed = upload(a, room, "alice", "", "text/plain", "hi", &status);
  EXPECT_EQ(status, 400u);
  EXPECT_NE(unnamed.value("error", "").find("name"), std::string::npos);

  // A name that is not UTF-8 could not be written into the file.shared event: refused
  // before anything is stored (it used to be stored, then answered 500).
  auto binary_name = upload(a, room, "alice", "a\xff.txt", "text/plain", "hi", &status);
  EXPECT_EQ(status, 400u) << binary_name.dump();
  EXPECT_NE(binary_name.value("error", "").find("name must be UTF-8"), std::string::npos);
  // A Content-Type that is no media type never reaches the event, nor the Content-Type of
  // the file's answers on other servers.
  auto typeless = upload(a, room, "alice", "a.txt", "plain", "hi", &status);
  EXPECT_EQ(status, 415u) << typeless.dump();
  EXPECT_NE(typeless.value("error", "").find("is not a media type"), std::string::npos);
  // Nothing to share: other servers would ask for a range of nothing.
  auto empty = upload(a, room, "alice", "empty.txt", "text/plain", "", &status);
  EXPECT_EQ(status, 400u) << empty.dump();
  EXPECT_NE(empty.value("error", "").find("the file is empty"), std::string::npos);

  net::http_request wrong_token;
  wrong_token.method = "POST";
  wrong_token.target = "/api/v1/files.upload?room_id=" + room + "&user=alice&name=a.txt";
  wrong_token.body = "hi";
  wrong_token.headers = {{"Authorization", "Bearer nope"}};
  auto res = net::http_request_blocking(net::url{"http", "127.0.0.1", a.local_port(), {}},
                                        std::move(wrong_token), 10s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401u);

  // A user who is not in the room: the room refuses, and the stored bytes go again.
  auto outsider = upload(a, room, "dave", "p.png", "image/png", "not really a png", &status);
  EXPECT_EQ(status, 403u) << outsider.dump();
  EXPECT_EQ(entries(blobs), 0u);
  EXPECT_EQ(entries(data_dir(a) + "/files/tmp"), 0u);

  auto ok = upload(a, room, "alice", "p.png", "image/png", std::string(1u << 20, 'p'), &status);
  EXPECT_EQ(status, 200u) << ok.dump();
  EXPECT_EQ(entries(blobs), 1u);
  for (const auto& e : room_events(a.all_events(), room))
    if (e.value("type", "") == "file.shared") {
      EXPECT_EQ(e.value("name", ""), "p.png");
    }

  // An upload retried with its id (its answer was lost, say) is one share, as any
  // submission with an id; an empty id is refused as in a JSON body.
  auto first = upload(a, room, "alice", "r.txt", "text/plain", "retried", &status, "up-1");
  ASSERT_EQ(status, 200u) << first.dump();
  auto again = upload(a, room, "alice", "r.txt", "text/plain", "retried", &status, "up-1");
  ASSERT_EQ(status, 200u) << again.dump();
  EXPECT_EQ(again["event_id"], first["event_id"]);
  size_t shares = 0;
  for (const auto& e : room_events(a.all_events(), room))
    if (e.value("type", "") == "file.shared" && e.value("name", "") == "r.txt") ++shares;
  EXPECT_EQ(shares, 1u);
  // The id again with another file, or the id of another message, is refused, and the new
  // bytes are not kept: the room would answer with the first event, which does not show
  // them.
  auto files_before = entries(blobs);
  auto other = upload(a, room, "alice", "r.txt", "text/plain", "another file", &status, "up-1");
  EXPECT_EQ(status, 400u) << other.dump();
  EXPECT_NE(other.value("error", "").find("names another file in this room"), std::string::npos)
      << other.dump();
  ASSERT_TRUE(a.post("/api/v1/chat.send",
                     {{"room_id", room}, {"user", "alice"}, {"text", "hi"}, {"id", "msg-1"}})
                  .value("success", false));
  auto over_message =
      upload(a, room, "alice", "m.txt", "text/plain", "over a message", &status, "msg-1");
  EXPECT_EQ(status, 400u) << over_message.dump();
  EXPECT_NE(over_message.value("error", "").find("names another message"), std::string::npos)
      << over_message.dump();
  EXPECT_EQ(entries(blobs), files_before);
  net::http_request empty_id;
  empty_id.method = "POST";
  empty_id.target = "/api/v1/files.upload?room_id=" + room + "&user=alice&name=a.txt&id=";
  empty_id.headers = {{"Content-Type", "text/plain"}};
  empty_id.body = "hi";
  EXPECT_EQ(local_call(a, std::move(empty_id)).status, 400u);
}

TEST_F(FilesTest, OnlyMemberServersOfARoomThatSharesTheFileMayFetchIt) {
  cluster nodes{{"a.test", "b.test", "c.test"}};
  start(nodes);
  auto &a = nodes[0], &b = nodes[1], &c = nodes[2];
  auto room = room_with(a, {"bob@b.test"});
  ASSERT_GE(b.wait_for_room_events(room, 1, settle).size(), 1u);
  const std::string bytes = "members only";
  auto id = content_id(bytes);
  unsigned status = 0;
  upload(a, room, "alice", "secret.txt", "text/plain", bytes, &status);
  ASSERT_EQ(status, 200u);

  auto member = peer_get(a, b, id, "bytes=0-6");
  EXPECT_EQ(member.status, 206u) << member.body;
  EXPECT_EQ(member.body, "members");

  auto outsider = peer_get(a, c, id, "bytes=0-6");
  EXPECT_EQ(outsider.status, 403u);
  EXPECT_NE(outsider.body.find("not a member server"), std::string::npos) << outsider.body;
  EXPECT_EQ(peer_get(a, c, id, "bytes=0-6", false).status, 401u);  // unsigned
  EXPECT_EQ(peer_get(a, b, id, "bytes=100-200").status, 416u);
  EXPECT_EQ(peer_get(a, b, std::string(64, '1'), "bytes=0-1").status, 404u);

  // Only while it has a member: bob leaves, and b is refused from then on.
  auto left = b.post("/api/v1/rooms.leave", {{"room_id", room}, {"user", "bob"}});
  ASSERT_TRUE(left.value("success", false)) << left.dump();
  EXPECT_TRUE(wait_until([&] { return peer_get(a, b, id, "bytes=0-6").status == 403u; }, settle));
}

TEST_F(FilesTest, FilesSurviveRestartsAndAServerThatWasDownFetchesWhatItMissed) {
  cluster nodes{{"a.test", "b.test", "c.test"}};
  auto room = room_of_three(nodes);
  auto &a = nodes[0], &b = nodes[1], &c = nodes[2];

  ASSERT_TRUE(c.stop());
  auto bytes = random_bytes(3u << 20, 19);
  auto id = content_id(bytes);
  unsigned status = 0;
  upload(a, room, "alice", "missed.bin", "application/octet-stream", bytes, &status);
  ASSERT_EQ(status, 200u);
  EXPECT_EQ(content_id(wait_for_file(b, id)), id);

  c.start();  // catches up with the room, then fetches the file it missed
  EXPECT_EQ(content_id(wait_for_file(c, id)), id) << c.log();

  ASSERT_TRUE(a.stop());
  ASSERT_TRUE(b.stop());
  // What a crash between storing an upload and recording it would leave: no event refers to
  // it, so the restart removes it (and a partial file no fetch owns).
  const std::string orphan(64, 'e');
  write_file(blob_path(a, orphan), "orphan");
  write_file(partial_path(a, orphan), "stray");
  a.start();
  b.start();
  EXPECT_TRUE(wait_until(
      [&] {
        return file_size_or_zero(blob_path(a, orphan)) == 0 &&
               file_size_or_zero(partial_path(a, orphan)) == 0;
      },
      10s));
  for (auto* n : {&a, &b, &c}) {
    auto res = download(*n, id);
    EXPECT_EQ(res.status, 200u) << n->domain();
    EXPECT_EQ(content_id(res.body), id) << n->domain();
  }
}

TEST_F(FilesTest, ContentIsRemovedOnceNoRoomRefersToIt) {
  cluster nodes{{"a.test", "b.test"}};
  start(nodes);
  auto &a = nodes[0], &b = nodes[1];
  auto room1 = room_with(a, {"bob@b.test"});
  auto room2 = room_with(a, {"bob@b.test"});
  ASSERT_GE(b.wait_for_room_events(room2, 1, settle).size(), 1u);
  const std::string bytes = "shared twice";
  auto id = content_id(bytes);
  unsigned status = 0;
  auto first = upload(a, room1, "alice", "x.txt", "text/plain", bytes, &status);
  ASSERT_EQ(status, 200u);
  upload(a, room2, "alice", "x.txt", "text/plain", bytes, &status);
  ASSERT_EQ(status, 200u);
  ASSERT_EQ(wait_for_file(b, id), bytes);

  // The message of room 1 deleted: room 2 still refers to the content.
  auto del =
      a.post("/api/v1/chat.delete",
             {{"room_id", room1}, {"user", "alice"}, {"event_id", first.value("event_id", "")}});
  ASSERT_TRUE(del.value("success", false)) << del.dump();
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& e : room_events(b.all_events(), room1))
          if (e.value("type", "") == "message.deleted") return true;
        return false;
      },
      settle));
  EXPECT_EQ(download(a, id).status, 200u);
  EXPECT_EQ(download(b, id).status, 200u);

  // Room 2 deleted: nothing refers to it, on either server.
  auto gone = a.post("/api/v1/rooms.delete", {{"room_id", room2}, {"by", "alice"}});
  ASSERT_TRUE(gone.value("success", false)) << gone.dump();
  for (auto* n : {&a, &b}) {
    EXPECT_TRUE(wait_until([&] { return file_size_or_zero(blob_path(*n, id)) == 0; }, settle))
        << n->domain() << n->log();
    EXPECT_EQ(download(*n, id).status, 404u);
  }
}

TEST_F(FilesTest, AContentWhoseRoomIsDeletedWhileItIsFetchedIsNotLeftBehind) {
  // Ranges of 16 KiB without a rate cap: b's files actor nearly always has one on its way,
  // so the deletion comes while a range is in flight.
  cluster nodes{{"a.test", "b.test"}, "[files]\nfetch_chunk_bytes = 16384\n"};
  start(nodes);
  auto &a = nodes[0], &b = nodes[1];
  auto room = room_with(a, {"bob@b.test"});
  ASSERT_GE(b.wait_for_room_events(room, 1, settle).size(), 1u);
  auto bytes = random_bytes(32u << 20, 23);
  auto id = content_id(bytes);
  unsigned status = 0;
  upload(a, room, "alice", "big.bin", "application/octet-stream", bytes, &status);
  ASSERT_EQ(status, 200u);
  ASSERT_TRUE(
      wait_until([&] { return file_size_or_zero(partial_path(b, id)) >= (1u << 20); }, settle))
      << b.log();

  auto gone = a.post("/api/v1/rooms.delete", {{"room_id", room}, {"by", "alice"}});
  ASSERT_TRUE(gone.value("success", false)) << gone.dump();
  ASSERT_TRUE(
      wait_until([&] { return b.log().find("removed " + id) != std::string::npos; }, settle))
      << b.log();
  // Only a fetch cut short tests anything: one that ended first leaves nothing either.
  ASSERT_EQ(b.log().find("fetched " + id), std::string::npos) << "the fetch ended first";
  // A range that was on its way when the content went is dropped, not written: the partial
  // file stays gone, and the fetch does not go on.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(file_size_or_zero(partial_path(b, id)), 0u) << b.log();
  EXPECT_EQ(file_size_or_zero(blob_path(b, id)), 0u);
  EXPECT_EQ(download(b, id).status, 404u);
  EXPECT_EQ(entries(data_dir(b) + "/files/partial"), 0u);
}

}  // namespace
}  // namespace fedrelay::test
