#include "actors/self_check.hpp"

#include <algorithm>
#include <cctype>

#include "actors/errc.hpp"

namespace fedrelay::actors {

bool valid_nonce(std::string_view nonce) {
  return nonce.size() >= 16 && nonce.size() <= 128 &&
         std::all_of(nonce.begin(), nonce.end(),
                     [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::string self_check_message(std::string_view domain, std::string_view nonce) {
  std::string out = "fedrelay-self-check\n";
  out.append(domain).append("\n").append(nonce);
  return out;
}

std::string sign_self_check(const crypto::identity& id, std::string_view domain,
                            std::string_view nonce) {
  return crypto::signature_to_base64(id.sign(self_check_message(domain, nonce)));
}

caf::error verify_self_check(const crypto::public_key& key, std::string_view domain,
                             std::string_view nonce, std::string_view signature_b64) {
  auto sig = crypto::signature_from_base64(signature_b64);
  if (!sig)
    return caf::make_error(errc::bad_request, "the self-check signature is not base64 of 64 bytes");
  if (crypto::verify(key, self_check_message(domain, nonce), *sig))
    return caf::make_error(errc::rejected,
                           "the self-check signature does not verify with this "
                           "node's key");
  return caf::none;
}

}  // namespace fedrelay::actors
