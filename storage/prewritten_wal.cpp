#include "storage/prewritten_wal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <rocksdb/file_system.h>

#include "storage/unique_fd.hpp"
#include "storage/write_all.hpp"

namespace fedrelay::storage {
namespace {

rocksdb::IOStatus io_error(const std::string& what, const std::string& name, int error) {
  // As RocksDB's own files say it, so a full disk reads as one.
  if (error == ENOSPC) return rocksdb::IOStatus::NoSpace(what + " " + name, std::strerror(error));
  return rocksdb::IOStatus::IOError(what + " " + name, std::strerror(error));
}

/// wal_prewrite_bytes of zeros; shared and never written.
const char* zero_chunk() {
  static const std::string zeros(wal_prewrite_bytes, '\0');
  return zeros.data();
}

/// Writes a file's zeros on a thread of its own that keeps them up to zero_lead_bytes
/// ahead of what the writer asked for, so the journal's thread waits for zeros only when
/// it outruns this one. Each chunk goes through the page cache and is written back at
/// once (sync_file_range): its blocks are then allocated and written, and its pages stay
/// cached, so an append that fills a page part way does not read the block first (after
/// zeros written by direct I/O every such append read 4 KiB from the disk, which made a
/// drain slower; docs/PERFORMANCE.md, twelfth round). After a failed write it writes no
/// more, and says so to every caller of zeros_past from then on.
class zero_writer {
 public:
  static constexpr uint64_t zero_lead_bytes = 2 * wal_prewrite_bytes;

  zero_writer(std::string name, unique_fd fd) : name_(std::move(name)), fd_(std::move(fd)) {
    if (!fd_) {
      failed_ = true;
      return;
    }
    // No exception may reach RocksDB: without a thread the file is appended to as usual.
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
      failed_ = true;
    }
  }
  ~zero_writer() { stop(); }
  zero_writer(const zero_writer&) = delete;
  zero_writer& operator=(const zero_writer&) = delete;

  /// Waits until zeros are on disk up to `end` at least, and asks for more ahead of it.
  /// False once a zero write failed: the caller then appends past the zeros, which is
  /// safe since none will be written again.
  bool zeros_past(uint64_t end) {
    std::unique_lock<std::mutex> lock{mutex_};
    if (failed_) return false;
    // A batch that reaches more than a chunk past the zeros (a drain's first) would wait
    // for all of them: the file is appended to as usual instead, once the thread is done.
    if (end > zeroed_ + wal_prewrite_bytes) {
      lock.unlock();
      stop();
      return false;
    }
    // In whole chunks, so the thread is woken once per chunk, not at every append.
    auto want =
        (end + zero_lead_bytes + wal_prewrite_bytes - 1) / wal_prewrite_bytes * wal_prewrite_bytes;
    if (want > wanted_) {
      wanted_ = want;
      changed_.notify_all();
    }
    changed_.wait(lock, [&] { return zeroed_ >= end || failed_; });
    return !failed_;
  }

