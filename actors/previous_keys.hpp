// A node's previous keys. When a node gets a new identity its old public key is kept, and
// the node serves the list signed by its current key (GET federation.keys), so servers
// that still hold events it signed before (a member catching up on a room, a host with
// submissions that were queued across the change) can verify them: the domain's current
// key, which discovery gives, vouches for the keys it had before.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "crypto/identity.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

inline constexpr std::string_view previous_keys_path = "/api/v1/federation.keys";

/// The previous keys a node keeps and serves, newest first; older ones are forgotten.
inline constexpr size_t max_previous_keys = 16;

struct previous_key {
  crypto::public_key key{};
  int64_t until_ms = 0;  // Unix ms when the node first ran with the key after it
};

/// Records `current` as the node's key in `store` (column meta); a key recorded before that
/// differs joins the previous keys, replaced at `now_ms`. Returns the previous keys, newest
/// first. errc::storage_failed when the store cannot be read or written.
[[nodiscard]] caf::expected<std::vector<previous_key>> note_own_key(
    storage::store& store, const crypto::public_key& current, int64_t now_ms);

/// Forgets the previous keys (after a leak of one): federation.keys then names none.
[[nodiscard]] caf::error forget_previous_keys(storage::store& store);

/// What the current key signs: "fedrelay-previous-keys\n<domain>\n", then "<hex key>
/// <until_ms>\n" per key. The prefix keeps the signature from standing for anything else.
std::string previous_keys_message(std::string_view domain, const std::vector<previous_key>& keys);

/// The body federation.keys answers, "success" aside: {"domain","previous":[{"key":hex,
/// "until":ms}],"signature":base64 of previous_keys_message signed by `id`}.
std::string previous_keys_body(const crypto::identity& id, std::string_view domain,
                               const std::vector<previous_key>& keys);

/// The keys a federation.keys body names, once it is of `domain` and its signature holds
/// under `current`, the key discovery gives for the domain. errc::bad_request for a
/// malformed body, errc::rejected for another domain or a signature that does not hold.
[[nodiscard]] caf::expected<std::vector<previous_key>> read_previous_keys(
    std::string_view body, std::string_view domain, const crypto::public_key& current);

}  // namespace fedrelay::actors
