// The one way the node's TOML text is parsed (settings.cpp and settings_file.cpp both go
// through parse_toml()), so that every read of the file, at start, on reload and on the
// settings screen, has the same bounds and the same "FILE:LINE:" errors.
#pragma once

#include <string>

#include <caf/expected.hpp>
#include <toml.hpp>

namespace fedrelay::config {

/// `text` (the file named `name`) as toml11 reads it, once line_nested_too_deep() and
/// line_too_long() found nothing.
/// Errors: errc::parse_failed whose context holds one line, "NAME:LINE: what is wrong".
[[nodiscard]] caf::expected<toml::value> parse_toml(const std::string& text,
                                                    const std::string& name);

}  // namespace fedrelay::config
