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
// Where the JSON of an event would start ('{'), this byte starts a room log reference,
// and this one a run of them.
constexpr char reference_mark = '\x01';
constexpr char run_mark = '\x02';
// How many queued entries outbox::read resolves against the room log at a time: at most
// this many, first only a few, then as many as the batch's byte bound still has room
// for at the size of the events taken so far.
constexpr size_t resolve_chunk = 128;
constexpr size_t first_resolve_chunk = 4;

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

// A run, after the header and the first event's id: run_mark, the event count (4 bytes,
// big-endian), the first log key's length (4 bytes) and the key, then each further
// event's id, its length (4 bytes) first.
std::string encode_outbox_run(int64_t enqueued_ms, const std::vector<std::string_view>& event_ids,
                              std::string_view first_log_key) {
  std::string out = encode_outbox_value(enqueued_ms, event_ids.front(), {});
  out.push_back(run_mark);
  append_u32(out, static_cast<uint32_t>(event_ids.size()));
  append_u32(out, static_cast<uint32_t>(first_log_key.size()));
  out += first_log_key;
  for (size_t i = 1; i < event_ids.size(); ++i) {
    append_u32(out, static_cast<uint32_t>(event_ids[i].size()));
    out += event_ids[i];
  }
  return out;
}

namespace {

/// An outbox value split at its header: the enqueue time, the (first) event's id, and
/// what follows them (an event's JSON, or a reference's or a run's mark and the rest).
struct envelope {
  int64_t enqueued_ms = 0;
  std::string_view event_id;
  std::string_view rest;
};

std::optional<envelope> split_envelope(std::string_view value) {
  if (value.size() < header_size) return std::nullopt;
  auto id_size = read_u32(value.substr(8, 4));
  if (value.size() - header_size < id_size) return std::nullopt;
  return envelope{static_cast<int64_t>(*storage::decode_u64(value.substr(0, 8))),
                  value.substr(header_size, id_size), value.substr(header_size + id_size)};
}

/// The one event of a value that is not a run: inline, or a reference.
std::optional<outbox_entry> single_entry(const envelope& env) {
  if (env.rest.empty() || env.rest.front() == run_mark) return std::nullopt;
  outbox_entry entry;
  entry.enqueued_ms = env.enqueued_ms;
  entry.event_id.assign(env.event_id);
  if (env.rest.front() == reference_mark) {
    entry.log_key.assign(env.rest.substr(1));
    if (entry.log_key.empty() || entry.event_id.empty()) return std::nullopt;
  } else {
    entry.event.assign(env.rest);
  }
  return entry;
}

/// Takes a 4-byte length and that many bytes from the front of `rest`.
std::optional<std::string_view> take_sized(std::string_view& rest) {
  if (rest.size() < 4) return std::nullopt;
  auto size = read_u32(rest);
  rest.remove_prefix(4);
  if (rest.size() < size) return std::nullopt;
  auto taken = rest.substr(0, size);
  rest.remove_prefix(size);
  return taken;
}

/// Expands the run of `env` (whose rest starts with run_mark), stored under `key_seq`.
bool decode_run(const envelope& env, uint64_t key_seq, std::vector<outbox_entry>& out) {
  auto rest = env.rest.substr(1);
  if (rest.size() < 4) return false;
  auto count = read_u32(rest);
  rest.remove_prefix(4);
  auto log_key = take_sized(rest);
  if (!log_key || count < 2 || env.event_id.empty()) return false;
  auto split = storage::split_sequenced_key(*log_key);
  if (!split || split->second > std::numeric_limits<uint64_t>::max() - count) return false;
  auto begin = out.size();
  auto room_prefix = split->first;
  for (uint32_t i = 0; i < count; ++i) {
    outbox_entry entry;
    entry.enqueued_ms = env.enqueued_ms;
    entry.key_seq = key_seq;
    entry.seq = key_seq + i;
    if (i == 0) {
      entry.event_id.assign(env.event_id);
    } else if (auto id = take_sized(rest); id && !id->empty()) {
      entry.event_id.assign(*id);
    } else {
      out.resize(begin);
      return false;
    }
    entry.log_key = storage::sequenced_key(room_prefix, split->second + i);
    out.push_back(std::move(entry));
  }
  if (rest.empty()) return true;
  out.resize(begin);
  return false;
}

/// How many events a value holds: a run's count, else 1.
uint64_t events_in(std::string_view value) {
  auto env = split_envelope(value);
  if (!env || env->rest.size() < 5 || env->rest.front() != run_mark) return 1;
  return std::max<uint32_t>(1, read_u32(env->rest.substr(1, 4)));
}

}  // namespace

bool decode_outbox_entries(std::string_view value, uint64_t key_seq,
                           std::vector<outbox_entry>& out) {
  auto env = split_envelope(value);
  if (!env) return false;
  if (!env->rest.empty() && env->rest.front() == run_mark) return decode_run(*env, key_seq, out);
  auto entry = single_entry(*env);
  if (!entry) return false;
  entry->seq = entry->key_seq = key_seq;
  out.push_back(std::move(*entry));
  return true;
}

std::optional<outbox_entry> decode_outbox_value(std::string_view value) {
  auto env = split_envelope(value);
  return env ? single_entry(*env) : std::nullopt;
}

