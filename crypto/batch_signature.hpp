// One Ed25519 signature for a group of messages: a Merkle tree (RFC 9162 section 2.1)
// over the messages, its root signed once, and per message the audit path that leads from
// it to the root. Signing 16 events costs one signature instead of 16 (about 20 µs each
// here), and each event can still be checked alone, as a relaying host needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "crypto/identity.hpp"
#include "crypto/keys.hpp"

namespace fedrelay::crypto {

/// Where one message sits in a signed group, and the signature of the group.
struct batch_proof {
  uint32_t index = 0;          // the message's place in the group, from 0
  uint32_t count = 0;          // messages in the group, at least 1
  std::vector<hash256> path;   // the audit path, leaf level first
  signature root_signature{};  // over batch_signing_input(count, root)
};

/// What is signed for a group of `count` messages with Merkle root `root`: a context
/// string, the count (big-endian) and the root, so a root cannot pass for anything else.
std::string batch_signing_input(uint32_t count, const hash256& root);

/// Signs `messages` (at least one) as one group: proof i is message i's.
std::vector<batch_proof> sign_batch(const identity& id, const std::vector<std::string>& messages);

/// errc::bad_signature unless `proof` leads from `message` to a root that `key` signed.
/// Remembers the last few groups it checked on this thread, so the other messages of a
/// group cost a few hashes and no Ed25519 check.
[[nodiscard]] caf::error verify_batch(const public_key& key, std::string_view message,
                                      const batch_proof& proof);

/// The text form of a proof: "b1.<signature>.<index>.<count>.<path>", signature and path
/// (the hashes concatenated) in base64. parse_batch_proof reads it back; errc::bad_signature
/// for any other text.
std::string to_string(const batch_proof& proof);
/// to_string of each proof of a group, their shared signature encoded once.
std::vector<std::string> to_strings(const std::vector<batch_proof>& group);
[[nodiscard]] caf::expected<batch_proof> parse_batch_proof(std::string_view text);

/// Whether `text` is in the form of to_string (starts with "b1.").
bool is_batch_proof(std::string_view text);

}  // namespace fedrelay::crypto
