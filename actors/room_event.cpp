#include "actors/room_event.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <iterator>
#include <random>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "actors/errc.hpp"
#include "actors/event_reader.hpp"
#include "actors/json_parse.hpp"
#include "actors/wall_clock.hpp"
#include "crypto/batch_signature.hpp"
#include "crypto/keys.hpp"
#include "storage/file_store.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 17> type_names = {
    "room.created",   "user.invited", "user.joined",    "user.left",       "user.removed",
    "role.changed",   "message.sent", "message.edited", "message.deleted", "reaction.set",
    "reaction.unset", "read.receipt", "notification",   "user.muted",      "user.unmuted",
    "file.shared",    "room.deleted",
};

enum class field_kind { text, nonempty_text, user, room_type, role, notice_kind, file_id, size };

struct field {
  std::string_view name;
  field_kind kind;
  bool required = true;
};

/// The content fields of each type (room.created's "with" is checked with the room type).
std::vector<field> fields_of(event_type t) {
  switch (t) {
    case event_type::room_created:
      return {{"name", field_kind::text},
              {"room_type", field_kind::room_type},
              {"with", field_kind::user, false}};
    case event_type::user_invited:
    case event_type::user_removed:
    case event_type::user_muted:
    case event_type::user_unmuted:
      return {{"target", field_kind::user}};
    case event_type::role_changed:
      return {{"target", field_kind::user}, {"role", field_kind::role}};
    case event_type::message_sent:
      return {{"text", field_kind::text}};
    case event_type::message_edited:
      return {{"target", field_kind::nonempty_text}, {"text", field_kind::text}};
    case event_type::message_deleted:
      return {{"target", field_kind::nonempty_text}};
    case event_type::reaction_set:
    case event_type::reaction_unset:
      return {{"target", field_kind::nonempty_text}, {"emoji", field_kind::nonempty_text}};
    case event_type::read_receipt:
      return {{"up_to", field_kind::nonempty_text}};
    case event_type::notification:
      return {
          {"to", field_kind::user}, {"kind", field_kind::notice_kind}, {"text", field_kind::text}};
    case event_type::file_shared:
      return {{"file_id", field_kind::file_id},
              {"name", field_kind::text},
              {"mime", field_kind::text},
              {"size", field_kind::size}};
    case event_type::user_joined:
    case event_type::user_left:
    case event_type::room_deleted:
      return {};
  }
  return {};
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool one_of(const std::string& value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

[[nodiscard]] caf::error bad(const std::string& what) {
  return caf::make_error(errc::bad_request, what);
}

[[nodiscard]] caf::error check_field(const field& f, const json& value) {
  auto name = "content." + std::string{f.name};
  if (f.kind == field_kind::size) {
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
      return bad(name + " must be a non-negative integer");
    return {};
  }
  if (!value.is_string()) return bad(name + " must be a string");
  const auto& s = value.get_ref<const std::string&>();
  switch (f.kind) {
    case field_kind::text:
      return {};
    case field_kind::nonempty_text:
      if (s.empty()) return bad(name + " must not be empty");
      return {};
    case field_kind::user:
      if (!valid_qualified_user(s)) return bad(name + " must be a user name@domain");
      return {};
    case field_kind::room_type:
      if (!one_of(s, {"public", "private", "broadcast", "direct"}))
        return bad(name + " must be public, private, broadcast or direct");
      return {};
    case field_kind::role:
      if (!one_of(s, {"owner", "moderator", "member"}))
        return bad(name + " must be owner, moderator or member");
      return {};
    case field_kind::notice_kind:
      if (!one_of(s, {"mention", "alert"})) return bad(name + " must be mention or alert");
      return {};
    case field_kind::file_id:
      if (!storage::file_store::valid_id(s)) return bad(name + " must be 64 lower-case hex digits");
      return {};
    case field_kind::size:
      break;
  }
  return {};
}

/// Whether content field `name` of type `t` names a user.
bool is_user_field(event_type t, std::string_view name) {
  for (const auto& f : fields_of(t))
    if (f.name == name) return f.kind == field_kind::user;
  return false;
}

template <class T>
[[nodiscard]] caf::error take(const json& doc, std::string_view key, T& out) {
  auto i = doc.find(key);
  if (i == doc.end()) return bad("missing \"" + std::string{key} + "\"");
  if constexpr (std::is_same_v<T, std::string>) {
    if (!i->is_string()) return bad("\"" + std::string{key} + "\" must be a string");
    out = i->template get<std::string>();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (!i->is_number_integer()) return bad("\"" + std::string{key} + "\" must be an integer");
    out = i->template get<int64_t>();
  } else {
    if (!i->is_number_unsigned()) return bad("\"" + std::string{key} + "\" must be unsigned");
    out = i->template get<uint64_t>();
  }
  return {};
}

}  // namespace

std::string_view to_string(event_type t) {
  return type_names[static_cast<size_t>(t)];
}

std::optional<event_type> parse_event_type(std::string_view name) {
  for (size_t i = 0; i < type_names.size(); ++i)
    if (type_names[i] == name) return static_cast<event_type>(i);
  return std::nullopt;
}

std::string content_text(const room_event& e, std::string_view field) {
  return string_at(e.content, field);
}

std::string string_at(const json& doc, std::string_view key) {
  if (!doc.is_object()) return {};
  auto i = doc.find(key);
  return i != doc.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

json to_json(const room_event& e) {
  json doc = {{"id", e.id},           {"type", to_string(e.type)},
              {"room_id", e.room_id}, {"origin", e.origin},
              {"user", e.user},       {"ts", e.ts},
              {"content", e.content}};
  if (!e.sig.empty()) doc["sig"] = e.sig;
  if (e.seq > 0) doc["seq"] = e.seq;
  return doc;
}

namespace {

/// nlohmann's compact text, invalid UTF-8 replaced: what dump() must equal byte for byte.
std::string nlohmann_dump(const json& doc) {
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// Whether a JSON string holds `s` as it is: printable ASCII without '"' and '\\'. Sixteen
/// bytes at a time, as every string a node writes is checked (a byte at a time this was
/// 4 % of each node's CPU).
bool plain_ascii(std::string_view s) {
  const char* p = s.data();
  const char* end = p + s.size();
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; end - p >= 16; p += 16) {
    auto v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // A signed compare: bytes from 0x80 up are negative, so below ' ' too.
    auto bad = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)),
                            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (_mm_movemask_epi8(bad) != 0) return false;
  }
#endif
  return std::all_of(p, end, [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

/// Appends `s` as a JSON string exactly as dump() writes it: printable ASCII without '"'
/// and '\\' is copied as it is, anything else goes through nlohmann's own serializer.
void append_string(std::string& out, std::string_view s) {
  if (!plain_ascii(s)) {
    out += nlohmann_dump(json(s));
    return;
  }
  out += '"';
  out.append(s);
  out += '"';
}

/// Appends `v` as dump() writes it: objects (in nlohmann's key order), arrays and strings
/// here, so a long plain text is copied instead of escaped byte by byte (nlohmann's
/// escaping was a fifth of a node's CPU with 4 KiB texts); numbers, booleans and null
/// through dump().
void append_value(std::string& out, const json& v) {
  if (v.is_string()) {
    append_string(out, v.get_ref<const std::string&>());
  } else if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : v.items()) {
      if (!first) out += ',';
      first = false;
      append_string(out, key);
      out += ':';
      append_value(out, value);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& value : v) {
      if (!first) out += ',';
      first = false;
      append_value(out, value);
    }
    out += ']';
  } else {
    out += nlohmann_dump(v);
  }
}

/// About how many bytes the text of `content` takes (its strings exactly, anything else
/// guessed), so a text written with it grows once instead of doubling as it is written.
size_t content_size_hint(const json& content) {
  if (!content.is_object()) return 32;
  size_t size = 2;
  for (const auto& [key, value] : content.items())
    size += key.size() + 4 + (value.is_string() ? value.get_ref<const std::string&>().size() : 32);
  return size;
}

/// The wire object of `e` as dump(to_json(e)) writes it (keys sorted, compact), without
/// building the JSON object: signing and storing each event did that twice, about a
/// tenth of a node's CPU. `with_sig_and_seq` false gives the canonical form.
std::string write_event(const room_event& e, bool with_sig_and_seq) {
  std::string out;
  out.reserve(128 + content_size_hint(e.content) + e.id.size() + e.origin.size() +
              e.room_id.size() + e.sig.size() + e.user.size());
  out += R"({"content":)";
  append_value(out, e.content);
  out += R"(,"id":)";
  append_string(out, e.id);
  out += R"(,"origin":)";
  append_string(out, e.origin);
  out += R"(,"room_id":)";
  append_string(out, e.room_id);
  if (with_sig_and_seq && e.seq > 0) {
    out += R"(,"seq":)";
    out += std::to_string(e.seq);
  }
  if (with_sig_and_seq && !e.sig.empty()) {
    out += R"(,"sig":)";
    append_string(out, e.sig);
  }
  out += R"(,"ts":)";
  out += std::to_string(e.ts);
  out += R"(,"type":)";
  append_string(out, to_string(e.type));
  out += R"(,"user":)";
  append_string(out, e.user);
  out += '}';
  return out;
}

}  // namespace

std::string dump(const json& doc) {
  std::string out;
  out.reserve(content_size_hint(doc));
  append_value(out, doc);
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  append_string(out, s);
}

std::string encode_event(const room_event& e) {
  return write_event(e, true);
}

caf::error check_event_fields(const event_field_views& f) {
  if (!valid_domain(f.origin)) return bad("\"origin\" is not a domain");
  if (f.id.size() > 512 || domain_of_id(f.id) != f.origin || f.id.size() == f.origin.size() + 1)
    return bad("event id " + std::string{f.id} +
               " is not of the form <local>:" + std::string{f.origin});
  if (!valid_room_id(f.room_id)) return bad("\"room_id\" is not <32 hex>:<domain>");
  if (!valid_qualified_user(f.user)) return bad("\"user\" is not name@domain");
  if (f.sig.empty()) return bad("\"sig\" is empty");
  return {};
}

caf::error check_event_fields(const room_event& e) {
  return check_event_fields(event_field_views{e.id, e.origin, e.room_id, e.user, e.sig});
}

namespace {

/// decode_event's checks of every field but the content, which `doc` still holds.
caf::expected<room_event> decode_event_fields(const json& doc) {
  if (!doc.is_object()) return bad("an event must be a JSON object");
  room_event e;
  std::string type;
  if (auto err = take(doc, "id", e.id)) return err;
  if (auto err = take(doc, "type", type)) return err;
  if (auto err = take(doc, "room_id", e.room_id)) return err;
  if (auto err = take(doc, "origin", e.origin)) return err;
  if (auto err = take(doc, "user", e.user)) return err;
  if (auto err = take(doc, "ts", e.ts)) return err;
  if (auto err = take(doc, "sig", e.sig)) return err;
  if (doc.contains("seq"))
    if (auto err = take(doc, "seq", e.seq)) return err;
  auto t = parse_event_type(type);
  if (!t) return bad("unknown event type \"" + type + "\"");
  e.type = *t;
  if (auto err = check_event_fields(e)) return err;
  auto content = doc.find("content");
  if (content == doc.end() || !content->is_object())
    return bad("\"content\" must be a JSON object");
  return e;
}

/// `e`, its fields checked, with its content, checked for its type.
caf::expected<room_event> with_content(room_event e, json content) {
  e.content = std::move(content);
  if (auto err = check_content(e.type, e.content)) return err;
  return e;
}

}  // namespace

caf::expected<room_event> decode_event(const json& doc) {
  auto e = decode_event_fields(doc);
  return e ? with_content(std::move(*e), doc["content"]) : e;
}

caf::expected<room_event> decode_event(json&& doc) {
  auto e = decode_event_fields(doc);
  return e ? with_content(std::move(*e), std::move(doc["content"])) : e;
}

caf::expected<room_event> parse_event(std::string_view text) {
  if (auto e = read_event(text)) return std::move(*e);
  auto doc = parse_json(text);
  if (doc.is_discarded()) return bad("an event is not JSON");
  return decode_event(std::move(doc));
}

std::string canonical_form(const room_event& e) {
  return write_event(e, false);
}

void sign_event(room_event& e, const crypto::identity& id) {
  e.sig = crypto::signature_to_base64(id.sign(canonical_form(e)));
}

std::vector<std::string> sign_events(const std::vector<room_event*>& events,
                                     const crypto::identity& id) {
  std::vector<std::string> all;
  all.reserve(events.size());
  for (size_t first = 0; first < events.size(); first += max_signing_group) {
    auto end = std::min(events.size(), first + max_signing_group);
    std::vector<std::string> forms;
    forms.reserve(end - first);
    for (auto i = first; i < end; ++i) forms.push_back(canonical_form(*events[i]));
    if (end - first == 1) {
      events[first]->sig = crypto::signature_to_base64(id.sign(forms.front()));
    } else {
      auto proofs = crypto::to_strings(crypto::sign_batch(id, forms));
      for (auto i = first; i < end; ++i) events[i]->sig = std::move(proofs[i - first]);
    }
    std::move(forms.begin(), forms.end(), std::back_inserter(all));
  }
  return all;
}

std::string encode_from_canonical(std::string_view canonical, const room_event& e) {
  // write_event puts "seq" and "sig" between "room_id" and "ts"; nothing after "ts" (the
  // type, a user name) can hold the quote that marker begins with.
  auto at = canonical.rfind(R"(,"ts":)");
  if (at == std::string_view::npos) return encode_event(e);
  std::string out;
  out.reserve(canonical.size() + e.sig.size() + 32);
  out.append(canonical.substr(0, at));
  if (e.seq > 0) {
    out += R"(,"seq":)";
    out += std::to_string(e.seq);
  }
  if (!e.sig.empty()) {
    out += R"(,"sig":)";
    append_string(out, e.sig);
  }
  out.append(canonical.substr(at));
  return out;
}

json parse_content(std::string_view text) {
  constexpr std::string_view head = R"({"text":")", tail = R"("})";
  if (text.size() >= head.size() + tail.size() && text.substr(0, head.size()) == head &&
      text.substr(text.size() - tail.size()) == tail) {
    auto value = text.substr(head.size(), text.size() - head.size() - tail.size());
    if (plain_ascii(value)) {
      // Not json{{"text", ...}}: nlohmann's initializer lists copy every value they hold.
      json content = json::object();
      content["text"] = std::string{value};
      return content;
    }
  }
  return parse_json(text);
}

caf::error verify_event(const room_event& e, const crypto::public_key& key) {
  if (crypto::is_batch_proof(e.sig)) {
    auto proof = crypto::parse_batch_proof(e.sig);
    if (!proof || crypto::verify_batch(key, canonical_form(e), *proof))
      return caf::make_error(errc::rejected, "bad signature");
    return {};
  }
  auto sig = crypto::signature_from_base64(e.sig);
  if (!sig || crypto::verify(key, canonical_form(e), *sig))
    return caf::make_error(errc::rejected, "bad signature");
  return {};
}

caf::error check_content(event_type t, const json& content) {
  if (!content.is_object()) return bad("content must be a JSON object");
  for (const auto& f : fields_of(t)) {
    auto i = content.find(f.name);
    if (i == content.end()) {
      if (f.required) return bad("missing content." + std::string{f.name});
      continue;
    }
    if (auto err = check_field(f, *i)) return err;
  }
  if (t == event_type::room_created) {
    bool direct = content["room_type"] == "direct";
    if (direct != content.contains("with"))
      return bad(direct ? "missing content.with: a direct room names its second user"
                        : "content.with is only for direct rooms");
  }
  return {};
}

// -- users and ids -------------------------------------------------------------------------

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return c == '@' || c == ':' || u <= 0x20 || u == 0x7f;
  });
}

