#include "actors/inbox.hpp"

#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

// A stored event is a JSON object and starts with '{'; a reference starts with one of
// these bytes, which no JSON text does. Earlier versions referred to large events of any
// type with the first; the second marks a reference to a message, the only kind written
// now, which the files actor's reads pass over (local_bridge_actor.hpp, fetch_whole_atom).
constexpr char any_event_mark = '\x01';
constexpr char message_mark = '\x02';

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
  std::string out(1, message_mark);
  out.append(log_key);
  return out;
}

std::optional<std::string_view> inbox_reference(std::string_view value) {
  if (value.empty() || (value.front() != message_mark && value.front() != any_event_mark))
    return std::nullopt;
  return value.substr(1);
}

bool is_message_reference(std::string_view value) {
  return !value.empty() && value.front() == message_mark;
}

caf::expected<uint64_t> last_inbox_cursor(const storage::store& store) {
  auto last = store.last_in_range(storage::column::inbox, "", "");
  if (!last) return last.error();
  return *last ? storage::decode_u64((*last)->first).value_or(0) : 0;
}

}  // namespace fedrelay::actors
