// store: the node's one RocksDB, its options for a queue workload, its column families,
// and the translation of rocksdb::Status into storage::errc at this folder's edge.
#include "storage/store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <utility>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/rate_limiter.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include "storage/crc32c.hpp"
#include "storage/errc.hpp"
#include "storage/info_log.hpp"
#include "storage/keys.hpp"
#include "storage/periodic_wal_sync.hpp"
#include "storage/prewritten_wal.hpp"
#include "storage/write_batch_internal.hpp"

namespace fedrelay::storage {
namespace {

// The one place for the column family names; indexed by the enum value.
constexpr std::array<std::string_view, column_count> column_names = {
    "meta", "rooms", "room_log", "outbox", "receipts", "dedup", "inbox", "discovery", "files",
};
static_assert(static_cast<size_t>(column::files) + 1 == column_count,
              "column_count and column_names must list every column");

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}
std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// RocksDB's PosixFileSystem::LockFile reports a held LOCK file as an IOError, in two
// forms: "While lock file: <dir>/LOCK: Resource temporarily unavailable" when another
// process holds the fcntl lock (EACCES, "Permission denied", on some systems), and
// "lock hold by current process ...: No locks available" when this process has the
// directory open already (fcntl locks are per process, so RocksDB keeps its own table).
bool is_lock_held(const rocksdb::Status& status) {
  if (!status.IsIOError()) return false;
  auto text = status.ToString();
  if (contains(text, "lock hold by current process")) return true;
  return contains(text, "While lock file") &&
         (contains(text, "Resource temporarily unavailable") ||
          contains(text, "Permission denied") || contains(text, "No locks available"));
}

caf::error read_error(const std::string& what, const rocksdb::Status& status) {
  return caf::make_error(status.IsCorruption() ? errc::corrupted : errc::read_failed, what,
                         status.ToString());
}

// A write-ahead-log file whose appends and syncs first ask the test's fault hook.
class faulty_wal_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  faulty_wal_file(std::unique_ptr<rocksdb::FSWritableFile> file,
                  const std::function<bool(wal_io)>& fail)
      : FSWritableFileOwnerWrapper(std::move(file)), fail_(fail) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (fail_(wal_io::append)) return injected();
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (fail_(wal_io::append)) return injected();
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (fail_(wal_io::sync)) return injected();
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (fail_(wal_io::sync)) return injected();
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  static rocksdb::IOStatus injected() { return rocksdb::IOStatus::IOError("injected WAL fault"); }
  const std::function<bool(wal_io)>& fail_;  // REQUIRES: the file system that owns it outlives us
};

// The file system of store_options::fail_wal_io: the store's own, with the WAL files
// (NNNNNN.log; the info log is named LOG) wrapped in faulty_wal_file.
class faulty_wal_file_system final : public rocksdb::FileSystemWrapper {
 public:
  faulty_wal_file_system(std::shared_ptr<rocksdb::FileSystem> base,
                         std::function<bool(wal_io)> fail)
      : FileSystemWrapper(std::move(base)), fail_(std::move(fail)) {}

  static const char* kClassName() { return "FedrelayFaultyWalFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    auto status = FileSystemWrapper::NewWritableFile(name, options, result, dbg);
    if (status.ok() && is_wal_file(name))
      *result = std::make_unique<faulty_wal_file>(std::move(*result), fail_);
    return status;
  }

 private:
  std::function<bool(wal_io)> fail_;
};

// The part of a key before the event id it ends with ("<32 hex>:<domain>"): the dedup
// marks and the authors of one room. A node's own event ids increase (time-ordered), so
// keys of one prefix mostly arrive in order, and the hint saves a full skip-list search;
// for keys of other shapes the hint misses and costs a comparison or two.
class event_id_prefix final : public rocksdb::SliceTransform {
 public:
  static constexpr size_t id_digits = 32;
  const char* Name() const override { return "fedrelay.event_id_prefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), last_colon(key) - id_digits};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    auto colon = last_colon(key);
    return colon != std::string_view::npos && colon >= id_digits;
  }

 private:
  static size_t last_colon(const rocksdb::Slice& key) { return view(key).rfind(':'); }
};

