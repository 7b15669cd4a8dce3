// The error codes of fedrelay::crypto, registered as a CAF error category ("crypto") so they
// travel between actors; the human-readable detail rides in the error's context.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace fedrelay::crypto {

enum class errc : uint8_t {
  init_failed = 1,  // libsodium could not initialise
  bad_pem,          // text that is not an Ed25519 SubjectPublicKeyInfo PEM
  bad_key,          // a key of the wrong size or that cannot be converted to X25519
  io_failed,        // the identity file could not be read or written
  bad_permissions,  // the secret key file is readable by others
  open_failed,      // a sealed box did not open: wrong key, forged or tampered
  bad_signature,    // a signature does not verify
};

/// Returns the name of an error code, e.g. "bad_pem".
std::string to_string(errc code);

}  // namespace fedrelay::crypto

CAF_ERROR_CODE_ENUM(fedrelay::crypto::errc, "crypto")
