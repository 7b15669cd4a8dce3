// The self-check of `fedrelay check`: the node signs a caller's nonce with its key, so the
// caller learns that what answers at the public URL (through any proxy) is this node.
// Shared by the endpoint (net/federation_self.cpp) and the check (app/check_remote.cpp).
#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "crypto/identity.hpp"

namespace fedrelay::actors {

/// GET federation.self?nonce=HEX, signed like every peer read (request_auth.hpp) by the
/// holder of the node's own key; replies {"success":true,"domain","signature"}.
inline constexpr std::string_view self_path = "/api/v1/federation.self";

/// Nonces are hex, 16 to 128 characters.
bool valid_nonce(std::string_view nonce);

/// "fedrelay-self-check\n<domain>\n<nonce>": what the node signs. The prefix keeps the
/// signature from ever standing for a request or an event.
std::string self_check_message(std::string_view domain, std::string_view nonce);

/// Base64 signature of self_check_message(domain, nonce) with `id`.
std::string sign_self_check(const crypto::identity& id, std::string_view domain,
                            std::string_view nonce);

/// Checks a reply's signature against `key`: errc::bad_request when it is not base64 of a
/// signature, errc::rejected when it does not verify.
[[nodiscard]] caf::error verify_self_check(const crypto::public_key& key, std::string_view domain,
                                           std::string_view nonce, std::string_view signature_b64);

}  // namespace fedrelay::actors
