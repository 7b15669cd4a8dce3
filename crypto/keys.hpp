// Key types of a fedrelay node: the Ed25519 identity (signing) and the X25519 keys
// derived from it (sealing). Plain byte arrays, so they can be stored and compared.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace fedrelay::crypto {

using public_key = std::array<uint8_t, 32>;  // Ed25519 public key
using signature = std::array<uint8_t, 64>;   // Ed25519 detached signature
using hash256 = std::array<uint8_t, 32>;     // BLAKE2b-256 digest

/// Makes sure libsodium is initialised; safe to call from any thread, any number of
/// times. Returns an error only if libsodium cannot start (no entropy source).
[[nodiscard]] caf::error init();

/// Lower-case hex of any byte string.
std::string to_hex(std::string_view bytes);
template <size_t N>
std::string to_hex(const std::array<uint8_t, N>& bytes) {
  return to_hex(std::string_view{reinterpret_cast<const char*>(bytes.data()), N});
}

/// Parses lower- or upper-case hex; errc::bad_key when the text is not hex of `size` bytes.
[[nodiscard]] caf::expected<std::string> from_hex(std::string_view hex, size_t size);

/// Standard base64 (with padding), as used by PEM. Not constant-time: for public bytes.
std::string to_base64(std::string_view bytes);
/// Parses canonical standard base64 (padding required, no whitespace or other characters);
/// errc::bad_pem otherwise.
[[nodiscard]] caf::expected<std::string> from_base64(std::string_view text);

/// A signature as base64 (what headers, events and self-checks carry), and back: nullopt
/// when the text is not canonical base64 of exactly 64 bytes.
std::string signature_to_base64(const signature& sig);
std::optional<signature> signature_from_base64(std::string_view text);

}  // namespace fedrelay::crypto
