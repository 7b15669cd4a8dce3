#include "actors/discovery_cache.hpp"

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "crypto/keys.hpp"

namespace fedrelay::actors {

using nlohmann::json;

std::string encode_cached_answer(const cached_answer& answer) {
  json j;
  j["expires_at"] = answer.expires_at;
  if (answer.record) {
    const auto& r = *answer.record;
    // The key is raw bytes; hex keeps the JSON valid UTF-8.
    auto key_hex = crypto::to_hex(r.public_key);
    j["record"] = {{"domain", r.domain},     {"base_url", r.base_url},
                   {"protocol", r.protocol}, {"public_key", key_hex},
                   {"ttl", r.ttl},           {"source", static_cast<int>(r.source)}};
  } else {
    j["error"] = {{"code", answer.failure.code()}, {"detail", detail_of(answer.failure)}};
  }
  return j.dump();
}

std::optional<cached_answer> decode_cached_answer(const std::string& bytes) {
  auto j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("expires_at")) return std::nullopt;
  try {
    cached_answer answer;
    answer.expires_at = j.at("expires_at").get<int64_t>();
    if (j.contains("record")) {
      const auto& r = j.at("record");
      peer_record rec;
      rec.domain = r.at("domain").get<std::string>();
      rec.base_url = r.at("base_url").get<std::string>();
      rec.protocol = r.at("protocol").get<std::string>();
      auto key = crypto::from_hex(r.at("public_key").get<std::string>(), 32);
      if (!key) return std::nullopt;
      rec.public_key = std::move(*key);
      rec.ttl = r.at("ttl").get<uint32_t>();
      rec.source = static_cast<record_source>(r.at("source").get<int>());
      rec.expires_at = answer.expires_at;
      answer.record = std::move(rec);
    } else {
      const auto& e = j.at("error");
      auto code = static_cast<errc>(e.at("code").get<int>());
      answer.failure = caf::make_error(code, e.at("detail").get<std::string>());
    }
    return answer;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace fedrelay::actors
