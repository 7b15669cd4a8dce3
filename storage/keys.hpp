// Key encodings shared by all columns: big-endian integers so RocksDB's byte order is
// numeric order, and "prefix 0x00 number" compound keys.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fedrelay::storage {

/// 8 bytes, big-endian.
std::string encode_u64(uint64_t value);

/// Reads 8 big-endian bytes; nullopt when `bytes` is not 8 bytes long.
std::optional<uint64_t> decode_u64(std::string_view bytes);

/// The parts joined by '\0': a compound key whose parts (domains, ids, names) never hold
/// '\0', so every prefix of parts is also a prefix of keys.
std::string joined_key(std::initializer_list<std::string_view> parts);

/// prefix + '\0' + encode_u64(seq): the key of entry `seq` in a per-prefix log.
/// REQUIRES: `prefix` has no '\0' (domains and ids never do).
std::string sequenced_key(std::string_view prefix, uint64_t seq);

/// The first and one-past-last keys of every sequenced_key with this prefix.
std::string sequenced_begin(std::string_view prefix);
std::string sequenced_end(std::string_view prefix);

/// Where a range deletion of the entries from `seq` on starts: a key after every lower
/// seq's entry and before sequenced_key(prefix, seq), but no entry's key itself
/// (sequenced_begin for seq 0). Columns that insert with a hint per prefix take range
/// deletions only from such keys (see storage::inserts_with_sequence_hints).
std::string sequenced_from(std::string_view prefix, uint64_t seq);

/// Splits a sequenced_key back; nullopt when the key is not of that form.
std::optional<std::pair<std::string_view, uint64_t>> split_sequenced_key(std::string_view key);

}  // namespace fedrelay::storage
