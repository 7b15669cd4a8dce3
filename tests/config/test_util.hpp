// Helpers shared by the config tests: TOML text built line by line (so line numbers in
// expected messages are plain to see) and the problems a text produces.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "config/errc.hpp"
#include "config/settings.hpp"

namespace fedrelay::config::test {

/// The lines joined with '\n': the first is line 1.
inline std::string lines(std::initializer_list<const char*> items) {
  std::string out;
  for (const char* item : items) {
    out += item;
    out += '\n';
  }
  return out;
}

/// The problems `text` (as file "node.toml") gives; empty when it loads.
inline std::vector<std::string> problems(const std::string& text) {
  auto s = parse_settings(text, "node.toml");
  if (s) return {};
  return error_lines(s.error());
}

/// A valid Ed25519 public key (RFC 8410 SubjectPublicKeyInfo) as PEM.
inline const char* const test_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAHOA6PDWHOKbmHRVjTf31NcC7TS9wnNtZl+ESeimUr9M=\n"
    "-----END PUBLIC KEY-----";

}  // namespace fedrelay::config::test