// The prefix of a sequenced_key (a room id, a peer's domain): each prefix's seqs arrive in
// order, so the hint saves a full skip-list search where many prefixes interleave (ten
// peers' outboxes of one fan-out: those searches were 15 % of the host's samples). Keys of
// no such shape, the start of a range tombstone included (storage::sequenced_from), take
// no hint. Off until the store is open: the WAL an earlier version left holds range
// deletions from an entry's key, which recovery replays into the memtables.
class sequenced_prefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "fedrelay.sequenced_prefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key.size() - sizeof(uint64_t) - 1};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return on_.load(std::memory_order_acquire) && split_sequenced_key(view(key)).has_value();
  }
  void turn_on() { on_.store(true, std::memory_order_release); }

 private:
  std::atomic<bool> on_{false};
};

// Drops the entries that any of a column's store_options::expiries finds expired as
// compactions pass them.
class expiry_filter final : public rocksdb::CompactionFilter {
 public:
  expiry_filter(std::vector<entry_expired> expiries, std::chrono::seconds revisit)
      : expiries_(std::move(expiries)), revisit_(revisit) {}
  // How often the column's files are compacted again at least.
  std::chrono::seconds revisit() const { return revisit_; }
  const char* Name() const override { return "fedrelay.expiry"; }
  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    return std::any_of(expiries_.begin(), expiries_.end(), [&](const entry_expired& expired) {
      return expired(view(key), view(value));
    });
  }

 private:
  std::vector<entry_expired> expiries_;
  std::chrono::seconds revisit_;
};

