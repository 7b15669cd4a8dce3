// What only storage/ uses: writing a whole buffer to a file descriptor, for the file
// store's files and the WAL's own file (storage/prewritten_wal.cpp).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string_view>

namespace fedrelay::storage {

/// Writes all of `bytes` at the descriptor's offset or, with `at` >= 0, at offset `at`
/// (leaving the offset alone), retrying short writes and interruptions. False with errno
/// set on an error (EIO when the OS wrote nothing and said no error).
inline bool write_all(int fd, std::string_view bytes, int64_t at = -1) {
  while (!bytes.empty()) {
    auto n = at < 0 ? ::write(fd, bytes.data(), bytes.size())
                    : ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    if (at >= 0) at += n;
  }
  return true;
}

}  // namespace fedrelay::storage
