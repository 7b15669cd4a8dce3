// The WAL sync of storage.sync = "periodic": writes are answered once the operating
// system has them, and a thread of its own syncs RocksDB's write-ahead log every period
// in which something was written. Internal to storage/ (it holds a rocksdb::DB).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace rocksdb {
class DB;
class Status;
}  // namespace rocksdb

namespace fedrelay::storage {

class periodic_wal_sync {
 public:
  /// Starts the thread. `on_failure` runs on it when a sync fails (the store then refuses
  /// writes, as after a failed synced write).
  /// REQUIRES: `db` outlives this object.
  periodic_wal_sync(rocksdb::DB& db, std::chrono::milliseconds period,
                    std::function<void(const rocksdb::Status&)> on_failure);
  /// Stops the thread, then syncs what was written since the last sync, so a clean close
  /// leaves every answered write on disk.
  ~periodic_wal_sync();
  periodic_wal_sync(const periodic_wal_sync&) = delete;
  periodic_wal_sync& operator=(const periodic_wal_sync&) = delete;

  /// Notes a write that the next sync must cover. Cheap: one atomic store.
  void written() noexcept { dirty_.store(true, std::memory_order_release); }

 private:
  void run();
  void sync_if_dirty();

  rocksdb::DB& db_;
  const std::chrono::milliseconds period_;
  std::function<void(const rocksdb::Status&)> on_failure_;
  std::atomic<bool> dirty_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;     // last: started once everything above is set
};

}  // namespace fedrelay::storage
