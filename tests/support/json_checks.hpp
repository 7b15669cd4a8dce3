// For tests that hold two ways of reading JSON to the same outcome: documents compared
// down to the type of every value, and texts broken one byte at a time.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace fedrelay::test {

/// The same values with the same nlohmann type at every level (== alone says 1 == 1u, and
/// a NaN is not equal to itself).
inline bool same_json(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), k = b.begin(); i != a.end(); ++i, ++k)
      if (i.key() != k.key() || !same_json(*i, *k)) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same_json(a[i], b[i])) return false;
    return true;
  }
  if (a.is_number_float()) return a.get<double>() == b.get<double>() || (a != a && b != b);
  return a == b;
}

/// One random change to a non-empty `text`: a byte replaced by any byte, a byte removed,
/// or one of the characters JSON's grammar turns on inserted.
template <class Rng>
void mutate_json_byte(std::string& text, Rng& rng) {
  auto at = rng() % text.size();
  switch (rng() % 3) {
    case 0:
      text[at] = static_cast<char>(rng() % 256);
      break;
    case 1:
      text.erase(at, 1);
      break;
    default:
      text.insert(at, 1, "{}[]\",:\\-0e."[rng() % 13]);
      break;
  }
}

}  // namespace fedrelay::test