  /// Ends the thread once its write in progress is done; writes no zeros after.
  void stop() {
    {
      std::lock_guard<std::mutex> lock{mutex_};
      stopping_ = true;
      failed_ = true;
      changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock{mutex_};
    while (true) {
      changed_.wait(lock, [&] { return stopping_ || zeroed_ < wanted_; });
      if (stopping_) return;
      // Beyond zeroed_ there are no records: a writer waits for zeros before it passes
      // them, so this write and the writer's appends never meet.
      auto at = zeroed_;
      // The first chunk is small: the file's first append waits for it.
      auto chunk = at == 0 ? wal_first_prewrite_bytes : wal_prewrite_bytes;
      lock.unlock();
      bool written = write_chunk(at, chunk);
      lock.lock();
      if (written) {
        zeroed_ = at + chunk;
      } else {
        failed_ = true;
        // Once per file; the file is appended to as usual from here on.
        std::fprintf(stderr, "storage: writing zeros ahead of %s failed (%s); appending as usual\n",
                     name_.c_str(), std::strerror(errno));
      }
      changed_.notify_all();
      if (failed_) return;
    }
  }

  /// `size` bytes of zeros at `at`, written and on their way to the disk.
  bool write_chunk(uint64_t at, uint64_t size) {
    if (!write_all(fd_.get(), {zero_chunk(), size}, static_cast<int64_t>(at))) return false;
    return ::sync_file_range(fd_.get(), static_cast<off_t>(at), static_cast<off_t>(size),
                             SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                 SYNC_FILE_RANGE_WAIT_AFTER) == 0;
  }

  std::string name_;
  unique_fd fd_;  // the file, opened again: pwrite(2) leaves the writer's offset alone
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t zeroed_ = 0;    // GUARDED_BY(mutex_): zeros are on disk below this
  uint64_t wanted_ = 0;    // GUARDED_BY(mutex_): the thread writes zeros up to here
  bool failed_ = false;    // GUARDED_BY(mutex_): no zeros will be written any more
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

class prewritten_wal_file final : public rocksdb::FSWritableFile {
 public:
  prewritten_wal_file(std::string name, unique_fd fd, unique_fd zero_fd,
                      const rocksdb::FileOptions& options)
      : FSWritableFile(options),
        name_(std::move(name)),
        fd_(std::move(fd)),
        zeros_(std::make_unique<zero_writer>(name_, std::move(zero_fd))) {
    zeros_->zeros_past(0);  // the first chunks, before the first record comes
  }

  ~prewritten_wal_file() override {
    if (fd_) Close({}, nullptr).PermitUncheckedError();
  }

  using FSWritableFile::Append;
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions&,
                           rocksdb::IODebugContext*) override {
    auto end = size_.load(std::memory_order_relaxed) + data.size();
    if (prewriting_) prewriting_ = still_worth_it(end) && zeros_->zeros_past(end);
    if (!write_all(fd_.get(), {data.data(), data.size()}))
      return io_error("appending to", name_, errno);
    size_.store(end, std::memory_order_relaxed);
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions&,
                             rocksdb::IODebugContext*) override {
    // Zeros may only go past the records; RocksDB never truncates a WAL it writes, so
    // after a truncation the file is simply appended to.
    zeros_->stop();
    prewriting_ = false;
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      return io_error("truncating", name_, errno);
    if (::lseek(fd_.get(), static_cast<off_t>(size), SEEK_SET) < 0)
      return io_error("seeking in", name_, errno);
    size_.store(size, std::memory_order_relaxed);
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus Close(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    if (!fd_) return rocksdb::IOStatus::OK();
    zeros_->stop();
    auto size = size_.load(std::memory_order_relaxed);
    rocksdb::IOStatus status;
    // A WAL closed cleanly holds its records and nothing after them (also after a chunk
    // of zeros that failed part way).
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0)
      status = io_error("reading the size of", name_, errno);
    else if (static_cast<uint64_t>(st.st_size) > size &&
             ::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      status = io_error("truncating", name_, errno);
    if (!fd_.close() && status.ok()) status = io_error("closing", name_, errno);
    return status;
  }

  rocksdb::IOStatus Flush(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();  // appends go straight to the OS
  }

  rocksdb::IOStatus Sync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    syncs_.fetch_add(1, std::memory_order_relaxed);
    if (::fdatasync(fd_.get()) != 0) return io_error("syncing", name_, errno);
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    syncs_.fetch_add(1, std::memory_order_relaxed);
    if (::fsync(fd_.get()) != 0) return io_error("syncing", name_, errno);
    return rocksdb::IOStatus::OK();
  }

  // fdatasync(2) and fsync(2) may run beside write(2) on the same descriptor; the periodic
  // sync (storage.sync = "periodic") and RocksDB's SyncWAL rely on it.
  bool IsSyncThreadSafe() const override { return true; }

  uint64_t GetFileSize(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return size_.load(std::memory_order_relaxed);
  }

  // Left to FSWritableFile's defaults: RangeSync (RocksDB asks for it on a WAL only with
  // wal_bytes_per_sync, which the store leaves at 0), write-lifetime hints, preallocation
  // (the zeros allocate the blocks) and cache invalidation.

 private:
  std::string name_;
  unique_fd fd_;  // buffered; its offset is the end of the records
  std::unique_ptr<zero_writer> zeros_;
  /// Whether the zeros still pay, looked at once per chunk of records: each costs about
  /// as much CPU as the inode writes of wal_prewrite_min_syncs syncs save, so a file
  /// synced less often than that (large batches, a drain) is appended to as usual from
  /// then on, and its zeros stop.
  bool still_worth_it(uint64_t end) {
    if (end <= next_check_) return true;
    auto syncs = syncs_.load(std::memory_order_relaxed);
    bool worth = next_check_ == 0 || syncs - syncs_at_check_ >= wal_prewrite_min_syncs;
    next_check_ = end / wal_prewrite_bytes * wal_prewrite_bytes + wal_prewrite_bytes;
    syncs_at_check_ = syncs;
    if (!worth) zeros_->stop();
    return worth;
  }

  bool prewriting_ = true;          // false once zeros could not be written or did not pay
  std::atomic<uint64_t> size_{0};   // bytes of records (read by GetFileSize on any thread)
  std::atomic<uint64_t> syncs_{0};  // Sync and Fsync calls (any thread)
  uint64_t next_check_ = 0;         // still_worth_it looks again past this size
  uint64_t syncs_at_check_ = 0;     // syncs_ when it last looked
};

class prewritten_wal_file_system_impl final : public rocksdb::FileSystemWrapper {
 public:
  explicit prewritten_wal_file_system_impl(std::shared_ptr<rocksdb::FileSystem> base)
      : FileSystemWrapper(std::move(base)) {}

  static const char* kClassName() { return "FedrelayPrewrittenWalFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    // Only plain WAL files: with mmap or direct writes asked for, RocksDB's own file.
    if (!is_wal_file(name) || options.use_mmap_writes || options.use_direct_writes)
      return FileSystemWrapper::NewWritableFile(name, options, result, dbg);
    unique_fd fd{::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (!fd) return io_error("creating", name, errno);
    unique_fd zero_fd{::open(name.c_str(), O_WRONLY | O_CLOEXEC)};
    *result =
        std::make_unique<prewritten_wal_file>(name, std::move(fd), std::move(zero_fd), options);
    return rocksdb::IOStatus::OK();
  }
};

}  // namespace

bool is_wal_file(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
}

std::shared_ptr<rocksdb::FileSystem> prewritten_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> base) {
  return std::make_shared<prewritten_wal_file_system_impl>(std::move(base));
}

}  // namespace fedrelay::storage
