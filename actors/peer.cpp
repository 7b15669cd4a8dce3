// The peer actor: one remote domain's queue on its way out. Three named behaviors are the
// states of the link: `resolving` (waiting for discovery), `connected` (sending, up to
// `window` transactions in flight) and `backing_off` (waiting for the retry timer).
// Transactions stay in memory from their first send to their receipt, so a resend keeps
// its transaction id; what was sent but not acknowledged before a crash is read again
// from the outbox after the restart and deduplicated by the receiver.
#include "actors/peer_actor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <random>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/logger.hpp"
#include "actors/outbox.hpp"
#include "actors/printable.hpp"
#include "actors/timed_size.hpp"
#include "actors/transaction.hpp"
#include "actors/wall_clock.hpp"
#include "crypto/raw_key.hpp"
#include "crypto/sealing.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using peer_impl = peer_actor::extend<caf::reacts_to<retry_atom, uint64_t>>;

/// Answered outbox keys deleted in one write at most (leave_queue).
constexpr size_t max_answered_keys = 256;

/// A transaction from its first send until its receipt.
struct pending_transaction {
  transaction txn;
  std::vector<uint64_t> seqs;      // outbox seq of each event
  std::vector<uint64_t> key_seqs;  // the outbox key each event is stored under
  std::vector<std::string> ids;    // id of each event
  bool in_flight = false;
  caf::actor_clock::time_point sent_at{};  // when it last went out
};

enum class link_state { resolving, connected, backing_off };

const char* name_of(link_state s) {
  switch (s) {
    case link_state::resolving:
      return "resolving";
    case link_state::connected:
      return "connected";
    case link_state::backing_off:
      return "backing_off";
  }
  return "unknown";
}

struct peer_state {
  peer_context ctx;
  std::string domain;
  std::optional<outbox> queue;
  // What discovery said, and the box key derived from its public key.
  std::optional<peer_record> record;
  std::optional<crypto::box_key> key;
  std::string key_of;          // the public key `key` was derived from
  uint64_t resolve_round = 0;  // counts successful resolves; a reply names its round
  // The queue: transactions built and not acknowledged, oldest first, and the outbox
  // positions not yet read into one.
  std::deque<pending_transaction> txns;
  size_t in_flight = 0;
  uint64_t next_read = 0;     // first seq not yet in a transaction
  uint64_t known_last = 0;    // highest seq known to be queued
  uint64_t counted_last = 0;  // highest seq counted in `depth` (wakes may trail reads)
  uint64_t depth = 0;
  // Outbox keys whose events were answered for good, not yet deleted (see leave_queue).
  // Shared with the functor that deletes them when the actor ends, after its state.
  std::shared_ptr<std::vector<uint64_t>> answered_keys = std::make_shared<std::vector<uint64_t>>();
  // Events in one transaction at most: transport.batch_max_events until the peer refuses
  // a transaction as too large (HTTP 413), then half of what it refused.
  size_t batch_events_cap = std::numeric_limits<size_t>::max();
  // Events in one transaction at most as the link allows: halved after a transaction
  // timed out, doubled back while full ones are answered quickly (timed_size).
  timed_size events_in_time{1, 1};
  // Backoff: `streak` failures in a row; `epoch` invalidates stale retry timers.
  uint32_t streak = 0;
  std::chrono::milliseconds backoff{0};
  uint64_t epoch = 0;
  bool forgot = false;  // discovery was told to forget the domain after a 401
  std::mt19937_64 rng;
  link_state link = link_state::resolving;
  // Metrics.
  uint64_t sent = 0;
  uint64_t failures = 0;
  uint64_t relayed = 0;
  uint64_t refused = 0;
  std::string last_error;
  static inline const char* name = "peer";
};

using peer_pointer = peer_impl::stateful_pointer<peer_state>;

peer_impl::behavior_type resolving(peer_pointer self);
peer_impl::behavior_type connected(peer_pointer self);
peer_impl::behavior_type backing_off(peer_pointer self);
void resolve(peer_pointer self);
void pump(peer_pointer self);
void remove_answered(peer_pointer self);

// -- metrics and failures ----------------------------------------------------------------

