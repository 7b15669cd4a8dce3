// RocksDB's write-ahead log written over blocks that already hold zeros on disk.
//
// A synced append that grows a file makes fdatasync(2) write the inode as well (its size
// and, on ext4, the extent that turned from allocated to written): two writes to the disk
// per sync instead of one. RocksDB's answer, WAL recycling, is turned off with the
// point-in-time recovery the store relies on. So each WAL file here is extended ahead of
// its appends, a MiB at a time, with zeros written by direct I/O (they take no copy into
// the page cache), and the appends then overwrite blocks whose size and extents are
// already on disk: an fdatasync writes the data alone. On this machine that made a synced
// 1.5 KB append 30 % faster and cost 30 % less CPU (docs/PERFORMANCE.md, twelfth round).
//
// After a crash the zeros beyond the last record read as RocksDB's zero-length padding
// records, which recovery skips, as it does the preallocated regions of older RocksDB
// builds. A clean close truncates the file to its records. Where direct I/O is refused
// (tmpfs, some network file systems), the file is appended to as usual.
// Internal to storage/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace fedrelay::storage {

/// Zeros are written this far ahead of a WAL file's records.
inline constexpr uint64_t wal_prewrite_bytes = 1u << 20;

/// Whether `name` is a WAL file (NNNNNN.log; RocksDB's info log is named LOG).
bool is_wal_file(const std::string& name);

/// `base` with its WAL files (NNNNNN.log) opened as described above; every other file is
/// `base`'s own.
std::shared_ptr<rocksdb::FileSystem> prewritten_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> base);

}  // namespace fedrelay::storage
