// The node's one RocksDB, seen as named columns of ordered keys and byte values.
// The only door to RocksDB in the project: callers see keys, bytes and caf::error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace fedrelay::storage {

/// The column families of DESIGN.md section 6. One place for their names: column_name().
enum class column : uint8_t {
  meta,       // node meta: schema version, identity facts, settings digests
  rooms,      // room state: room id -> encoded state; its members and authors under keys of
              // their own (actors/room_actor.hpp)
  room_log,   // room logs: room id + seq (big-endian) -> event
  outbox,     // outboxes: peer domain + 0x00 + seq (big-endian) -> queued event
  receipts,   // receipts and peer delivery state: per-peer cursors, stored receipts
  dedup,      // inbound dedup: ids of messages handled (submissions, states, rejections;
              // receipts of earlier versions)
  inbox,      // the local inbox: cursor (big-endian) -> event for the local server
  discovery,  // discovery cache: domain -> peer record with expiry
  files,      // file metadata and small file contents
};
inline constexpr size_t column_count = 9;

/// The RocksDB column family name of `c`, e.g. "room_log".
std::string_view column_name(column c);

/// Whether write_batch::del_range may name `c`. The columns keyed by event id (dedup,
/// rooms) insert with RocksDB's memtable hints, and RocksDB 7.8 keeps one hint table for a
/// memtable's keys and its range tombstones, which breaks the skip list (Debian's build
/// aborts on its assertion). Those columns take single deletes only; a batch with a range
/// deletion there is refused by store::write (errc::bad_batch).
constexpr bool takes_range_deletes(column c) {
  return c != column::dedup && c != column::rooms;
}

/// Whether `c`, keyed by sequenced_key, inserts with a RocksDB memtable hint per prefix (a
/// room's log, a peer's outbox: each prefix's seqs arrive in order, while several
/// prefixes interleave). Such a column takes range deletions only from a key no entry has
/// (storage::sequenced_from): RocksDB 7.8 looks its hint up by the prefix of a range
/// tombstone's start key too (see takes_range_deletes), and no prefix is taken from such
/// a key. store::write refuses a range deletion from an entry's key (errc::bad_batch).
constexpr bool inserts_with_sequence_hints(column c) {
  return c == column::room_log || c == column::outbox;
}

/// A set of changes applied atomically by store::write. Not thread-safe, store::write
/// included (RocksDB stamps a sequence number into it): one thread per batch at a time.
/// A moved-from batch may only be assigned to or destroyed.
class write_batch {
 public:
  write_batch();
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  write_batch& operator=(write_batch&&) noexcept;

  void put(column c, std::string_view key, std::string_view value);
  void del(column c, std::string_view key);
  /// Deletes every key in [from, to); nothing when from >= to (`to` empty included).
  void del_range(column c, std::string_view from, std::string_view to);
  /// Appends every change of `other` (group commit of several batches).
  void append(const write_batch& other);
  size_t count() const;
  bool empty() const { return count() == 0; }
  /// Bytes of the changes as RocksDB encodes them.
  size_t bytes() const;
  /// Empties the batch and keeps its buffer, so a batch filled again and again (the
  /// journal's) does not allocate fresh memory, and fault its pages in, every time.
  void clear();