peer_stats stats_of(peer_pointer self) {
  auto& st = self->state;
  // The oldest entry is read from the store: what was answered leaves it first.
  remove_answered(self);
  peer_stats s;
  s.domain = st.domain;
  s.state = name_of(st.link);
  s.queue_depth = st.depth;
  if (auto oldest = st.queue->oldest(); oldest && *oldest)
    s.oldest_age_ms = std::max<int64_t>(0, unix_ms_now() - (*oldest)->enqueued_ms);
  s.transactions_sent = st.sent;
  s.failures = st.failures;
  s.backoff_ms = st.backoff.count();
  s.last_error = st.last_error;
  s.events_relayed = st.relayed;
  s.events_refused = st.refused;
  return s;
}

void note_failure(peer_pointer self, std::string what) {
  auto& st = self->state;
  ++st.failures;
  st.last_error = std::move(what);
}

void enter_backoff(peer_pointer self) {
  auto& st = self->state;
  const auto& cfg = st.ctx.settings;
  ++st.streak;
  st.backoff = cfg.backoff_after(st.streak);
  // Full jitter: a uniform delay up to the ceiling, so peers that failed together do not
  // come back together.
  std::uniform_int_distribution<int64_t> pick{1, std::max<int64_t>(1, st.backoff.count())};
  std::chrono::milliseconds delay{pick(st.rng)};
  ++st.epoch;
  self->delayed_send(self, delay, retry_atom::value, st.epoch);
  if (st.streak == 1 || st.streak % 10 == 0)
    log()->warn("peer {}: {} (attempt {}, retrying in {} ms)", st.domain, st.last_error, st.streak,
                delay.count());
  st.link = link_state::backing_off;
  self->become(backing_off(self));
}

/// A send made in resolve round `round` failed. Only a failure of the current round
/// moves a connected peer to backing off: one sent before the last backoff was in flight
/// beside the failure that caused it, and is simply sent again.
void send_failed(peer_pointer self, uint64_t round, std::string what) {
  auto& st = self->state;
  // What was answered before the failure need not wait for the next receipt.
  if (st.in_flight == 0) remove_answered(self);
  note_failure(self, std::move(what));
  if (st.link != link_state::connected) return;
  if (round == st.resolve_round)
    enter_backoff(self);
  else
    pump(self);
}

pending_transaction* find(peer_pointer self, const std::string& id) {
  for (auto& p : self->state.txns)
    if (p.txn.id == id) return &p;
  return nullptr;
}

void forget_transaction(peer_pointer self, const std::string& id) {
  auto& txns = self->state.txns;
  txns.erase(std::find_if(txns.begin(), txns.end(),
                          [&id](const pending_transaction& t) { return t.txn.id == id; }));
}

// -- receipts ------------------------------------------------------------------------------

/// The peer refused event `id` (the message `text`) for good: counted, logged, and
/// handed to the sink.
void note_refused(peer_pointer self, const std::string& id, const std::string& reason,
                  const std::string& text) {
  auto& st = self->state;
  ++st.refused;
  // The peer wrote the reason: one line of bounded length, whatever it holds.
  auto shown = printable_excerpt(reason, max_quoted_bytes);
  log()->info("peer {} rejected event {}: {}", st.domain, id, shown);
  if (st.ctx.rejection_sink)
    // The sink is dynamically typed (any actor may collect rejections): anon_send.
    caf::anon_send(st.ctx.rejection_sink, rejected_atom::value, st.domain, id, shown, text);
}

/// Whether a transaction other than `p` holds an event stored under outbox key `key_seq`.
/// A transaction's events are a stretch of the queue, so only its first and last key can
/// be another's too.
bool key_shared(const peer_state& st, const pending_transaction& p, uint64_t key_seq) {
  return std::any_of(st.txns.begin(), st.txns.end(), [&](const pending_transaction& t) {
    return &t != &p && !t.key_seqs.empty() &&
           (t.key_seqs.front() == key_seq || t.key_seqs.back() == key_seq);
  });
}

/// Deletes the outbox keys of what was answered, in one write.
void remove_answered(outbox& queue, std::vector<uint64_t>& keys) {
  if (keys.empty()) return;
  if (auto err = queue.remove(keys))
    log()->error("peer {}: acknowledged events stay queued: {}", queue.domain(), describe(err));
  keys.clear();
}

void remove_answered(peer_pointer self) {
  remove_answered(*self->state.queue, *self->state.answered_keys);
}

