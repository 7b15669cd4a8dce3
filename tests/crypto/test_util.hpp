// Helpers shared by the crypto tests: checking an error's code, and the RFC 8032 vector.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "crypto/errc.hpp"
#include "crypto/keys.hpp"

namespace fedrelay::crypto::test {

/// True when `err` is the crypto error `code` (CAF 0.17 has no == for factory enums).
inline bool is(const caf::error& err, errc code) {
  return err && err.category() == caf::atom("crypto") && err.code() == static_cast<uint8_t>(code);
}

template <size_t N>
std::array<uint8_t, N> array_from_hex(const std::string& hex) {
  auto bytes = from_hex(hex, N);
  std::array<uint8_t, N> out{};
  if (bytes) std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

// RFC 8032 section 7.1, TEST 1 (empty message).
inline const std::string rfc8032_seed_hex =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
inline const std::string rfc8032_public_hex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
inline const std::string rfc8032_signature_hex =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf"
    "9b46bd25bf5f0595bbe24655141438e7a100b";

}  // namespace fedrelay::crypto::test
