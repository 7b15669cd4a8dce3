// Merkle-tree group signatures: RFC 9162's tree hash (leaf 0x00, node 0x01, split at the
// largest power of two below the size) with BLAKE2b-256, the root signed with Ed25519.
#include "crypto/batch_signature.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include <sodium.h>

#include "crypto/errc.hpp"
#include "crypto/hash.hpp"
#include "crypto/sodium_internal.hpp"

namespace fedrelay::crypto {
namespace {

constexpr std::string_view prefix = "b1.";
constexpr std::string_view context = "fedrelay event batch 1\n";

hash256 leaf_hash(std::string_view message) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, crypto_generichash_BYTES);
  const unsigned char tag = 0x00;
  crypto_generichash_update(&state, &tag, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                            message.size());
  hash256 out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

hash256 node_hash(const hash256& left, const hash256& right) {
  std::array<char, 1 + 2 * 32> in{};
  in[0] = 0x01;
  std::copy(left.begin(), left.end(), in.begin() + 1);
  std::copy(right.begin(), right.end(), in.begin() + 33);
  return blake2b_256(std::string_view{in.data(), in.size()});
}

/// The largest power of two below `n` (n >= 2).
size_t split_of(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/// The tree hash of leaves [lo, hi), appending to the paths of every leaf in it the
/// sibling it needs on the way up (RFC 9162 2.1.3.1, all leaves at once).
hash256 tree_hash(const std::vector<hash256>& leaves, size_t lo, size_t hi,
                  std::vector<batch_proof>& proofs) {
  if (hi - lo == 1) return leaves[lo];
  auto mid = lo + split_of(hi - lo);
  auto left = tree_hash(leaves, lo, mid, proofs);
  auto right = tree_hash(leaves, mid, hi, proofs);
  for (auto i = lo; i < mid; ++i) proofs[i].path.push_back(right);
  for (auto i = mid; i < hi; ++i) proofs[i].path.push_back(left);
  return node_hash(left, right);
}

/// The root that `leaf` at `index` of `count` leads to with `path` (RFC 9162 2.1.3.2);
/// nullopt when the path does not fit the index and count.
std::optional<hash256> root_from(hash256 leaf, uint32_t index, uint32_t count,
                                 const std::vector<hash256>& path) {
  if (count == 0 || index >= count) return std::nullopt;
  uint64_t fn = index;
  uint64_t sn = count - 1;
  auto r = leaf;
  for (const auto& p : path) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0)
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

/// Groups this thread verified lately: a hit skips the Ed25519 check (about 50 µs here)
/// for the other messages of a group. Only groups that verified are kept.
struct verified_groups {
  struct entry {
    public_key key{};
    hash256 root{};
    uint32_t count = 0;
    signature sig{};
  };
  std::array<entry, 16> entries{};
  size_t next = 0;
  size_t used = 0;

  bool contains(const public_key& key, const hash256& root, uint32_t count,
                const signature& sig) const {
    for (size_t i = 0; i < used; ++i) {
      const auto& e = entries[i];
      if (e.count == count && e.root == root && e.key == key && e.sig == sig) return true;
    }
    return false;
  }
  void add(const public_key& key, const hash256& root, uint32_t count, const signature& sig) {
    entries[next] = {key, root, count, sig};
    next = (next + 1) % entries.size();
    used = std::min(used + 1, entries.size());
  }
};

caf::error bad(std::string reason) {
  return caf::make_error(errc::bad_signature, std::move(reason));
}

bool take_number(std::string_view& text, uint32_t& out) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + dot, out);
  if (ec != std::errc{} || end != text.data() + dot) return false;
  text.remove_prefix(dot + 1);
  return true;
}

}  // namespace

std::string batch_signing_input(uint32_t count, const hash256& root) {
  std::string in{context};
  for (int shift = 24; shift >= 0; shift -= 8) in.push_back(static_cast<char>(count >> shift));
  in.append(reinterpret_cast<const char*>(root.data()), root.size());
  return in;
}

std::vector<batch_proof> sign_batch(const identity& id, const std::vector<std::string>& messages) {
  detail::require_sodium();
  std::vector<hash256> leaves;
  leaves.reserve(messages.size());
  for (const auto& m : messages) leaves.push_back(leaf_hash(m));
  std::vector<batch_proof> proofs(messages.size());
  if (messages.empty()) return proofs;
  auto count = static_cast<uint32_t>(messages.size());
  auto root = tree_hash(leaves, 0, leaves.size(), proofs);
  auto sig = id.sign(batch_signing_input(count, root));
  for (uint32_t i = 0; i < count; ++i) {
    proofs[i].index = i;
    proofs[i].count = count;
    proofs[i].root_signature = sig;
  }
  return proofs;
}

caf::error verify_batch(const public_key& key, std::string_view message, const batch_proof& proof) {
  detail::require_sodium();
  auto root = root_from(leaf_hash(message), proof.index, proof.count, proof.path);
  if (!root) return bad("the batch proof does not fit its index and count");
  thread_local verified_groups verified;
  if (verified.contains(key, *root, proof.count, proof.root_signature)) return {};
  if (auto err = verify(key, batch_signing_input(proof.count, *root), proof.root_signature))
    return err;
  verified.add(key, *root, proof.count, proof.root_signature);
  return {};
}

namespace {

/// The text of `proof` with its signature already in base64.
std::string proof_text(const batch_proof& proof, std::string_view signature_b64) {
  std::string path;
  path.reserve(proof.path.size() * 32);
  for (const auto& h : proof.path) path.append(reinterpret_cast<const char*>(h.data()), h.size());
  std::string out{prefix};
  out += signature_b64;
  out += '.';
  out += std::to_string(proof.index);
  out += '.';
  out += std::to_string(proof.count);
  out += '.';
  out += to_base64(path);
  return out;
}

}  // namespace

std::string to_string(const batch_proof& proof) {
  return proof_text(proof, signature_to_base64(proof.root_signature));
}

std::vector<std::string> to_strings(const std::vector<batch_proof>& group) {
  std::vector<std::string> out;
  out.reserve(group.size());
  std::string signature_b64;
  const signature* encoded = nullptr;
  for (const auto& proof : group) {
    if (encoded == nullptr || *encoded != proof.root_signature) {
      signature_b64 = signature_to_base64(proof.root_signature);
      encoded = &proof.root_signature;
    }
    out.push_back(proof_text(proof, signature_b64));
  }
  return out;
}

bool is_batch_proof(std::string_view text) {
  return text.substr(0, prefix.size()) == prefix;
}

caf::expected<batch_proof> parse_batch_proof(std::string_view text) {
  if (!is_batch_proof(text)) return bad("not a batch signature");
  text.remove_prefix(prefix.size());
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return bad("a batch signature has five parts");
  batch_proof proof;
  auto sig = signature_from_base64(text.substr(0, dot));
  if (!sig) return bad("the batch signature's signature is not 64 bytes of base64");
  proof.root_signature = *sig;
  text.remove_prefix(dot + 1);
  if (!take_number(text, proof.index) || !take_number(text, proof.count))
    return bad("the batch signature's index and count are not numbers");
  auto path = from_base64(text);
  if (!path || path->size() % 32 != 0 || path->size() / 32 > 32)
    return bad("the batch signature's path is not base64 of at most 32 hashes");
  proof.path.resize(path->size() / 32);
  for (size_t i = 0; i < proof.path.size(); ++i)
    std::memcpy(proof.path[i].data(), path->data() + 32 * i, 32);
  return proof;
}

}  // namespace fedrelay::crypto
