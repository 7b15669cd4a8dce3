// A public key as discovery and the Hub's registry keep it (a string of its 32 raw bytes)
// turned into the key type that signing, sealing and fingerprints take.
#pragma once

#include <algorithm>
#include <string_view>

#include "crypto/keys.hpp"

namespace fedrelay::crypto {

/// The key of `raw`: its first 32 bytes, zero-padded when shorter (never, for a record that
/// passed its checks).
inline public_key public_key_of_raw(std::string_view raw) {
  public_key key{};
  std::copy_n(raw.begin(), std::min(raw.size(), key.size()), key.begin());
  return key;
}

}  // namespace fedrelay::crypto
