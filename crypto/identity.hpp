// The node identity: one Ed25519 key pair kept in the data directory. The secret key
// never leaves this class except to derive sealing keys (sealing.hpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "crypto/keys.hpp"

namespace fedrelay::crypto {

class identity {
 public:
  /// Makes a fresh key pair from the system's randomness.
  static identity generate();

  /// Makes a key pair from a 32-byte seed (tests and known-answer vectors only).
  static identity from_seed(const std::array<uint8_t, 32>& seed);

  identity(const identity&);
  identity& operator=(const identity&);
  identity(identity&&) noexcept;  // the moved-from identity no longer holds the secret
  identity& operator=(identity&&) noexcept;
  ~identity();  // wipes the secret key

  const crypto::public_key& public_key() const noexcept { return public_key_; }

  /// Signs `message` (Ed25519, detached).
  crypto::signature sign(std::string_view message) const;

  /// The X25519 secret scalar derived from the Ed25519 secret key (for sealing.hpp).
  std::array<uint8_t, 32> x25519_secret() const;

 private:
  // Writes the seed to the key file; the only code besides this class that reads the
  // secret key.
  friend caf::error save_identity(const std::string& dir, const identity& id);

  identity();
  crypto::public_key public_key_{};
  std::array<uint8_t, 64> secret_key_{};
};

/// Checks an Ed25519 detached signature; errc::bad_signature when it does not verify.
[[nodiscard]] caf::error verify(const public_key& key, std::string_view message,
                                const signature& sig);

/// The name of the secret key file inside the data directory.
inline constexpr std::string_view identity_file_name = "node.key";

/// Loads the identity from `dir/node.key`. errc::io_failed when absent or unreadable,
/// errc::bad_permissions when group or others can read it, errc::bad_key when the
/// content is not a key written by save_identity.
[[nodiscard]] caf::expected<identity> load_identity(const std::string& dir);

/// Writes `id` to `dir/node.key` with mode 0600 (atomically: temp file, fsync, rename).
/// Creates `dir` (mode 0700) if missing.
[[nodiscard]] caf::error save_identity(const std::string& dir, const identity& id);

/// Where node.key in `dir` points when it is a symbolic link to a file that does not
/// exist; "" when it is not one.
std::string dangling_identity_link(const std::string& dir);

/// Loads the identity, or creates and saves a new one when the file does not exist.
/// `created` (optional) tells which happened. errc::io_failed naming the target when
/// node.key is a symbolic link to a file that does not exist: no new key replaces it.
[[nodiscard]] caf::expected<identity> load_or_create_identity(const std::string& dir,
                                                              bool* created = nullptr);

}  // namespace fedrelay::crypto
