// The journal: group commit through the mailbox. An append only queues itself and, if
// no flush is pending, sends a flush message to the journal itself; the mailbox is FIFO,
// so every append that arrived before that flush is written by it in one synced batch.
#include "actors/journal_actor.hpp"

#include <chrono>
#include <map>
#include <unordered_map>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/inbox.hpp"
#include "actors/logger.hpp"
#include "actors/outbox.hpp"
#include "actors/transaction.hpp"
#include "actors/wall_clock.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using journal_impl = journal_actor::extend<caf::reacts_to<flush_atom>>;

/// What check() found in an entry: the ids of its outbound events and its inbox events
/// parsed (the cursor goes into them at flush).
struct checked_entry {
  std::vector<std::string> event_ids;
};

struct waiting_append {
  journal_entry entry;
  checked_entry checked;
  caf::typed_response_promise<std::vector<uint64_t>> promise;
};

struct journal_state {
  storage::store* store = nullptr;
  peer_manager_actor manager;
  caf::actor inbox_listener;
  std::shared_ptr<node_metrics> metrics;  // may be null
  std::vector<waiting_append> pending;
  bool flush_scheduled = false;
  bool failed = false;  // sticky: a failed synced write leaves the WAL in doubt
  caf::error failure;
  std::unordered_map<std::string, uint64_t> last_seq;  // last seq assigned per domain
  uint64_t last_cursor = 0;                            // last inbox cursor assigned
  bool cursor_loaded = false;
  size_t max_run = max_run_events;  // the most events of one outbox run
  uint64_t writes = 0;
  uint64_t appends = 0;
  /// Filled and cleared by every flush. A batch of a hundred 4 KiB events is a megabyte,
  /// and allocating it afresh each time cost the receiving node 6 % of its CPU in page
  /// faults alone (the allocator hands such blocks back to the kernel once freed).
  storage::write_batch batch;
  static inline const char* name = "journal";
};

using journal_pointer = journal_impl::stateful_pointer<journal_state>;

/// Whether `text` can take a spliced "cursor": our producers write compact JSON objects,
/// so a text that starts with '{' and ends with '}' is one. Parsing each inbox event here
/// only to add a field cost a parse and a dump per event on the hottest path.
bool looks_like_object(std::string_view text) {
  return text.size() >= 2 && text.front() == '{' && text.back() == '}';
}

/// The ids of the outbound events, or why the entry cannot be written.
[[nodiscard]] caf::expected<checked_entry> check(const journal_entry& entry) {
  for (const auto& put : entry.puts)
    if (put.column >= storage::column_count)
      return caf::make_error(errc::bad_request,
                             "journal: unknown column " + std::to_string(put.column));
  checked_entry checked;
  checked.event_ids.reserve(entry.outbound.size());
  for (const auto& out : entry.outbound) {
    if (out.destination.empty() || out.destination.find('\0') != std::string::npos)
      return caf::make_error(errc::bad_request, "journal: bad destination domain");
    if (!out.log_key.empty() && out.id.empty())
      return caf::make_error(errc::bad_request, "journal: a room log reference for " +
                                                    out.destination + " without its event id");
    auto id = out.id.empty() ? event_id_of(out.event) : out.id;
    if (id.empty())
      return caf::make_error(errc::bad_request, "journal: an event for " + out.destination +
                                                    " is not a JSON object with a string \"id\"");
    checked.event_ids.push_back(std::move(id));
  }
  for (const auto& text : entry.inbox) {
    if (auto log_key = inbox_reference(text)) {
      if (log_key->empty())
        return caf::make_error(errc::bad_request, "journal: an inbox reference without a key");
    } else if (!looks_like_object(text)) {
      return caf::make_error(errc::bad_request, "journal: an inbox event is not a JSON object");
    }
  }
  return checked;
}

/// The last inbox cursor ever assigned: read from the inbox's last key on first use.
[[nodiscard]] caf::expected<uint64_t> load_last_cursor(journal_pointer self) {
  auto& st = self->state;
  if (st.cursor_loaded) return st.last_cursor;
  auto last = last_inbox_cursor(*st.store);
  if (!last) return last.error();
  st.last_cursor = *last;
  st.cursor_loaded = true;
  return st.last_cursor;
}

/// The last seq ever assigned to `domain`: the high-water mark, or the queue's last key
/// when the mark is older (a store written before marks existed).
[[nodiscard]] caf::expected<uint64_t> load_last_seq(journal_pointer self,
                                                    const std::string& domain) {
  auto& st = self->state;
  if (auto i = st.last_seq.find(domain); i != st.last_seq.end()) return i->second;
  auto mark = st.store->get(storage::column::receipts, outbox_high_water_key(domain));
  if (!mark) return mark.error();
  uint64_t last = 0;
  if (*mark) last = storage::decode_u64(**mark).value_or(0);
  auto queued = outbox(*st.store, domain).last_seq();
  if (!queued) return queued.error();
  last = std::max(last, *queued);
  st.last_seq.emplace(domain, last);
  return last;
}

/// The largest write batch the journal keeps for the next flush.
constexpr size_t max_kept_batch_bytes = 16u << 20;

