#include "storage/info_log.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include <rocksdb/env.h>

#include "storage/unique_fd.hpp"
#include "storage/write_all.hpp"

namespace fedrelay::storage {
namespace {

// RocksDB's own logger cuts its lines here too (its statistics dumps are long).
constexpr size_t max_line_bytes = 64u << 10;

class info_log final : public rocksdb::Logger {
 public:
  info_log(std::string path, size_t max_bytes)
      : path_(std::move(path)), old_path_(path_ + ".old"), max_bytes_(max_bytes) {
    std::lock_guard<std::mutex> guard{mutex_};
    open_file();
  }

  using rocksdb::Logger::Logv;

  // The level's prefix ("[WARN] ") is added by RocksDB's Logv(level, ...) before this.
  // Nothing may throw into RocksDB: no allocation here.
  void Logv(const char* format, va_list ap) override {
    static thread_local char line[max_line_bytes];
    size_t n = prefix(line, sizeof line);
    const size_t after_prefix = n;
    va_list copy;
    va_copy(copy, ap);
    int body = std::vsnprintf(line + n, sizeof line - n - 1, format, copy);
    va_end(copy);
    if (body < 0) body = 0;
    n = std::min(n + static_cast<size_t>(body), sizeof line - 2);
    if (n == 0 || line[n - 1] != '\n') line[n++] = '\n';
    std::lock_guard<std::mutex> guard{mutex_};
    if (damage_bytes_ == 0 && std::strstr(line + after_prefix, "Corruption") != nullptr) {
      damage_bytes_ = std::min(n - after_prefix - 1, sizeof damage_);
      std::memcpy(damage_, line + after_prefix, damage_bytes_);
    }
    if (!fd_) open_file();  // a file that could not be opened before may be now
    if (!fd_ || !write_all(fd_.get(), {line, n})) {
      ++dropped_;
      return;
    }
    written_ += n;
    if (written_ > max_bytes_) {
      ::rename(path_.c_str(), old_path_.c_str());
      open_file();
    }
  }

  size_t GetLogFileSize() const override {
    std::lock_guard<std::mutex> guard{mutex_};
    return written_;
  }

  uint64_t dropped() const { return dropped_; }

  std::string damage() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return {damage_, damage_bytes_};
  }

 protected:
  rocksdb::Status CloseImpl() override {
    std::lock_guard<std::mutex> guard{mutex_};
    fd_.reset();
    return rocksdb::Status::OK();
  }

 private:
  // "2026/11/29-09:29:04.123456 7f3a2b7fe6c0 ", as RocksDB's loggers begin a line.
  static size_t prefix(char* out, size_t room) {
    timeval now{};
    ::gettimeofday(&now, nullptr);
    std::tm t{};
    ::localtime_r(&now.tv_sec, &t);
    int n = std::snprintf(out, room, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %llx ", t.tm_year + 1900,
                          t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                          static_cast<long>(now.tv_usec),
                          static_cast<unsigned long long>(::pthread_self()));
    return n < 0 ? 0 : std::min(static_cast<size_t>(n), room - 1);
  }

  // Under mutex_. Appends to what is there: a store opened beside a running node (`fedrelay
  // resolve`, which then finds it locked) writes its lines into the node's LOG instead of
  // moving the file the node writes to aside.
  void open_file() {
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    struct stat st {};
    written_ = fd_ && ::fstat(fd_.get(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  }

  const std::string path_;
  const std::string old_path_;
  const size_t max_bytes_;
  mutable std::mutex mutex_;
  unique_fd fd_;
  size_t written_ = 0;
  std::atomic<uint64_t> dropped_{0};
  // The first line that reported damage, kept without allocating (as every line is).
  char damage_[1024];
  size_t damage_bytes_ = 0;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> open_info_log(const std::string& path, size_t max_bytes) {
  return std::make_shared<info_log>(path, max_bytes);
}

uint64_t dropped_lines(const rocksdb::Logger& logger) {
  auto* ours = dynamic_cast<const info_log*>(&logger);
  return ours ? ours->dropped() : 0;
}

std::string first_damage_line(const rocksdb::Logger& logger) {
  auto* ours = dynamic_cast<const info_log*>(&logger);
  return ours ? ours->damage() : std::string{};
}

}  // namespace fedrelay::storage