void outbox_run_builder::add(std::string_view domain, uint64_t seq, std::string_view event_id,
                             std::string_view log_key, int64_t enqueued_ms,
                             storage::write_batch& batch) {
  auto split = storage::split_sequenced_key(log_key);
  auto run = std::find_if(open_.begin(), open_.end(),
                          [&](const open_run& r) { return r.domain == domain; });
  if (run != open_.end()) {
    if (split && run->sequenced && split->first == run->room &&
        split->second == run->next_log_seq && seq == run->first_seq + run->ids.size() &&
        run->ids.size() < max_events_) {
      run->ids.push_back(event_id);
      ++run->next_log_seq;
      return;
    }
    put(*run, batch);
    open_.erase(run);
  }
  open_run fresh;
  fresh.domain.assign(domain);
  fresh.first_seq = seq;
  fresh.enqueued_ms = enqueued_ms;
  fresh.first_log_key = log_key;
  fresh.ids.push_back(event_id);
  if (split) {  // else not a sequenced key: nothing joins it
    fresh.sequenced = true;
    fresh.room = split->first;
    fresh.next_log_seq = split->second + 1;
  }
  open_.push_back(std::move(fresh));
}

void outbox_run_builder::close(std::string_view domain, storage::write_batch& batch) {
  auto run = std::find_if(open_.begin(), open_.end(),
                          [&](const open_run& r) { return r.domain == domain; });
  if (run == open_.end()) return;
  put(*run, batch);
  open_.erase(run);
}

void outbox_run_builder::close_all(storage::write_batch& batch) {
  for (const auto& run : open_) put(run, batch);
  open_.clear();
}

void outbox_run_builder::put(const open_run& run, storage::write_batch& batch) const {
  batch.put(storage::column::outbox, storage::sequenced_key(run.domain, run.first_seq),
            run.ids.size() == 1
                ? encode_outbox_reference(run.enqueued_ms, run.ids.front(), run.first_log_key)
                : encode_outbox_run(run.enqueued_ms, run.ids, run.first_log_key));
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
  std::vector<std::pair<uint64_t, uint64_t>> corrupt;  // key seq, events under it
  uint64_t left_out = 0;                               // events of runs taken without them
  uint64_t last_visited = 0;
  size_t inline_bytes = 0;
  auto visit = [&](std::string_view key, std::string_view value) {
    auto split = storage::split_sequenced_key(key);
    if (!split) return true;
    auto before = queued.size();
    if (!decode_outbox_entries(value, split->second, queued)) {
      last_visited = split->second;
      corrupt.emplace_back(split->second, events_in(value));
      return true;
    }
    if (before > 0 && queued.size() > max_events) {
      // A run that does not fit waits for the next batch, whole.
      queued.resize(before);
      return false;
    }
    last_visited = queued.back().seq;
    for (auto i = before; i < queued.size(); ++i) inline_bytes += queued[i].event.size();
    // Entries past max_bytes of inline events would all be left out below.
    return queued.size() < max_events && inline_bytes <= max_bytes;
  };
  if (auto err = store_.scan(storage::column::outbox, storage::sequenced_key(domain_, from_seq),
                             storage::sequenced_end(domain_), 0, visit))
    return err;
  outbox_batch batch;
  batch.last_seq = last_visited;
  uint64_t last_taken = 0;  // the last seq of the last key taken
  // References are resolved a chunk at a time, so a byte bound that large events reach
  // early does not read the log entry of every entry up to max_events. A key's events
  // (one, or a run) are taken together or not at all.
  size_t resolved = 0;
  size_t chunk = first_resolve_chunk;
  for (size_t begin = 0; begin < queued.size();) {
    auto end = begin + 1;
    while (end < queued.size() && queued[end].key_seq == queued[begin].key_seq) ++end;
    while (resolved < end) {
      auto to = std::min(queued.size(), std::max(end, resolved + chunk));
      if (auto err = resolve_references(store_, queued.data() + resolved, queued.data() + to))
        return err;
      resolved = to;
    }
    size_t bytes = 0, present = 0;
    for (auto i = begin; i < end; ++i)
      if (!queued[i].event.empty()) {
        bytes += queued[i].event.size();
        ++present;
      }
    if (present == 0) {  // the journal writes both in one batch: this is damage
      corrupt.emplace_back(queued[begin].key_seq, end - begin);
    } else {
      if (!batch.entries.empty() && batch.bytes + bytes > max_bytes) break;
      batch.bytes += bytes;
      for (auto i = begin; i < end; ++i)
        if (!queued[i].event.empty()) batch.entries.push_back(std::move(queued[i]));
      last_taken = queued[end - 1].seq;
      left_out += (end - begin) - present;
      // A batch of 1 MiB messages holds four: resolving 128 at a time read 128 MiB of
      // the room log for each.
      auto average = batch.bytes / batch.entries.size();
      chunk = std::clamp<size_t>((max_bytes - std::min(batch.bytes, max_bytes)) / (average + 1) + 1,
                                 1, resolve_chunk);
    }
    begin = end;
  }
  // A key that did not fit was visited but not taken: the batch ends before it.
  if (!batch.entries.empty()) batch.last_seq = last_taken;
  std::sort(corrupt.begin(), corrupt.end());
  batch.passed_over = left_out;
  for (const auto& [key_seq, events] : corrupt) {
    // Only corrupt keys before the last one taken were passed over for good.
    if (!batch.entries.empty() && key_seq >= last_taken) break;
    batch.corrupt.push_back(key_seq);
    batch.passed_over += events;
  }
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
  auto visit = [&n](std::string_view, std::string_view value) {
    n += events_in(value);
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
    std::vector<outbox_entry> entries;
    if (!split || !decode_outbox_entries(value, split->second, entries)) return true;
    found = std::move(entries.front());
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
  return split ? split->second + events_in((*last)->second) - 1 : uint64_t{0};
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
