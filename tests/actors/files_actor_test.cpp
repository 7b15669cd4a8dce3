// The files actor following the inbox, on CAF's deterministic scheduler: what one page of
// events does to the references and to the bytes.
#include "actors/files_actor.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/file_references.hpp"
#include "actors/local_bridge_actor.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "storage/file_store.hpp"
#include "tests/actors/transport_fixture.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;
using testing::header_of;
using testing::test_node;
using testing::transport_fixture;

class FilesActorTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    node_ = &add_node("a.example");
    origin_ = &add_node("b.example");
    start_discovery(*node_);
    auto bridge = keep(spawn_local_bridge(*sys_, *node_->store, node_->domain));
    node_->journal = keep(spawn_journal(*sys_, *node_->store, peer_manager_actor{},
                                        caf::actor_cast<caf::actor>(bridge)));
    auto opened = storage::file_store::open(node_->dir->path() + "/files");
    ASSERT_TRUE(opened) << describe(opened.error());
    files_ = *opened;
    files_context ctx;
    ctx.own_domain = node_->domain;
    ctx.identity = node_->identity;
    ctx.store = node_->store.get();
    ctx.files = files_;
    ctx.bridge = bridge;
    ctx.journal = node_->journal;
    ctx.inbox_pause = std::chrono::milliseconds(0);
    ctx.discovery = node_->discovery;
    ctx.transport = transport_;
    ctx.settings.fetch_chunk_bytes = 1u << 20;
    keep(spawn_files(*sys_, std::move(ctx)));
    sched_->run();  // the start: nothing to recover, then a long-poll on the empty inbox
  }

  /// A content of this node's own, in the file store as an upload leaves it.
  std::string stored_content() {
    const std::string id(64, 'c');
    std::ofstream{files_->path(id), std::ios::binary} << "shared bytes";
    EXPECT_TRUE(files_->size(id));
    return id;
  }

  /// Events of this node's inbox, appended together: the files actor reads them as one
  /// page.
  void one_page(const std::vector<json>& events) {
    journal_entry entry;
    for (const auto& e : events) entry.inbox.push_back(e.dump());
    auto reply = ask<std::vector<uint64_t>>(node_->journal, append_atom::value, entry);
    ASSERT_TRUE(reply.value) << describe(reply.error);
    sched_->run();
  }

  json shared(const std::string& id, const std::string& room, const std::string& event) {
    return {{"type", "file.shared"}, {"room_id", room},       {"event_id", event},
            {"file_id", id},         {"origin", "a.example"}, {"size", 12}};
  }

  test_node* node_ = nullptr;
  test_node* origin_ = nullptr;
  std::shared_ptr<storage::file_store> files_;
};

/// The first byte and the length of the range a GET asks for; nullopt without one.
std::optional<std::pair<uint64_t, uint64_t>> range_asked(const outbound_request& req) {
  uint64_t first = 0, last = 0;
  if (std::sscanf(header_of(req, "Range").c_str(), "bytes=%lu-%lu", &first, &last) != 2)
    return std::nullopt;
  return std::pair{first, last - first + 1};
}

/// The ranged GETs of `bytes` as the origin answers them: 206 with the range asked for.
std::optional<inbound_reply> range_of(const std::string& bytes, const outbound_request& req) {
  auto range = range_asked(req);
  if (!range) return std::nullopt;
  return inbound_reply{206, bytes.substr(range->first, range->second)};
}

TEST_F(FilesActorTest, AShareAndTheDeletionOfItsRoomInOnePageLeaveNothing) {
  auto id = stored_content();
  one_page({shared(id, "r1:a.example", "e1:a.example"),
            {{"type", "room.deleted"}, {"room_id", "r1:a.example"}}});
  EXPECT_TRUE(references_of(*node_->store, id, 0).empty());
  EXPECT_FALSE(files_->size(id)) << "the bytes stayed";
}

TEST_F(FilesActorTest, AShareAndTheDeletionOfItsMessageInOnePageLeaveNothing) {
  auto id = stored_content();
  one_page(
      {shared(id, "r1:a.example", "e1:a.example"),
       {{"type", "message.deleted"}, {"room_id", "r1:a.example"}, {"target", "e1:a.example"}}});
  EXPECT_TRUE(references_of(*node_->store, id, 0).empty());
  EXPECT_FALSE(files_->size(id)) << "the bytes stayed";
}

TEST_F(FilesActorTest, AContentStaysWhileAnotherRoomOfThePageRefersToIt) {
  auto id = stored_content();
  one_page({shared(id, "r1:a.example", "e1:a.example"),
            shared(id, "r2:a.example", "e2:a.example"),
            {{"type", "room.deleted"}, {"room_id", "r1:a.example"}}});
  EXPECT_EQ(references_of(*node_->store, id, 0),
            (std::vector<std::pair<std::string, std::string>>{{"r2:a.example", "e2:a.example"}}));
  EXPECT_TRUE(files_->size(id));
  one_page({{{"type", "room.deleted"}, {"room_id", "r2:a.example"}}});
  EXPECT_FALSE(files_->size(id));
}

// A link too slow to carry a range of files.fetch_chunk_bytes within
// transport.request_timeout: each larger range times out. Asked for whole again, the
// range timed out at every try and the file never came.
TEST_F(FilesActorTest, ARangeThatTimesOutIsAskedForInHalvesUntilTheLinkCarriesIt) {
  std::string bytes(1u << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 24);
  auto id = crypto::to_hex(crypto::blake2b_256(bytes));
  const uint64_t carried = 200u << 10;
  std::vector<uint64_t> asked;
  net_.fail = [&](const outbound_request& req) -> caf::error {
    asked.push_back(range_asked(req).value_or(std::pair<uint64_t, uint64_t>{}).second);
    if (asked.back() <= carried) return {};
    return caf::make_error(errc::timed_out, "request to b.example timed out after 30000 ms");
  };
  net_.intercept = [&bytes](const outbound_request& req) { return range_of(bytes, req); };
  json share = {{"type", "file.shared"}, {"room_id", "r1:b.example"}, {"event_id", "e1:b.example"},
                {"file_id", id},         {"origin", "b.example"},     {"size", bytes.size()}};
  one_page({share});
  for (int round = 0; round < 100 && !files_->size(id); ++round) {
    sched_->trigger_timeouts();
    sched_->run();
  }
  ASSERT_TRUE(files_->size(id)) << "the file never came";
  EXPECT_EQ(*files_->size(id), bytes.size());
  std::ifstream in{files_->path(id), std::ios::binary};
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>{in}, {}), bytes);
  // 1 MiB, 512 KiB and 256 KiB timed out; then ranges of 128 KiB, the last one shorter.
  ASSERT_GE(asked.size(), 4u);
  EXPECT_EQ((std::vector<uint64_t>{asked[0], asked[1], asked[2], asked[3]}),
            (std::vector<uint64_t>{1u << 20, 512u << 10, 256u << 10, 128u << 10}));
}

}  // namespace
}  // namespace fedrelay::actors
