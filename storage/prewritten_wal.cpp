#include "storage/prewritten_wal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include <rocksdb/file_system.h>

namespace fedrelay::storage {
namespace {

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  /// Closes the descriptor, and says whether close(2) reported no error.
  bool close() noexcept { return fd_ < 0 || ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_ = -1;
};

rocksdb::IOStatus io_error(const std::string& what, const std::string& name, int error) {
  return rocksdb::IOStatus::IOError(what + " " + name, std::strerror(error));
}

/// wal_prewrite_bytes of zeros, aligned for direct I/O; shared and never written.
const void* zero_chunk() {
  static const void* zeros = [] {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, wal_prewrite_bytes) != 0) return static_cast<void*>(nullptr);
    std::memset(p, 0, wal_prewrite_bytes);
    return p;
  }();
  return zeros;
}

class prewritten_wal_file final : public rocksdb::FSWritableFile {
 public:
  prewritten_wal_file(std::string name, unique_fd fd, unique_fd direct,
                      const rocksdb::FileOptions& options)
      : FSWritableFile(options),
        name_(std::move(name)),
        fd_(std::move(fd)),
        direct_(std::move(direct)) {}

  ~prewritten_wal_file() override {
    if (fd_) Close({}, nullptr).PermitUncheckedError();
  }

  using FSWritableFile::Append;
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions&,
                           rocksdb::IODebugContext*) override {
    auto end = size_.load(std::memory_order_relaxed) + data.size();
    zero_past(end);
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      auto n = ::write(fd_.get(), p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("appending to", name_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    size_.store(end, std::memory_order_relaxed);
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions&,
                             rocksdb::IODebugContext*) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      return io_error("truncating", name_, errno);
    if (::lseek(fd_.get(), static_cast<off_t>(size), SEEK_SET) < 0)
      return io_error("seeking in", name_, errno);
    size_.store(size, std::memory_order_relaxed);
    // Zeros may only go to whole blocks past the records; RocksDB never truncates a WAL it
    // writes, so after a truncation the file is simply appended to.
    direct_.reset();
    zeroed_ = size;
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus Close(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    if (!fd_) return rocksdb::IOStatus::OK();
    direct_.reset();
    auto size = size_.load(std::memory_order_relaxed);
    rocksdb::IOStatus status;
    // A WAL closed cleanly holds its records and nothing after them.
    if (zeroed_ > size && ::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      status = io_error("truncating", name_, errno);
    if (!fd_.close() && status.ok()) status = io_error("closing", name_, errno);
    return status;
  }

  rocksdb::IOStatus Flush(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();  // appends go straight to the OS
  }

  rocksdb::IOStatus Sync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    if (::fdatasync(fd_.get()) != 0) return io_error("syncing", name_, errno);
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    if (::fsync(fd_.get()) != 0) return io_error("syncing", name_, errno);
    return rocksdb::IOStatus::OK();
  }

  // fdatasync(2) and fsync(2) may run beside write(2) on the same descriptor; the periodic
  // sync (storage.sync = "periodic") and RocksDB's SyncWAL rely on it.
  bool IsSyncThreadSafe() const override { return true; }

  uint64_t GetFileSize(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return size_.load(std::memory_order_relaxed);
  }

 private:
  /// Writes zeros, a chunk at a time, until they reach past `end`. On a failure the file
  /// stops being prewritten and is appended to as usual.
  void zero_past(uint64_t end) {
    while (direct_ && zeroed_ < end) {
      auto n =
          ::pwrite(direct_.get(), zero_chunk(), wal_prewrite_bytes, static_cast<off_t>(zeroed_));
      if (n < 0 && errno == EINTR) continue;
      if (n != static_cast<ssize_t>(wal_prewrite_bytes)) {
        direct_.reset();
        return;
      }
      zeroed_ += wal_prewrite_bytes;
    }
  }

  std::string name_;
  unique_fd fd_;                   // buffered; its offset is the end of the records
  unique_fd direct_;               // O_DIRECT, for the zeros; closed when they cannot be written
  std::atomic<uint64_t> size_{0};  // bytes of records (read by GetFileSize on any thread)
  uint64_t zeroed_ = 0;            // zeros were written up to here: a multiple of a chunk
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
    if (!is_wal_file(name) || options.use_mmap_writes || options.use_direct_writes || !zero_chunk())
      return FileSystemWrapper::NewWritableFile(name, options, result, dbg);
    unique_fd fd{::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (!fd) return io_error("creating", name, errno);
    unique_fd direct{::open(name.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC)};
    *result =
        std::make_unique<prewritten_wal_file>(name, std::move(fd), std::move(direct), options);
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
