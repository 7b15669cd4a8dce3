// What only crypto/*.cpp may see: the DER prefix of Ed25519 keys and the start-up check of
// libsodium that every entry point which cannot return an error goes through.
#pragma once

#include <array>
#include <cstdint>

namespace fedrelay::crypto::detail {

/// Initialises libsodium once per process. Throws std::runtime_error when it cannot start
/// (no entropy source): that is a start-up failure, and sign/seal/generate have no error
/// channel for it.
void require_sodium();

/// RFC 8410 SubjectPublicKeyInfo prefix of an Ed25519 public key; the 32 key bytes follow.
inline constexpr std::array<uint8_t, 12> ed25519_der_prefix{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                            0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

/// The same for X25519 (OID 1.3.101.110), recognised only to name it in an error.
inline constexpr std::array<uint8_t, 12> x25519_der_prefix{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                           0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00};

}  // namespace fedrelay::crypto::detail
