// Keys in column meta: joined_key("self", "key") -> hex of the key the node last ran with;
// joined_key("self", "previous_keys") -> [{"key": hex, "until": Unix ms}], newest first.
#include "actors/previous_keys.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "crypto/keys.hpp"
#include "crypto/raw_key.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;

std::string own_key_key() {
  return storage::joined_key({"self", "key"});
}

std::string previous_keys_key() {
  return storage::joined_key({"self", "previous_keys"});
}

/// Keeps the newest max_previous_keys of `keys` (newest first).
void keep_newest(std::vector<previous_key>& keys) {
  if (keys.size() > max_previous_keys) keys.resize(max_previous_keys);
}

json to_json(const std::vector<previous_key>& keys) {
  auto out = json::array();
  for (const auto& k : keys) out.push_back({{"key", crypto::to_hex(k.key)}, {"until", k.until_ms}});
  return out;
}

// The keys of a JSON array as to_json writes it; nullopt when it is not one, or one of
// more keys than any node keeps (a later version may keep more than this one).
std::optional<std::vector<previous_key>> keys_of(const json& array) {
  if (!array.is_array() || array.size() > 64 * max_previous_keys) return std::nullopt;
  std::vector<previous_key> out;
  for (const auto& k : array) {
    if (!k.is_object() || !k.contains("key") || !k["key"].is_string() || !k.contains("until") ||
        !k["until"].is_number_integer())
      return std::nullopt;
    auto raw = crypto::from_hex(k["key"].get<std::string>(), crypto::public_key{}.size());
    if (!raw) return std::nullopt;
    out.push_back({crypto::public_key_of_raw(*raw), k["until"].get<int64_t>()});
  }
  return out;
}

caf::error storage_error(const caf::error& err) {
  return caf::make_error(errc::storage_failed, "the node's keys: " + describe(err));
}

}  // namespace

caf::expected<std::vector<previous_key>> note_own_key(storage::store& store,
                                                      const crypto::public_key& current,
                                                      int64_t now_ms) {
  auto stored = store.get(storage::column::meta, previous_keys_key());
  if (!stored) return storage_error(stored.error());
  std::vector<previous_key> keys;
  if (*stored) {
    // Only this code writes it; a value that does not read is started afresh.
    if (auto read = keys_of(json::parse(**stored, nullptr, false))) keys = std::move(*read);
    keep_newest(keys);
  }
  auto last = store.get(storage::column::meta, own_key_key());
  if (!last) return storage_error(last.error());
  auto current_hex = crypto::to_hex(current);
  if (*last && **last == current_hex) return keys;
  storage::write_batch batch;
  if (*last) {
    if (auto raw = crypto::from_hex(**last, crypto::public_key{}.size())) {
      auto old = crypto::public_key_of_raw(*raw);
      // A key the node ran with before, and now again, is current, not previous.
      keys.erase(std::remove_if(keys.begin(), keys.end(),
                                [&](const previous_key& k) { return k.key == current; }),
                 keys.end());
      keys.insert(keys.begin(), previous_key{old, now_ms});
      keep_newest(keys);
      batch.put(storage::column::meta, previous_keys_key(), to_json(keys).dump());
    }
  }
  batch.put(storage::column::meta, own_key_key(), current_hex);
  if (auto err = store.write(batch)) return storage_error(err);
  return keys;
}

caf::error forget_previous_keys(storage::store& store) {
  storage::write_batch batch;
  batch.del(storage::column::meta, previous_keys_key());
  if (auto err = store.write(batch)) return storage_error(err);
  return caf::none;
}

std::string previous_keys_message(std::string_view domain, const std::vector<previous_key>& keys) {
  std::string out = "fedrelay-previous-keys\n";
  out.append(domain).append("\n");
  for (const auto& k : keys) out += crypto::to_hex(k.key) + " " + std::to_string(k.until_ms) + "\n";
  return out;
}

std::string previous_keys_body(const crypto::identity& id, std::string_view domain,
                               const std::vector<previous_key>& keys) {
  auto signature = id.sign(previous_keys_message(domain, keys));
  return json{{"domain", domain},
              {"previous", to_json(keys)},
              {"signature", crypto::signature_to_base64(signature)}}
      .dump();
}

caf::expected<std::vector<previous_key>> read_previous_keys(std::string_view body,
                                                            std::string_view domain,
                                                            const crypto::public_key& current) {
  auto j = parse_json(body);
  if (j.is_discarded() || !j.is_object() || !j.contains("domain") || !j["domain"].is_string() ||
      !j.contains("signature") || !j["signature"].is_string() || !j.contains("previous"))
    return caf::make_error(errc::bad_request, "federation.keys: not the keys' form");
  auto keys = keys_of(j["previous"]);
  if (!keys) return caf::make_error(errc::bad_request, "federation.keys: a malformed key list");
  if (j["domain"].get<std::string>() != domain)
    return caf::make_error(errc::rejected, "federation.keys: the keys of another domain");
  auto sig = crypto::signature_from_base64(j["signature"].get<std::string>());
  if (!sig || crypto::verify(current, previous_keys_message(domain, *keys), *sig))
    return caf::make_error(errc::rejected,
                           "federation.keys: not signed by the key of " + std::string{domain});
  // The newest are first: this version checks events against those it keeps itself.
  keep_newest(*keys);
  return std::move(*keys);
}

}  // namespace fedrelay::actors
