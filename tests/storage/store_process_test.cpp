// store across processes: the LOCK seen from another process, and kill -9 in the middle
// of synced writes, with this test binary re-executed as the child (see main below).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/storage/store_test_util.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::storage {
namespace {

using namespace std::chrono_literals;
using testing::context_text;
using testing::is;
using testing::wal_files;

constexpr const char* child_flag = "--storage-child";
constexpr int child_unexpected = 99;  // a child's exit code for anything but an errc
constexpr uint64_t keys_per_batch = 10;

std::string self_path() {
  std::string path(4096, '\0');
  auto n = readlink("/proc/self/exe", path.data(), path.size());
  path.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return path;
}

void say(const std::string& line) {
  // One write(2) per line, unbuffered: what the parent reads was said before the kill.
  auto text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) < 0) _exit(child_unexpected);
}

// Child role "open DIR": exit 0 when the store opens, else the errc, after printing the
// error's context.
int child_open(const std::string& dir) {
  auto s = store::open(dir);
  if (s) return 0;
  say(context_text(s.error()));
  if (s.error().category() != caf::atom("storage")) return child_unexpected;
  return s.error().code();
}

// Child role "write DIR": synced batches until killed. Batch i puts keys_per_batch keys
// (i, j) into the outbox and the counter i into meta, across two columns, and says "i"
// only after write() has returned: i is then acknowledged. `opts` as the store is opened
// ("write-periodic": answered before the fsync, see store_options::wal_sync_period;
// "write-appended": the WAL appended to as RocksDB does, see store_options::prewrite_wal).
int child_write(const std::string& dir, store_options opts = {}) {
  auto s = store::open(dir, std::move(opts));
  if (!s) {
    say(caf::to_string(s.error()));
    return child_unexpected;
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;  // in case the parent dies
  for (uint64_t i = 1; std::chrono::steady_clock::now() < deadline; ++i) {
    write_batch b;
    for (uint64_t j = 0; j < keys_per_batch; ++j)
      b.put(column::outbox, encode_u64(i) + encode_u64(j), "batch " + std::to_string(i));
    b.put(column::meta, "counter", encode_u64(i));
    if (auto err = (*s)->write(b)) {
      say(caf::to_string(err));
      return child_unexpected;
    }
    say(std::to_string(i));
  }
  return 0;
}

// Child role "small-files": every file it writes may grow to 16 KiB only (RLIMIT_FSIZE,
// with SIGXFSZ ignored as fedrelay ignores it, so a write past it fails with EFBIG as on a
// full disk). Opens the store and writes until a write fails, then writes twice more;
// exit 0 when the store refused the open or the writes with an errc. RocksDB's own info
// logger aborted the process here (an assertion, on its line after a failed write).
int child_small_files(const std::string& dir, store_options opts = {}) {
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit limit{16u << 10, RLIM_INFINITY};
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return child_unexpected;
  auto s = store::open(dir, std::move(opts));
  if (!s) {
    say("open: " + caf::to_string(s.error()));
    return s.error().category() == caf::atom("storage") ? 0 : child_unexpected;
  }
  int failed = 0;
  for (uint64_t i = 1; i < 10'000 && failed < 3; ++i) {
    write_batch b;
    b.put(column::outbox, encode_u64(i), std::string(1024, 'x'));
    if (auto err = (*s)->write(b)) {
      say("write " + std::to_string(i) + ": " + caf::to_string(err));
      if (err.category() != caf::atom("storage")) return child_unexpected;
      ++failed;
    }
  }
  return failed > 0 ? 0 : child_unexpected;
}

class StoreProcessTest : public ::testing::Test {
 protected:
  fedrelay::test::child_process start_child(const std::string& role) {
    return fedrelay::test::child_process{{self_path(), child_flag, role, dir.path()}, log};
  }

  void kill_and_check(const std::string& role);

  fedrelay::test::temp_dir dir{"fedrelay-storage"};
  fedrelay::test::temp_dir logs{"fedrelay-storage-log"};
  std::string log = logs / "child.log";
};

// A disk that takes no more (here: files that may not grow) makes the store refuse the
// open or its writes with an error; the process goes on.
TEST_F(StoreProcessTest, FilesThatCannotGrowAreAnErrorNotAnAbort) {
  auto child = start_child("small-files");
  auto status = child.wait(60s);
  ASSERT_TRUE(status) << "the child did not exit";
  EXPECT_EQ(*status, 0) << fedrelay::test::read_file(log);
}

// With storage.sync = "periodic" the log is synced on a schedule and once more at close:
// neither may touch a log writer that failed (RocksDB's assertion aborted the process).
TEST_F(StoreProcessTest, FilesThatCannotGrowAreAnErrorNotAnAbortWithPeriodicSyncToo) {
  auto child = start_child("small-files-periodic");
  auto status = child.wait(60s);
  ASSERT_TRUE(status) << "the child did not exit";
  EXPECT_EQ(*status, 0) << fedrelay::test::read_file(log);
}

TEST_F(StoreProcessTest, SecondOpenFromAnotherProcessIsLocked) {
  auto s = store::open(dir.path());
  ASSERT_TRUE(s) << caf::to_string(s.error());
  auto child = start_child("open");
  auto status = child.wait(30s);
  ASSERT_TRUE(status) << "the child did not exit";
  EXPECT_EQ(*status, static_cast<int>(errc::locked)) << fedrelay::test::read_file(log);
  auto said = fedrelay::test::read_file(log);
  EXPECT_NE(said.find("data directory " + dir.path() + " is in use by another fedrelay process"),
            std::string::npos)
      << said;
  // The parent is unaffected, and once it closes the store the child can open it.
  write_batch b;
  b.put(column::meta, "k", "v");
  EXPECT_EQ((*s)->write(b), caf::none);
  s->reset();
  auto again = start_child("open");
  EXPECT_EQ(again.wait(30s), 0) << fedrelay::test::read_file(log);
}

uint64_t last_acknowledged(const std::string& said) {
  // Only complete lines count: the kill may cut the last one short (it cannot, with one
  // write(2) per line, but the check costs nothing).
  uint64_t last = 0;
  size_t start = 0;
  for (size_t end; (end = said.find('\n', start)) != std::string::npos; start = end + 1) {
    auto line = said.substr(start, end - start);
    if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos)
      last = std::stoull(line);
  }
  return last;
}

