// simdjson's DOM parser (the one each thread keeps, see kept_parsers.hpp), its tree copied
// into nlohmann's types the way nlohmann's parser would have typed each value.
#include "actors/json_parse.hpp"

#include <optional>
#include <set>

#include "actors/json_convert.hpp"
#include "actors/kept_parsers.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;
namespace dom = simdjson::dom;

/// The document being converted, and whether its text holds "-0" (looked up once, at
/// its first integer zero).
struct source {
  std::string_view text;
  size_t values_left = 0;  // values the conversion may still make
  bool too_many = false;   // it stopped there
  std::optional<bool> minus_zero = std::nullopt;

  bool has_minus_zero() {
    if (!minus_zero) minus_zero = text.find("-0") != std::string_view::npos;
    return *minus_zero;
  }
};

/// `e` (of document `doc`) as nlohmann's parser would have built it; false where the two
/// might differ.
bool convert(dom::element e, source& doc, json& out) {
  if (doc.values_left == 0) {
    doc.too_many = true;
    return false;
  }
  --doc.values_left;
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      out = json::object();
      for (auto field : dom::object(e)) {
        // A repeated key: the last one wins, as in nlohmann's parser.
        if (!convert(field.value, doc, out[std::string{field.key}])) return false;
      }
      return true;
    }
    case dom::element_type::ARRAY: {
      out = json::array();
      for (auto item : dom::array(e)) {
        out.emplace_back();
        if (!convert(item, doc, out.back())) return false;
      }
      return true;
    }
    case dom::element_type::STRING:
      out = std::string{std::string_view(e)};
      return true;
    case dom::element_type::INT64: {
      // nlohmann types a literal without '-' as unsigned, with '-' as signed.
      // simdjson reads "-0" as 0, which nlohmann types as signed: a zero in a text that
      // holds "-0" anywhere is left to nlohmann.
      auto v = int64_t(e);
      if (v == 0 && doc.has_minus_zero()) return false;
      if (v >= 0)
        out = static_cast<uint64_t>(v);
      else
        out = v;
      return true;
    }
    case dom::element_type::UINT64:
      out = uint64_t(e);
      return true;
    case dom::element_type::DOUBLE:
      out = double(e);
      return true;
    case dom::element_type::BOOL:
      out = bool(e);
      return true;
    case dom::element_type::NULL_VALUE:
      out = nullptr;
      return true;
  }
  return false;
}

}  // namespace

bool convert_element(dom::element element, std::string_view text, json& out, size_t max_values) {
  source doc{text, max_values};
  return convert(element, doc, out);
}

namespace {

/// Texts over this many bytes have their values counted before they are parsed.
constexpr size_t large_json_bytes = 1u << 20;

/// Calls `take` with each character of `text` outside its strings, quotes aside, until it
/// returns false; false then. For counts of text that may not be JSON at all.
template <class Take>
bool each_outside_strings(std::string_view text, Take&& take) {
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
    } else if (c == '"') {
      in_string = true;
    } else if (!take(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool nesting_within(std::string_view text, size_t limit) {
  size_t depth = 0;
  return each_outside_strings(text, [&](char c) {
    if (c == '{' || c == '[') return ++depth <= limit;
    if ((c == '}' || c == ']') && depth > 0) --depth;
    return true;
  });
}

bool values_within(std::string_view text, size_t limit) {
  size_t values = 1;  // a document is one value, and each bracket or comma may start one more
  return each_outside_strings(
      text, [&](char c) { return !(c == '{' || c == '[' || c == ',') || ++values <= limit; });
}

json parse_json(std::string_view text, size_t max_values) {
  // simdjson's document of a large text takes many times its size, before its values
  // could be counted: a count of the text's commas and brackets comes first.
  const bool counted = text.size() > large_json_bytes;
  if (counted && !values_within(text, max_values)) return json(json::value_t::discarded);
  dom::parser own;
  auto& parser = dom_parser_for(text.size(), own);
  dom::element root;
  json out;
  if (!parser.parse(text.data(), text.size()).get(root)) {
    source doc{text, max_values};
    if (convert(root, doc, out)) return out;
    if (doc.too_many) return json(json::value_t::discarded);
  }
  // nlohmann's parser takes any depth, and what is done with the document later would not
  // (simdjson counts a level more than this in some documents, so the count is ours).
  if (!nesting_within(text, max_json_depth) || (!counted && !values_within(text, max_values)))
    return json(json::value_t::discarded);
  return json::parse(text.begin(), text.end(), nullptr, false);
}

std::optional<std::string> repeated_member(std::string_view text) {
  dom::parser own;
  auto& parser = dom_parser_for(text.size(), own);
  dom::object object;
  if (parser.parse(text.data(), text.size()).get(object)) return std::nullopt;
  std::set<std::string_view> seen;
  for (auto field : object)
    if (!seen.insert(field.key).second) return std::string{field.key};
  return std::nullopt;
}

namespace {

/// `key`'s member of `doc` when `doc` is an object holding one, else null.
const json* member(const json& doc, std::string_view key) {
  if (!doc.is_object()) return nullptr;
  auto i = doc.find(key);
  return i == doc.end() ? nullptr : &*i;
}

}  // namespace

bool bool_member(const json& doc, std::string_view key, bool fallback) {
  auto* m = member(doc, key);
  return m != nullptr && m->is_boolean() ? m->get<bool>() : fallback;
}

std::string string_member(const json& doc, std::string_view key, std::string fallback) {
  auto* m = member(doc, key);
  return m != nullptr && m->is_string() ? m->get<std::string>() : std::move(fallback);
}

std::optional<uint64_t> unsigned_member(const json& doc, std::string_view key) {
  auto* m = member(doc, key);
  if (m == nullptr || !m->is_number_unsigned()) return std::nullopt;
  return m->get<uint64_t>();
}

}  // namespace fedrelay::actors
