#include "actors/request_auth.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "actors/errc.hpp"
#include "actors/room_event.hpp"
#include "actors/transaction.hpp"
#include "actors/wall_clock.hpp"
#include "config/ascii_case.hpp"
#include "crypto/hash.hpp"

namespace fedrelay::actors {

bool same_domain(std::string_view a, std::string_view b) {
  return !a.empty() && config::equal_ignoring_case(a, b);
}

bool within_skew(int64_t now_ms, int64_t then_ms, std::chrono::milliseconds skew) {
  if (skew.count() < 0) return false;
  // The distance in unsigned arithmetic, where it is exact for any two int64 values.
  auto distance = then_ms > now_ms ? static_cast<uint64_t>(then_ms) - static_cast<uint64_t>(now_ms)
                                   : static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(then_ms);
  return distance <= static_cast<uint64_t>(skew.count());
}

std::string signing_string(std::string_view method, std::string_view target, int64_t time_ms,
                           std::string_view body, std::string_view destination) {
  std::string out;
  out.append(method).append("\n").append(target).append("\n");
  out.append(std::to_string(time_ms)).append("\n");
  out.append(crypto::to_hex(crypto::blake2b_256(body)));
  if (!destination.empty()) out.append("\n").append(destination);
  return out;
}

std::string sign_request(const crypto::identity& id, std::string_view method,
                         std::string_view target, int64_t time_ms, std::string_view body,
                         std::string_view destination) {
  return crypto::signature_to_base64(
      id.sign(signing_string(method, target, time_ms, body, destination)));
}

std::vector<std::pair<std::string, std::string>> signed_headers(
    const crypto::identity& id, std::string_view origin, std::string_view destination,
    std::string_view method, std::string_view target, std::string_view body) {
  auto now = unix_ms_now();
  std::vector<std::pair<std::string, std::string>> headers{
      {std::string{origin_header}, std::string{origin}},
      {std::string{time_header}, std::to_string(now)},
      {std::string{signature_header}, sign_request(id, method, target, now, body, destination)}};
  if (!destination.empty())
    headers.emplace_back(std::string{destination_header}, std::string{destination});
  return headers;
}

caf::error verify_request(std::string_view key, std::string_view method, std::string_view target,
                          std::string_view time_text, std::string_view body,
                          std::string_view signature_b64, std::chrono::milliseconds skew,
                          std::string_view destination_text, std::string_view own_domain) {
  int64_t time_ms = 0;
  auto [end, ec] = std::from_chars(time_text.data(), time_text.data() + time_text.size(), time_ms);
  if (ec != std::errc{} || end != time_text.data() + time_text.size())
    return caf::make_error(errc::bad_request, std::string{time_header} + " is not a number");
  if (!within_skew(unix_ms_now(), time_ms, skew))
    return caf::make_error(errc::rejected, "request time outside the accepted window");
  // Checked before it is named in an answer: a header of kilobytes of anything is no name.
  if (!destination_text.empty() && !valid_domain(destination_text))
    return caf::make_error(errc::bad_request,
                           std::string{destination_header} + " is not a domain name");
  if (!destination_text.empty() && !same_domain(destination_text, own_domain))
    return caf::make_error(errc::rejected, "request signed for " + std::string{destination_text} +
                                               ", not for " + std::string{own_domain});
  if (signature_b64.empty())
    return caf::make_error(errc::bad_request, std::string{signature_header} + " is missing");
  auto sig = crypto::signature_from_base64(signature_b64);
  if (!sig || key.size() != crypto::public_key{}.size())
    return caf::make_error(errc::bad_request, std::string{signature_header} + " is malformed");
  crypto::public_key pk{};
  std::copy(key.begin(), key.end(), pk.begin());
  if (crypto::verify(pk, signing_string(method, target, time_ms, body, destination_text), *sig))
    return caf::make_error(errc::rejected, "signature does not verify with the origin's key");
  return caf::none;
}

}  // namespace fedrelay::actors
