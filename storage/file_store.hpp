// Shared files' bytes in the data directory, content-addressed: one file per content, named
// by its id (the hex BLAKE2b-256 the caller computed; storage does not hash), plus the
// partial files of fetches in progress and the temporary files of uploads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/unique_fd.hpp"

namespace fedrelay::storage {

/// A temporary file being written (an upload). Removed when destroyed, unless it was
/// published into a file_store. Not thread-safe; movable.
class file_writer {
 public:
  file_writer(file_writer&&) noexcept;
  file_writer& operator=(file_writer&&) noexcept;
  ~file_writer();

  /// Appends `bytes`. errc::write_failed naming the file and the OS reason.
  [[nodiscard]] caf::error write(std::string_view bytes);
  /// Syncs and closes the file; writes are refused afterwards. errc::write_failed.
  [[nodiscard]] caf::error finish();
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  friend class file_store;
  file_writer(std::string path, int fd);
  void discard();
  std::string path_;
  unique_fd fd_;
  uint64_t size_ = 0;
};

/// The directory of shared files: `dir`/blobs/<id> (complete, verified contents),
/// `dir`/partial/<id> (fetches in progress, appended in order, so their size is where a
/// fetch resumes) and `dir`/tmp/ (uploads being received). Thread-safe: every call works on
/// the file system alone, and a complete content appears under its id by an atomic rename.
class file_store {
 public:
  /// Creates `dir` and its sub-directories when missing and removes what a previous run
  /// left in tmp/. errc::open_failed naming the directory and the OS reason.
  [[nodiscard]] static caf::expected<std::shared_ptr<file_store>> open(std::string dir);

  /// Whether `id` is 64 lower-case hex digits, the only names the store accepts; every
  /// call below REQUIRES it (an invalid id never reaches the file system: errc::corrupted).
  static bool valid_id(std::string_view id);

  const std::string& dir() const { return dir_; }

  /// The path of the complete content `id` (whether or not it is there).
  std::string path(std::string_view id) const;
  /// The size of the complete content `id`; nullopt when it is not there.
  std::optional<uint64_t> size(std::string_view id) const;

  /// A new, empty temporary file. errc::write_failed.
  [[nodiscard]] caf::expected<file_writer> create_temp() const;
  /// Moves the finished temporary file to the place of `id`; when that content is there
  /// already, the temporary file is dropped instead (one copy per content).
  [[nodiscard]] caf::error publish(file_writer& writer, std::string_view id) const;

  /// Bytes of the partial file of `id` (0 when there is none).
  uint64_t partial_size(std::string_view id) const;
  /// Appends `bytes` to the partial file of `id` and syncs them. errc::write_failed.
  [[nodiscard]] caf::error append_partial(std::string_view id, std::string_view bytes) const;
  /// The partial file's path (to hash it before publishing).
  std::string partial_path(std::string_view id) const;
  /// Renames the partial file of `id` to its complete place. errc::write_failed.
  [[nodiscard]] caf::error publish_partial(std::string_view id) const;

  /// The ids of the complete contents, and of the partial files, in no order.
  std::vector<std::string> contents() const;
  std::vector<std::string> partials() const;

  /// Removes the content and the partial file of `id`; absent files are fine.
  [[nodiscard]] caf::error remove(std::string_view id) const;
  /// Removes only the partial file of `id`.
  [[nodiscard]] caf::error remove_partial(std::string_view id) const;

 private:
  explicit file_store(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace fedrelay::storage
