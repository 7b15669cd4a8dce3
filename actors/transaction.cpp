// The wire format, version 1, with nlohmann::json. Encoding splices the stored event JSON
// into the array as it is, so a batch of events is never parsed again on the way out;
// decoding validates every field, since the bytes come from another node.
#include "actors/transaction.hpp"

#include <random>

#include <nlohmann/json.hpp>

#include "actors/errc.hpp"
#include "crypto/keys.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;

// nlohmann parses iteratively but dumps recursively: a peer must not be able to make
// us recurse a million levels deep, so nesting is bounded before parsing.
constexpr size_t max_depth = 64;

std::string json_string(std::string_view text) {
  // Invalid UTF-8 must not throw: it is replaced, and the receiver sees U+FFFD.
  return json(std::string{text}).dump(-1, ' ', false, json::error_handler_t::replace);
}

bool nesting_within(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

caf::error bad(const std::string& what, const std::string& detail) {
  return caf::make_error(errc::bad_request, what + ": " + detail);
}

caf::expected<json> parse_object(std::string_view text, const std::string& what) {
  if (!nesting_within(text, max_depth))
    return bad(what, "nested deeper than " + std::to_string(max_depth) + " levels");
  auto doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return bad(what, "not valid JSON");
  if (!doc.is_object()) return bad(what, "not a JSON object");
  return doc;
}

caf::expected<std::string> string_field(const json& doc, const char* field,
                                        const std::string& what) {
  auto i = doc.find(field);
  if (i == doc.end()) return bad(what, std::string{"missing field \""} + field + "\"");
  if (!i->is_string()) return bad(what, std::string{"field \""} + field + "\" is not a string");
  return i->get<std::string>();
}

caf::expected<uint32_t> version_field(const json& doc, const std::string& what) {
  auto i = doc.find("version");
  if (i == doc.end()) return bad(what, "missing field \"version\"");
  if (!i->is_number_unsigned() || i->get<uint64_t>() > UINT32_MAX)
    return bad(what, "field \"version\" is not a version number");
  return static_cast<uint32_t>(i->get<uint64_t>());
}

}  // namespace

std::string encode_transaction(const transaction& t) {
  size_t size = 128 + t.id.size() + t.origin.size() + t.destination.size();
  for (const auto& e : t.events) size += e.size() + 1;
  std::string out;
  out.reserve(size);
  out += "{\"version\":";
  out += std::to_string(t.version);
  out += ",\"id\":";
  out += json_string(t.id);
  out += ",\"origin\":";
  out += json_string(t.origin);
  out += ",\"destination\":";
  out += json_string(t.destination);
  out += ",\"created_ms\":";
  out += std::to_string(t.created_ms);
  out += ",\"events\":[";
  for (size_t i = 0; i < t.events.size(); ++i) {
    if (i > 0) out += ',';
    out += t.events[i];
  }
  out += "]}";
  return out;
}

caf::expected<transaction> decode_transaction(std::string_view text) {
  const std::string what = "transaction";
  auto doc = parse_object(text, what);
  if (!doc) return doc.error();
  transaction t;
  auto version = version_field(*doc, what);
  if (!version) return version.error();
  t.version = *version;
  auto id = string_field(*doc, "id", what);
  if (!id) return id.error();
  if (id->empty()) return bad(what, "field \"id\" is empty");
  t.id = std::move(*id);
  auto origin = string_field(*doc, "origin", what);
  if (!origin) return origin.error();
  t.origin = std::move(*origin);
  auto destination = string_field(*doc, "destination", what);
  if (!destination) return destination.error();
  t.destination = std::move(*destination);
  auto created = doc->find("created_ms");
  if (created == doc->end()) return bad(what, "missing field \"created_ms\"");
  if (!created->is_number_integer()) return bad(what, "field \"created_ms\" is not an integer");
  t.created_ms = created->get<int64_t>();
  auto events = doc->find("events");
  if (events == doc->end()) return bad(what, "missing field \"events\"");
  if (!events->is_array()) return bad(what, "field \"events\" is not an array");
  t.events.reserve(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    const auto& e = (*events)[i];
    auto where = "events[" + std::to_string(i) + "]";
    if (!e.is_object()) return bad(what, where + " is not a JSON object");
    auto eid = e.find("id");
    if (eid == e.end() || !eid->is_string() || eid->get_ref<const std::string&>().empty())
      return bad(what, where + " has no string \"id\"");
    t.events.push_back(e.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return t;
}

std::string encode_receipt(const receipt& r) {
  json results = json::array();
  for (const auto& result : r.results) {
    json item = {{"id", result.id}, {"accepted", result.accepted}};
    if (!result.accepted) item["reason"] = result.reason;
    results.push_back(std::move(item));
  }
  json doc = {{"version", r.version},
              {"transaction_id", r.transaction_id},
              {"results", std::move(results)}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

caf::expected<receipt> decode_receipt(std::string_view text) {
  const std::string what = "receipt";
  auto doc = parse_object(text, what);
  if (!doc) return doc.error();
  receipt r;
  auto version = version_field(*doc, what);
  if (!version) return version.error();
  r.version = *version;
  auto id = string_field(*doc, "transaction_id", what);
  if (!id) return id.error();
  r.transaction_id = std::move(*id);
  auto results = doc->find("results");
  if (results == doc->end()) return bad(what, "missing field \"results\"");
  if (!results->is_array()) return bad(what, "field \"results\" is not an array");
  r.results.reserve(results->size());
  for (size_t i = 0; i < results->size(); ++i) {
    const auto& item = (*results)[i];
    auto where = "results[" + std::to_string(i) + "]";
    if (!item.is_object()) return bad(what, where + " is not a JSON object");
    event_result result;
    auto rid = string_field(item, "id", what + " " + where);
    if (!rid) return rid.error();
    result.id = std::move(*rid);
    auto accepted = item.find("accepted");
    if (accepted == item.end() || !accepted->is_boolean())
      return bad(what, where + " has no boolean \"accepted\"");
    result.accepted = accepted->get<bool>();
    if (auto reason = item.find("reason"); reason != item.end()) {
      if (!reason->is_string()) return bad(what, where + " field \"reason\" is not a string");
      result.reason = reason->get<std::string>();
    }
    r.results.push_back(std::move(result));
  }
  return r;
}

std::string make_transaction_id(const std::string& origin) {
  // Ids only need to be unique per origin, not secret; 128 bits from the OS source are.
  thread_local std::random_device device;
  std::string bytes(16, '\0');
  for (size_t i = 0; i < bytes.size(); i += 4) {
    auto word = device();
    for (size_t k = 0; k < 4; ++k) bytes[i + k] = static_cast<char>((word >> (8 * k)) & 0xff);
  }
  return origin + ":" + crypto::to_hex(bytes);
}

std::string event_id_of(std::string_view event_json) {
  if (!nesting_within(event_json, max_depth)) return {};
  auto doc = json::parse(event_json.begin(), event_json.end(), nullptr, false);
  if (!doc.is_object()) return {};
  auto i = doc.find("id");
  if (i == doc.end() || !i->is_string()) return {};
  return i->get<std::string>();
}

}  // namespace fedrelay::actors
