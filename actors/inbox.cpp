#include "actors/inbox.hpp"

namespace fedrelay::actors {
namespace {

// A stored event is a JSON object and starts with '{'; a reference starts with this byte,
// which no JSON text does.
constexpr char reference_mark = '\x01';

}  // namespace

std::string with_cursor(std::string_view event, uint64_t cursor) {
  std::string out = "{\"cursor\":" + std::to_string(cursor);
  out.reserve(out.size() + event.size() + 1);
  auto rest = event.substr(1);
  auto first = rest.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && rest[first] != '}') out += ',';  // not "{}"
  out.append(rest);
  return out;
}

std::string encode_inbox_reference(std::string_view log_key) {
  std::string out(1, reference_mark);
  out.append(log_key);
  return out;
}

std::optional<std::string_view> inbox_reference(std::string_view value) {
  if (value.empty() || value.front() != reference_mark) return std::nullopt;
  return value.substr(1);
}

}  // namespace fedrelay::actors
