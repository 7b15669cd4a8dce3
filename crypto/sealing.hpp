// Sealing between two nodes: crypto_box (X25519 + XSalsa20-Poly1305) with the keys
// derived from both Ed25519 identities, precomputed once per peer.
#pragma once

#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "crypto/identity.hpp"

namespace fedrelay::crypto {

/// The shared key between this node and one peer (crypto_box_beforenm). The same key
/// seals and opens in both directions. Cheap to copy; wiped on destruction.
class box_key {
 public:
  /// Derives the key from our identity and the peer's Ed25519 public key.
  /// errc::bad_key when the peer key is not a valid Ed25519 point.
  [[nodiscard]] static caf::expected<box_key> derive(const identity& self, const public_key& peer);

  box_key(const box_key&);
  box_key& operator=(const box_key&);
  ~box_key();

  /// Returns nonce (24 bytes, fresh random) || ciphertext (plaintext + 16-byte tag).
  std::string seal(std::string_view plaintext) const;

  /// As seal(), in the buffer itself: `buffer` holds `overhead` bytes of any value, then
  /// the plaintext; afterwards it holds what seal(plaintext) returns. A transaction of
  /// megabytes is sealed without a second buffer of its size.
  /// REQUIRES: buffer.size() >= overhead.
  void seal_in_place(std::string& buffer) const;

  /// Opens what seal() made; errc::open_failed on any tampering, truncation or wrong key.
  /// The plaintext has at least `room_after` bytes of capacity past its end, for a parser
  /// that reads a little past a text (simdjson) to read it where it lies.
  [[nodiscard]] caf::expected<std::string> open(std::string_view sealed,
                                                size_t room_after = 0) const;

  /// Overhead that seal() adds to a plaintext.
  static constexpr size_t overhead = 24 + 16;

 private:
  box_key() = default;
  std::array<uint8_t, 32> key_{};
};

}  // namespace fedrelay::crypto
