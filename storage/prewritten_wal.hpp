// RocksDB's write-ahead log written over blocks that already hold zeros on disk.
//
// A synced append that grows a file makes fdatasync(2) write the inode as well (its size
// and, on ext4, the extent that turned from allocated to written): two writes to the disk
// per sync instead of one. RocksDB's answer, WAL recycling, is turned off with the
// point-in-time recovery the store relies on. So each WAL file here is extended ahead of
// its appends, a MiB at a time, with zeros that a thread of the file's own writes and
// writes back (sync_file_range) up to two MiB ahead, and the appends then overwrite blocks
// whose size and extents are already on disk, in pages still cached: an fdatasync writes
// the data alone. Measured in docs/PERFORMANCE.md, twelfth round.
//
// After a crash the zeros beyond the last record read as RocksDB's zero-length padding
// records, which recovery skips, as it does the preallocated regions of older RocksDB
// builds. A clean close truncates the file to its records. If zeros cannot be written
// (a full disk), or the file is synced too seldom for them to pay, it is appended to as
// usual from there on.
// Internal to storage/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace fedrelay::storage {

/// The zeros of a WAL file are written in chunks of this size, after a first chunk of
/// wal_first_prewrite_bytes (the file's first append waits for that one).
inline constexpr uint64_t wal_prewrite_bytes = 1u << 20;
inline constexpr uint64_t wal_first_prewrite_bytes = 64u << 10;

/// A WAL file synced fewer times than this while a chunk of its records was written is
/// appended to as usual from then on: writing a chunk of zeros cost about as much CPU as
/// the inode writes of that many syncs save (docs/PERFORMANCE.md, twelfth round), so
/// large batches and drains, which sync a few times a MiB, are better off without.
inline constexpr uint64_t wal_prewrite_min_syncs = 16;

/// Whether `name` is a WAL file (NNNNNN.log; RocksDB's info log is named LOG).
bool is_wal_file(const std::string& name);

/// `base` with its WAL files (NNNNNN.log) opened as described above; every other file is
/// `base`'s own.
std::shared_ptr<rocksdb::FileSystem> prewritten_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> base);

}  // namespace fedrelay::storage
