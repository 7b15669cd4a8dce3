// Turns any fedrelay or CAF error into one line for people: "category: code: detail".
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace fedrelay::actors {

/// E.g. "config: invalid: node.toml:3: federation.domain: ...". The detail strings of the
/// error's context are joined with "; ".
std::string describe(const caf::error& err);

/// Only the detail strings (or the code name when there are none).
std::string detail_of(const caf::error& err);

/// A Unix time in milliseconds as "2026-11-25 15:42 UTC", for messages to people.
std::string utc_text(int64_t unix_ms);

/// Teaches describe() the code names of a category this folder cannot include (net/):
/// the composition root registers them once at start-up, before any thread runs.
void register_error_names(caf::atom_value category, std::string (*name_of)(uint8_t code));

}  // namespace fedrelay::actors
