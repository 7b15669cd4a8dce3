#include "actors/event_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <type_traits>
#include <utility>
#include <vector>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "actors/json_convert.hpp"
#include "actors/json_parse.hpp"
#include "actors/kept_parsers.hpp"

namespace fedrelay::actors {
namespace {

namespace dom = simdjson::dom;

/// Whether `value` is a string; if so, it is copied to `out`.
bool take_string(dom::element value, std::string& out) {
  std::string_view s;
  if (value.get(s)) return false;
  out.assign(s);
  return true;
}

/// A number field as decode_event takes it: the value as parse_json would type it (false
/// where parse_json would leave the text to nlohmann's parser, "-0"), then decode_event's
/// own check, an integer for int64_t ("ts") and an unsigned one for uint64_t ("seq").
template <class T>
bool take_number(dom::element value, std::string_view text, T& out) {
  nlohmann::json number;
  if (!convert_element(value, text, number)) return false;
  if (!(std::is_same_v<T, int64_t> ? number.is_number_integer() : number.is_number_unsigned()))
    return false;
  out = number.get<T>();
  return true;
}

/// The fields decode_event requires, each a bit of what read_event_element has seen.
enum : unsigned {
  id_field = 1,
  room_field = 2,
  origin_field = 4,
  user_field = 8,
  sig_field = 16,
  type_field = 32,
  ts_field = 64,
  required_fields = 127,
};

/// The string fields copied as they are: into the event (read_event_element), or as views
/// (read_message_view).
struct string_field {
  std::string_view key;
  std::string room_event::*member;
  std::string_view event_field_views::*view;
  unsigned bit;
};

constexpr string_field string_fields[] = {
    {"id", &room_event::id, &event_field_views::id, id_field},
    {"room_id", &room_event::room_id, &event_field_views::room_id, room_field},
    {"origin", &room_event::origin, &event_field_views::origin, origin_field},
    {"user", &room_event::user, &event_field_views::user, user_field},
    {"sig", &room_event::sig, &event_field_views::sig, sig_field},
};

/// The entry of string_fields named `key`, or null.
const string_field* string_field_named(std::string_view key) {
  auto named = std::find_if(std::begin(string_fields), std::end(string_fields),
                            [key](const string_field& f) { return f.key == key; });
  return named == std::end(string_fields) ? nullptr : named;
}

/// `element` (of the document parsed from `text`) into `e` when decode_event accepts it
/// and both parsers read its values alike; false otherwise, with `e` left half-filled.
/// Repeated keys: the last one wins, as in nlohmann's parser.
bool read_event_element(dom::element element, std::string_view text, room_event& e) {
  dom::object fields;
  if (element.get(fields)) return false;
  unsigned seen = 0;
  std::string_view type_name;
  std::optional<dom::element> content;
  for (auto field : fields) {
    auto key = field.key;
    auto value = field.value;
    bool ok = true;
    if (auto named = string_field_named(key)) {
      ok = take_string(value, e.*(named->member));
      seen |= named->bit;
    } else if (key == "type") {
      ok = !value.get(type_name);
      seen |= type_field;
    } else if (key == "ts") {
      ok = take_number(value, text, e.ts);
      seen |= ts_field;
    } else if (key == "seq") {
      ok = take_number(value, text, e.seq);
    } else if (key == "content") {
      content = value;
    }
    if (!ok) return false;
  }
  if (seen != required_fields || !content || !content->is_object()) return false;
  auto t = parse_event_type(type_name);
  if (!t) return false;
  e.type = *t;
  if (check_event_fields(e)) return false;
  if (!convert_element(*content, text, e.content)) return false;
  return !check_content(e.type, e.content);
}

/// read_room_message the nlohmann way.
room_message read_room_message_as_json(std::string_view text) {
  auto doc = parse_json(text);
  room_message out{string_at(doc, "kind"), string_at(doc, "id"), std::nullopt, {}};
  if (!doc.is_object()) return out;
  if (auto inner = doc.find("event"); inner != doc.end())
    out.event = decode_event(std::move(*inner));
  return out;
}

/// The text of the first member of `text`, a message whose `members` members are "event",
/// then "id" and "kind" with the values `id` and `kind`; empty unless the text ends in those
/// two written without spaces or escapes, and the event is an object with no space around
/// it. Then each quote of that end is a delimiter (none follows a backslash, the values
/// hold none), so the event's value ends before it.
std::string_view event_text_of(std::string_view text, size_t members, std::string_view id,
                               std::string_view kind) {
  constexpr std::string_view head = R"({"event":)";
  auto plain = [](std::string_view s) { return s.find_first_of("\"\\") == std::string_view::npos; };
  if (members != 3 || text.substr(0, head.size()) != head || !plain(id) || !plain(kind)) return {};
  // The tail ,"id":"<id>","kind":"<kind>"} taken off the end piece by piece, back to front
  // (this runs for every event of a run: no string is made for it).
  auto rest = text.substr(head.size());
  for (auto piece : {std::string_view{R"("})"}, kind, std::string_view{R"(","kind":")"}, id,
                     std::string_view{R"(,"id":")"}}) {
    if (rest.size() < piece.size() || rest.substr(rest.size() - piece.size()) != piece) return {};
    rest.remove_suffix(piece.size());
  }
  // An object with nothing around it (a space before the id would be kept otherwise).
  if (rest.empty() || rest.front() != '{' || rest.back() != '}') return {};
  return rest;
}

}  // namespace

room_message read_room_message(std::string_view text) {
  dom::parser own;
  auto& parser = dom_parser_for(text.size(), own);
  dom::object fields;
  if (parser.parse(text.data(), text.size()).get(fields)) return read_room_message_as_json(text);
  room_message out;
  std::optional<dom::element> event;
  size_t members = 0;
  for (auto field : fields) {
    ++members;
    if (field.key == "kind") {
      if (!take_string(field.value, out.kind)) out.kind.clear();
    } else if (field.key == "id") {
      if (!take_string(field.value, out.id)) out.id.clear();
    } else if (field.key == "event") {
      event = field.value;
    }
  }
  if (!event) return out;
  room_event e;
  // The parser is done with before the other way parses the text again.
  if (!read_event_element(*event, text, e)) return read_room_message_as_json(text);
  out.event = std::move(e);
  out.event_text = event_text_of(text, members, out.id, out.kind);
  return out;
}

std::optional<room_event> read_event(std::string_view text) {
  dom::parser own;
  auto& parser = dom_parser_for(text.size(), own);
  dom::element root;
  room_event e;
  if (parser.parse(text.data(), text.size()).get(root) || !read_event_element(root, text, e))
    return std::nullopt;
  return e;
}

std::optional<std::vector<caf::expected<room_event>>> read_event_array(std::string_view text) {
  using events = std::vector<caf::expected<room_event>>;
  auto as_json = [text]() -> std::optional<events> {
    auto doc = parse_json(text, max_room_json_values);
    if (!doc.is_array()) return std::nullopt;
    events out;
    out.reserve(doc.size());
    for (auto& item : doc) out.push_back(decode_event(std::move(item)));
    return out;
  };
  dom::parser own;
  auto& parser = dom_parser_for(text.size(), own);
  dom::array items;
  if (parser.parse(text.data(), text.size()).get(items)) return as_json();
  events out;
  out.reserve(items.size());
  for (auto item : items) {
    room_event e;
    // The parser is done with before the other way parses the text again.
    if (!read_event_element(item, text, e)) return as_json();
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::string> read_message_view(std::string_view text, std::string_view own,
                                             uint64_t cursor) {
  dom::parser own_parser;
  auto& parser = dom_parser_for(text.size(), own_parser);
  dom::element root;
  dom::object fields;
  if (parser.parse(text.data(), text.size()).get(root) || root.get(fields)) return std::nullopt;
  event_field_views strings;
  std::string_view type;
  int64_t ts = 0;
  uint64_t seq = 0;
  dom::object content;
  constexpr unsigned seq_field = 128, content_field = 256;
  unsigned seen = 0;
  for (auto field : fields) {
    auto key = field.key;
    auto value = field.value;
    unsigned bit = 0;
    bool ok = true;
    if (auto named = string_field_named(key)) {
      bit = named->bit, ok = !value.get(strings.*(named->view));
    } else if (key == "type") {
      bit = type_field, ok = !value.get(type);
    } else if (key == "ts") {
      bit = ts_field, ok = !value.get(ts);
    } else if (key == "seq") {
      bit = seq_field, ok = !value.get(seq);
    } else if (key == "content") {
      bit = content_field, ok = !value.get(content);
    }
    // A repeated key is left to parse_event, whose last one wins.
    if (!ok || (seen & bit) != 0) return std::nullopt;
    seen |= bit;
  }
  // Zero (and "-0") in ts or seq: parse_event's typing of those is left to it.
  if (seen != (required_fields | seq_field | content_field) || ts <= 0 || seq == 0 ||
      type != to_string(event_type::message_sent) || check_event_fields(strings))
    return std::nullopt;
  // The content: "text" and any other strings, keys in order (as encode_event writes them,
  // and as local_view_text merges them with the fixed fields).
  using member = std::pair<std::string_view, std::string_view>;
  std::vector<member> members;
  bool has_text = false;
  for (auto field : content) {
    std::string_view value;
    if (field.value.get(value) || (!members.empty() && !(members.back().first < field.key)))
      return std::nullopt;
    has_text = has_text || field.key == "text";
    members.emplace_back(field.key, value);
  }
  if (!has_text) return std::nullopt;
  auto user = localize_user(strings.user, own);
  auto ts_text = std::to_string(ts);
  auto seq_text = std::to_string(seq);
  const auto fixed = local_view_fields(strings, seq_text, ts_text, type, user);
  return write_local_view(
      fixed.data(), fixed.data() + fixed.size(), members, [](const member& m) { return m.first; },
      [](std::string& out, const member& m) { append_json_string(out, m.second); }, cursor,
      text.size() + 32);
}

}  // namespace fedrelay::actors
