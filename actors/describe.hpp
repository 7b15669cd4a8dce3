// Turns any fedrelay or CAF error into one line for people: "category: code: detail".
#pragma once

#include <string>

#include <caf/error.hpp>

namespace fedrelay::actors {

/// E.g. "config: invalid: node.toml:3: federation.domain: ...". The detail strings of the
/// error's context are joined with "; ".
std::string describe(const caf::error& err);

/// Only the detail strings (or the code name when there are none).
std::string detail_of(const caf::error& err);

}  // namespace fedrelay::actors
