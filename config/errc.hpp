// The error codes of fedrelay::config, registered as a CAF error category ("config") so they
// travel between actors; the human-readable detail rides in the error's context.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace fedrelay::config {

enum class errc : uint8_t {
  invalid = 1,    // the file parses but a key has a bad value (context: file:line: key: what)
  parse_failed,   // not valid TOML, or the file cannot be read
  not_fully_set,  // required keys are missing (context names them)
  write_failed,   // the file could not be written back
};

/// Returns the name of an error code, e.g. "invalid".
std::string to_string(errc code);

/// An error of `code` whose context holds `problems`, one line each (error_lines()).
caf::error make_config_error(errc code, const std::vector<std::string>& problems);

}  // namespace fedrelay::config

CAF_ERROR_CODE_ENUM(fedrelay::config::errc, "config")