// RocksDB counts comparisons, reads and timings into a per-thread perf context unless the
// thread's perf level says not to; nothing here reads those counts, and keeping them was
// about 1 % of each node's samples (docs/PERFORMANCE.md, tenth round). The level belongs
// to the calling thread, so each call sets it (one thread-local store).
void without_perf_counters() {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

// RocksDB's info LOG is moved aside as LOG.old past this, so the two take 16 MiB at most.
constexpr size_t info_log_bytes = 8u << 20;

// DB-wide options. The workload is a set of queues: small synced batches (an event plus
// its outbox entries), read soon after, front to back, then deleted by range.
rocksdb::Options db_options(const std::string& dir, const store_options& opts, rocksdb::Env* env) {
  rocksdb::Options o;
  if (env) o.env = env;
  o.create_if_missing = opts.create_if_missing;
  // Column families are schema, not data: a newer build adds its columns to an old
  // directory even when the directory itself must already exist.
  o.create_missing_column_families = true;
  // Two background threads (flush and compaction share them) on a small node; writes
  // are bound by fsync, not by compaction. Set after `env`: it sizes that env's pools.
  o.IncreaseParallelism(2);
  o.max_background_jobs = 2;
  // Nine columns with default 64 MiB memtables could hold over a GiB; cap them together.
  o.db_write_buffer_size = 64u << 20;
  // A WAL file can only be deleted once every column with data in it has flushed, and a
  // quiet column (meta) would pin old WALs forever; past this size RocksDB flushes it.
  o.max_total_wal_size = 64u << 20;
  // After a crash, recover every intact record up to the torn tail (RocksDB's default,
  // stated here because the crash test relies on it): acknowledged synced writes are
  // whole, an unacknowledged tail may be dropped, and the store still opens.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Each write hands its WAL record to the OS (write(2)) before it returns, which is what
  // lets storage.sync = "periodic" promise that a crash of the process loses nothing
  // (RocksDB's default, stated because that promise relies on it).
  o.manual_wal_flush = false;
  // A reopen after a crash writes what it recovered from the WAL into synced table files,
  // so the periodic sync may count all of it as on disk (RocksDB's default, stated for
  // the same reason).
  o.avoid_flush_during_recovery = false;
  // RocksDB's info LOG, by a logger that survives a full disk (storage/info_log.hpp).
  auto* dirs = env ? env : rocksdb::Env::Default();
  if (opts.create_if_missing) dirs->CreateDirIfMissing(dir).PermitUncheckedError();
  o.info_log = open_info_log(dir + "/LOG", info_log_bytes);
  // Both nodes of a pair flush at the same moments, and each flush used to land on the
  // disk as one burst at its final fsync: the WAL syncs queued behind it and stalled the
  // events of the next 20-60 ms (docs/PERFORMANCE.md, sixth round). Written out a MiB
  // at a time, and never faster than a cap well above what a drain needs, flushes and
  // compactions share the disk with the WAL.
  o.bytes_per_sync = background_sync_bytes;
  o.rate_limiter.reset(rocksdb::NewGenericRateLimiter(background_write_limit));
  return o;
}

rocksdb::ColumnFamilyOptions column_options(column c, const std::shared_ptr<rocksdb::Cache>& cache,
                                            const std::shared_ptr<sequenced_prefix>& hints,
                                            const expiry_filter* expiry,
                                            const store_options& opts) {
  rocksdb::ColumnFamilyOptions o;
  if (expiry) {
    o.compaction_filter = expiry;
    o.periodic_compaction_seconds = static_cast<uint64_t>(expiry->revisit().count());
  }
  // Level compaction with dynamic level sizes keeps space amplification near 1.1 however
  // large the queues grew once; a memtable smaller than the default 64 MiB, since nine
  // share db_write_buffer_size. Not smaller still: 4 MiB memtables lowered the p99 at
  // half load one by one, but on data dirs of gigabytes their many level-0 files cost
  // the drain and the batched latency a third (docs/PERFORMANCE.md, sixth round).
  o.compaction_style = rocksdb::kCompactionStyleLevel;
  o.level_compaction_dynamic_level_bytes = true;
  o.write_buffer_size = opts.memtable_bytes;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Point lookups (dedup, rooms, discovery) mostly hit or miss whole keys: a 10-bit
  // bloom filter answers most misses without reading a block. Index and filter blocks
  // live in the block cache so memory stays bounded by block_cache_bytes.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Filters and indexes in 4 KiB partitions under a pinned top level: a lookup reads one
  // small partition. With whole filters, once a data dir held GBs they no longer stayed
  // in the cache, and each dedup lookup read and checksummed whole filter blocks again:
  // 71 % of a receiving node's CPU late in a run of a million events.
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The log keys of many rooms interleave, so every flushed file overlaps the others and
  // each compaction into the last level rewrites what it overlaps there (18 % of a host's
  // samples with 100 rooms). Eight files a compaction instead of four rewrite that data
  // half as often; one room's files never overlap and are only moved either way
  // (docs/PERFORMANCE.md, eighteenth round; universal compaction was slower, nineteenth).
  if (c == column::room_log) o.level0_file_num_compaction_trigger = 8;
  // Most point lookups of new messages miss (dedup: "seen this id?"; rooms: an author):
  // a whole-key bloom filter in the memtable answers them without walking its skip list.
  if (c == column::dedup || c == column::rooms) {
    o.memtable_prefix_bloom_size_ratio = 0.05;
    o.memtable_whole_key_filtering = true;
  }
  // Insert hints only where no range deletion goes (see takes_range_deletes): dedup and
  // rooms, whose keys end in an event id; and per prefix of sequenced keys where range
  // deletions start between keys (inserts_with_sequence_hints).
  if (!takes_range_deletes(c))
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<event_id_prefix>();
  else if (inserts_with_sequence_hints(c))
    o.memtable_insert_with_hint_prefix_extractor = hints;
  // Queues delete what they read. When half of any 128 consecutive entries of a table
  // file are tombstones, compact it, so scans from the front stop stepping over them.
  if (c == column::outbox || c == column::inbox || c == column::dedup)
    o.table_properties_collector_factories.push_back(
        rocksdb::NewCompactOnDeletionCollectorFactory(128, 64));
  return o;
}

}  // namespace

size_t memtable_bytes_for(std::string_view name) {
  // FNV-1a: any spread of the names will do, and a node gets the same size every run.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  constexpr size_t step = memtable_bytes / 256;  // 64 KiB
  return memtable_bytes + static_cast<size_t>(h % 65) * step;
}

std::string_view column_name(column c) {
  return column_names[static_cast<size_t>(c)];
}