/// `p` was answered for good: its events leave the queue, accepted and refused alike. A
/// run's key goes with the last transaction that holds any of its events: split halves of
/// a run may be answered in either order, and the key must stay until both are.
/// The keys are deleted once no transaction is in flight, or max_answered_keys have
/// gathered: a write of the store waits behind the journal's synced write when one is
/// under way, and this actor runs on the threads of the sockets. One by one, with a few
/// transactions in flight, a delete per receipt blocked a thread for an fsync about as
/// often as an event arrived. What is still to delete when the actor ends, for whatever
/// reason, is deleted then (peer()), so a restarted peer does not send it again.
void leave_queue(peer_pointer self, const pending_transaction& p) {
  auto& st = self->state;
  auto& keys = *st.answered_keys;
  for (auto key : p.key_seqs)
    if ((keys.empty() || keys.back() != key) &&
        ((key != p.key_seqs.front() && key != p.key_seqs.back()) || !key_shared(st, p, key)))
      keys.push_back(key);
  st.depth -= std::min<uint64_t>(st.depth, p.seqs.size());
  if (st.in_flight == 0 || keys.size() >= max_answered_keys) remove_answered(self);
}

/// Applies a receipt; an error when it does not answer the transaction it should.
[[nodiscard]] caf::error on_receipt(peer_pointer self, pending_transaction& p, const receipt& r) {
  auto& st = self->state;
  if (r.transaction_id != p.txn.id)
    return caf::make_error(errc::bad_request, "receipt for transaction " + r.transaction_id +
                                                  ", expected " + p.txn.id);
  if (r.results.size() != p.ids.size())
    return caf::make_error(errc::bad_request, "receipt answers " +
                                                  std::to_string(r.results.size()) + " of " +
                                                  std::to_string(p.ids.size()) + " events");
  for (size_t i = 0; i < p.ids.size(); ++i)
    if (r.results[i].id != p.ids[i])
      return caf::make_error(errc::bad_request, "receipt names event " + r.results[i].id +
                                                    " where " + p.ids[i] + " was sent");
  for (size_t i = 0; i < r.results.size(); ++i) {
    if (r.results[i].accepted)
      ++st.relayed;
    else
      note_refused(self, r.results[i].id, r.results[i].reason, p.txn.events[i]);
  }
  leave_queue(self, p);
  return {};
}

/// `p` goes again as two transactions of half its events each, under new ids. A receiver
/// that applied `p` before its answer was lost (a timeout) applies none of its events
/// twice: it marks what it applied, whatever the transaction.
void split_in_two(peer_pointer self, pending_transaction& p) {
  auto& st = self->state;
  auto half = p.ids.size() / 2;
  pending_transaction second;
  second.txn.origin = p.txn.origin;
  second.txn.destination = p.txn.destination;
  second.txn.id = make_transaction_id(st.ctx.own_domain);
  auto take_tail = [half](auto& from, auto& to) {
    to.assign(std::make_move_iterator(from.begin() + static_cast<std::ptrdiff_t>(half)),
              std::make_move_iterator(from.end()));
    from.resize(half);
  };
  take_tail(p.seqs, second.seqs);
  take_tail(p.key_seqs, second.key_seqs);
  take_tail(p.ids, second.ids);
  take_tail(p.txn.events, second.txn.events);
  p.txn.id = make_transaction_id(st.ctx.own_domain);
  auto at = std::find_if(st.txns.begin(), st.txns.end(),
                         [&p](const pending_transaction& t) { return &t == &p; });
  st.txns.insert(std::next(at), std::move(second));
}

/// The peer refused `p` as larger than it takes in one request (HTTP 413, its
/// limits.max_body_bytes): `p` goes again in two halves, and later transactions hold no
/// more events than a half did. Otherwise a receiver whose limit is below what one
/// transaction may carry (transport.batch_max_bytes and the sealing around it) refused
/// the same transaction for ever.
void split_refused(peer_pointer self, pending_transaction& p) {
  auto& st = self->state;
  auto refused = p.ids.size();
  auto half = refused / 2;
  split_in_two(self, p);
  if (st.batch_events_cap > half) {
    st.batch_events_cap = half;
    log()->warn(
        "peer {} refused a transaction of {} events as too large; sending at most {} "
        "events a transaction",
        st.domain, refused, half);
  }
}

