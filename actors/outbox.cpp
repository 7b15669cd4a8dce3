// The outbox column seen as one queue per domain. Readers start from a seq rather than
// from the front of the domain's range, so the tombstones of acknowledged entries are
// skipped by the seek instead of being iterated on every read.
#include "actors/outbox.hpp"

#include <algorithm>
#include <limits>

#include "actors/room_event.hpp"
#include "storage/keys.hpp"
#include "storage/sequenced_read.hpp"

namespace fedrelay::actors {
namespace {

constexpr size_t header_size = 8 + 4;
// The shortest run of seqs that remove() deletes as a range (see there).
constexpr size_t min_range_deletion = 64;
// Where the JSON of an event would start ('{'), this byte starts a room log reference.
constexpr char reference_mark = '\x01';
// How many queued entries outbox::read resolves against the room log at a time.
constexpr size_t resolve_chunk = 128;

void append_u32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

uint32_t read_u32(std::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

/// Fills the event of each reference in [first, last) from the room log, leaving it empty
/// when the log has no such entry.
caf::error resolve_references(const storage::store& store, outbox_entry* first,
                              outbox_entry* last) {
  std::vector<std::string_view> keys;
  std::vector<outbox_entry*> referring;
  for (auto* entry = first; entry != last; ++entry) {
    if (entry->log_key.empty()) continue;
    keys.push_back(entry->log_key);
    referring.push_back(entry);
  }
  return storage::read_sequenced(
      store, storage::column::room_log, keys, [&](size_t i, std::string_view value) {
        referring[i]->event = event_message(referring[i]->event_id, value);
      });
}

}  // namespace

std::string encode_outbox_value(int64_t enqueued_ms, std::string_view event_id,
                                std::string_view event) {
  std::string out;
  out.reserve(header_size + event_id.size() + event.size() + 1);
  out += storage::encode_u64(static_cast<uint64_t>(enqueued_ms));
  append_u32(out, static_cast<uint32_t>(event_id.size()));
  out += event_id;
  out += event;
  return out;
}

std::string encode_outbox_reference(int64_t enqueued_ms, std::string_view event_id,
                                    std::string_view log_key) {
  auto out = encode_outbox_value(enqueued_ms, event_id, std::string_view{&reference_mark, 1});
  out += log_key;
  return out;
}

std::optional<outbox_entry> decode_outbox_value(std::string_view value) {
  if (value.size() < header_size) return std::nullopt;
  auto id_size = read_u32(value.substr(8, 4));
  if (value.size() - header_size < id_size) return std::nullopt;
  outbox_entry entry;
  entry.enqueued_ms = static_cast<int64_t>(*storage::decode_u64(value.substr(0, 8)));
  entry.event_id.assign(value.substr(header_size, id_size));
  auto rest = value.substr(header_size + id_size);
  if (rest.empty()) return std::nullopt;
  if (rest.front() == reference_mark) {
    entry.log_key.assign(rest.substr(1));
    if (entry.log_key.empty() || entry.event_id.empty()) return std::nullopt;
  } else {
    entry.event.assign(rest);
  }
  return entry;
}

std::string outbox_high_water_key(std::string_view domain) {
  return storage::joined_key({"outbox.last", domain});
}

outbox::outbox(storage::store& store, std::string domain)
    : store_(store), domain_(std::move(domain)) {}

caf::expected<outbox_batch> outbox::read(uint64_t from_seq, size_t max_events,
                                         size_t max_bytes) const {
  // First the queue's entries, then the room log entries they refer to, read in runs of
  // consecutive seqs: a host's references name its log entries in order, and one scan of
  // a run cost less than a point lookup per entry (5 % of a sending host's CPU).
  std::vector<outbox_entry> queued;
  std::vector<uint64_t> corrupt;
  uint64_t last_visited = 0;
  size_t inline_bytes = 0;
  auto visit = [&](std::string_view key, std::string_view value) {
    auto split = storage::split_sequenced_key(key);
    if (!split) return true;
    last_visited = split->second;
    auto entry = decode_outbox_value(value);
    if (!entry) {
      corrupt.push_back(split->second);
      return true;
    }
    entry->seq = split->second;
    inline_bytes += entry->event.size();
    queued.push_back(std::move(*entry));
    // Entries past max_bytes of inline events would all be left out below.
    return queued.size() < max_events && inline_bytes <= max_bytes;
  };
  if (auto err = store_.scan(storage::column::outbox, storage::sequenced_key(domain_, from_seq),
                             storage::sequenced_end(domain_), 0, visit))
    return err;
  outbox_batch batch;
  batch.last_seq = last_visited;
  // References are resolved a chunk at a time, so a byte bound that large events reach
  // early does not read the log entry of every entry up to max_events.
  bool full = false;
  for (size_t begin = 0; begin < queued.size() && !full; begin += resolve_chunk) {
    auto end = std::min(queued.size(), begin + resolve_chunk);
    if (auto err = resolve_references(store_, queued.data() + begin, queued.data() + end))
      return err;
    for (auto i = begin; i < end && !full; ++i) {
      auto& entry = queued[i];
      if (entry.event.empty()) {  // the journal writes both in one batch: this is damage
        corrupt.push_back(entry.seq);
        continue;
      }
      full = !batch.entries.empty() && batch.bytes + entry.event.size() > max_bytes;
      if (full) break;
      batch.bytes += entry.event.size();
      batch.entries.push_back(std::move(entry));
    }
  }
  // An entry that did not fit was visited but not taken: the batch ends before it.
  if (!batch.entries.empty()) batch.last_seq = batch.entries.back().seq;
  std::sort(corrupt.begin(), corrupt.end());
  if (!batch.entries.empty()) {
    // Only corrupt seqs before the last entry taken were passed over for good.
    auto last = batch.entries.back().seq;
    corrupt.erase(std::lower_bound(corrupt.begin(), corrupt.end(), last), corrupt.end());
  }
  batch.corrupt = std::move(corrupt);
  return batch;
}

caf::error outbox::remove(const std::vector<uint64_t>& seqs, storage::durability d) {
  if (seqs.empty()) return {};
  // Receipts name their seqs in order; a copy is sorted only when they are not.
  std::vector<uint64_t> copy;
  if (!std::is_sorted(seqs.begin(), seqs.end())) {
    copy = seqs;
    std::sort(copy.begin(), copy.end());
  }
  const auto& sorted = copy.empty() ? seqs : copy;
  storage::write_batch batch;
  // A receipt acknowledges a transaction's run of consecutive seqs: a long run goes in
  // one range deletion instead of a tombstone per entry (4.5 % of a sending host's CPU
  // under batched load). Nothing else can be in that range, as the journal gives new
  // entries seqs past the last one. Short runs stay point deletions: each range deletion
  // makes the next read of the queue fragment every range tombstone in the memtable
  // again, and with a receipt per few events that doubled a host's CPU per event.
  for (size_t first = 0; first < sorted.size();) {
    auto last = first;
    while (last + 1 < sorted.size() && sorted[last + 1] == sorted[last] + 1) ++last;
    if (last - first + 1 < min_range_deletion) {
      for (auto k = first; k <= last; ++k)
        batch.del(storage::column::outbox, storage::sequenced_key(domain_, sorted[k]));
    } else {
      auto end = sorted[last] == std::numeric_limits<uint64_t>::max()
                     ? storage::sequenced_end(domain_)
                     : storage::sequenced_key(domain_, sorted[last] + 1);
      batch.del_range(storage::column::outbox, storage::sequenced_from(domain_, sorted[first]),
                      end);
    }
    first = last + 1;
  }
  return store_.write(batch, d);
}

caf::expected<uint64_t> outbox::count() const {
  uint64_t n = 0;
  auto visit = [&n](std::string_view, std::string_view) {
    ++n;
    return true;
  };
  if (auto err = store_.scan(storage::column::outbox, storage::sequenced_begin(domain_),
                             storage::sequenced_end(domain_), 0, visit))
    return err;
  return n;
}

caf::expected<std::optional<outbox_entry>> outbox::oldest() const {
  std::optional<outbox_entry> found;
  auto visit = [&found](std::string_view key, std::string_view value) {
    auto split = storage::split_sequenced_key(key);
    auto entry = decode_outbox_value(value);
    if (!split || !entry) return true;
    entry->seq = split->second;
    found = std::move(*entry);
    return false;
  };
  if (auto err = store_.scan(storage::column::outbox, storage::sequenced_begin(domain_),
                             storage::sequenced_end(domain_), 0, visit))
    return err;
  return found;
}

caf::expected<uint64_t> outbox::last_seq() const {
  auto last = store_.last_in_range(storage::column::outbox, storage::sequenced_begin(domain_),
                                   storage::sequenced_end(domain_));
  if (!last) return last.error();
  if (!*last) return uint64_t{0};
  auto split = storage::split_sequenced_key((*last)->first);
  return split ? split->second : uint64_t{0};
}

caf::expected<std::vector<std::string>> outbox_domains(const storage::store& store) {
  std::vector<std::string> domains;
  std::string from;
  for (;;) {
    std::optional<std::string> key;
    auto visit = [&key](std::string_view k, std::string_view) {
      key = std::string{k};
      return false;
    };
    if (auto err = store.scan(storage::column::outbox, from, {}, 1, visit)) return err;
    if (!key) return domains;
    auto split = storage::split_sequenced_key(*key);
    if (!split) {
      // Not a queue key (nothing writes those): step over it.
      from = *key + '\0';
      continue;
    }
    domains.emplace_back(split->first);
    from = storage::sequenced_end(domains.back());
  }
}

}  // namespace fedrelay::actors
