// Ed25519 public keys as PEM SubjectPublicKeyInfo (RFC 8410): the multi-line file form, the
// one-line form DNS TXT records carry, the parser for both, and SHA-256 fingerprints.
#include "crypto/pem.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include <caf/error.hpp>

#include "crypto/errc.hpp"
#include "crypto/sodium_internal.hpp"

namespace fedrelay::crypto {
namespace {

constexpr std::string_view begin_armour = "-----BEGIN PUBLIC KEY-----";
constexpr std::string_view end_armour = "-----END PUBLIC KEY-----";

// The armour with its inner spaces removed: the parser drops all whitespace first, so a
// TXT record split (and re-joined with spaces) anywhere, even inside the armour, parses.
constexpr std::string_view begin_compact = "-----BEGINPUBLICKEY-----";
constexpr std::string_view end_compact = "-----ENDPUBLICKEY-----";

// A PEM of one Ed25519 key is about 110 characters; the cap bounds the work any hostile
// input (a TXT record, a Hub reply) can cause.
constexpr size_t max_pem_size = 4096;

constexpr size_t der_size = detail::ed25519_der_prefix.size() + 32;

std::string der_of(const public_key& key) {
  std::string der;
  der.reserve(der_size);
  der.append(reinterpret_cast<const char*>(detail::ed25519_der_prefix.data()),
             detail::ed25519_der_prefix.size());
  der.append(reinterpret_cast<const char*>(key.data()), key.size());
  return der;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

template <size_t N>
bool has_prefix(std::string_view der, const std::array<uint8_t, N>& prefix) {
  return der.size() >= N && std::memcmp(der.data(), prefix.data(), N) == 0;
}

caf::error bad_pem(const std::string& why) {
  return caf::make_error(errc::bad_pem, "not an Ed25519 public key PEM: " + why);
}

}  // namespace

std::string public_key_pem(const public_key& key) {
  std::string out;
  out.append(begin_armour).append("\n");
  // 44 DER bytes are 60 base64 characters: one line, within PEM's 64-column limit.
  out.append(to_base64(der_of(key))).append("\n");
  out.append(end_armour).append("\n");
  return out;
}

std::string public_key_pem_line(const public_key& key) {
  std::string out;
  out.append(begin_armour).append(to_base64(der_of(key))).append(end_armour);
  return out;
}

caf::expected<public_key> parse_public_key_pem(std::string_view text) {
  if (text.size() > max_pem_size)
    return bad_pem(std::to_string(text.size()) + " characters is far too long");
  std::string compact;
  compact.reserve(text.size());
  std::copy_if(text.begin(), text.end(), std::back_inserter(compact),
               [](char c) { return !is_space(c); });
  std::string_view rest{compact};
  if (!starts_with(rest, begin_compact)) return bad_pem("missing -----BEGIN PUBLIC KEY-----");
  rest.remove_prefix(begin_compact.size());
  if (!ends_with(rest, end_compact)) return bad_pem("missing -----END PUBLIC KEY-----");
  rest.remove_suffix(end_compact.size());
  auto der = from_base64(rest);
  if (!der) return bad_pem("the body is not valid base64");
  if (has_prefix(*der, detail::x25519_der_prefix))
    return bad_pem("this is an X25519 key; fedrelay publishes its Ed25519 key");
  if (der->size() != der_size)
    return bad_pem("the key is " + std::to_string(der->size()) + " bytes of DER, expected " +
                   std::to_string(der_size));
  if (!has_prefix(*der, detail::ed25519_der_prefix))
    return bad_pem("the DER is not an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112)");
  public_key key{};
  std::memcpy(key.data(), der->data() + detail::ed25519_der_prefix.size(), key.size());
  // Catch a published key that could never sign or seal (small order, off the curve)
  // here, where the error can name the PEM, instead of at the first sealed message.
  detail::require_sodium();
  if (crypto_core_ed25519_is_valid_point(key.data()) != 1)
    return bad_pem("the 32 key bytes are not a valid Ed25519 point");
  return key;
}

std::string fingerprint(const public_key& key) {
  detail::require_sodium();
  auto der = der_of(key);
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(der.data()), der.size());
  constexpr int variant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  std::string b64(sodium_base64_ENCODED_LEN(digest.size(), variant), '\0');
  sodium_bin2base64(b64.data(), b64.size(), digest.data(), digest.size(), variant);
  b64.pop_back();  // the encoded length counts the terminating NUL
  return "SHA256:" + b64;
}

}  // namespace fedrelay::crypto
