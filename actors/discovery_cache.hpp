// How discovery answers are kept in the store's discovery column: one JSON value per
// domain, holding either a record or the error a lookup ended in, with its expiry.
#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>

#include "actors/peer_record.hpp"

namespace fedrelay::actors {

/// What one cached lookup ended in.
struct cached_answer {
  std::optional<peer_record> record;  // set on success
  caf::error failure;                 // set on failure (actors::errc with detail)
  int64_t expires_at = 0;             // Unix seconds
};

std::string encode_cached_answer(const cached_answer& answer);

/// nullopt when `bytes` is not something encode_cached_answer wrote.
std::optional<cached_answer> decode_cached_answer(const std::string& bytes);

}  // namespace fedrelay::actors
