// The WAL sync of storage.sync = "periodic": writes are answered once the operating
// system has them, and a thread of its own syncs RocksDB's write-ahead log on a fixed
// schedule when something was written since the last sync. Internal to storage/ (it holds
// a rocksdb::DB).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
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
  /// Starts the thread. `on_failure` runs (on the thread that synced) when a sync fails;
  /// the store then refuses writes, as after a failed synced write. Once `store_failed`
  /// is set (any write failed) nothing is synced any more: the log writer that failed
  /// aborts the process at its next sync (an assertion Debian's librocksdb keeps).
  /// REQUIRES: `db` and `store_failed` outlive this object.
  periodic_wal_sync(rocksdb::DB& db, std::chrono::milliseconds period,
                    std::function<void(const rocksdb::Status&)> on_failure,
                    const std::atomic<bool>& store_failed);
  /// Stops the thread, then syncs what was written since the last sync, so a clean close
  /// leaves every answered write on disk (a failure goes to `on_failure`, as any).
  ~periodic_wal_sync();
  periodic_wal_sync(const periodic_wal_sync&) = delete;
  periodic_wal_sync& operator=(const periodic_wal_sync&) = delete;

  /// Returns once every write that returned before this call is on disk: at once when a
  /// sync already covered them, else after a sync of its own. False when a sync failed.
  /// Thread-safe.
  bool sync_written();

  std::chrono::milliseconds period() const noexcept { return period_; }

 private:
  void run();

  rocksdb::DB& db_;
  const std::chrono::milliseconds period_;
  std::function<void(const rocksdb::Status&)> on_failure_;
  const std::atomic<bool>& store_failed_;
  /// The RocksDB sequence number up to which the WAL is known to be on disk.
  std::atomic<uint64_t> synced_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;     // last: started once everything above is set
};

}  // namespace fedrelay::storage
