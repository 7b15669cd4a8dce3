// Authentication of federation reads that carry no sealed body (GET users.search,
// files.get): the caller signs method, target, time and a digest of the body with its
// domain's Ed25519 key (DESIGN.md section 4).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "crypto/identity.hpp"

namespace fedrelay::actors {

inline constexpr std::string_view time_header = "X-Fedrelay-Time";
inline constexpr std::string_view signature_header = "X-Fedrelay-Signature";

/// "METHOD\nTARGET\nTIME_MS\n" + hex BLAKE2b-256 of the body: what the caller signs.
std::string signing_string(std::string_view method, std::string_view target, int64_t time_ms,
                           std::string_view body);

/// The base64 signature of signing_string(...) with `id`.
std::string sign_request(const crypto::identity& id, std::string_view method,
                         std::string_view target, int64_t time_ms, std::string_view body);

/// The headers that sign a request of `origin` now: its origin, the time, and
/// sign_request(...) of method, target, that time and the body.
std::vector<std::pair<std::string, std::string>> signed_headers(const crypto::identity& id,
                                                                std::string_view origin,
                                                                std::string_view method,
                                                                std::string_view target,
                                                                std::string_view body);

/// Checks a signed request: `time_text` must be within `skew` of now and `signature_b64`
/// a valid signature of `key` (32 raw bytes). errc::bad_request for malformed headers,
/// errc::rejected for a stale time or a signature that does not verify.
[[nodiscard]] caf::error verify_request(std::string_view key, std::string_view method,
                                        std::string_view target, std::string_view time_text,
                                        std::string_view body, std::string_view signature_b64,
                                        std::chrono::milliseconds skew);

/// Unix milliseconds now.
int64_t unix_ms_now();

/// Whether `then_ms` is within `skew` of `now_ms`, either way. Any int64 is taken: a
/// time a peer wrote at the edge of the range (INT64_MIN, say) must not overflow.
bool within_skew(int64_t now_ms, int64_t then_ms, std::chrono::milliseconds skew);

}  // namespace fedrelay::actors