 private:
  friend class store;
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Each column's memtable by default (store_options::memtable_bytes); a full one is
/// flushed to a table file.
inline constexpr size_t memtable_bytes = 16u << 20;

/// memtable_bytes and up to a quarter more, in steps of 64 KiB, picked by `name` (a
/// node's domain): the same name, the same size. Two nodes on one machine that relay the
/// same events fill their memtables at the same pace, so with one size they flush at the
/// same moment, and two flushes at once take both cores from the relay (at half load one
/// by one, two thirds of the slowest 1 % of events came in those moments;
/// docs/PERFORMANCE.md, thirty-third round). Sizes apart move their flushes apart.
size_t memtable_bytes_for(std::string_view name);

/// Table files being written are synced every this many bytes, not all at once at the end.
inline constexpr uint64_t background_sync_bytes = 1u << 20;
/// Flushes and compactions together write at most this many bytes a second.
inline constexpr int64_t background_write_limit = 128 << 20;

/// What store_options::fail_wal_io is asked about.
enum class wal_io { append, sync };

/// Whether an entry (key, value) has expired and may go. Called on RocksDB's background
/// threads, many at once: it must be thread-safe and must not throw.
using entry_expired = std::function<bool(std::string_view key, std::string_view value)>;

/// Entries of one column that go once they have expired (see store_options::expiries).
/// The column's table files are compacted at least every `revisit` (the shortest of its
/// expiries'), or files that nothing else rewrites would keep their expired entries; each
/// such compaction rewrites the column's files, so a column whose entries live for weeks
/// needs no daily one.
struct expiry {
  column where;
  entry_expired expired;
  std::chrono::seconds revisit{std::chrono::hours{24}};
};

struct store_options {
  /// Create the directory and the column families when missing. Default: true.
  bool create_if_missing = true;
  /// Block cache in bytes shared by all columns. Default 32 MiB: the queues are read
  /// once, front to back, so a large cache buys little.
  size_t block_cache_bytes = 32u << 20;
  /// Each column's memtable, in bytes (all of them together stay within 64 MiB).
  /// Default: memtable_bytes; a node takes memtable_bytes_for(its domain).
  size_t memtable_bytes = storage::memtable_bytes;
  /// 0 (the default): a `durability::synced` write returns after the fsync of the
  /// write-ahead log. Above 0 (storage.sync = "periodic"): it returns once the operating
  /// system has the write, and a thread of the store syncs the log every this long when
  /// something was written (any write, buffered ones too), and once more at close; readers
  /// sync earlier with make_durable(). A crash or SIGKILL of the process then loses
  /// nothing; an OS crash or power failure can lose the writes answered in the last period
  /// and the sync that covers them. A failed sync makes the store refuse writes, as a
  /// failed synced write does.
  std::chrono::milliseconds wal_sync_period{0};
  /// Write each WAL file over zeros written ahead of it (storage/prewritten_wal.hpp), so
  /// a synced write's fdatasync writes its data and not the file's size. Default: true;
  /// false appends to the WAL as RocksDB does (the benchmarks compare the two).
  bool prewrite_wal = true;
  /// Tests only, in the spirit of LevelDB's fault_injection_test: when set, it is asked
  /// before every append to and sync of the write-ahead log, and `true` makes that I/O
  /// fail as a full disk or a failed fsync would. Called from writing threads (and the
  /// periodic sync's), so it must be thread-safe. Default: empty (RocksDB's own file
  /// system, untouched).
  std::function<bool(wal_io)> fail_wal_io;
  /// Tests only: when set, it is asked before every point read (get) and scan of a
  /// column, and `true` makes that read fail as an unreadable table file would.
  /// Thread-safe, as above.
  std::function<bool(column)> fail_reads;
  /// Called once, on the thread that saw it, when the first write or WAL sync fails (the
  /// store refuses writes from then on), with RocksDB's reason: a node restarts from its
  /// store then. Must not block or call into the store. Default: empty.
  std::function<void(const std::string& reason)> on_write_failure;
  /// Columns whose expired entries compactions drop as they pass (a RocksDB compaction
  /// filter), so a column that only grows, such as the receipts of received transactions,
  /// does not keep them for good (see expiry::revisit). An entry still in a memtable stays
  /// until it is flushed and compacted. Several expiries of one column: an entry goes when
  /// any of them says so.
  std::vector<expiry> expiries;
};

/// Durability of one write: `synced` returns after the WAL is on disk (RocksDB groups
/// concurrent synced writers into one fsync), or, with store_options::wal_sync_period,
/// once the OS has it; `buffered` returns before the fsync and can lose the last writes
/// on power failure (never on a process crash).
enum class durability { synced, buffered };

/// One open database. Thread-safe: any thread may read and write concurrently.
class store {
 public:
  /// Opens (or creates) the database in `dir`. errc::locked, naming `dir`, when another
  /// process (or another store in this process) has it open; errc::open_failed otherwise.
  [[nodiscard]] static caf::expected<std::unique_ptr<store>> open(const std::string& dir,
                                                                  store_options opts = {});
  /// Whether RocksDB's checksums run on the CPU's crc32 instruction (storage/crc32c.hpp)
  /// rather than on its tables: the CPU has it, and librocksdb's calls are bound to the
  /// program's function.
  static bool checksums_use_cpu_instruction();
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  const std::string& dir() const noexcept;

