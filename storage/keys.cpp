// Key encodings shared by all columns: big-endian integers and "prefix 0x00 seq" keys,
// chosen so that RocksDB's bytewise order is the order callers mean.
#include "storage/keys.hpp"

namespace fedrelay::storage {

std::string encode_u64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::optional<uint64_t> decode_u64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
  return value;
}

std::string joined_key(std::initializer_list<std::string_view> parts) {
  std::string key;
  bool first = true;
  for (auto part : parts) {
    if (!first) key.push_back('\0');
    key.append(part);
    first = false;
  }
  return key;
}

std::string sequenced_key(std::string_view prefix, uint64_t seq) {
  std::string key;
  key.reserve(prefix.size() + 9);
  key.append(prefix);
  key.push_back('\0');
  key.append(encode_u64(seq));
  return key;
}

std::string sequenced_begin(std::string_view prefix) {
  std::string key(prefix);
  key.push_back('\0');
  return key;
}

// [prefix + '\0', prefix + '\x01') holds exactly the keys that start with prefix + '\0':
// any other key either differs within the prefix or continues with a byte >= '\x01'.
std::string sequenced_end(std::string_view prefix) {
  std::string key(prefix);
  key.push_back('\x01');
  return key;
}

// sequenced_key(prefix, seq - 1) + '\0' sorts right after that entry's key (it extends
// it) and before sequenced_key(prefix, seq) (they differ in the seq bytes).
std::string sequenced_from(std::string_view prefix, uint64_t seq) {
  if (seq == 0) return sequenced_begin(prefix);
  auto key = sequenced_key(prefix, seq - 1);
  key.push_back('\0');
  return key;
}

std::optional<std::pair<std::string_view, uint64_t>> split_sequenced_key(std::string_view key) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return std::nullopt;
  auto prefix = key.substr(0, key.size() - 9);
  if (prefix.find('\0') != std::string_view::npos) return std::nullopt;
  auto seq = decode_u64(key.substr(key.size() - 8));
  return std::pair{prefix, *seq};
}

}  // namespace fedrelay::storage
