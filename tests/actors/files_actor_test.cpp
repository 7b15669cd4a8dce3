// The files actor following the inbox, on CAF's deterministic scheduler: what one page of
// events does to the references and to the bytes.
#include "actors/files_actor.hpp"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/file_references.hpp"
#include "actors/local_bridge_actor.hpp"
#include "storage/file_store.hpp"
#include "tests/actors/transport_fixture.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;
using testing::test_node;
using testing::transport_fixture;

class FilesActorTest : public transport_fixture {
 protected:
  void SetUp() override {
    transport_fixture::SetUp();
    node_ = &add_node("a.example");
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
  std::shared_ptr<storage::file_store> files_;
};

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

}  // namespace
}  // namespace fedrelay::actors
