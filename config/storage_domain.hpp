// The domain whose data a storage.dir holds. Rooms, queues and keys in it belong to the
// domain that made them: a node started on them under another name would take its own
// rooms for another server's and answer peers for rooms it no longer knows as its own.
#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>

namespace fedrelay::config {

/// The file in storage.dir that names its domain, one line.
inline constexpr const char* storage_domain_file = "domain";

/// The domain storage_dir's data belongs to; nullopt when none was recorded (a directory
/// no node ran on yet, or one of a version before the file).
std::optional<std::string> storage_domain(const std::string& storage_dir);

/// errc::invalid naming both domains and the ways out when storage_dir holds another
/// domain's data than `domain` (compared without regard to case); none otherwise, and
/// none for an empty `domain`.
[[nodiscard]] caf::error storage_fits_domain(const std::string& storage_dir,
                                             const std::string& domain);

/// storage_fits_domain(), then records `domain` when nothing was recorded yet. For the
/// node that holds the store's lock, so that no other writes the file meanwhile.
[[nodiscard]] caf::error claim_storage_dir(const std::string& storage_dir,
                                           const std::string& domain);

}  // namespace fedrelay::config
