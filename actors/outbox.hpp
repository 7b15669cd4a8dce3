// The per-peer durable queue: column `outbox`, key sequenced_key(domain, seq), value an
// envelope of enqueue time, event id and event JSON, or a reference to a room log entry,
// or a run of consecutive room log entries. Every event has a seq of its own; a run's key
// is its first event's seq, and its other events take the seqs after it. The journal
// appends, the peer actor of that domain reads batches and removes what the peer
// acknowledged.
#pragma once

#include <algorithm>
#include <cstddef>
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
  uint64_t key_seq = 0;     // the seq of the key it is stored under (a run's first seq)
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

/// The most events one outbox key holds as a run (encode_outbox_run), so that a run stays
/// far below what a transaction may carry.
inline constexpr size_t max_run_events = 64;

/// The value of an outbox key for a run of 2 to max_run_events events of one room that a
/// host sequenced in a row: `event_ids[i]` is the id of the event under the room log key
/// of `first_log_key`'s prefix with its seq plus i. A batch of a room's events for one
/// member server then costs one outbox key instead of one per event (the queue's inserts,
/// reads and removals were a fifth of a host's CPU with ten member servers).
std::string encode_outbox_run(int64_t enqueued_ms, const std::vector<std::string_view>& event_ids,
                              std::string_view first_log_key);

/// Reads what encode_outbox_value or encode_outbox_reference wrote (seq stays 0, and for
/// a reference `event` stays empty); nullopt when the bytes are neither, or are a run.
std::optional<outbox_entry> decode_outbox_value(std::string_view value);

/// Appends the events stored under outbox key seq `key_seq` to `out`: one, or each event
/// of a run with its own seq and log key. False, appending nothing, when the value is
/// none of the forms above.
bool decode_outbox_entries(std::string_view value, uint64_t key_seq,
                           std::vector<outbox_entry>& out);

/// Gathers the room log references a journal write queues, per domain, into runs: a
/// reference that continues the open run of its domain (same room, the next log seq, the
/// next outbox seq) joins it; anything else writes the open run first. Refers to the ids
/// and keys it is given until it writes them (close, close_all).
class outbox_run_builder {
 public:
  /// Runs of at most `max_events` (1: none; above max_run_events: max_run_events).
  explicit outbox_run_builder(size_t max_events = max_run_events)
      : max_events_(std::clamp<size_t>(max_events, 1, max_run_events)) {}

  /// Queues the reference to `log_key` under outbox seq `seq` of `domain`.
  void add(std::string_view domain, uint64_t seq, std::string_view event_id,
           std::string_view log_key, int64_t enqueued_ms, storage::write_batch& batch);
  /// Puts the open run of `domain` into `batch`, if there is one: before `domain` gets an
  /// entry that is not a reference.
  void close(std::string_view domain, storage::write_batch& batch);
  /// Puts every open run into `batch`.
  void close_all(storage::write_batch& batch);

 private:
  struct open_run {
    std::string domain;
    uint64_t first_seq = 0;
    int64_t enqueued_ms = 0;
    std::string_view first_log_key;
    bool sequenced = false;  // the first log key is a sequenced key (others cannot join)
    std::string_view room;   // its prefix
    uint64_t next_log_seq = 0;
    std::vector<std::string_view> ids;
  };
  void put(const open_run& run, storage::write_batch& batch) const;
  size_t max_events_;
  std::vector<open_run> open_;  // a few domains per write: a vector beats a map
};

/// The key in column `receipts` holding the last seq ever assigned to `domain`'s outbox
/// (8 bytes, big-endian), so seqs never repeat even after the queue ran empty.
std::string outbox_high_water_key(std::string_view domain);

/// What one read of the queue found.
struct outbox_batch {
  std::vector<outbox_entry> entries;  // in seq order
  std::vector<uint64_t> corrupt;      // key seqs whose value is not an envelope, or whose
                                      // events all refer to no room log entry (to drop)
  uint64_t last_seq = 0;              // the last event seq visited (0: none)
  size_t bytes = 0;                   // event bytes in `entries`
  /// Events up to last_seq that are neither in `entries` nor to be read again: those of
  /// the `corrupt` keys, and those of a run left out for want of their log entry. A
  /// count of queued events goes down by these as by the entries' once answered.
  uint64_t passed_over = 0;
};

/// One domain's queue. Cheap to make; holds a reference to the store.
/// REQUIRES: the store outlives the outbox; `domain` has no '\0'.
class outbox {
 public:
  outbox(storage::store& store, std::string domain);

  const std::string& domain() const noexcept { return domain_; }

  /// The entries from `from_seq` (a key's seq) on, in order: at most `max_events`, and no
  /// more event bytes than `max_bytes` except that the first key's events are always
  /// included, so one oversized event cannot stall the queue. A run is taken whole or not
  /// at all, so a batch ends where a key ends. Entries that turn out corrupt count toward
  /// `max_events` too: a batch may then hold fewer, or none, and the caller removes them.
  /// An event of a run whose log entry is gone is left out.
  /// storage::errc::read_failed on I/O errors.
  [[nodiscard]] caf::expected<outbox_batch> read(uint64_t from_seq, size_t max_events,
                                                 size_t max_bytes) const;

  /// Deletes the keys of these key seqs in one write (a buffered write is enough for
  /// acknowledged entries: a resend after a crash is deduplicated by the receiver).
  [[nodiscard]] caf::error remove(const std::vector<uint64_t>& seqs,
                                  storage::durability d = storage::durability::buffered);

  /// The number of queued events (scans the queue: for start-up, not per message).
  [[nodiscard]] caf::expected<uint64_t> count() const;

  /// The first queued event, or nullopt when the queue is empty.
  [[nodiscard]] caf::expected<std::optional<outbox_entry>> oldest() const;

  /// The last queued event's seq, 0 when the queue is empty.
  [[nodiscard]] caf::expected<uint64_t> last_seq() const;

 private:
  storage::store& store_;
  std::string domain_;
};

/// Every domain with at least one queued entry, in order (one seek per domain).
[[nodiscard]] caf::expected<std::vector<std::string>> outbox_domains(const storage::store& store);

}  // namespace fedrelay::actors
