// storage/prewritten_wal: WAL files written over zeros laid down ahead of them, truncated
// to their records at close; other files untouched.
#include "storage/prewritten_wal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>
#include <rocksdb/file_system.h>

#include "storage/store.hpp"
#include "tests/storage/store_test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::storage {
namespace {

using testing::wal_files;

uint64_t size_on_disk(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string contents(const std::string& path) {
  return fedrelay::test::read_file(path);
}

/// A file system of the store's kind over RocksDB's default one.
std::shared_ptr<rocksdb::FileSystem> prewritten() {
  return prewritten_wal_file_system(rocksdb::FileSystem::Default());
}

std::unique_ptr<rocksdb::FSWritableFile> create(rocksdb::FileSystem& fs, const std::string& path) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto status = fs.NewWritableFile(path, rocksdb::FileOptions{}, &file, nullptr);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return file;
}

void append(rocksdb::FSWritableFile& file, const std::string& data) {
  auto status = file.Append(data, rocksdb::IOOptions{}, nullptr);
  ASSERT_TRUE(status.ok()) << status.ToString();
}

class PrewrittenWalTest : public ::testing::Test {
 protected:
  fedrelay::test::temp_dir dir{"fedrelay-prewritten-wal"};
};

/// Zeros are written by whole chunks, up to two ahead of what the records need, on a
/// thread of the file's own: the size on disk is a whole number of chunks, past the records.
void expect_zeros_ahead(const std::string& path, uint64_t records) {
  auto on_disk = size_on_disk(path);
  EXPECT_EQ(on_disk % wal_prewrite_bytes, 0u) << on_disk;
  EXPECT_GE(on_disk, records);
  EXPECT_LE(on_disk, records + 3 * wal_prewrite_bytes);
  auto all = contents(path);
  EXPECT_EQ(all.find_first_not_of('\0', records), std::string::npos);
}

TEST_F(PrewrittenWalTest, AWalFileHoldsZerosAheadOfItsRecordsAndOnlyItsRecordsOnceClosed) {
  auto fs = prewritten();
  auto path = dir / "000007.log";
  auto file = create(*fs, path);
  ASSERT_TRUE(file);
  const std::string first(1500, 'a'), second(700, 'b');
  append(*file, first);
  append(*file, second);
  ASSERT_TRUE(file->Sync(rocksdb::IOOptions{}, nullptr).ok());

  // Open: the records, then zeros.
  auto records = first.size() + second.size();
  EXPECT_EQ(file->GetFileSize(rocksdb::IOOptions{}, nullptr), records);
  EXPECT_GE(size_on_disk(path), wal_prewrite_bytes);
  EXPECT_EQ(contents(path).substr(0, records), first + second);
  expect_zeros_ahead(path, records);

  ASSERT_TRUE(file->Close(rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_EQ(contents(path), first + second);
}

TEST_F(PrewrittenWalTest, RecordsPastTheZerosWaitForTheNextChunks) {
  auto fs = prewritten();
  auto path = dir / "000008.log";
  auto file = create(*fs, path);
  ASSERT_TRUE(file);
  // One append past every chunk asked for so far, then many small ones across more.
  const std::string big(wal_prewrite_bytes * 5 + 100, 'x');
  append(*file, big);
  expect_zeros_ahead(path, big.size());
  // Synced as single events are, so the zeros keep paying.
  std::string small(4096, 'y');
  uint64_t written = big.size();
  while (written <= wal_prewrite_bytes * 9) {
    append(*file, small);
    ASSERT_TRUE(file->Sync(rocksdb::IOOptions{}, nullptr).ok());
    written += small.size();
  }
  expect_zeros_ahead(path, written);
  ASSERT_TRUE(file->Close(rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_EQ(size_on_disk(path), written);
  auto all = contents(path);
  EXPECT_EQ(all.substr(0, big.size()), big);
  EXPECT_EQ(all.find_first_not_of('y', big.size()), std::string::npos);
}

TEST_F(PrewrittenWalTest, AFileSyncedSeldomIsAppendedToAsUsual) {
  auto fs = prewritten();
  auto path = dir / "000009.log";
  auto file = create(*fs, path);
  ASSERT_TRUE(file);
  // Large batches: one sync per 256 KiB, fewer than wal_prewrite_min_syncs per chunk.
  const std::string batch(256 * 1024, 'z');
  uint64_t written = 0;
  while (written < wal_prewrite_bytes * 6) {
    append(*file, batch);
    ASSERT_TRUE(file->Sync(rocksdb::IOOptions{}, nullptr).ok());
    written += batch.size();
  }
  // The zeros stopped after the first chunk or two; the records went on past them.
  EXPECT_EQ(size_on_disk(path), written);
  ASSERT_TRUE(file->Close(rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_EQ(size_on_disk(path), written);
  auto all = contents(path);
  EXPECT_EQ(all.find_first_not_of('z'), std::string::npos);
}

TEST_F(PrewrittenWalTest, OtherFilesAreTheBaseFileSystems) {
  auto fs = prewritten();
  for (const char* name : {"000010.sst", "MANIFEST-000001", "LOG"}) {
    auto path = dir / name;
    auto file = create(*fs, path);
    ASSERT_TRUE(file);
    append(*file, "abc");
    ASSERT_TRUE(file->Flush(rocksdb::IOOptions{}, nullptr).ok());
    EXPECT_EQ(size_on_disk(path), 3u) << name;
    ASSERT_TRUE(file->Close(rocksdb::IOOptions{}, nullptr).ok());
  }
}

TEST_F(PrewrittenWalTest, TheStoresLiveWalIsPrewrittenUnlessTurnedOff) {
  for (bool prewrite : {true, false}) {
    fedrelay::test::temp_dir db_dir{"fedrelay-prewritten-store"};
    store_options opts;
    opts.prewrite_wal = prewrite;
    auto s = store::open(db_dir.path(), opts);
    ASSERT_TRUE(s) << caf::to_string(s.error());
    write_batch b;
    b.put(column::meta, "k", std::string(1000, 'v'));
    ASSERT_EQ((*s)->write(b), caf::none);
    auto logs = wal_files(db_dir.path());
    ASSERT_FALSE(logs.empty());
    auto live = size_on_disk(logs.back());
    EXPECT_EQ(live % wal_prewrite_bytes == 0, prewrite) << live << " bytes";
    EXPECT_GT(live, 1000u);
  }
}

}  // namespace
}  // namespace fedrelay::storage