struct store::impl {
  std::string dir;
  std::string damage_at_open;  // see store::damage_at_open
  // Declared before `db` so they are destroyed after it: RocksDB uses them until the end.
  std::unique_ptr<rocksdb::Env> env;
  std::vector<std::unique_ptr<expiry_filter>> expiry_filters;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // "default", then each column
  // True when every column's family id is logical_id(column): batches then go to
  // RocksDB without being re-addressed.
  bool logical_ids = true;
  std::atomic<bool> failed{false};
  std::function<bool(column)> fail_reads;  // store_options::fail_reads
  std::mutex failure_mutex;
  std::string failure;  // GUARDED_BY(failure_mutex): the reason of the first failed write
  std::function<void(const std::string&)> on_write_failure;  // store_options'
  // Set with store_options::wal_sync_period: synced writes are answered before the fsync.
  std::unique_ptr<periodic_wal_sync> wal_sync;

  ~impl() {
    // Its last sync, and its thread, need the DB.
    wal_sync.reset();
    // RocksDB requires every handle to be released before the DB is deleted.
    if (db)
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles.clear();
    db.reset();
  }

  rocksdb::ColumnFamilyHandle* handle(column c) const {
    return handles[static_cast<size_t>(c) + 1];
  }

  /// Whether the test hook fails this read of `c` (store_options::fail_reads).
  bool read_fault(column c) const { return fail_reads && fail_reads(c); }

  caf::error record_failure(const rocksdb::Status& status) {
    bool first = false;
    {
      std::lock_guard<std::mutex> guard{failure_mutex};
      if (!failed.exchange(true)) {
        failure = status.ToString();
        first = true;
      }
    }
    if (first && on_write_failure) on_write_failure(status.ToString());
    return caf::make_error(errc::write_failed,
                           "write to " + dir + " failed; the store refuses writes until reopened",
                           status.ToString());
  }

  caf::error refusal() {
    std::lock_guard<std::mutex> guard{failure_mutex};
    return caf::make_error(errc::write_failed,
                           "store " + dir + " is read-only after an earlier failed write", failure);
  }
};

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

bool store::checksums_use_cpu_instruction() {
  return crc32c_uses_cpu_instruction() && crc32c_bound_to_this_program();
}

caf::expected<std::unique_ptr<store>> store::open(const std::string& dir, store_options opts) {
  auto p = std::make_unique<impl>();
  p->dir = dir;
  std::shared_ptr<rocksdb::FileSystem> fs = rocksdb::FileSystem::Default();
  if (opts.prewrite_wal) fs = prewritten_wal_file_system(std::move(fs));
  if (opts.fail_wal_io)
    fs = std::make_shared<faulty_wal_file_system>(std::move(fs), std::move(opts.fail_wal_io));
  p->env = rocksdb::NewCompositeEnv(std::move(fs));
  p->fail_reads = std::move(opts.fail_reads);
  p->on_write_failure = std::move(opts.on_write_failure);
  auto options = db_options(dir, opts, p->env.get());
  auto cache = rocksdb::NewLRUCache(opts.block_cache_bytes);
  auto hints = std::make_shared<sequenced_prefix>();
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions{});
  for (size_t i = 0; i < column_count; ++i) {
    auto c = static_cast<column>(i);
    std::vector<entry_expired> of_column;
    auto revisit = std::chrono::seconds::max();
    for (auto& e : opts.expiries)
      if (e.where == c && e.expired) {
        of_column.push_back(e.expired);
        revisit = std::min(revisit, e.revisit);
      }
    const expiry_filter* filter = nullptr;
    if (!of_column.empty())
      filter = p->expiry_filters
                   .emplace_back(std::make_unique<expiry_filter>(std::move(of_column), revisit))
                   .get();
    families.emplace_back(std::string{column_name(c)},
                          column_options(c, cache, hints, filter, opts));
  }
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(options, dir, families, &p->handles, &raw);
  p->db.reset(raw);
  if (!status.ok()) {
    if (is_lock_held(status)) {
      auto holder = contains(status.ToString(), "current process") ? "another store in this process"
                                                                   : "another fedrelay process";
      return caf::make_error(
          errc::locked,
          "data directory " + dir + " is in use by " + holder + " (RocksDB LOCK held)",
          status.ToString());
    }
    if (status.IsNoSpace())  // RocksDB writes as it opens: a new log, a MANIFEST, a flush
      return caf::make_error(errc::no_space, "no room on the disk to open the database in " + dir,
                             status.ToString());
    return caf::make_error(errc::open_failed, "cannot open the database in " + dir,
                           status.ToString());
  }
  // Recovery is over: from here on every range deletion starts between keys.
  hints->turn_on();
  if (options.info_log) p->damage_at_open = first_damage_line(*options.info_log);
  for (size_t i = 0; i < column_count; ++i)
    if (p->handle(static_cast<column>(i))->GetID() != logical_id(static_cast<column>(i)))
      p->logical_ids = false;
  if (opts.wal_sync_period.count() > 0) {
    auto* owner = p.get();
    p->wal_sync = std::make_unique<periodic_wal_sync>(
        *p->db, opts.wal_sync_period,
        [owner](const rocksdb::Status& status) {
          // No writer may be there to see it (a quiet node, or the sync at close), so it
          // is said here too: storage/ has no logger, and the node's stderr is its log.
          if (!owner->failed.load(std::memory_order_acquire))
            std::fprintf(stderr, "storage: syncing the write-ahead log of %s failed: %s\n",
                         owner->dir.c_str(), status.ToString().c_str());
          (void)owner->record_failure(status);
        },
        p->failed);
  }
  return std::unique_ptr<store>{new store(std::move(p))};
}