bool valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  // Labels of 1 to 63 letters, digits and hyphens, no hyphen first or last (RFC 1123): a
  // name such as ".." or "-.-" can be no server's, and would only cost a lookup. One pass:
  // every event names three domains.
  size_t label = 0;
  char prev = '.';
  for (char c : domain) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if ((!alnum && (c != '-' || label == 0)) || ++label > 63) return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

bool valid_qualified_user(std::string_view user) {
  auto at = user.find('@');
  if (at == std::string_view::npos) return false;
  return valid_user_name(user.substr(0, at)) && valid_domain(user.substr(at + 1));
}

std::string_view domain_of_user(std::string_view user) {
  auto at = user.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : user.substr(at + 1);
}

std::string_view domain_of_id(std::string_view id) {
  auto colon = id.rfind(':');
  return colon == std::string_view::npos ? std::string_view{} : id.substr(colon + 1);
}

bool valid_room_id(std::string_view id) {
  return id.size() > 33 && id[32] == ':' && is_hex(id.substr(0, 32)) && valid_domain(id.substr(33));
}

bool valid_media_type(std::string_view mime) {
  auto slash = mime.find('/');
  return mime.size() >= 3 && mime.size() <= 255 && slash != 0 && slash != std::string_view::npos &&
         slash + 1 < mime.size() &&
         std::all_of(mime.begin(), mime.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::optional<std::string> qualify_user(std::string_view user, std::string_view own) {
  if (valid_user_name(user)) return std::string{user} + "@" + std::string{own};
  if (valid_qualified_user(user)) return std::string{user};
  return std::nullopt;
}

std::string localize_user(std::string_view user, std::string_view own) {
  if (domain_of_user(user) == own && user.size() > own.size() + 1)
    return std::string{user.substr(0, user.size() - own.size() - 1)};
  return std::string{user};
}

std::string random_hex(size_t bytes) {
  // Ids only need to be unique, not secret: a generator per thread seeded from the OS
  // source, as asking the OS for every id took 1.7 % of a sending host's CPU.
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64{seed};
  }();
  std::string raw(bytes, '\0');
  for (size_t i = 0; i < bytes; i += 8) {
    auto word = generator();
    for (size_t k = 0; k < 8 && i + k < bytes; ++k)
      raw[i + k] = static_cast<char>((word >> (8 * k)) & 0xff);
  }
  return crypto::to_hex(raw);
}

std::string time_ordered_hex() {
  // The count starts at a random value below 2^31 so two processes started in the same
  // millisecond differ there too, and it wraps (breaking the order once) only after 2^31
  // ids; within a process it alone keeps the ids of one millisecond apart and in order.
  static std::atomic<uint32_t> count{static_cast<uint32_t>(std::random_device{}() >> 1)};
  auto ms = static_cast<uint64_t>(unix_ms_now());
  auto n = count.fetch_add(1, std::memory_order_relaxed);
  std::string raw(10, '\0');
  for (int i = 0; i < 6; ++i) raw[i] = static_cast<char>((ms >> (8 * (5 - i))) & 0xff);
  for (int i = 0; i < 4; ++i) raw[6 + i] = static_cast<char>((n >> (8 * (3 - i))) & 0xff);
  return crypto::to_hex(raw) + random_hex(6);
}

std::string make_room_id(std::string_view host) {
  return random_hex(16) + ":" + std::string{host};
}

caf::error qualify_content(event_type t, json& content, std::string_view own) {
  if (!content.is_object()) return bad("content must be a JSON object");
  json out = json::object();
  for (const auto& f : fields_of(t)) {
    auto i = content.find(f.name);
    if (i == content.end()) continue;
    if (f.kind == field_kind::user && i->is_string()) {
      auto user = qualify_user(i->get_ref<const std::string&>(), own);
      if (!user) return bad("content." + std::string{f.name} + " is not a user");
      out[std::string{f.name}] = *user;
    } else {
      out[std::string{f.name}] = *i;
    }
  }
  content = std::move(out);
  return {};
}

json local_view(const room_event& e, std::string_view own) {
  json view = json::object();
  for (const auto& [key, value] : e.content.items()) {
    if (value.is_string() && is_user_field(e.type, key))
      view[key] = localize_user(value.get_ref<const std::string&>(), own);
    else
      view[key] = value;
  }
  view["type"] = to_string(e.type);
  view["room_id"] = e.room_id;
  view["event_id"] = e.id;
  view["origin"] = e.origin;
  view["user"] = localize_user(e.user, own);
  view["ts"] = e.ts;
  if (e.seq > 0) view["seq"] = e.seq;
  return view;
}

std::string local_view_text(const room_event& e, std::string_view own) {
  auto user = localize_user(e.user, own);
  auto ts = std::to_string(e.ts);
  auto seq = std::to_string(e.seq);
  auto fixed = local_view_fields(event_field_views{e.id, e.origin, e.room_id, e.user, e.sig}, seq,
                                 ts, to_string(e.type), user);
  // Without a seq the view has none, and a content field "seq" stays.
  auto fixed_end = std::remove_if(fixed.begin(), fixed.end(), [&e](const view_field& f) {
    return f.key == "seq" && e.seq == 0;
  });
  return write_local_view(
      fixed.data(), fixed.data() + (fixed_end - fixed.begin()), e.content.items(),
      [](const auto& member) -> const std::string& { return member.key(); },
      [&](std::string& out, const auto& member) {
        const auto& value = member.value();
        if (value.is_string() && is_user_field(e.type, member.key()))
          append_string(out, localize_user(value.template get_ref<const std::string&>(), own));
        else
          append_value(out, value);
      },
      std::nullopt,
      128 + content_size_hint(e.content) + e.id.size() + e.origin.size() + e.room_id.size() +
          user.size());
}

// -- federation messages -------------------------------------------------------------------

namespace {

std::string message_id(std::string_view kind, std::string_view room_id, std::string_view rest) {
  std::string id{kind};
  id += ':';
  id += room_id;
  id += ':';
  id += rest;
  return id;
}

/// A federation message carrying an encoded event, as dump() would write it.
std::string envelope(std::string_view kind, std::string_view id, std::string_view encoded) {
  std::string out = R"({"event":)";
  out.append(encoded);
  out += R"(,"id":)";
  append_string(out, id);
  out += R"(,"kind":)";
  append_string(out, kind);
  out += '}';
  return out;
}

}  // namespace

std::string submit_message_id(std::string_view room_id, std::string_view event_id) {
  return message_id("submit", room_id, event_id);
}

std::string event_message_id(std::string_view room_id, std::string_view event_id) {
  return message_id("event", room_id, event_id);
}

std::string state_message_id(std::string_view room_id, uint64_t seq) {
  return message_id("state", room_id, std::to_string(seq));
}

std::string rejected_message_id(std::string_view room_id, std::string_view event_id) {
  return message_id("rejected", room_id, event_id);
}

std::string submit_message(const room_event& e) {
  return envelope(submit_kind, submit_message_id(e.room_id, e.id), encode_event(e));
}

std::string event_message(const room_event& e) {
  return event_message(event_message_id(e.room_id, e.id), encode_event(e));
}

std::string event_message(std::string_view message_id, std::string_view encoded) {
  return envelope(event_kind, message_id, encoded);
}

std::string state_message(std::string_view room_id, uint64_t seq, const json& state) {
  return dump({{"kind", state_kind},
               {"id", state_message_id(room_id, seq)},
               {"room_id", room_id},
               {"seq", seq},
               {"state", state}});
}

std::string rejected_message(std::string_view room_id, std::string_view event_id,
                             std::string_view user, std::string_view reason) {
  return dump({{"kind", rejected_kind},
               {"id", rejected_message_id(room_id, event_id)},
               {"room_id", room_id},
               {"event_id", event_id},
               {"user", user},
               {"reason", reason}});
}

}  // namespace fedrelay::actors
