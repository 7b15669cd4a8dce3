// Helpers shared by the storage tests: matching caf::error against storage::errc,
// reading an error's context as text, and looking at a store's WAL files.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "storage/errc.hpp"

namespace fedrelay::storage::testing {

inline bool is(const caf::error& err, errc code) {
  return err && err.category() == caf::atom("storage") && err.code() == static_cast<uint8_t>(code);
}

inline std::string context_text(const caf::error& err) {
  return err ? caf::to_string(err.context()) : std::string{};
}

/// Whether files in `dir` can be opened for direct I/O (not on tmpfs, for one): where
/// they cannot, the store appends to its WAL as RocksDB does (storage/prewritten_wal.hpp).
inline bool direct_io_supported(const std::string& dir) {
  auto probe = dir + "/direct-io-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  ::unlink(probe.c_str());
  return fd >= 0;
}

/// The WAL files (NNNNNN.log) of the store in `dir`, oldest first.
inline std::vector<std::string> wal_files(const std::string& dir) {
  std::vector<std::string> logs;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".log") logs.push_back(entry.path().string());
  std::sort(logs.begin(), logs.end());
  return logs;
}

}  // namespace fedrelay::storage::testing
