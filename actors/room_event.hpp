// Room events (DESIGN.md section 3): the signed JSON objects a room is made of, the rules on
// their fields, the forms of users and ids, and the envelopes rooms exchange between servers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "crypto/identity.hpp"

namespace fedrelay::actors {

/// The event types; to_string gives the wire name ("message.sent", ...).
enum class event_type : uint8_t {
  room_created,
  user_invited,
  user_joined,
  user_left,
  user_removed,
  role_changed,
  message_sent,
  message_edited,
  message_deleted,
  reaction_set,
  reaction_unset,
  read_receipt,
  notification,
  user_muted,
  user_unmuted,
  file_shared,
  room_deleted,
};

std::string_view to_string(event_type t);

/// The type of a wire name; nullopt for a name that is not one.
std::optional<event_type> parse_event_type(std::string_view name);

/// One event. On the wire: {"id","type","room_id","origin","user","ts","content","sig"}
/// plus "seq" once the host sequenced it.
struct room_event {
  std::string id;  // "<local part>:<origin>"
  event_type type = event_type::message_sent;
  std::string room_id;                                // "<32 hex>:<host>"
  std::string origin;                                 // the domain whose server signed the event
  std::string user;                                   // the acting user, always "name@domain"
  int64_t ts = 0;                                     // Unix milliseconds at the origin
  nlohmann::json content = nlohmann::json::object();  // the type's fields (content_fields)
  std::string sig;   // base64 Ed25519 signature over canonical_form(); empty: unsigned
  uint64_t seq = 0;  // the room's sequence number; 0 until sequenced
};

/// The wire object: "sig" when signed, "seq" when sequenced.
nlohmann::json to_json(const room_event& e);

/// to_json as compact text.
std::string encode_event(const room_event& e);

/// Parses a wire event and checks every field: id of the form "<local>:<origin>", a room id,
/// a user "name@domain", a known type, the content of that type, a signature.
/// errc::bad_request naming the first field that is wrong.
[[nodiscard]] caf::expected<room_event> decode_event(const nlohmann::json& doc);
/// The same, taking the content from `doc` instead of copying it.
[[nodiscard]] caf::expected<room_event> decode_event(nlohmann::json&& doc);
/// decode_event of the text, read straight from simdjson's DOM where it can be
/// (event_reader.hpp).
[[nodiscard]] caf::expected<room_event> parse_event(std::string_view text);

/// decode_event's checks of the fields other than the type and the content: the origin a
/// domain, the id "<local>:<origin>", the room id, the user "name@domain", a signature.
[[nodiscard]] caf::error check_event_fields(const room_event& e);
/// The same checks of the fields as a reader has them, before an event is made of them.
struct event_field_views {
  std::string_view id, origin, room_id, user, sig;
};
[[nodiscard]] caf::error check_event_fields(const event_field_views& f);

/// What the origin signs: the wire object without "sig" and "seq", dumped compactly
/// (nlohmann objects keep their keys sorted, so the text is deterministic).
std::string canonical_form(const room_event& e);

/// Signs `e` (sets e.sig) with the origin server's identity.
void sign_event(room_event& e, const crypto::identity& id);

/// Events signed together in a group: at most this many share one Ed25519 signature, so
/// each carries an audit path of at most four hashes.
inline constexpr size_t max_signing_group = 16;

/// Signs `events` as sign_event would, in groups of max_signing_group: each group's
/// events share one signature over a Merkle tree of their canonical forms, and each
/// event's "sig" is its crypto::batch_proof in text form. A group of one is signed alone.
/// Returns the canonical form of each event, in order (see encode_from_canonical).
std::vector<std::string> sign_events(const std::vector<room_event*>& events,
                                     const crypto::identity& id);

/// encode_event(e) made from `canonical`, canonical_form(e), which is the same text
/// without "seq" and "sig": a host logs each event it has just signed without writing
/// it a second time.
std::string encode_from_canonical(std::string_view canonical, const room_event& e);

/// The content of a local submission, `text` (compact JSON): an object holding only a
/// plain printable-ASCII "text", as every chat.send makes it, is built directly; any other
/// text is parse_json's.
nlohmann::json parse_content(std::string_view text);

/// errc::rejected "bad signature" unless `e.sig` is the signature of `key` over
/// canonical_form(e), or a batch proof leading from it to a root `key` signed.
[[nodiscard]] caf::error verify_event(const room_event& e, const crypto::public_key& key);

/// Checks the content fields of a type: each required field present with its type and
/// allowed values (room_type, role, kind, users as "name@domain", a file id of 64 hex).
/// Fields the type does not name are allowed. errc::bad_request naming the field.
[[nodiscard]] caf::error check_content(event_type t, const nlohmann::json& content);

// -- users and ids -------------------------------------------------------------------------

/// A user name without domain: 1 to 255 bytes, no '@', ':', whitespace or control bytes.
bool valid_user_name(std::string_view name);

/// A domain: 1 to 253 bytes of letters, digits, '-' and '.'.
bool valid_domain(std::string_view domain);

/// Whether `user` is "name@domain" with a valid name and domain.
bool valid_qualified_user(std::string_view user);

/// The domain of "name@domain"; empty when there is no '@'.
std::string_view domain_of_user(std::string_view user);

/// The domain of an event or room id "<local>:<domain>" (after the last ':'); empty when
/// there is no ':'.
std::string_view domain_of_id(std::string_view id);

/// Whether `id` is "<32 lower-case hex>:<domain>".
bool valid_room_id(std::string_view id);

/// A file's media type as it may go into a Content-Type field: "type/subtype" with any
/// parameters, 3 to 255 bytes of printable ASCII (no CR or LF that would end the field
/// and start one of the sender's choosing).
bool valid_media_type(std::string_view mime);

/// The wire form of a user the local API names: "name" becomes "name@own", "name@domain"
/// stays; nullopt when it is neither.
std::optional<std::string> qualify_user(std::string_view user, std::string_view own);

/// The local API's form: "name@own" becomes "name", other users stay qualified.
std::string localize_user(std::string_view user, std::string_view own);

/// A fresh room id hosted by `host`: 128 random bits in hex, ':', host.
std::string make_room_id(std::string_view host);

/// `bytes` random bytes as lower-case hex (ids that need only be unique).
std::string random_hex(size_t bytes);

/// 32 lower-case hex digits that are unique and increase on this node: 48 bits of
/// milliseconds since the epoch, a 32-bit count, 48 random bits. Event ids made of them
/// make the keys derived from an event id (dedup marks, authors) arrive in order, which
/// the store inserts next to the previous key instead of at a random place.
std::string time_ordered_hex();

/// Keeps only the content fields the type names and rewrites those that name users
/// (target, to, with) from the local API's form to the wire form, so what a local server
/// submits is the type's content and nothing else. errc::bad_request when a user field
/// is not a user.
[[nodiscard]] caf::error qualify_content(event_type t, nlohmann::json& content,
                                         std::string_view own);

/// The event as the local server sees it (inbox, rooms.history): a flat object with
/// "type", "room_id", "event_id", "origin", "user", "ts", "seq" (when sequenced) and the
/// content fields, every user in the local API's form.
nlohmann::json local_view(const room_event& e, std::string_view own);
/// dump(local_view(e, own)), byte for byte, written without building the object: every
/// event a node applies goes to its inbox so.
std::string local_view_text(const room_event& e, std::string_view own);

/// Appends `s` to `out` as a JSON string, as dump() writes it.
void append_json_string(std::string& out, std::string_view s);

/// A member of a local view that is not content: its key and its text, written quoted (a
/// string) or as it is (a number).
struct view_field {
  std::string_view key;
  std::string_view value;
  bool quoted;
};

/// The fields of a local view that are not content, in key order as dump() writes them:
/// the event's id, origin and room id from `f`, its `seq` and `ts` as written numbers, its
/// `type`, and `shown_user` (its user as the local server sees it, localize_user).
inline std::array<view_field, 7> local_view_fields(const event_field_views& f, std::string_view seq,
                                                   std::string_view ts, std::string_view type,
                                                   std::string_view shown_user) {
  return {{{"event_id", f.id, true},
           {"origin", f.origin, true},
           {"room_id", f.room_id, true},
           {"seq", seq, false},
           {"ts", ts, false},
           {"type", type, true},
           {"user", shown_user, true}}};
}

/// A local view as dump() writes it: "cursor" first when there is one, then the fields of
/// [fixed, fixed_end) (in key order) merged with `members` (in key order, each written by
/// `write_value(out, member)` under `key_of(member)`); a member gives way to the fixed
/// field of its name.
template <class Members, class KeyOf, class WriteValue>
std::string write_local_view(const view_field* fixed, const view_field* fixed_end,
                             const Members& members, KeyOf&& key_of, WriteValue&& write_value,
                             std::optional<uint64_t> cursor, size_t size_hint) {
  std::string out;
  out.reserve(size_hint);
  out += '{';
  bool first = true;
  auto key = [&out, &first](std::string_view name) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
  };
  if (cursor) {
    key("cursor");
    out += std::to_string(*cursor);
  }
  auto next = fixed;
  auto write_fixed = [&] {
    key(next->key);
    if (next->quoted)
      append_json_string(out, next->value);
    else
      out.append(next->value);
    ++next;
  };
  for (const auto& member : members) {
    std::string_view name = key_of(member);
    while (next != fixed_end && next->key < name) write_fixed();
    if (next != fixed_end && next->key == name) continue;  // the fixed field wins
    key(name);
    write_value(out, member);
  }
  while (next != fixed_end) write_fixed();
  out += '}';
  return out;
}

