// The running node's status, published as a small file in its data directory so that
// `fedrelay status` can read it while the node holds the store's lock.
#pragma once

#include <sys/types.h>
#include <optional>
#include <string>

#include "config/status.hpp"

namespace fedrelay::app {

inline constexpr const char* status_file_name = "status";

/// Writes "<pid> <status text>" atomically to dir/status.
void write_status_file(const std::string& dir, config::status s);

/// Removes dir/status (the node stopped).
void remove_status_file(const std::string& dir);

/// The pid of the node that wrote dir/status, when that process still runs.
std::optional<pid_t> read_live_pid(const std::string& dir);

/// The status text of the node that wrote dir/status, when that process still runs.
std::optional<std::string> read_live_status(const std::string& dir);

/// Why this account cannot tell whether a node runs on `dir`: dir/status may not be read
/// (the data directory is another account's, mode 0700). Empty when it can tell.
std::string live_status_unreadable(const std::string& dir);

}  // namespace fedrelay::app