  /// What RocksDB reported damaged while it opened the store ("" when nothing was): a
  /// write-ahead log damaged before its end is recovered up to the damage, and what
  /// follows it is dropped, synced writes included. The store opens all the same.
  const std::string& damage_at_open() const noexcept;

  /// The value of `key`, or nullopt when absent. errc::read_failed on I/O errors.
  [[nodiscard]] caf::expected<std::optional<std::string>> get(column c, std::string_view key) const;

  /// Looks up every key of `keys` in one batched read (RocksDB's MultiGet) and calls
  /// `found(i, value)` for each keys[i] that is stored, in order. The first read error is
  /// returned after the calls for the keys that were read.
  [[nodiscard]] caf::error get_many(
      column c, const std::vector<std::string_view>& keys,
      const std::function<void(size_t, std::string_view)>& found) const;

  /// Applies `batch` atomically. After a failed write (errc::write_failed) the store is
  /// read-only until reopened: a failed fsync leaves the WAL in an unknown state.
  [[nodiscard]] caf::error write(const write_batch& batch, durability d = durability::synced);

  /// Visits the keys in [from, to) in order (`to` empty: to the end of the column), at
  /// most `limit` of them (0: no limit). The visitor returns false to stop early.
  using visitor = std::function<bool(std::string_view key, std::string_view value)>;
  [[nodiscard]] caf::error scan(column c, std::string_view from, std::string_view to, size_t limit,
                                const visitor& visit) const;

  /// As scan, from the last key in [from, to) down to the first (`to` empty: from the end
  /// of the column): the newest entries of a range ordered by time, without reading the
  /// older ones.
  [[nodiscard]] caf::error scan_backward(column c, std::string_view from, std::string_view to,
                                         size_t limit, const visitor& visit) const;

  /// The last key in [from, to) with its value, or nullopt when the range is empty
  /// (finds the next sequence number of a log without scanning it).
  [[nodiscard]] caf::expected<std::optional<std::pair<std::string, std::string>>> last_in_range(
      column c, std::string_view from, std::string_view to) const;

  /// Flushes and compacts the whole column down to its last level now, dropping what
  /// deletions and store_options::expiries leave behind (maintenance; RocksDB does it on
  /// its own schedule otherwise). errc::write_failed naming the column when it fails; the
  /// store still takes writes.
  [[nodiscard]] caf::error compact(column c);

  /// Size of the live data in a column in bytes (estimate, from RocksDB's properties).
  uint64_t approximate_bytes(column c) const;

  /// True once a write has failed; the store then refuses writes.
  bool failed() const noexcept;

  /// store_options::wal_sync_period as opened: 0 when every synced write is fsynced.
  std::chrono::milliseconds wal_sync_period() const noexcept;

  /// Returns once every write answered before this call is on disk. Every synced write
  /// already is, unless the store syncs periodically (store_options::wal_sync_period):
  /// then this syncs what the last sync did not cover. A reader calls it after reading and
  /// before what it read leaves the node (a transaction to a peer, a page for the chat
  /// server), so nothing leaves that an OS crash could take back. errc::write_failed when
  /// the sync failed (the store then refuses writes).
  [[nodiscard]] caf::error make_durable();

 private:
  struct impl;
  explicit store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace fedrelay::storage
