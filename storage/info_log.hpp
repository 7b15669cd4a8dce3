// RocksDB's info LOG, written by the store instead of RocksDB's own logger. Debian's
// librocksdb keeps its assertions, and its logger aborts the process at the line after a
// write to a full disk failed; RocksDB writes that LOG from the first moment of every open
// and every few seconds once a write has failed, so a full disk made the node abort, and
// abort again at each start until space came back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rocksdb {
class Logger;
}

namespace fedrelay::storage {

/// A logger for RocksDB that appends its lines to `path`, in RocksDB's own format (the
/// time, the thread, the line). The file becomes `path`.old (replacing the one before)
/// each time it passes `max_bytes`. A line that cannot be written (a full disk) is dropped
/// and counted; nothing fails. While `path` cannot be opened, lines are dropped.
std::shared_ptr<rocksdb::Logger> open_info_log(const std::string& path, size_t max_bytes);

/// The lines `logger` (made by open_info_log) could not write.
uint64_t dropped_lines(const rocksdb::Logger& logger);

/// The first line `logger` (made by open_info_log) was given that reports damage
/// (RocksDB's "Corruption"), without its time and thread; "" when none was. A
/// write-ahead log damaged before its end is recovered up to the damage and the rest
/// dropped, and RocksDB says so nowhere else.
std::string first_damage_line(const rocksdb::Logger& logger);

}  // namespace fedrelay::storage
