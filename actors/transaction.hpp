// The federation wire format, version 1 (docs/PROTOCOL.md): a transaction is a batch of
// events from one origin to one destination; a receipt answers each event. Both travel
// as JSON sealed with crypto_box between the two nodes' keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace fedrelay::actors {

/// The protocol versions this build speaks; the first is what it sends.
inline constexpr uint32_t protocol_version = 1;
inline const std::vector<uint32_t> supported_versions = {1};

/// HTTP headers of a dispatch request (in clear, outside the sealed body).
inline constexpr std::string_view origin_header = "X-Fedrelay-Origin";
inline constexpr std::string_view version_header = "X-Fedrelay-Version";

/// Paths of the federation API (one place for each).
inline constexpr std::string_view dispatch_path = "/api/v1/federation.events.dispatch";
inline constexpr std::string_view since_path = "/api/v1/federation.events.since";
inline constexpr std::string_view users_search_path = "/api/v1/federation.users.search";
/// The most users one search answers with, here and from a peer.
inline constexpr size_t users_search_limit = 50;
inline constexpr std::string_view files_get_path = "/api/v1/federation.files.get";

/// How many events a member's room holds ahead of a gap (room_context::max_ahead); past
/// that it drops them and fetches them again by catch-up. A host keeps no more than this
/// in flight to a member past the first event of its oldest unacknowledged transaction,
/// whatever its `window` and `batch_max_events`.
inline constexpr size_t member_holds_ahead = 8192;

struct transaction {
  uint32_t version = protocol_version;
  std::string id;                   // "<origin>:<32 hex chars>", unique per origin
  std::string origin;               // sending domain; must equal the origin header
  std::string destination;          // receiving domain; a receiver refuses any other
  int64_t created_ms = 0;           // Unix milliseconds; outside the receiver's window: refused
  std::vector<std::string> events;  // each one JSON object with at least "id"
  // Filled by decode_transaction only (encode reads `events` alone); parallel to `events`,
  // so the receiver needs to parse no event again to route it.
  std::vector<std::string> event_ids;    // each event's "id"
  std::vector<std::string> event_rooms;  // "event"."room_id" of a sequenced room event
                                         // ("kind":"event"); empty for any other event
};

/// One event's fate at the receiver.
struct event_result {
  std::string id;
  bool accepted = false;
  std::string reason;  // why it was refused (empty when accepted)
};

struct receipt {
  uint32_t version = protocol_version;
  std::string transaction_id;
  std::vector<event_result> results;
};

/// Serialises a transaction; the events are embedded as JSON, not re-encoded strings. The
/// text comes after `room_in_front` zero bytes: room to seal it where it lies
/// (crypto::box_key::seal_in_place).
/// REQUIRES: every event is a JSON object (the outbox only holds what the node wrote).
std::string encode_transaction(const transaction& t, size_t room_in_front = 0);

/// Parses what encode_transaction wrote; actors::errc::bad_request naming the field on
/// any malformed, missing or mistyped field, or an event without a string "id"; also on
/// text that is not valid UTF-8 or JSON anywhere, or nests deeper than 64 levels. Each
/// event comes back as its slice of `json` (as sent, not re-serialised), with its id and
/// room in event_ids and event_rooms. With `allocated` (the bytes readable from
/// json.data()) at least transaction_read_padding past the end, the text is read where it
/// lies instead of copied first: a busy peer's transactions run to megabytes.
[[nodiscard]] caf::expected<transaction> decode_transaction(std::string_view json,
                                                            size_t allocated = 0);

/// The bytes past a transaction's text that let decode_transaction read it in place.
inline constexpr size_t transaction_read_padding = 64;

std::string encode_receipt(const receipt& r);
[[nodiscard]] caf::expected<receipt> decode_receipt(std::string_view json);

/// A fresh transaction id for `origin`.
std::string make_transaction_id(const std::string& origin);

/// The longest transaction id decode_transaction takes.
inline constexpr size_t max_transaction_id_bytes = 512;

/// The "id" field of an event JSON, or empty when there is none.
std::string event_id_of(std::string_view event_json);

}  // namespace fedrelay::actors
