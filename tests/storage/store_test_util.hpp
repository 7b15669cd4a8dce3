// Helpers shared by the storage tests: matching caf::error against storage::errc,
// reading an error's context as text, and looking at a store's WAL files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "storage/errc.hpp"
#include "storage/prewritten_wal.hpp"

namespace fedrelay::storage::testing {

inline bool is(const caf::error& err, errc code) {
  return err && err.category() == caf::atom("storage") && err.code() == static_cast<uint8_t>(code);
}

inline std::string context_text(const caf::error& err) {
  return err ? caf::to_string(err.context()) : std::string{};
}

/// The WAL files (NNNNNN.log) of the store in `dir`, oldest first.
inline std::vector<std::string> wal_files(const std::string& dir) {
  std::vector<std::string> logs;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (is_wal_file(entry.path().filename().string())) logs.push_back(entry.path().string());
  std::sort(logs.begin(), logs.end());
  return logs;
}

}  // namespace fedrelay::storage::testing
