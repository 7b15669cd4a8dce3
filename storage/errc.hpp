// The error codes of fedrelay::storage, registered as a CAF error category ("storage") so they
// travel between actors; the human-readable detail rides in the error's context.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace fedrelay::storage {

enum class errc : uint8_t {
  locked = 1,   // another process holds the data directory
  open_failed,  // the database could not be opened (context: RocksDB's reason)
  read_failed,
  write_failed,  // a write or fsync failed; the store refuses writes from then on
  corrupted,     // a stored value does not decode
  bad_batch,     // a batch the store will not write (a range deletion where none may go)
  no_space,      // a file cannot grow: a full disk, a quota, a size limit (the file store; an open)
};

/// Returns the name of an error code, e.g. "invalid".
std::string to_string(errc code);

/// Whether `err` is errc::no_space: a disk with no room, which frees up by itself or by an
/// operator's hand, unlike other failures.
bool is_no_space(const caf::error& err);

}  // namespace fedrelay::storage

CAF_ERROR_CODE_ENUM(fedrelay::storage::errc, "storage")
