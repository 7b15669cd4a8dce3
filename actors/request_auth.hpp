// Authentication of federation reads that carry no sealed body (GET users.search,
// files.get): the caller signs method, target, time, a digest of the body and the domain
// of the server it asks with its domain's Ed25519 key (docs/PROTOCOL.md, "Signed reads"),
// so a server that received a signed read cannot ask a third server the same in the
// caller's name.
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
/// The domain of the server a signed read is for; covered by the signature.
inline constexpr std::string_view destination_header = "X-Fedrelay-Destination";

/// What the caller signs: "METHOD\nTARGET\nTIME_MS\n" + hex BLAKE2b-256 of the body, then
/// "\n" + the destination's domain when the request names one. Without a destination it is
/// the form of servers before the destination was signed, which receivers still take.
std::string signing_string(std::string_view method, std::string_view target, int64_t time_ms,
                           std::string_view body, std::string_view destination = {});

/// The base64 signature of signing_string(...) with `id`.
std::string sign_request(const crypto::identity& id, std::string_view method,
                         std::string_view target, int64_t time_ms, std::string_view body,
                         std::string_view destination = {});

/// The headers that sign a request of `origin` to the server of domain `destination` now:
/// its origin, the destination, the time, and sign_request(...) of method, target, that
/// time, the body and the destination. An empty destination (the Hub, which has no
/// domain) sends no destination header and signs without it.
std::vector<std::pair<std::string, std::string>> signed_headers(
    const crypto::identity& id, std::string_view origin, std::string_view destination,
    std::string_view method, std::string_view target, std::string_view body);

/// Checks a signed request: `time_text` must be within `skew` of now and `signature_b64`
/// a valid signature of `key` (32 raw bytes). A request naming a destination
/// (`destination_text`, from destination_header) must name `own_domain` and is checked
/// with it; one naming none is checked in the form without it. errc::bad_request for
/// malformed headers, errc::rejected for a stale time, a request for another server or a
/// signature that does not verify.
[[nodiscard]] caf::error verify_request(std::string_view key, std::string_view method,
                                        std::string_view target, std::string_view time_text,
                                        std::string_view body, std::string_view signature_b64,
                                        std::chrono::milliseconds skew,
                                        std::string_view destination_text = {},
                                        std::string_view own_domain = {});

/// Whether two domain names are one (DNS names ignore case); an empty name is none.
bool same_domain(std::string_view a, std::string_view b);

/// Whether `then_ms` is within `skew` of `now_ms`, either way. Any int64 is taken: a
/// time a peer wrote at the edge of the range (INT64_MIN, say) must not overflow.
bool within_skew(int64_t now_ms, int64_t then_ms, std::chrono::milliseconds skew);

}  // namespace fedrelay::actors