// -- federation messages -------------------------------------------------------------------
//
// Rooms travel as the events of transactions, each a JSON object with a "kind" and an "id"
// unique per message, so the receiver drops only true repeats (an event and a state by
// their seq, the other kinds by their id):
//   {"kind":"submit","id":"submit:<room>:<event id>","event":{...}}     member -> host
//   {"kind":"event","id":"event:<room>:<event id>","event":{...,"seq"}}  host -> members
//   {"kind":"room.state","id":"state:<room>:<seq>","room_id","seq","state":{...}}
//                                                                        host -> new member
//   {"kind":"rejected","id":"rejected:<room>:<event id>","room_id","event_id","user",
//    "reason"}                                                           host -> submitter

inline constexpr std::string_view submit_kind = "submit";
inline constexpr std::string_view event_kind = "event";
inline constexpr std::string_view state_kind = "room.state";
inline constexpr std::string_view rejected_kind = "rejected";

std::string submit_message_id(std::string_view room_id, std::string_view event_id);
std::string event_message_id(std::string_view room_id, std::string_view event_id);
std::string state_message_id(std::string_view room_id, uint64_t seq);
std::string rejected_message_id(std::string_view room_id, std::string_view event_id);

std::string submit_message(const room_event& e);
std::string event_message(const room_event& e);
/// The same from the message id (event_message_id) and the event as the room log holds it
/// (encode_event): how an outbox reference to the log becomes the message again.
std::string event_message(std::string_view message_id, std::string_view encoded);
std::string state_message(std::string_view room_id, uint64_t seq, const nlohmann::json& state);
std::string rejected_message(std::string_view room_id, std::string_view event_id,
                             std::string_view user, std::string_view reason);

/// Compact JSON text that never throws on bad UTF-8 (replaced by U+FFFD): byte for byte
/// nlohmann's dump(-1, ' ', false, replace), with plain ASCII strings copied instead of
/// escaped byte by byte.
std::string dump(const nlohmann::json& doc);

/// The string at `key` of `doc`, or "" when `doc` is not an object or has no string there:
/// for JSON from peers, which may hold anything (nlohmann's value() would throw).
std::string string_at(const nlohmann::json& doc, std::string_view key);

/// The string content field `field` of `e` (string_at of its content).
std::string content_text(const room_event& e, std::string_view field);

}  // namespace fedrelay::actors
