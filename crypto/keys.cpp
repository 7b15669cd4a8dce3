// libsodium start-up and the byte/text codecs (hex, base64) the other crypto files and the
// rest of the node use for keys, digests and PEM bodies.
#include "crypto/keys.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>
#include <stdexcept>

#include <caf/error.hpp>

#include "crypto/errc.hpp"
#include "crypto/sodium_internal.hpp"

namespace fedrelay::crypto {
namespace {

// sodium_init is itself thread-safe, but it takes a lock; a function-local static makes
// the hot paths (seal, sign) pay only for one atomic load after the first call.
int sodium_status() {
  static const int status = sodium_init();
  return status;
}

}  // namespace

namespace detail {

void require_sodium() {
  if (sodium_status() < 0)
    throw std::runtime_error("libsodium could not initialise (no entropy source?)");
}

}  // namespace detail

caf::error init() {
  if (sodium_status() < 0)
    return caf::make_error(errc::init_failed, "sodium_init failed (no entropy source?)");
  return caf::none;
}

std::string to_hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();  // sodium_bin2hex writes a terminating NUL
  return out;
}

caf::expected<std::string> from_hex(std::string_view hex, size_t size) {
  if (hex.size() != size * 2)
    return caf::make_error(errc::bad_key, "expected " + std::to_string(size * 2) +
                                              " hex digits, got " + std::to_string(hex.size()));
  std::string out(size, '\0');
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &written, &end) != 0 ||
      written != size || end != hex.data() + hex.size())
    return caf::make_error(errc::bad_key, "not hex");
  return out;
}

std::string signature_to_base64(const signature& sig) {
  return to_base64(std::string_view{reinterpret_cast<const char*>(sig.data()), sig.size()});
}

std::optional<signature> signature_from_base64(std::string_view text) {
  auto raw = from_base64(text);
  signature sig{};
  if (!raw || raw->size() != sig.size()) return std::nullopt;
  std::copy(raw->begin(), raw->end(), sig.begin());
  return sig;
}

std::string to_base64(std::string_view bytes) {
  // OpenSSL's table-driven encoder, not libsodium's constant-time one: everything encoded
  // here is public (signatures, hashes, public keys, mail headers), and the proofs of a
  // signed batch of events made libsodium's encoder 3 % of a sending host's CPU.
  // EVP_EncodeBlock counts in int; nothing encoded here comes near that.
  if (bytes.size() > static_cast<size_t>(INT_MAX) / 4 * 3)
    throw std::length_error("to_base64: more than INT_MAX / 4 * 3 bytes");
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // + the NUL it writes
  auto written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(bytes.data()),
                                 static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

caf::expected<std::string> from_base64(std::string_view text) {
  // Every 4 characters give at most 3 bytes; the decoder reports the exact length.
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t written = 0;
  // Passing no end pointer makes libsodium reject trailing garbage, and the ORIGINAL
  // variant requires correct padding, so only canonical base64 gets through.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &written, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return caf::make_error(errc::bad_pem, "not valid padded base64");
  out.resize(written);
  return out;
}

}  // namespace fedrelay::crypto