/// `p` (in flight no more) got no answer within transport.request_timeout although the
/// peer was reached. On a link too slow to carry it in that time it would time out at
/// every try, and hold back everything queued behind it: it goes again in two halves,
/// and later transactions are as small as the link carries in time (events_in_time).
/// One event alone cannot be split; it goes again as it is.
void split_timed_out(peer_pointer self, pending_transaction& p) {
  auto& st = self->state;
  auto sent = p.ids.size();
  if (sent < 2) return;
  split_in_two(self, p);
  auto now_at_most = st.events_in_time.timed_out(sent);
  // Once per fault: the first timeout of a streak of failures (the rest are counted).
  if (now_at_most != 0 && st.streak == 0)
    log()->warn(
        "peer {}: a transaction of {} events got no answer within {} ms; sending at most {} "
        "events a transaction until they are answered quickly again",
        st.domain, sent, st.ctx.settings.request_timeout.count(), now_at_most);
}

void on_reply(peer_pointer self, const std::string& id, uint64_t round, const crypto::box_key& key,
              inbound_reply& reply) {
  auto& st = self->state;
  auto* p = find(self, id);
  if (p == nullptr) return;
  p->in_flight = false;
  --st.in_flight;
  if (reply.status == 401) {
    // The receiver could not open our box: perhaps its key rotated. Ask discovery once
    // afresh before backing off; a 401 to a box sealed before the last resolve says
    // nothing about the key we hold now.
    if (round != st.resolve_round || st.link != link_state::connected) {
      pump(self);
      return;
    }
    if (!st.forgot) {
      st.forgot = true;
      note_failure(self, answer_excerpt(reply.status, reply.body));
      log()->info("peer {} could not open our transaction; resolving its key again", st.domain);
      self->request(st.ctx.discovery, st.ctx.settings.request_timeout, forget_atom::value,
                    st.domain)
          .then([self](bool) { resolve(self); }, [self](caf::error&) { resolve(self); });
      st.link = link_state::resolving;
      self->become(resolving(self));
      return;
    }
    send_failed(self, round, answer_excerpt(reply.status, reply.body));
    return;
  }
  if (reply.status == 413) {
    if (p->ids.size() > 1) {
      split_refused(self, *p);
    } else {
      // One event alone is larger than the peer takes in a request: sending it again
      // cannot help, and it would hold back everything queued behind it.
      note_refused(self, p->ids.front(),
                   "larger than " + st.domain + " takes in one request (HTTP 413: " +
                       printable_excerpt(reply.body, 200) + ")",
                   p->txn.events.front());
      leave_queue(self, *p);
      forget_transaction(self, id);
    }
    pump(self);
    return;
  }
  if (reply.status != 200) {
    send_failed(self, round, answer_excerpt(reply.status, reply.body));
    return;
  }
  auto opened = key.open(reply.body);
  if (!opened) {
    send_failed(self, round, "receipt does not open: " + describe(opened.error()));
    return;
  }
  auto r = decode_receipt(*opened);
  if (!r) {
    send_failed(self, round, describe(r.error()));
    return;
  }
  if (auto err = on_receipt(self, *p, *r)) {
    send_failed(self, round, describe(err));
    return;
  }
  st.events_in_time.answered(
      p->ids.size(),
      std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - p->sent_at),
      st.ctx.settings.request_timeout);
  forget_transaction(self, id);
  ++st.sent;
  // Once per fault, as its first failure was: the peer answers again.
  if (st.streak > 0)
    log()->info("peer {} answers again (the last failure: {})", st.domain, st.last_error);
  st.last_error.clear();
  st.streak = 0;
  st.backoff = std::chrono::milliseconds{0};
  st.forgot = false;
  pump(self);
}

// -- sending -------------------------------------------------------------------------------

