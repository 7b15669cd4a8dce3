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
using ids = std::vector<std::string>;

/// What a drop returned, or a test failure when it returned an error.
template <class T>
T value_of(caf::expected<T> x) {
  EXPECT_TRUE(x) << caf::to_string(x.error());
  return x ? std::move(*x) : T{};
}

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
  EXPECT_EQ(value_of(dropped.drop("r1", "e1")), a_);
  EXPECT_EQ(value_of(dropped.drop("r1", "e9")), "");  // not a reference
  EXPECT_EQ(value_of(dropped.drop_room("r2")), (ids{a_, b_}));
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
  EXPECT_EQ(value_of(page.drop("r1", "e1")), a_);
  EXPECT_EQ(value_of(page.drop_room("r2")), ids{b_});
  EXPECT_EQ(value_of(page.drop("r1", "e1")), "");  // dropped once only
  EXPECT_TRUE(value_of(page.drop_room("r2")).empty());
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
  EXPECT_EQ(value_of(changes.drop_room("r1")), (ids{a_, b_}));
  write(page);
  EXPECT_TRUE(references_of(*store_, a_, 0).empty());
  EXPECT_EQ(references_of(*store_, b_, 0), (refs{{"r10", "e3"}}));
}

TEST_F(FileReferencesTest, AStoredReferenceIsDroppedOnceWhateverDropsItAgain) {
  storage::write_batch first;
  reference_batch added{*store_, first};
  added.add(a_, "r1", "e1");
  added.add(b_, "r1", "e2");
  write(first);
  storage::write_batch page;
  reference_batch changes{*store_, page};
  changes.add(b_, "r1", "e2");  // a local share's reference, added again by its event
  EXPECT_EQ(value_of(changes.drop("r1", "e1")), a_);
  EXPECT_EQ(value_of(changes.drop("r1", "e1")), "");      // a second deletion of the message
  EXPECT_EQ(value_of(changes.drop_room("r1")), ids{b_});  // e1 not again, e2 once
  write(page);
  EXPECT_TRUE(references_of(*store_, a_, 0).empty());
  EXPECT_TRUE(references_of(*store_, b_, 0).empty());
}

TEST_F(FileReferencesTest, AReadErrorIsReturnedAndNothingIsDropped) {
  storage::write_batch first;
  reference_batch{*store_, first}.add(a_, "r1", "e1");
  write(first);
  store_.reset();
  bool failing = true;
  storage::store_options opts;
  opts.fail_reads = [&failing](storage::column c) {
    return failing && c == storage::column::files;
  };
  auto reopened = storage::store::open(dir_.path(), std::move(opts));
  ASSERT_TRUE(reopened) << caf::to_string(reopened.error());
  store_ = std::move(*reopened);
  storage::write_batch page;
  reference_batch changes{*store_, page};
  EXPECT_FALSE(changes.drop("r1", "e1"));
  EXPECT_FALSE(changes.drop_room("r1"));
  EXPECT_TRUE(page.empty());
  failing = false;
  EXPECT_EQ(references_of(*store_, a_, 0), (refs{{"r1", "e1"}}));
}

}  // namespace
}  // namespace fedrelay::actors
