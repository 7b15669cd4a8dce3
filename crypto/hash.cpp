// BLAKE2b-256 (libsodium's crypto_generichash with a 32-byte output, no key), one-shot and
// streamed.
#include "crypto/hash.hpp"

#include <sodium.h>

#include "crypto/sodium_internal.hpp"

namespace fedrelay::crypto {

static_assert(crypto_generichash_BYTES == 32, "hash256 is BLAKE2b-256");

hash256 blake2b_256(std::string_view data) {
  detail::require_sodium();
  hash256 out{};
  // Cannot fail with an output length inside [BYTES_MIN, BYTES_MAX] and no key.
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), nullptr, 0);
  return out;
}

struct blake2b_stream::impl {
  impl() {
    detail::require_sodium();
    crypto_generichash_init(&state, nullptr, 0, crypto_generichash_BYTES);
  }
  ~impl() { sodium_memzero(&state, sizeof state); }
  // Over-aligned (64 bytes); C++17's aligned operator new takes care of that.
  crypto_generichash_state state;
};

blake2b_stream::blake2b_stream() : impl_(std::make_unique<impl>()) {}
blake2b_stream::~blake2b_stream() = default;
blake2b_stream::blake2b_stream(blake2b_stream&&) noexcept = default;
blake2b_stream& blake2b_stream::operator=(blake2b_stream&&) noexcept = default;

void blake2b_stream::update(std::string_view data) {
  // A moved-from stream starts over rather than dereferencing nothing.
  if (!impl_) impl_ = std::make_unique<impl>();
  crypto_generichash_update(&impl_->state, reinterpret_cast<const unsigned char*>(data.data()),
                            data.size());
}

hash256 blake2b_stream::finish() {
  if (!impl_) impl_ = std::make_unique<impl>();
  hash256 out{};
  crypto_generichash_final(&impl_->state, out.data(), out.size());
  // libsodium refuses to finalise a state twice; starting afresh makes the stream reusable.
  impl_ = std::make_unique<impl>();
  return out;
}

}  // namespace fedrelay::crypto
