// Which room events refer to which contents: what one write adds and drops, against a real
// store.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <caf/all.hpp>

#include "actors/file_references.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::actors {
namespace {

using refs = std::vector<std::pair<std::string, std::string>>;

class FileReferencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::store::open(dir_.path());
    ASSERT_TRUE(opened) << caf::to_string(opened.error());
    store_ = std::move(*opened);
  }

  void write(const storage::write_batch& batch) {
    ASSERT_FALSE(store_->write(batch)) << "writing the references";
  }

  const std::string a_ = std::string(64, 'a');
  const std::string b_ = std::string(64, 'b');
  test::temp_dir dir_{"fedrelay-file-refs"};
  std::unique_ptr<storage::store> store_;
};

TEST_F(FileReferencesTest, StoredReferencesAreListedAndDroppedByEventOrByRoom) {
  storage::write_batch batch;
  reference_batch added{*store_, batch};
  added.add(a_, "r1", "e1");
  added.add(a_, "r2", "e2");
  added.add(b_, "r2", "e3");
  write(batch);
  EXPECT_EQ(references_of(*store_, a_, 0), (refs{{"r1", "e1"}, {"r2", "e2"}}));
  EXPECT_EQ(references_of(*store_, a_, 1).size(), 1u);

  storage::write_batch drops;
  reference_batch dropped{*store_, drops};
  EXPECT_EQ(dropped.drop("r1", "e1"), a_);
  EXPECT_EQ(dropped.drop("r1", "e9"), "");  // not a reference
  EXPECT_EQ(dropped.drop_room("r2"), (std::vector<std::string>{a_, b_}));
  write(drops);
  EXPECT_TRUE(references_of(*store_, a_, 0).empty());
  EXPECT_TRUE(references_of(*store_, b_, 0).empty());
}

TEST_F(FileReferencesTest, ADropSeesWhatTheSameBatchAdded) {
  // An inbox page that holds a share and, after it, the deletion of its message; and one
  // that holds a share and the deletion of its room.
  storage::write_batch batch;
  reference_batch page{*store_, batch};
  page.add(a_, "r1", "e1");
  page.add(b_, "r2", "e2");
  page.add(b_, "r3", "e3");  // another room keeps b
  EXPECT_EQ(page.drop("r1", "e1"), a_);
  EXPECT_EQ(page.drop_room("r2"), std::vector<std::string>{b_});
  EXPECT_EQ(page.drop("r1", "e1"), "");  // dropped once only
  EXPECT_TRUE(page.drop_room("r2").empty());
  write(batch);
  EXPECT_TRUE(references_of(*store_, a_, 0).empty());
  EXPECT_EQ(references_of(*store_, b_, 0), (refs{{"r3", "e3"}}));
}

TEST_F(FileReferencesTest, ARoomsStoredAndNewReferencesGoTogether) {
  storage::write_batch first;
  reference_batch{*store_, first}.add(a_, "r1", "e1");
  write(first);
  storage::write_batch page;
  reference_batch changes{*store_, page};
  changes.add(b_, "r1", "e2");
  changes.add(b_, "r10", "e3");  // a room whose name starts like r1's is not r1
  EXPECT_EQ(changes.drop_room("r1"), (std::vector<std::string>{a_, b_}));
  write(page);
  EXPECT_TRUE(references_of(*store_, a_, 0).empty());
  EXPECT_EQ(references_of(*store_, b_, 0), (refs{{"r10", "e3"}}));
}

}  // namespace
}  // namespace fedrelay::actors
