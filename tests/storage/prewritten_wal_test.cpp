// storage/prewritten_wal: WAL files written over zeros laid down ahead of them, truncated
// to their records at close; other files untouched.
#include "storage/prewritten_wal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include <gtest/gtest.h>
#include <rocksdb/file_system.h>

#include "storage/keys.hpp"
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

/// Zeros run from the records' end to the end of the file, which the zeros' thread may
/// still be extending: it writes whole chunks while it is short of two MiB past the
/// records, rounded up to a MiB, so it stops within four.
void expect_zeros_ahead(const std::string& path, uint64_t records) {
  auto all = contents(path);
  EXPECT_GT(all.size(), records);
  EXPECT_LE(all.size(), records + 4 * wal_prewrite_bytes);
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
  EXPECT_GE(size_on_disk(path), wal_first_prewrite_bytes);
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
  // Synced as single events are, so the zeros keep paying, across several chunks: were an
  // append not to wait for its zeros, the zeros' thread would write over its records.
  std::string record(4096, 'y');
  uint64_t written = 0;
  while (written <= wal_prewrite_bytes * 5) {
    record[0] = static_cast<char>('a' + written / wal_prewrite_bytes);
    append(*file, record);
    ASSERT_TRUE(file->Sync(rocksdb::IOOptions{}, nullptr).ok());
    written += record.size();
  }
  expect_zeros_ahead(path, written);
  ASSERT_TRUE(file->Close(rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_EQ(size_on_disk(path), written);
  auto all = contents(path);
  ASSERT_EQ(all.size(), written);
  for (uint64_t at = 0; at < written; at += record.size()) {
    ASSERT_EQ(all[at], static_cast<char>('a' + at / wal_prewrite_bytes)) << at;
    ASSERT_EQ(all.find_first_not_of('y', at + 1),
              at + record.size() < written ? at + record.size() : std::string::npos)
        << at;
  }
}

TEST_F(PrewrittenWalTest, ABatchFarPastTheZerosIsAppendedAsUsual) {
  auto fs = prewritten();
  auto path = dir / "000011.log";
  auto file = create(*fs, path);
  ASSERT_TRUE(file);
  // A drain's first batch would wait for megabytes of zeros; the file goes without.
  const std::string big(wal_prewrite_bytes * 5 + 100, 'x');
  append(*file, big);
  ASSERT_TRUE(file->Sync(rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_EQ(size_on_disk(path), big.size());
  append(*file, "tail");
  ASSERT_TRUE(file->Close(rocksdb::IOOptions{}, nullptr).ok());
  EXPECT_EQ(contents(path), big + "tail");
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
    // About 1.1 KB of records, and with zeros at least the first chunk of them.
    auto live = size_on_disk(logs.back());
    EXPECT_GT(live, 1000u);
    if (prewrite)
      EXPECT_GE(live, wal_first_prewrite_bytes);
    else
      EXPECT_LT(live, 4096u);
  }
}

// A crash can leave the last record torn with zeros after it: its last bytes never
// reached the disk, and the zeros written ahead of it did. Recovery drops that record,
// keeps every one before it, and the store opens.
TEST_F(PrewrittenWalTest, ATornLastRecordBeforeTheZerosIsDroppedAndTheRestRecovered) {
  constexpr uint64_t batches = 100;
  std::string wal_path, wal;
  {
    auto s = store::open(dir.path());
    ASSERT_TRUE(s) << caf::to_string(s.error());
    for (uint64_t i = 1; i <= batches; ++i) {
      write_batch b;
      b.put(column::outbox, encode_u64(i), "batch " + std::to_string(i));
      b.put(column::meta, "counter", encode_u64(i));
      ASSERT_EQ((*s)->write(b), caf::none);
    }
    auto logs = wal_files(dir.path());
    ASSERT_FALSE(logs.empty());
    wal_path = logs.back();
    wal = contents(wal_path);  // while open: the records, then zeros
  }
  // The last record ends with the counter's 8 bytes (the last of them 'd', 100).
  auto end = wal.find_last_not_of('\0') + 1;
  ASSERT_GT(wal.size(), end + 4096) << "no zeros after the records";
  std::fill(wal.begin() + static_cast<std::ptrdiff_t>(end - 8),
            wal.begin() + static_cast<std::ptrdiff_t>(end), '\0');
  fedrelay::test::write_file(wal_path, wal);

  auto s = store::open(dir.path());
  ASSERT_TRUE(s) << caf::to_string(s.error());
  auto counter = (*s)->get(column::meta, "counter");
  ASSERT_TRUE(counter);
  ASSERT_TRUE(*counter);
  EXPECT_EQ(decode_u64(**counter), batches - 1);
  uint64_t expected = 1;
  auto err = (*s)->scan(column::outbox, "", "", 0, [&](std::string_view k, std::string_view v) {
    EXPECT_EQ(decode_u64(k), expected);
    EXPECT_EQ(v, "batch " + std::to_string(expected));
    ++expected;
    return true;
  });
  EXPECT_EQ(err, caf::none);
  EXPECT_EQ(expected, batches);  // batches 1..99
}

}  // namespace
}  // namespace fedrelay::storage