void send(peer_pointer self, pending_transaction& p) {
  auto& st = self->state;
  // A resend gets a fresh time (the id stays), so a long outage does not make the
  // receiver refuse the batch as stale.
  p.txn.created_ms = unix_ms_now();
  outbound_request req;
  req.base_url = st.record->base_url;
  req.path = std::string{dispatch_path};
  req.headers = {{std::string{origin_header}, st.ctx.own_domain},
                 {std::string{version_header}, std::to_string(protocol_version)}};
  req.body = encode_transaction(p.txn, crypto::box_key::overhead);
  st.key->seal_in_place(req.body);
  p.in_flight = true;
  p.sent_at = self->clock().now();
  ++st.in_flight;
  auto id = p.txn.id;
  auto round = st.resolve_round;
  auto key = *st.key;
  self->request(st.ctx.transport, st.ctx.settings.request_timeout, send_atom::value, std::move(req))
      .then([self, id, round, key](inbound_reply& reply) { on_reply(self, id, round, key, reply); },
            [self, id, round](caf::error& err) {
              auto* p = find(self, id);
              if (p == nullptr) return;
              p->in_flight = false;
              --self->state.in_flight;
              if (is_timeout(err)) split_timed_out(self, *p);
              send_failed(self, round, describe(err));
            });
}

/// Reads the next batch from the outbox into a transaction; false when there is none.
bool read_next(peer_pointer self) {
  auto& st = self->state;
  const auto& cfg = st.ctx.settings;
  while (st.next_read <= st.known_last) {
    auto most = std::min(
        {cfg.batch_max_events, st.batch_events_cap, static_cast<size_t>(st.events_in_time.now())});
    auto batch = st.queue->read(st.next_read, most, cfg.batch_max_bytes);
    if (!batch) {
      // A part of the store that cannot be read (a damaged table file): tried again after
      // a backoff, as a failed send is, and shown as the peer's last error. Left as it was,
      // nothing tried again and the peer looked connected while its queue stood still.
      note_failure(self, "reading the outbox: " + describe(batch.error()));
      enter_backoff(self);
      return false;
    }
    if (!batch->corrupt.empty()) {
      log()->error("peer {}: dropping {} unreadable outbox entries", st.domain,
                   batch->corrupt.size());
      if (auto err = st.queue->remove(batch->corrupt))
        log()->error("peer {}: {}", st.domain, describe(err));
    }
    // Counted when queued, and never answered.
    st.depth -= std::min<uint64_t>(st.depth, batch->passed_over);
    if (batch->last_seq == 0) {
      st.next_read = st.known_last + 1;
      return false;
    }
    if (!batch->entries.empty())
      // With storage.sync = "periodic" the entries may not be on disk yet: a peer must
      // not hold events that an OS crash could take back (a host would reuse their seqs).
      if (auto err = st.ctx.store->make_durable()) {
        note_failure(self, "syncing the outbox before sending: " + describe(err));
        enter_backoff(self);
        return false;
      }
    st.next_read = batch->last_seq + 1;
    st.known_last = std::max(st.known_last, batch->last_seq);
    if (batch->entries.empty()) continue;
    pending_transaction p;
    p.txn.id = make_transaction_id(st.ctx.own_domain);
    p.txn.origin = st.ctx.own_domain;
    p.txn.destination = st.domain;
    for (auto& e : batch->entries) {
      p.seqs.push_back(e.seq);
      p.key_seqs.push_back(e.key_seq);
      p.ids.push_back(std::move(e.event_id));
      p.txn.events.push_back(std::move(e.event));
    }
    st.txns.push_back(std::move(p));
    return true;
  }
  return false;
}

/// Whether a new transaction, of batch_max_events at most, ends within `window` full
/// transactions of the oldest one not acknowledged, and within what a member holds ahead
/// of a gap (ctx.max_span). Without that bound, while one transaction is slow the others
/// are answered and new ones keep going out, so the receiver's rooms get events ever
/// further past the gap the slow one leaves. A room holds only so many ahead of a gap
/// (member_holds_ahead, which the default window of full transactions matches) and
/// fetches the rest again from the host: under load a receiver that fell behind dropped
/// and fetched again hundreds of thousands of events in a run (docs/PERFORMANCE.md,
/// twentieth round). An operator's larger window or transactions must not bring that
/// back.
bool within_window_span(const peer_state& st, size_t window) {
  if (st.txns.empty() || st.txns.front().seqs.empty()) return true;
  auto span = std::min(window * st.ctx.settings.batch_max_events, st.ctx.max_span);
  return st.next_read + st.ctx.settings.batch_max_events <= st.txns.front().seqs.front() + span;
}

/// Fills the window: first transactions waiting for a resend, oldest first, then new ones.
void pump(peer_pointer self) {
  auto& st = self->state;
  if (st.link != link_state::connected) return;
  const size_t window = std::max<size_t>(1, st.ctx.settings.window);
  for (auto& p : st.txns) {
    if (st.in_flight >= window) return;
    if (!p.in_flight) send(self, p);
  }
  while (st.in_flight < window && within_window_span(st, window) && read_next(self))
    send(self, st.txns.back());
}