const std::string& store::dir() const noexcept {
  return impl_->dir;
}

const std::string& store::damage_at_open() const noexcept {
  return impl_->damage_at_open;
}

caf::expected<std::optional<std::string>> store::get(column c, std::string_view key) const {
  without_perf_counters();
  std::string value;
  auto status = impl_->read_fault(c)
                    ? rocksdb::Status::IOError("injected read fault")
                    : impl_->db->Get(rocksdb::ReadOptions{}, impl_->handle(c), slice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>{};
  if (!status.ok()) return read_error("get from " + std::string{column_name(c)}, status);
  return std::optional<std::string>{std::move(value)};
}

caf::error store::get_many(column c, const std::vector<std::string_view>& keys,
                           const std::function<void(size_t, std::string_view)>& found) const {
  without_perf_counters();
  if (keys.empty()) return caf::none;
  if (impl_->read_fault(c))
    return read_error("get from " + std::string{column_name(c)},
                      rocksdb::Status::IOError("injected read fault"));
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (auto key : keys) slices.push_back(slice(key));
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions{}, impl_->handle(c), keys.size(), slices.data(),
                      values.data(), statuses.data());
  caf::error first;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok())
      found(i, std::string_view{values[i].data(), values[i].size()});
    else if (!statuses[i].IsNotFound() && !first)
      first = read_error("get from " + std::string{column_name(c)}, statuses[i]);
  }
  return first;
}

caf::error store::write(const write_batch& batch, durability d) {
  without_perf_counters();
  // Sticky, as LevelDB's RecordBackgroundError: after a failed write or fsync the WAL is
  // in an unknown state, so nothing more is acknowledged until a reopen recovers it.
  if (impl_->failed.load(std::memory_order_acquire)) return impl_->refusal();
  if (!batch.impl_->refused.empty())
    return caf::make_error(errc::bad_batch, "a batch for " + impl_->dir + " was not written",
                           batch.impl_->refused);
  if (batch.empty()) return caf::none;
  rocksdb::WriteOptions options;
  // RocksDB makes one writer the leader of all that wait, and one fsync covers the group.
  // With a periodic sync, the write is answered once the OS has it (RocksDB hands each
  // write to the WAL file before it returns) and the sync comes within the period.
  options.sync = d == durability::synced && !impl_->wal_sync;
  // RocksDB stamps the sequence number into the batch's header, hence a mutable batch
  // (write_batch is not thread-safe: one writer per batch at a time).
  auto& changes = batch.impl_->batch;
  rocksdb::Status status;
  if (impl_->logical_ids) {
    status = impl_->db->Write(options, &changes);
  } else {
    rocksdb::WriteBatch mapped;
    status = copy_changes(changes, mapped, [this](column c) { return impl_->handle(c); });
    if (!status.ok())
      return caf::make_error(errc::write_failed, "cannot address a batch to " + impl_->dir,
                             status.ToString());
    status = impl_->db->Write(options, &mapped);
  }
  return status.ok() ? caf::none : impl_->record_failure(status);
}

