// Comparing names that ignore the case of ASCII letters: domain names (RFC 4343), HTTP
// header names and schemes. One comparison for every layer, kept here, at the bottom.
#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace fedrelay::config {

/// Whether `a` and `b` are equal but for the case of ASCII letters.
inline bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace fedrelay::config
