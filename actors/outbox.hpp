// The per-peer durable queue: column `outbox`, key sequenced_key(domain, seq), value an
// envelope of enqueue time, event id and event JSON. The journal appends, the peer actor
// of that domain reads batches and removes what the peer acknowledged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/store.hpp"

namespace fedrelay::actors {

/// One queued event.
struct outbox_entry {
  uint64_t seq = 0;
  int64_t enqueued_ms = 0;  // Unix milliseconds when the journal wrote it
  std::string event_id;     // the event's "id", kept beside it so senders need not parse
  std::string event;        // a compact JSON object (outbox::read fills it for a reference)
  std::string log_key;      // for a reference: the room log key of the event
};

/// The value of an outbox key: 8-byte big-endian enqueue time, 4-byte big-endian length
/// of the event id, the event id, then the event JSON.
std::string encode_outbox_value(int64_t enqueued_ms, std::string_view event_id,
                                std::string_view event);

/// The value of an outbox key for a host's sequenced event that is in its room log (column
/// room_log, key `log_key`): as encode_outbox_value, with a 0x01 byte and the log key in
/// place of the JSON. A room's event goes to every member server, and a copy in each
/// outbox cost as many writes of the whole event; outbox::read rebuilds the message.
std::string encode_outbox_reference(int64_t enqueued_ms, std::string_view event_id,
                                    std::string_view log_key);

/// Reads what encode_outbox_value or encode_outbox_reference wrote (seq stays 0, and for
/// a reference `event` stays empty); nullopt when the bytes are neither.
std::optional<outbox_entry> decode_outbox_value(std::string_view value);

/// The key in column `receipts` holding the last seq ever assigned to `domain`'s outbox
/// (8 bytes, big-endian), so seqs never repeat even after the queue ran empty.
std::string outbox_high_water_key(std::string_view domain);

/// What one read of the queue found.
struct outbox_batch {
  std::vector<outbox_entry> entries;  // in seq order
  std::vector<uint64_t> corrupt;      // seqs whose value is not an envelope, or that refer
                                      // to no room log entry (to drop)
  uint64_t last_seq = 0;              // the last seq visited (0: none)
  size_t bytes = 0;                   // event bytes in `entries`
};

/// One domain's queue. Cheap to make; holds a reference to the store.
/// REQUIRES: the store outlives the outbox; `domain` has no '\0'.
class outbox {
 public:
  outbox(storage::store& store, std::string domain);

  const std::string& domain() const noexcept { return domain_; }

  /// The entries from `from_seq` on, in order: at most `max_events`, and no more event
  /// bytes than `max_bytes` except that the first entry is always included, so one
  /// oversized event cannot stall the queue. Entries that turn out corrupt count toward
  /// `max_events` too: a batch may then hold fewer, or none, and the caller removes them.
  /// storage::errc::read_failed on I/O errors.
  [[nodiscard]] caf::expected<outbox_batch> read(uint64_t from_seq, size_t max_events,
                                                 size_t max_bytes) const;

  /// Deletes these seqs in one write (a buffered write is enough for acknowledged
  /// entries: a resend after a crash is deduplicated by the receiver).
  [[nodiscard]] caf::error remove(const std::vector<uint64_t>& seqs,
                                  storage::durability d = storage::durability::buffered);

  /// The number of queued entries (scans the queue: for start-up, not per message).
  [[nodiscard]] caf::expected<uint64_t> count() const;

  /// The first queued entry, or nullopt when the queue is empty.
  [[nodiscard]] caf::expected<std::optional<outbox_entry>> oldest() const;

  /// The last queued seq, 0 when the queue is empty.
  [[nodiscard]] caf::expected<uint64_t> last_seq() const;

 private:
  storage::store& store_;
  std::string domain_;
};

/// Every domain with at least one queued entry, in order (one seek per domain).
[[nodiscard]] caf::expected<std::vector<std::string>> outbox_domains(const storage::store& store);

}  // namespace fedrelay::actors
