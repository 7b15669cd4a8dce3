#include "net/send_batch_body.hpp"

#include "actors/kept_parsers.hpp"

namespace fedrelay::net {

namespace {

namespace dom = simdjson::dom;

/// Reads one message object into `item`; false when it is not the plain shape.
bool read_item(dom::object object, send_batch_item& item) {
  bool room = false, user = false, text = false, id = false;
  auto take = [](dom::element value, bool& seen, std::string& out, bool may_be_empty) {
    if (seen) return false;  // a key twice: the general path decides which counts
    seen = true;
    std::string_view s;
    if (value.get_string().get(s)) return false;
    if (s.empty() && !may_be_empty) return false;
    out.assign(s);
    return true;
  };
  for (auto [key, value] : object) {
    bool ok = true;
    if (key == "room_id")
      ok = take(value, room, item.room_id, false);
    else if (key == "user")
      ok = take(value, user, item.user, false);
    else if (key == "text")
      ok = take(value, text, item.text, false);
    else if (key == "id")
      ok = take(value, id, item.id, false);  // "" is refused on the general path
    if (!ok) return false;
  }
  return room && user && text;
}

}  // namespace

std::optional<std::vector<send_batch_item>> read_plain_send_batch(std::string_view body,
                                                                  size_t max_messages) {
  // The DOM parser, not the on-demand one: it checks the whole text, members passed over
  // included, so nothing the general path would refuse gets through here.
  dom::parser own;
  auto& parser = actors::dom_parser_for(body.size(), own);
  dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc)) return std::nullopt;
  dom::object top;
  if (doc.get_object().get(top)) return std::nullopt;
  std::optional<dom::array> array;
  for (auto [key, value] : top) {
    if (key != "messages") continue;
    if (array) return std::nullopt;  // "messages" twice
    dom::array a;
    if (value.get_array().get(a)) return std::nullopt;
    array = a;
  }
  if (!array || array->size() == 0 || array->size() > max_messages) return std::nullopt;
  std::vector<send_batch_item> messages;
  messages.reserve(array->size());
  for (auto element : *array) {
    dom::object object;
    if (element.get_object().get(object)) return std::nullopt;
    if (!read_item(object, messages.emplace_back())) return std::nullopt;
  }
  return messages;
}

}  // namespace fedrelay::net
