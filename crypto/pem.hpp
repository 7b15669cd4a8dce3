// Public keys as text: PEM SubjectPublicKeyInfo (RFC 8410), the form DNS TXT records,
// the Hub and static peer tables carry, and fingerprints for people to compare.
#pragma once

#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "crypto/keys.hpp"

namespace fedrelay::crypto {

/// "-----BEGIN PUBLIC KEY-----\n<60 base64 chars>\n-----END PUBLIC KEY-----\n",
/// which `openssl pkey -pubin -text` reads as an ED25519 public key.
std::string public_key_pem(const public_key& key);

/// The PEM on one line, without newlines: the value published in the
/// rocketchat-public-key TXT record ("-----BEGIN PUBLIC KEY-----MCow...-----END PUBLIC KEY-----").
std::string public_key_pem_line(const public_key& key);

/// Parses either form above, tolerating any whitespace (TXT strings joined as they come).
/// errc::bad_pem when the armour, base64, DER prefix or length is wrong, or the key is
/// not Ed25519.
[[nodiscard]] caf::expected<public_key> parse_public_key_pem(std::string_view text);

/// "SHA256:" + unpadded base64 of SHA-256 over the DER SubjectPublicKeyInfo, like
/// OpenSSH prints key fingerprints.
std::string fingerprint(const public_key& key);

}  // namespace fedrelay::crypto