// -- resolving -----------------------------------------------------------------------------

[[nodiscard]] caf::error take_record(peer_pointer self, peer_record& rec) {
  auto& st = self->state;
  if (rec.public_key.size() != crypto::public_key{}.size())
    return caf::make_error(errc::bad_key_record, st.domain + ": discovery gave a key of " +
                                                     std::to_string(rec.public_key.size()) +
                                                     " bytes");
  if (!st.key || st.key_of != rec.public_key) {
    auto key = crypto::box_key::derive(*st.ctx.identity, crypto::public_key_of_raw(rec.public_key));
    if (!key) return key.error();
    st.key = std::move(*key);
    st.key_of = rec.public_key;
  }
  st.record = std::move(rec);
  return {};
}

void resolve(peer_pointer self) {
  auto& st = self->state;
  self->request(st.ctx.discovery, st.ctx.settings.request_timeout, resolve_atom::value, st.domain)
      .then(
          [self](peer_record& rec) {
            auto& st = self->state;
            if (auto err = take_record(self, rec)) {
              note_failure(self, describe(err));
              enter_backoff(self);
              return;
            }
            ++st.resolve_round;
            st.link = link_state::connected;
            self->become(connected(self));
            pump(self);
          },
          [self](caf::error& err) {
            note_failure(self, "discovery: " + describe(err));
            enter_backoff(self);
          });
}

// -- behaviors -----------------------------------------------------------------------------

void on_wake(peer_pointer self, uint64_t seq) {
  auto& st = self->state;
  if (seq > st.counted_last) {
    st.depth += seq - st.counted_last;
    st.counted_last = seq;
  }
  st.known_last = std::max(st.known_last, seq);
}

peer_impl::behavior_type resolving(peer_pointer self) {
  return {
      [self](wake_atom, uint64_t seq) { on_wake(self, seq); },
      [self](stats_atom) { return stats_of(self); },
      [](retry_atom, uint64_t) {
        // A stale timer: a resolve is already under way.
      },
  };
}

peer_impl::behavior_type connected(peer_pointer self) {
  return {
      [self](wake_atom, uint64_t seq) {
        on_wake(self, seq);
        pump(self);
      },
      [self](stats_atom) { return stats_of(self); },
      [](retry_atom, uint64_t) {
        // A stale timer: the link came back before it fired.
      },
  };
}

peer_impl::behavior_type backing_off(peer_pointer self) {
  return {
      [self](wake_atom, uint64_t seq) { on_wake(self, seq); },
      [self](stats_atom) { return stats_of(self); },
      [self](retry_atom, uint64_t epoch) {
        auto& st = self->state;
        if (epoch != st.epoch) return;
        // Resolve again on every retry: discovery answers from its cache, and a peer that
        // moved or rotated its key is found without waiting for the TTL.
        st.link = link_state::resolving;
        self->become(resolving(self));
        resolve(self);
      },
  };
}

peer_impl::behavior_type peer(peer_pointer self, peer_context ctx, std::string domain) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.domain = std::move(domain);
  st.queue.emplace(*st.ctx.store, st.domain);
  // Runs when the actor ends (a stop, a failure the manager restarts it after), when its
  // state is already gone: the keys answered since the last delete leave the queue.
  self->attach_functor(
      [keys = st.answered_keys, queue = *st.queue]() mutable { remove_answered(queue, *keys); });
  st.rng.seed(st.ctx.rng_seed != 0 ? st.ctx.rng_seed : std::random_device{}());
  st.events_in_time = timed_size{st.ctx.settings.batch_max_events, 1};
  if (auto last = st.queue->last_seq())
    st.known_last = st.counted_last = *last;
  else
    log()->error("peer {}: reading the outbox: {}", st.domain, describe(last.error()));
  if (auto n = st.queue->count()) st.depth = *n;
  st.link = link_state::resolving;
  resolve(self);
  return resolving(self);
}

}  // namespace

peer_actor spawn_peer(caf::actor_system& sys, peer_context ctx, std::string domain) {
  return sys.spawn(peer, std::move(ctx), std::move(domain));
}

}  // namespace fedrelay::actors