void flush(journal_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto waiting = std::move(st.pending);
  st.pending.clear();
  if (st.failed) {
    for (auto& w : waiting) w.promise.deliver(st.failure);
    return;
  }
  auto& batch = st.batch;
  batch.clear();
  std::map<std::string, uint64_t> last;  // tentative until the write succeeds
  std::vector<std::vector<uint64_t>> seqs(waiting.size());
  auto now = unix_ms_now();
  uint64_t cursor = 0;  // the last inbox cursor given in this batch; tentative too
  // A room's events for one domain go in as runs (outbox.hpp), also across the appends
  // of one write: one-by-one sends grouped into a write make a run too.
  outbox_run_builder runs{st.max_run};
  for (size_t i = 0; i < waiting.size(); ++i) {
    auto& w = waiting[i];
    caf::error load_error;
    if (!w.entry.inbox.empty()) {
      if (auto loaded = load_last_cursor(self))
        cursor = std::max(cursor, *loaded);
      else
        load_error = caf::make_error(errc::storage_failed,
                                     "journal: reading the inbox: " + describe(loaded.error()));
    }
    for (const auto& out : w.entry.outbound) {
      if (last.count(out.destination) > 0) continue;
      auto seq = load_last_seq(self, out.destination);
      if (!seq) {
        load_error = caf::make_error(
            errc::storage_failed,
            "journal: reading the outbox of " + out.destination + ": " + describe(seq.error()));
        break;
      }
      last.emplace(out.destination, *seq);
    }
    if (load_error) {
      log()->error("{}", describe(load_error));
      w.promise.deliver(load_error);
      continue;
    }
    for (const auto& put : w.entry.puts)
      batch.put(static_cast<storage::column>(put.column), put.key, put.value);
    for (size_t k = 0; k < w.entry.outbound.size(); ++k) {
      const auto& out = w.entry.outbound[k];
      auto seq = ++last[out.destination];
      if (out.log_key.empty()) {
        runs.close(out.destination, batch);
        batch.put(storage::column::outbox, storage::sequenced_key(out.destination, seq),
                  encode_outbox_value(now, w.checked.event_ids[k], out.event));
      } else {
        runs.add(out.destination, seq, w.checked.event_ids[k], out.log_key, now, batch);
      }
      seqs[i].push_back(seq);
    }
    for (const auto& event : w.entry.inbox) {
      ++cursor;
      // A reference gets its cursor when the bridge reads it.
      batch.put(storage::column::inbox, storage::encode_u64(cursor),
                inbox_reference(event) ? event : with_cursor(event, cursor));
    }
  }
  runs.close_all(batch);
  for (const auto& [domain, seq] : last)
    batch.put(storage::column::receipts, outbox_high_water_key(domain), storage::encode_u64(seq));
  if (!batch.empty()) {
    auto started = std::chrono::steady_clock::now();
    auto err = st.store->write(batch, storage::durability::synced);
    if (st.metrics) st.metrics->store_write.observe(std::chrono::steady_clock::now() - started);
    if (err) {
      st.failed = true;
      st.failure = caf::make_error(errc::storage_failed, "journal: " + describe(err));
      log()->error("journal write failed, refusing writes until the node starts again: {}",
                   describe(err));
      for (auto& w : waiting)
        if (w.promise.pending()) w.promise.deliver(st.failure);
      return;
    }
    ++st.writes;
  }
  // A rare huge batch (a catch-up, a sendBatch of long texts) is not kept for good; the
  // next flush clears a kept one.
  if (batch.bytes() > max_kept_batch_bytes) batch = storage::write_batch{};
  for (size_t i = 0; i < waiting.size(); ++i) {
    if (!waiting[i].promise.pending()) continue;
    ++st.appends;
    waiting[i].promise.deliver(std::move(seqs[i]));
  }
  for (const auto& [domain, seq] : last) {
    st.last_seq[domain] = seq;
    if (st.manager) self->send(st.manager, wake_atom::value, domain, seq);
  }
  if (cursor > st.last_cursor) {
    st.last_cursor = cursor;
    // The listener is dynamically typed (the local bridge, or a test's probe): anon_send.
    if (st.inbox_listener) caf::anon_send(st.inbox_listener, inbox_atom::value, cursor);
  }
}

journal_impl::behavior_type journal(journal_pointer self, storage::store* store,
                                    peer_manager_actor manager, caf::actor inbox_listener,
                                    std::shared_ptr<node_metrics> metrics, size_t max_run) {
  self->state.store = store;
  self->state.max_run = max_run;
  self->state.metrics = std::move(metrics);
  self->state.manager = std::move(manager);
  self->state.inbox_listener = std::move(inbox_listener);
  return {
      [self](append_atom, journal_entry& entry) -> caf::result<std::vector<uint64_t>> {
        auto& st = self->state;
        if (st.failed) return st.failure;
        auto checked = check(entry);
        if (!checked) return checked.error();
        auto promise = self->make_response_promise<std::vector<uint64_t>>();
        st.pending.push_back(waiting_append{std::move(entry), std::move(*checked), promise});
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        return promise;
      },
      [self](flush_atom) { flush(self); },
      [self](stats_atom) -> caf::result<uint64_t, uint64_t> {
        return {self->state.writes, self->state.appends};
      },
  };
}

}  // namespace

journal_actor spawn_journal(caf::actor_system& sys, storage::store& store,
                            peer_manager_actor manager, caf::actor inbox_listener, bool detached,
                            std::shared_ptr<node_metrics> metrics, size_t max_run) {
  if (detached)
    return sys.spawn<caf::detached>(journal, &store, std::move(manager), std::move(inbox_listener),
                                    std::move(metrics), max_run);
  return sys.spawn(journal, &store, std::move(manager), std::move(inbox_listener),
                   std::move(metrics), max_run);
}

}  // namespace fedrelay::actors
