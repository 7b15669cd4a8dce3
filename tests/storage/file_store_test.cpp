// The content-addressed file store: one copy per content, atomic publication, partial files
// that grow in order and resume from their size, removal, and ids that never reach the file
// system unless they are 64 hex digits.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "storage/errc.hpp"
#include "storage/file_store.hpp"
#include "tests/storage/store_test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::storage {
namespace {

using test::entries;
using testing::is;

const std::string id_a(64, 'a');
const std::string id_b(64, 'b');

class FileStoreTest : public ::testing::Test {
 protected:
  test::temp_dir dir{"fedrelay-files"};
  std::shared_ptr<file_store> files = *file_store::open(dir / "files");
};

TEST_F(FileStoreTest, PublishedContentIsStoredOnceUnderItsId) {
  for (int copy = 0; copy < 2; ++copy) {
    auto w = files->create_temp();
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write("hello "));
    ASSERT_FALSE(w->write("world"));
    EXPECT_EQ(w->size(), 11u);
    ASSERT_FALSE(files->publish(*w, id_a));
  }
  EXPECT_EQ(files->size(id_a), 11u);
  EXPECT_EQ(test::read_file(files->path(id_a)), "hello world");
  EXPECT_EQ(entries(dir / "files/blobs"), 1u);
  EXPECT_EQ(entries(dir / "files/tmp"), 0u);  // the second copy was dropped
}

// A file that cannot grow (a full disk, a quota; here, this process's file size limit) is
// errc::no_space, which the local API answers 507, not a failure of the store.
TEST_F(FileStoreTest, AFileThatCannotGrowIsNoSpace) {
  auto w = files->create_temp();
  ASSERT_TRUE(w);
  auto previous_signal = std::signal(SIGXFSZ, SIG_IGN);
  rlimit previous{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &previous), 0);
  rlimit small{4096, previous.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto err = w->write(std::string(8192, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &previous);
  std::signal(SIGXFSZ, previous_signal);
  EXPECT_EQ(err, errc::no_space) << caf::to_string(err);
}

TEST_F(FileStoreTest, AnUnpublishedTempFileIsRemovedWithItsWriter) {
  {
    auto w = files->create_temp();
    ASSERT_TRUE(w);
    ASSERT_FALSE(w->write("half an upload"));
    EXPECT_EQ(entries(dir / "files/tmp"), 1u);
  }
  EXPECT_EQ(entries(dir / "files/tmp"), 0u);
  EXPECT_FALSE(files->size(id_a));
}

TEST_F(FileStoreTest, AMovedWriterKeepsItsFileAndAnOverwrittenOneRemovesIts) {
  auto first = files->create_temp();
  auto second = files->create_temp();
  ASSERT_TRUE(first && second);
  ASSERT_FALSE(first->write("kept "));
  ASSERT_FALSE(second->write("dropped"));
  EXPECT_EQ(entries(dir / "files/tmp"), 2u);
  {
    file_writer moved{std::move(*first)};
    ASSERT_FALSE(moved.write("bytes"));
    *second = std::move(moved);  // the second's own file goes
    EXPECT_EQ(entries(dir / "files/tmp"), 1u);
  }
  EXPECT_EQ(entries(dir / "files/tmp"), 1u);  // the moved-from writers removed nothing
  EXPECT_EQ(second->size(), 10u);
  ASSERT_FALSE(files->publish(*second, id_a));
  EXPECT_EQ(test::read_file(files->path(id_a)), "kept bytes");
  EXPECT_EQ(second->write("late"), errc::write_failed);  // finished by publish
  EXPECT_EQ(entries(dir / "files/tmp"), 0u);
}

TEST_F(FileStoreTest, OpenRemovesWhatACrashLeftInTmp) {
  test::write_file(dir / "files/tmp/upload-crashed", "partial upload");
  auto again = file_store::open(dir / "files");
  ASSERT_TRUE(again);
  EXPECT_EQ(entries(dir / "files/tmp"), 0u);
}

TEST_F(FileStoreTest, PartialFilesGrowInOrderAndResumeFromTheirSize) {
  EXPECT_EQ(files->partial_size(id_b), 0u);
  ASSERT_FALSE(files->append_partial(id_b, "0123"));
  ASSERT_FALSE(files->append_partial(id_b, "4567"));
  // Another store on the same directory (a restarted node) sees where to resume.
  auto restarted = *file_store::open(dir / "files");
  EXPECT_EQ(restarted->partial_size(id_b), 8u);
  ASSERT_FALSE(restarted->append_partial(id_b, "89"));
  EXPECT_FALSE(restarted->size(id_b));  // not published yet
  ASSERT_FALSE(restarted->publish_partial(id_b));
  EXPECT_EQ(test::read_file(restarted->path(id_b)), "0123456789");
  EXPECT_EQ(restarted->partial_size(id_b), 0u);
}

TEST_F(FileStoreTest, RemoveDropsContentAndPartialAndToleratesAbsence) {
  auto w = files->create_temp();
  ASSERT_FALSE(w->write("x"));
  ASSERT_FALSE(files->publish(*w, id_a));
  ASSERT_FALSE(files->append_partial(id_a, "y"));
  ASSERT_FALSE(files->remove(id_a));
  EXPECT_FALSE(files->size(id_a));
  EXPECT_EQ(files->partial_size(id_a), 0u);
  EXPECT_FALSE(files->remove(id_a));  // already gone: fine
  ASSERT_FALSE(files->append_partial(id_b, "z"));
  ASSERT_FALSE(files->remove_partial(id_b));
  EXPECT_EQ(files->partial_size(id_b), 0u);
}

TEST_F(FileStoreTest, ListsContentsAndPartialsByIdOnly) {
  auto w = files->create_temp();
  ASSERT_FALSE(w->write("x"));
  ASSERT_FALSE(files->publish(*w, id_a));
  ASSERT_FALSE(files->append_partial(id_b, "y"));
  test::write_file(dir / "files/blobs/README", "not a content");
  EXPECT_EQ(files->contents(), std::vector<std::string>{id_a});
  EXPECT_EQ(files->partials(), std::vector<std::string>{id_b});
}

TEST_F(FileStoreTest, IdsThatAreNotHexNeverReachTheFileSystem) {
  EXPECT_TRUE(file_store::valid_id(id_a));
  EXPECT_FALSE(file_store::valid_id(std::string(63, 'a')));
  EXPECT_FALSE(file_store::valid_id(std::string(64, 'A')));
  EXPECT_FALSE(file_store::valid_id("../" + std::string(61, 'a')));
  auto traversal = "../../" + std::string(58, 'a');
  EXPECT_TRUE(is(files->append_partial(traversal, "x"), errc::corrupted));
  EXPECT_TRUE(is(files->remove(traversal), errc::corrupted));
  EXPECT_FALSE(files->size(traversal));
  auto w = files->create_temp();
  EXPECT_TRUE(is(files->publish(*w, "not-an-id"), errc::corrupted));
}

TEST(FileStoreOpenTest, AnUnusableDirectoryIsAnError) {
  test::temp_dir dir{"fedrelay-files"};
  test::write_file(dir / "plain-file", "not a directory");
  auto files = file_store::open(dir / "plain-file");
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error(), errc::open_failed);
  EXPECT_NE(caf::to_string(files.error()).find("plain-file"), std::string::npos);
}

}  // namespace
}  // namespace fedrelay::storage
