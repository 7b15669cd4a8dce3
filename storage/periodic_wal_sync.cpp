#include "storage/periodic_wal_sync.hpp"

#include <utility>

#include <rocksdb/db.h>

namespace fedrelay::storage {

periodic_wal_sync::periodic_wal_sync(rocksdb::DB& db, std::chrono::milliseconds period,
                                     std::function<void(const rocksdb::Status&)> on_failure,
                                     const std::atomic<bool>& store_failed)
    : db_(db),
      period_(period),
      on_failure_(std::move(on_failure)),
      store_failed_(store_failed),
      synced_(db.GetLatestSequenceNumber()),  // what the open recovered is on disk
      thread_([this] { run(); }) {}

periodic_wal_sync::~periodic_wal_sync() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sync_written();
}

void periodic_wal_sync::run() {
  // A fixed schedule, not a pause after each sync: a write waits at most a period (and
  // the sync that covers it), however long the syncs before it took.
  auto next = std::chrono::steady_clock::now() + period_;
  std::unique_lock<std::mutex> lock{mutex_};
  while (!wake_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    sync_written();
    lock.lock();
    next += period_;
    if (auto now = std::chrono::steady_clock::now(); next < now) next = now;
  }
}

bool periodic_wal_sync::sync_written() {
  // Every write that returned before this line has a sequence number up to `target`
  // and its WAL record in the file: one SyncWAL from here on covers them all.
  auto target = db_.GetLatestSequenceNumber();
  if (synced_.load(std::memory_order_acquire) >= target) return true;
  if (store_failed_.load(std::memory_order_acquire)) return false;
  // RocksDB lets SyncWAL run beside writers and other syncs; it syncs every WAL file not
  // yet synced.
  auto status = db_.SyncWAL();
  if (!status.ok()) {
    on_failure_(status);
    return false;
  }
  auto seen = synced_.load(std::memory_order_relaxed);
  while (seen < target && !synced_.compare_exchange_weak(seen, target, std::memory_order_release))
    ;
  return true;
}

}  // namespace fedrelay::storage