/// Kills a child of `role` (one of the "write" roles) with SIGKILL mid-write, then checks
/// that every batch it acknowledged is in the store, each whole.
void StoreProcessTest::kill_and_check(const std::string& role) {
  {
    auto writer = start_child(role);
    ASSERT_TRUE(fedrelay::test::wait_until(
        [&] { return last_acknowledged(fedrelay::test::read_file(log)) > 0; }, 30s))
        << fedrelay::test::read_file(log);
    std::this_thread::sleep_for(300ms);
    writer.kill_hard();  // SIGKILL mid-write: no destructor, no flush, no close
    ASSERT_FALSE(writer.running());
  }
  auto acknowledged = last_acknowledged(fedrelay::test::read_file(log));
  ASSERT_GT(acknowledged, 0u);

  // The kill left the live WAL ending in zeros (the zeros' thread keeps up to two MiB of
  // them past the records; no record ends in 4 KiB of zero bytes), and the recovery below
  // reads through them. (With the periodic sync the file is synced too seldom for zeros
  // after its first MiB; "write-appended" has none.)
  if (role == "write") {
    auto logs = wal_files(dir.path());
    ASSERT_FALSE(logs.empty());
    auto wal = fedrelay::test::read_file(logs.back());
    ASSERT_GT(wal.size(), 4096u) << logs.back();
    EXPECT_EQ(wal.find_first_not_of('\0', wal.size() - 4096), std::string::npos)
        << logs.back() << " does not end in zeros";
  }

  auto s = store::open(dir.path());
  ASSERT_TRUE(s) << caf::to_string(s.error());
  auto counter_bytes = (*s)->get(column::meta, "counter");
  ASSERT_TRUE(counter_bytes);
  ASSERT_TRUE(*counter_bytes);
  auto counter = decode_u64(**counter_bytes);
  ASSERT_TRUE(counter);
  // Everything acknowledged survived; at most the batch in flight at the kill landed
  // too (written, not yet acknowledged).
  EXPECT_GE(*counter, acknowledged);
  EXPECT_LE(*counter, acknowledged + 1);

  // Exactly the batches 1..counter, each with all of its keys, and not one key of any
  // later batch: a batch and its counter land together or not at all.
  uint64_t expected_batch = 1, expected_key = 0, seen = 0;
  bool in_order = true;
  auto err = (*s)->scan(column::outbox, "", "", 0, [&](std::string_view k, std::string_view v) {
    if (k.size() != 16 || decode_u64(k.substr(0, 8)) != expected_batch ||
        decode_u64(k.substr(8)) != expected_key || v != "batch " + std::to_string(expected_batch)) {
      in_order = false;
      return false;
    }
    ++seen;
    if (++expected_key == keys_per_batch) {
      expected_key = 0;
      ++expected_batch;
    }
    return true;
  });
  ASSERT_EQ(err, caf::none);
  EXPECT_TRUE(in_order) << "after " << seen << " keys";
  EXPECT_EQ(seen, *counter * keys_per_batch);
  EXPECT_EQ(expected_key, 0u) << "a batch is missing keys";

  // The recovered store takes writes again.
  write_batch b;
  b.put(column::meta, "counter", encode_u64(*counter + 1));
  EXPECT_EQ((*s)->write(b), caf::none);
}

