// Helpers shared by the storage tests: matching caf::error against storage::errc and
// reading an error's context as text.
#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "storage/errc.hpp"

namespace fedrelay::storage::testing {

inline bool is(const caf::error& err, errc code) {
  return err && err.category() == caf::atom("storage") && err.code() == static_cast<uint8_t>(code);
}

inline std::string context_text(const caf::error& err) {
  return err ? caf::to_string(err.context()) : std::string{};
}

}  // namespace fedrelay::storage::testing