caf::error store::make_durable() {
  if (!impl_->wal_sync) return caf::none;
  // After a failed sync nothing more is vouched for, even if a retry succeeds: the OS may
  // have dropped the pages that failed to reach the disk.
  if (impl_->failed.load(std::memory_order_acquire) || !impl_->wal_sync->sync_written())
    return impl_->refusal();
  return caf::none;
}

std::chrono::milliseconds store::wal_sync_period() const noexcept {
  return impl_->wal_sync ? impl_->wal_sync->period() : std::chrono::milliseconds{0};
}

caf::error store::scan(column c, std::string_view from, std::string_view to, size_t limit,
                       const visitor& visit) const {
  without_perf_counters();
  if (impl_->read_fault(c))
    return read_error("scan of " + std::string{column_name(c)},
                      rocksdb::Status::IOError("injected read fault"));
  rocksdb::ReadOptions options;
  // The bound lets RocksDB stop inside a table file, without reading past `to`.
  auto upper = slice(to);
  if (!to.empty()) options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(options, impl_->handle(c))};
  size_t visited = 0;
  for (it->Seek(slice(from)); it->Valid(); it->Next()) {
    if (!visit(view(it->key()), view(it->value()))) break;
    if (limit != 0 && ++visited == limit) break;
  }
  if (!it->status().ok()) return read_error("scan of " + std::string{column_name(c)}, it->status());
  return caf::none;
}

caf::error store::scan_backward(column c, std::string_view from, std::string_view to, size_t limit,
                                const visitor& visit) const {
  without_perf_counters();
  if (impl_->read_fault(c))
    return read_error("backward scan of " + std::string{column_name(c)},
                      rocksdb::Status::IOError("injected read fault"));
  if (!to.empty() && to <= from) return caf::none;
  rocksdb::ReadOptions options;
  // The lower bound stops the backward steps at `from`, inside a table file.
  auto lower = slice(from);
  options.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(options, impl_->handle(c))};
  if (to.empty()) {
    it->SeekToLast();
  } else {
    // SeekForPrev finds the last key <= to; the range excludes `to` itself.
    it->SeekForPrev(slice(to));
    if (it->Valid() && view(it->key()) == to) it->Prev();
  }
  size_t visited = 0;
  for (; it->Valid() && view(it->key()) >= from; it->Prev()) {
    if (!visit(view(it->key()), view(it->value()))) break;
    if (limit != 0 && ++visited == limit) break;
  }
  if (!it->status().ok())
    return read_error("backward scan of " + std::string{column_name(c)}, it->status());
  return caf::none;
}

caf::expected<std::optional<std::pair<std::string, std::string>>> store::last_in_range(
    column c, std::string_view from, std::string_view to) const {
  std::optional<std::pair<std::string, std::string>> last;
  if (auto err = scan_backward(c, from, to, 1, [&](std::string_view key, std::string_view value) {
        last.emplace(key, value);
        return false;
      }))
    return err;
  return last;
}

caf::error store::compact(column c) {
  without_perf_counters();
  rocksdb::CompactRangeOptions o;
  // The last level too: compacting only what overlaps would leave a column that sits in
  // one file untouched, expired entries and all.
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  auto status = impl_->db->CompactRange(o, impl_->handle(c), nullptr, nullptr);
  if (!status.ok())
    return caf::make_error(
        errc::write_failed,
        "compacting " + std::string{column_name(c)} + " in " + impl_->dir + " failed",
        status.ToString());
  return caf::none;
}

uint64_t store::approximate_bytes(column c) const {
  // Table files (live data, after compaction estimates) plus the memtables not yet flushed.
  uint64_t files = 0;
  uint64_t memtables = 0;
  impl_->db->GetIntProperty(impl_->handle(c), "rocksdb.estimate-live-data-size", &files);
  impl_->db->GetIntProperty(impl_->handle(c), "rocksdb.cur-size-all-mem-tables", &memtables);
  return files + memtables;
}

bool store::failed() const noexcept {
  return impl_->failed.load(std::memory_order_acquire);
}

}  // namespace fedrelay::storage
