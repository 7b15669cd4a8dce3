#include "storage/periodic_wal_sync.hpp"

#include <utility>

#include <rocksdb/db.h>

namespace fedrelay::storage {

periodic_wal_sync::periodic_wal_sync(rocksdb::DB& db, std::chrono::milliseconds period,
                                     std::function<void(const rocksdb::Status&)> on_failure)
    : db_(db), period_(period), on_failure_(std::move(on_failure)), thread_([this] { run(); }) {}

periodic_wal_sync::~periodic_wal_sync() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sync_if_dirty();
}

void periodic_wal_sync::run() {
  std::unique_lock<std::mutex> lock{mutex_};
  while (!stopping_) {
    wake_.wait_for(lock, period_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    sync_if_dirty();
    lock.lock();
  }
}

void periodic_wal_sync::sync_if_dirty() {
  // Cleared before the sync: a write landing during it sets the flag again, and the next
  // period covers it.
  if (!dirty_.exchange(false, std::memory_order_acq_rel)) return;
  // RocksDB lets SyncWAL run beside writers; it syncs every WAL file still open.
  auto status = db_.SyncWAL();
  if (!status.ok()) on_failure_(status);
}

}  // namespace fedrelay::storage