TEST_F(StoreProcessTest, KillNineKeepsEveryAcknowledgedBatchWhole) {
  kill_and_check("write");
}

TEST_F(StoreProcessTest, KillNineWithTheWalAppendedToKeepsEveryAcknowledgedBatchWhole) {
  kill_and_check("write-appended");
}

TEST_F(StoreProcessTest, KillNineWithPeriodicSyncStillKeepsEveryAcknowledgedBatch) {
  // The child's period is an hour, so its acknowledgements did not wait for any fsync
  // (RocksDB may still sync a closed log when a memtable fills): what it acknowledged was
  // in the operating system's hands, which a process crash does not lose (an OS crash or
  // power failure could, which is the mode's documented price).
  kill_and_check("write-periodic");
}

}  // namespace
}  // namespace fedrelay::storage

// This binary is also the child of the tests above: `storage_test --storage-child ROLE DIR`.
// Exec'd rather than only forked, so each child is a fresh process: a bare fork would
// inherit RocksDB's in-process table of held locks (the child would see "held by current
// process", not the other process's fcntl lock) and its thread pools without their threads.
int main(int argc, char** argv) {
  using namespace fedrelay::storage;
  if (argc == 4 && std::strcmp(argv[1], child_flag) == 0) {
    std::string role = argv[2], dir = argv[3];
    if (role == "open") return child_open(dir);
    if (role == "small-files") return child_small_files(dir);
    if (role == "small-files-periodic") {
      store_options opts;
      opts.wal_sync_period = std::chrono::milliseconds(50);
      return child_small_files(dir, std::move(opts));
    }
    if (role == "write") return child_write(dir);
    if (role == "write-appended") {
      store_options opts;
      opts.prewrite_wal = false;
      return child_write(dir, std::move(opts));
    }
    if (role == "write-periodic") {
      store_options opts;
      opts.wal_sync_period = std::chrono::hours(1);
      return child_write(dir, std::move(opts));
    }
    return child_unexpected;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
