// crypto_box between two nodes with a precomputed shared key: X25519 keys converted from
// both Ed25519 identities, XSalsa20-Poly1305, a fresh random nonce in front of each box.
#include "crypto/sealing.hpp"

#include <sodium.h>

#include <cassert>
#include <stdexcept>

#include <caf/error.hpp>

#include "crypto/errc.hpp"
#include "crypto/sodium_internal.hpp"

namespace fedrelay::crypto {

static_assert(crypto_box_NONCEBYTES + crypto_box_MACBYTES == box_key::overhead);
static_assert(crypto_box_BEFORENMBYTES == 32);

namespace {

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

caf::expected<box_key> box_key::derive(const identity& self, const public_key& peer) {
  detail::require_sodium();
  std::array<uint8_t, crypto_box_PUBLICKEYBYTES> peer_x25519{};
  // Fails for keys that are not a point of the prime-order subgroup (small order, not on
  // the curve): those would give a shared key an attacker can predict.
  if (crypto_sign_ed25519_pk_to_curve25519(peer_x25519.data(), peer.data()) != 0)
    return caf::make_error(errc::bad_key,
                           "peer key " + to_hex(peer) + " is not a valid Ed25519 public key");
  auto secret = self.x25519_secret();
  box_key key;
  int rc = crypto_box_beforenm(key.key_.data(), peer_x25519.data(), secret.data());
  sodium_memzero(secret.data(), secret.size());
  if (rc != 0)
    return caf::make_error(errc::bad_key,
                           "no shared key with peer key " + to_hex(peer) + " (weak X25519 point)");
  return key;
}

box_key::box_key(const box_key&) = default;
box_key& box_key::operator=(const box_key&) = default;
box_key::~box_key() {
  sodium_memzero(key_.data(), key_.size());
}

std::string box_key::seal(std::string_view plaintext) const {
  std::string out(overhead, '\0');
  out.append(plaintext);
  seal_in_place(out);
  return out;
}

void box_key::seal_in_place(std::string& buffer) const {
  assert(buffer.size() >= overhead);
  auto* nonce = reinterpret_cast<unsigned char*>(buffer.data());
  auto* mac = nonce + crypto_box_NONCEBYTES;
  auto* text = mac + crypto_box_MACBYTES;
  // A random 24-byte nonce never repeats in practice, so the sender needs no counter
  // state that would have to survive restarts.
  randombytes_buf(nonce, crypto_box_NONCEBYTES);
  // nonce || mac || ciphertext is what crypto_box_easy writes after the nonce; the
  // detached form encrypts where the plaintext lies.
  if (crypto_box_detached_afternm(text, mac, text, buffer.size() - overhead, nonce, key_.data()) !=
      0)
    // Only a plaintext above crypto_box_MESSAGEBYTES_MAX (about SIZE_MAX) gets here.
    throw std::length_error("box_key::seal: plaintext too large");
}

caf::expected<std::string> box_key::open(std::string_view sealed, size_t room_after) const {
  if (sealed.size() < overhead)
    return caf::make_error(errc::open_failed, "sealed box of " + std::to_string(sealed.size()) +
                                                  " bytes is shorter than the " +
                                                  std::to_string(overhead) + "-byte overhead");
  const unsigned char* nonce = bytes_of(sealed);
  std::string out;
  out.reserve(sealed.size() - overhead + room_after);
  out.resize(sealed.size() - overhead);
  if (crypto_box_open_easy_afternm(reinterpret_cast<unsigned char*>(out.data()),
                                   nonce + crypto_box_NONCEBYTES,
                                   sealed.size() - crypto_box_NONCEBYTES, nonce, key_.data()) != 0)
    return caf::make_error(errc::open_failed,
                           "sealed box of " + std::to_string(sealed.size()) +
                               " bytes does not authenticate (wrong key, forged or tampered)");
  return out;
}

}  // namespace fedrelay::crypto
