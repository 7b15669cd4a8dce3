// The room actor. Every change of the room goes through one queue of operations, run in
// arrival order: an operation that needs an origin's key waits at the head of the queue
// until discovery answers, so the host judges events in the order they came and a member
// verifies each event before it applies it. The state in memory runs ahead of the disk by
// the appends in flight; the journal writes them in order, and a failed append stops the
// actor, once every caller waiting on it has its answer, so that the next message finds it
// rebuilt from what is on disk.
#include "actors/room_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/event_reader.hpp"
#include "actors/inbound_actor.hpp"
#include "actors/inbox.hpp"
#include "actors/json_parse.hpp"
#include "actors/logger.hpp"
#include "actors/previous_keys.hpp"
#include "actors/previous_keys_book.hpp"
#include "actors/printable.hpp"
#include "actors/room_event.hpp"
#include "actors/room_state.hpp"
#include "crypto/raw_key.hpp"
#include "crypto/sealing.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {

std::string room_author_key(std::string_view room_id, std::string_view event_id) {
  return storage::joined_key({room_id, event_id});
}

std::string room_member_key(std::string_view room_id, std::string_view user) {
  return storage::joined_key({room_id, "", user});
}

std::string room_authors_begin(std::string_view room_id) {
  return room_author_key(room_id, "\x01");
}

caf::expected<std::map<std::string, std::string>> read_room_members(const storage::store& store,
                                                                    std::string_view room_id) {
  std::map<std::string, std::string> members;
  auto from = room_member_key(room_id, "");
  auto err = store.scan(storage::column::rooms, from, room_authors_begin(room_id), 0,
                        [&](std::string_view key, std::string_view role) {
                          if (!role.empty()) members.emplace(key.substr(from.size()), role);
                          return true;
                        });
  if (err) return caf::make_error(errc::storage_failed, "room members: " + describe(err));
  return members;
}

caf::expected<std::optional<stored_room>> read_room_state(const storage::store& store,
                                                          std::string_view room_id) {
  auto value = store.get(storage::column::rooms, room_id);
  if (!value)
    return caf::make_error(errc::storage_failed, "room state: " + describe(value.error()));
  if (!*value) return std::optional<stored_room>{};
  auto doc = nlohmann::json::parse(**value, nullptr, false);
  if (doc.is_discarded()) return caf::make_error(errc::bad_request, "room state: not JSON");
  stored_room out;
  out.members_in_value = doc.contains("members");
  if (!out.members_in_value) {
    auto members = read_room_members(store, room_id);
    if (!members) return members.error();
    doc["members"] = std::move(*members);
  }
  auto room = decode_state(doc);
  if (!room) return room.error();
  out.room = std::move(*room);
  return std::optional<stored_room>{std::move(out)};
}

std::string direct_room_key(std::string_view user_a, std::string_view user_b) {
  if (user_b < user_a) std::swap(user_a, user_b);
  return storage::joined_key({"dm", user_a, user_b});
}

namespace {

using json = nlohmann::json;
/// Sent by a room to itself after the first of a run of single submissions: it arrives
/// behind the messages already in the mailbox, so the submissions among them are
/// signed and appended together.
using singles_atom = caf::atom_constant<caf::atom("singles")>;
/// Sent by a member's room to itself gap_grace after a catch-up round left the rest to the
/// host's queue: the round's epoch, and how many new events the queue had brought by then
/// (see leave_to_queue).
using queue_check_atom = caf::atom_constant<caf::atom("queuechk")>;
using room_impl = room_actor::extend<caf::reacts_to<catchup_atom, uint64_t>,
                                     caf::reacts_to<gap_atom>, caf::reacts_to<singles_atom>,
                                     caf::reacts_to<queue_check_atom, uint64_t, uint64_t>>;
using done_fn = std::function<void(const caf::error&)>;

constexpr uint32_t default_history_limit = 100;
constexpr uint32_t max_page = 1000;

struct cached_key {
  crypto::public_key key;
  caf::actor_clock::time_point fetched;
};

/// Where a step stands with looking again for the key of an event whose signature did
/// not hold (look_again_for_key): its origin's key anew, then the keys the origin had
/// before.
enum class key_refresh : uint8_t { none, wanted, done, previous_wanted, previous_done };

/// One step of the room's queue. `run` gets the key of `key_domain` (null when the
/// step needs none, or when looking it up failed: then the error).
struct room_op {
  std::string key_domain;
  std::function<void(const crypto::public_key*, const caf::error&)> run;
  key_refresh refresh = key_refresh::none;
};

/// Why check_relayed or a host's check refuses an event whose signature does not hold.
constexpr std::string_view bad_signature = "bad signature";

/// The least time between two lookups of one origin's key anew after bad signatures, so
/// a peer that sends them cannot make every event a lookup.
constexpr auto key_refresh_interval = std::chrono::seconds{10};

/// How long a room trusts the previous keys it fetched of an origin.
constexpr auto previous_keys_ttl = std::chrono::minutes{10};

/// The longest a federation.keys request may take: the room's queue waits for it.
constexpr auto previous_keys_timeout = std::chrono::seconds{5};

/// How much later than the time a key was replaced an event signed with it may say it
/// was made (the origin's clock and ours differ).
constexpr int64_t previous_key_grace_ms = 5 * 60 * 1000;

/// A chat.send (or any single local submission), built and checked, waiting for the
/// others that arrived with it.
struct single_submission {
  room_event event;
  bool made_id = false;
  caf::typed_response_promise<std::string> promise;
};

/// Single submissions gathered at most before they go as one group.
constexpr size_t max_singles = 256;

/// A sequenced event a member holds until it is next in line, with the text it came as
/// when that is known to be the host's own log entry (room_message::event_text): the
/// member's log keeps that text instead of writing the event again.
struct held_event {
  room_event event;
  std::string logged;  // empty: unknown, encode_event writes the log entry
};

struct room_actor_state {
  room_context ctx;
  std::string room_id;
  std::string host;
  bool hosted = false;
  room_state room;
  std::unordered_set<std::string> writing;  // message ids whose append is in flight
  // Appends are numbered as they go out; those not answered yet, and answers that repeat
  // what the state in memory says (a message or event seen before), waiting until every
  // append up to their number is answered (see after_appends).
  uint64_t appends_sent = 0;
  std::set<uint64_t> appends_in_flight;
  std::multimap<uint64_t, done_fn> after_appends_waiting;
  // Set by the first failed append: later appends fail at once, and the actor stops when
  // nothing it took is left unanswered (see stop_once_answered).
  caf::error journal_failed;
  // Authors (room.authors) are kept in memory only while their append is in flight: the
  // ids touched since the last commit, and per id the appends in flight that touch it.
  std::vector<std::string> authors_unflushed;
  std::unordered_map<std::string, uint32_t> authors_in_flight;
  // Members whose key (room_member_key) does not say what `room` does yet: record_state
  // writes them with the state value.
  std::vector<std::string> members_unstored;
  std::deque<room_op> ops;
  // Single submissions waiting for the singles_atom (or for another op, which they
  // precede); `singles_due`: that message is on its way.
  std::vector<single_submission> singles;
  bool singles_due = false;
  bool fetching = false;                       // a key lookup for the head of `ops` is under way
  caf::error key_error;                        // why the last lookup failed, for the head of `ops`
  std::optional<crypto::public_key> head_key;  // what the last lookup gave, for the head
  std::map<std::string, cached_key> keys;
  // Where the step being run stands with looking again for a key, and what it asks for
  // next (look_again_for_key): none when it asks nothing.
  key_refresh head_refresh = key_refresh::none;
  key_refresh wants_refresh = key_refresh::none;
  std::map<std::string, caf::actor_clock::time_point> key_refreshed_at;  // by domain
  // Other domains' previous keys, shared by the node's rooms (room_context).
  std::shared_ptr<previous_keys_book> previous_keys;
  // A member's sequenced events that came before their turn, verified, by seq.
  std::map<uint64_t, held_event> ahead;
  // The furthest seq hold_ahead dropped (ctx.max_ahead): the room misses every seq up to
  // it that it has not applied, even once nothing is held ahead (see has_gap).
  uint64_t dropped_up_to = 0;
  uint64_t drops = 0;         // events hold_ahead dropped so far
  uint64_t drops_at_ask = 0;  // `drops` when the catch-up request under way was sent
  // Catch-up: one request at a time; `again` asks for another when it ends.
  bool catching_up = false;
  bool catchup_again = false;
  uint32_t catchup_failures = 0;
  uint64_t catchup_epoch = 0;         // invalidates retry timers of older rounds
  bool gap_check_pending = false;     // a gap_atom is on its way (see catch_up_after_grace)
  uint64_t gap_check_seq = 0;         // last_seq when that gap_atom was sent
  uint32_t queue_checks_pending = 0;  // queue_check_atoms on their way (leave_to_queue)
  // Events the host's transactions brought that were new here (neither applied nor held
  // ahead when they came), and that count when the catch-up round under way was asked.
  uint64_t from_queue = 0;
  uint64_t from_queue_at_ask = 0;
  std::optional<crypto::box_key> host_box;
  std::string host_box_of;  // the host key `host_box` was derived from
  static inline const char* name = "room";
};

using room_pointer = room_impl::stateful_pointer<room_actor_state>;

void put(journal_entry& entry, storage::column c, std::string key, std::string value) {
  entry.puts.push_back(journal_put{static_cast<uint8_t>(c), std::move(key), std::move(value)});
}

event_result accepted(const std::string& message_id) {
  return {message_id, true, {}};
}

event_result refused(const std::string& message_id, std::string reason) {
  return {message_id, false, std::move(reason)};
}

/// Counts `n` events taken (accepted) or refused (rejected) for GET /metrics.
void count_events(room_pointer self, event_source from, bool taken, uint64_t n = 1) {
  const auto& m = self->state.ctx.metrics;
  if (!m || n == 0) return;
  if (taken)
    m->accepted(from, n);
  else
    m->rejected(from, n);
}

// -- writing -------------------------------------------------------------------------------

/// After a failed append, stops the actor once no caller waits on it: appends in flight
/// come back with the error (the store's failure is sticky), and queued ops and gathered
/// single submissions run and get the error too, at their own append or, when they would
/// answer from the state in memory (an event or a message seen before), instead of that
/// answer, since the state is ahead of the disk. Stopping at the first error would drop
/// their answers, and their callers would wait for their timeouts.
void stop_once_answered(room_pointer self) {
  auto& st = self->state;
  if (st.journal_failed && st.appends_in_flight.empty() && st.after_appends_waiting.empty() &&
      st.ops.empty() && st.singles.empty())
    self->quit(st.journal_failed);
}

/// Runs `done` once every append sent so far is answered (at once when none is in
/// flight), with the journal's error once one failed. For an answer that repeats what the
/// state in memory says: a message or event seen before may be in an append still in
/// flight, and acknowledging its resend before that append is on disk would let the sender
/// drop it, were the append to fail. (A host's event a member holds ahead of a gap is in
/// no append yet; it is acknowledged as before, the host's log being where it is kept
/// until catch-up brings it again.)
void after_appends(room_pointer self, done_fn done) {
  auto& st = self->state;
  if (st.appends_in_flight.empty())
    done(st.journal_failed);
  else
    st.after_appends_waiting.emplace(st.appends_sent, std::move(done));
}

/// Answers the waiting of after_appends whose appends are all answered now (those below
/// the oldest append still in flight), with the journal's error once one failed. Not
/// sooner on a failure: a batch's answer waits for its own append's handler to run first.
void release_after_appends(room_pointer self) {
  auto& st = self->state;
  auto& waiting = st.after_appends_waiting;
  while (!waiting.empty()) {
    auto first = waiting.begin();
    if (!st.appends_in_flight.empty() && first->first >= *st.appends_in_flight.begin()) break;
    auto done = std::move(first->second);
    waiting.erase(first);
    done(st.journal_failed);
  }
}

/// Appends `entry`; `done` runs once it is on disk, or with the error. A failed append
/// leaves the state in memory ahead of the disk, so the actor stops once every caller
/// waiting on it has its answer (stop_once_answered); it is spawned again, from the
/// store, by the next message for the room.
void commit(room_pointer self, journal_entry entry, done_fn done) {
  auto& st = self->state;
  if (st.journal_failed) {
    done(st.journal_failed);
    return;
  }
  auto touched = std::move(st.authors_unflushed);
  st.authors_unflushed.clear();
  for (const auto& id : touched) ++st.authors_in_flight[id];
  auto number = ++st.appends_sent;
  st.appends_in_flight.insert(number);
  self->request(st.ctx.journal, caf::infinite, append_atom::value, std::move(entry))
      .then(
          [self, done, touched = std::move(touched), number](std::vector<uint64_t>&) {
            // On disk now: the store answers for these authors from here on.
            auto& st = self->state;
            st.appends_in_flight.erase(number);
            for (const auto& id : touched) {
              auto i = st.authors_in_flight.find(id);
              if (i == st.authors_in_flight.end() || --i->second > 0) continue;
              st.authors_in_flight.erase(i);
              st.room.authors.erase(id);
            }
            done({});
            release_after_appends(self);
            stop_once_answered(self);
          },
          [self, done, number](caf::error& err) {
            auto& st = self->state;
            st.appends_in_flight.erase(number);
            if (!st.journal_failed) {
              // The journal ends before the rooms when the node stops: no failure to report.
              if (err == caf::sec::request_receiver_down)
                log()->info("room {}: the journal has stopped; stopping", st.room_id);
              else
                log()->error("room {}: the journal failed; stopping: {}", st.room_id,
                             describe(err));
              st.journal_failed = err;
            }
            done(err);
            release_after_appends(self);
            stop_once_answered(self);
          });
}

/// Commits `entry`, which holds the effects of the messages `ids` (marked as being written
/// in `writing`, so a copy arriving meanwhile is not handled twice), then unmarks them.
void commit_marked(room_pointer self, journal_entry entry, std::vector<std::string> ids,
                   done_fn done) {
  commit(self, std::move(entry), [self, ids = std::move(ids), done](const caf::error& err) {
    for (const auto& id : ids) self->state.writing.erase(id);
    done(err);
  });
}

/// What applying the sequenced event `e` (already applied to the state) writes on every
/// node that has the room: the log entry, the author of a message, the direct-room index,
/// and the local server's inbox entry. The log entry is under
/// storage::sequenced_key(room id, seq), where the host's fan-out and the inbox refer to it.
/// No dedup mark: the host marks the submission that brought the event (sequence_into),
/// and a member drops a resent event by its seq, so a mark there was never read.
void record_applied(room_pointer self, journal_entry& entry, const room_event& e,
                    std::string logged = {}) {
  auto& st = self->state;
  auto log_key = storage::sequenced_key(st.room_id, e.seq);
  if (logged.empty()) logged = encode_event(e);
  // A message goes to the inbox as a reference to its log entry, so it is stored once.
  // Other events go whole: the files actor reads the inbox without the references
  // (fetch_whole_atom), and acts on no message but on other types.
  if (e.type == event_type::message_sent)
    entry.inbox.push_back(encode_inbox_reference(log_key));
  else
    entry.inbox.push_back(local_view_text(e, st.ctx.own_domain));
  put(entry, storage::column::room_log, std::move(log_key), std::move(logged));
  if (e.type == event_type::message_sent || e.type == event_type::file_shared) {
    put(entry, storage::column::rooms, room_author_key(st.room_id, e.id), e.user);
    st.authors_unflushed.push_back(e.id);
  } else if (e.type == event_type::message_deleted) {
    auto target = content_text(e, "target");
    put(entry, storage::column::rooms, room_author_key(st.room_id, target), "");
    // Until the append is on disk the store still names the author: mark it deleted.
    st.room.authors[target] = "";
    st.authors_unflushed.push_back(target);
  } else if (e.type == event_type::room_created && st.room.type == "direct")
    put(entry, storage::column::meta, direct_room_key(e.user, content_text(e, "with")), st.room_id);
}

/// Puts the state value and the keys of the members changed since the last time, each
/// key once (a room state from the host names every member twice, as was and as is).
void record_state(room_pointer self, journal_entry& entry) {
  auto& st = self->state;
  std::sort(st.members_unstored.begin(), st.members_unstored.end());
  st.members_unstored.erase(std::unique(st.members_unstored.begin(), st.members_unstored.end()),
                            st.members_unstored.end());
  for (const auto& user : st.members_unstored) {
    auto i = st.room.members.find(user);
    put(entry, storage::column::rooms, room_member_key(st.room_id, user),
        i == st.room.members.end() ? std::string{} : i->second);
  }
  st.members_unstored.clear();
  put(entry, storage::column::rooms, st.room_id, dump(encode_state(st.room, false, false)));
}

/// Applies `e` to the room in memory; record_state stores the members it changed.
void apply_event(room_pointer self, const room_event& e) {
  auto& st = self->state;
  apply(st.room, e);
  for (auto& user : members_changed_by(e)) st.members_unstored.push_back(std::move(user));
}

/// Marks the message handled in `entry`, which holds its effect: handled() finds it once
/// the entry is on disk.
void mark_handled(room_pointer self, journal_entry& entry, const std::string& message_id) {
  entry.puts.push_back(room_message_mark(message_id, self->state.room_id));
}

/// Whether the message was handled already (written, or being written).
bool handled(room_pointer self, const std::string& message_id) {
  auto& st = self->state;
  if (st.writing.count(message_id) > 0) return true;
  auto seen = st.ctx.store->get(storage::column::dedup, room_message_key(message_id));
  if (!seen) {
    log()->error("room {}: reading dedup: {}", st.room_id, describe(seen.error()));
    return false;
  }
  return seen->has_value();
}

/// Looks up authors that are no longer in memory (see room_actor_state::authors_unflushed).
author_lookup stored_authors(room_pointer self) {
  return [self](const std::string& event_id) -> std::optional<std::string> {
    auto& st = self->state;
    auto found = st.ctx.store->get(storage::column::rooms, room_author_key(st.room_id, event_id));
    if (!found) {
      log()->error("room {}: reading an author: {}", st.room_id, describe(found.error()));
      return std::nullopt;
    }
    return *found;
  };
}

/// The messages of the room still there with their authors, from the store and what is
/// in flight: all of them (`most_recent` 0), or the last `most_recent` in event id order
/// (for node-made ids, time order), read from the newest back, and whether that left any
/// out (`complete`).
struct known_authors {
  decltype(room_state::authors) authors;
  bool complete = true;
};

known_authors authors_of_room(room_pointer self, size_t most_recent = 0) {
  auto& st = self->state;
  known_authors out;
  auto from = room_author_key(st.room_id, "");
  auto take = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return true;  // a deleted message
    if (most_recent > 0 && out.authors.size() == most_recent) {
      out.complete = false;
      return false;
    }
    out.authors.emplace(key.substr(from.size()), value);
    return true;
  };
  auto first = room_authors_begin(st.room_id);  // the member keys come before
  auto to = storage::sequenced_end(st.room_id);
  auto err = most_recent > 0
                 ? st.ctx.store->scan_backward(storage::column::rooms, first, to, 0, take)
                 : st.ctx.store->scan(storage::column::rooms, first, to, 0, take);
  if (err) log()->error("room {}: reading its authors: {}", st.room_id, describe(err));
  for (const auto& [id, user] : st.room.authors) {
    if (user.empty())
      out.authors.erase(id);
    else
      out.authors.insert_or_assign(id, user);
  }
  return out;
}

/// The room's state with its most recent authors, as a joining server gets it.
json snapshot_of(room_pointer self) {
  auto full = self->state.room;
  auto known = authors_of_room(self, max_snapshot_authors);
  full.authors = std::move(known.authors);
  full.authors_complete = known.complete;
  return encode_state(full, true);
}

// -- the queue -----------------------------------------------------------------------------

const crypto::public_key* fresh_key(room_pointer self, const std::string& domain) {
  auto& st = self->state;
  if (domain == st.ctx.own_domain) return &st.ctx.identity->public_key();
  auto i = st.keys.find(domain);
  if (i == st.keys.end() || self->clock().now() - i->second.fetched >= st.ctx.key_ttl)
    return nullptr;
  return &i->second.key;
}

void run_ops(room_pointer self);

void fetch_key(room_pointer self, const std::string& domain) {
  auto& st = self->state;
  st.fetching = true;
  self->request(st.ctx.discovery, st.ctx.settings.request_timeout, resolve_atom::value, domain)
      .then(
          [self, domain](peer_record& rec) {
            auto& st = self->state;
            st.fetching = false;
            if (rec.public_key.size() == crypto::public_key{}.size()) {
              cached_key k;
              k.key = crypto::public_key_of_raw(rec.public_key);
              k.fetched = self->clock().now();
              st.keys.insert_or_assign(domain, k);
              st.head_key = k.key;  // the head uses it, however short key_ttl is
            } else {
              st.key_error = caf::make_error(errc::bad_key_record, "the key of " + domain);
            }
            run_ops(self);
          },
          [self, domain](caf::error& err) {
            auto& st = self->state;
            st.fetching = false;
            st.key_error = caf::make_error(
                errc::unavailable, "cannot resolve the key of " + domain + ": " + detail_of(err));
            run_ops(self);
          });
}

/// Looks the key of `domain` up anew: discovery forgets what it cached first.
void refetch_key(room_pointer self, const std::string& domain) {
  auto& st = self->state;
  st.keys.erase(domain);
  st.head_key.reset();
  st.fetching = true;
  auto fetch = [self, domain] {
    self->state.fetching = false;
    fetch_key(self, domain);
  };
  self->request(st.ctx.discovery, st.ctx.settings.request_timeout, forget_atom::value, domain)
      .then([fetch](bool) { fetch(); }, [fetch](caf::error&) { fetch(); });
}

/// The longest a room waits for federation.keys: previous_keys_timeout, or less when
/// the node's requests time out sooner.
caf::timespan previous_keys_wait(room_pointer self) {
  return std::min<caf::timespan>(previous_keys_timeout, self->state.ctx.settings.request_timeout);
}

/// How long after a room began to ask a domain for its previous keys the others take it
/// as still asking: its discovery lookup and its request, each bounded by the wait.
caf::timespan previous_keys_asking(room_pointer self) {
  return 2 * previous_keys_wait(self);
}

/// Fetches the keys `domain` had before (GET federation.keys from it, signed by its
/// current key) into the node's book, then runs the queue again. False, asking nothing,
/// when another room of the node asks `domain` now: the step then runs without waiting
/// (previous_keys_unknown holds its event back).
bool fetch_previous_keys(room_pointer self, const std::string& domain) {
  auto& st = self->state;
  auto wait = previous_keys_wait(self);
  if (!st.previous_keys->begin_fetch(domain, self->clock().now(), previous_keys_asking(self)))
    return false;
  st.fetching = true;
  auto done = [self, domain](std::vector<previous_key> keys, bool known, std::string why) {
    auto& st = self->state;
    if (!known) log()->info("room {}: no previous keys of {}: {}", st.room_id, domain, why);
    st.previous_keys->record(
        domain, origin_previous_keys{std::move(keys), known, std::move(why), self->clock().now()});
    st.fetching = false;
    run_ops(self);
  };
  self->request(st.ctx.discovery, wait, resolve_atom::value, domain)
      .then(
          [self, domain, done, wait](peer_record& rec) {
            if (rec.public_key.size() != crypto::public_key{}.size())
              return done({}, false, "discovery gave no key");
            auto current = crypto::public_key_of_raw(rec.public_key);
            outbound_request req;
            req.base_url = rec.base_url;
            req.path = std::string{previous_keys_path};
            req.method = "GET";
            self->request(self->state.ctx.transport, wait, send_atom::value, std::move(req))
                .then(
                    [domain, done, current](inbound_reply& reply) {
                      // A version without federation.keys has none to name.
                      if (reply.status == 404) return done({}, true, {});
                      if (reply.status != 200)
                        return done({}, false,
                                    "federation.keys answered " + std::to_string(reply.status));
                      auto read = read_previous_keys(reply.body, domain, current);
                      if (!read) return done({}, false, describe(read.error()));
                      done(std::move(*read), true, {});
                    },
                    [done](caf::error& err) { done({}, false, describe(err)); });
          },
          [done](caf::error& err) { done({}, false, describe(err)); });
  return true;
}

/// Whether an event of `domain` whose signature did not hold under its origin's key may
/// be looked at again: the origin may have changed its key since the cache here (and
/// discovery's, for its TTL) took it, or the event may have been signed before the change.
/// Then the caller returns at once, having changed nothing, and run_ops runs the step
/// again once the key is looked up anew, or, after that, once the origin's previous keys
/// are in (signed_by_previous_key). Each at most once a step; the key anew once per
/// domain in key_refresh_interval, the previous keys once in previous_keys_ttl (once in
/// key_refresh_interval after they could not be fetched). Never for this node's own
/// events: its keys are known here.
bool look_again_for_key(room_pointer self, const std::string& domain) {
  auto& st = self->state;
  if (domain.empty() || domain == st.ctx.own_domain) return false;
  auto now = self->clock().now();
  if (st.head_refresh == key_refresh::none) {
    auto last = st.key_refreshed_at.find(domain);
    if (last == st.key_refreshed_at.end() || now - last->second >= key_refresh_interval) {
      st.key_refreshed_at[domain] = now;
      st.wants_refresh = key_refresh::wanted;
      return true;
    }
  }
  if (st.head_refresh == key_refresh::previous_done) return false;
  auto known = st.previous_keys->find(domain);
  if (known && now - known->fetched < (known->known ? caf::timespan{previous_keys_ttl}
                                                    : caf::timespan{key_refresh_interval}))
    return false;
  st.wants_refresh = key_refresh::previous_wanted;
  return true;
}

/// Whether `e` is signed by a key its origin had before, and says it was made before the
/// key was replaced: the keys this node had (room_context::own_previous_keys), or the
/// ones another origin's federation.keys named (fetched by look_again_for_key).
bool signed_by_previous_key(room_pointer self, const room_event& e) {
  auto& st = self->state;
  const std::vector<previous_key>* keys = nullptr;
  std::shared_ptr<const origin_previous_keys> known;  // keeps `keys` alive
  if (e.origin == st.ctx.own_domain) {
    keys = st.ctx.own_previous_keys.get();
  } else if ((known = st.previous_keys->find(e.origin))) {
    keys = &known->keys;
  }
  if (keys == nullptr) return false;
  return std::any_of(keys->begin(), keys->end(), [&](const previous_key& k) {
    return e.ts <= k.until_ms + previous_key_grace_ms && !verify_event(e, k.key);
  });
}

/// The error that holds an event whose signature did not hold under its origin's key
/// back, when the origin's previous keys could not be fetched, or another room of the
/// node is fetching them: it may be signed with one of them, and its sender sends it
/// again. None when there is nothing to wait for.
caf::error previous_keys_unknown(room_pointer self, const std::string& domain) {
  auto& st = self->state;
  if (domain == st.ctx.own_domain) return caf::none;
  auto why = [&domain](const std::string& what) {
    return caf::make_error(errc::unavailable, "cannot check a signature of " + domain +
                                                  " yet: its previous keys " + what);
  };
  if (st.previous_keys->fetching(domain, self->clock().now(), previous_keys_asking(self)))
    return why("are being fetched");
  auto known = st.previous_keys->find(domain);
  if (!known || known->known) return caf::none;
  return why("could not be fetched: " + known->why);
}

/// What a room does with an event after checking its signature (signature_check).
struct key_verdict {
  bool run_again = false;  // keys are being looked up: the caller returns at once
  caf::error unknown;      // cannot be judged yet (previous_keys_unknown): it comes again
  std::string refusal;     // why it is refused; empty: it passes
};

/// Whether `e`'s signature holds under `key`, its origin's key, or else under a key the
/// origin had before; one that holds under neither is looked at again
/// (look_again_for_key) before it is refused.
key_verdict signature_check(room_pointer self, const room_event& e, const crypto::public_key& key) {
  key_verdict v;
  if (!verify_event(e, key) || signed_by_previous_key(self, e)) return v;
  if (look_again_for_key(self, e.origin))
    v.run_again = true;
  else if (auto err = previous_keys_unknown(self, e.origin))
    v.unknown = std::move(err);
  else
    v.refusal = std::string{bad_signature};
  return v;
}

void run_ops(room_pointer self) {
  auto& st = self->state;
  while (!st.ops.empty() && !st.fetching) {
    auto& head = st.ops.front();
    if (head.refresh == key_refresh::wanted) {
      head.refresh = key_refresh::done;
      refetch_key(self, head.key_domain);
      return;
    }
    if (head.refresh == key_refresh::previous_wanted) {
      head.refresh = key_refresh::previous_done;
      if (fetch_previous_keys(self, head.key_domain)) return;
    }
    crypto::public_key key{};
    bool have_key = false;
    caf::error err;
    if (!head.key_domain.empty()) {
      if (st.head_key) {
        key = *st.head_key;
        have_key = true;
        st.key_error = caf::error{};
      } else if (auto k = fresh_key(self, head.key_domain)) {
        key = *k;
        have_key = true;
        st.key_error = caf::error{};
      } else if (st.key_error) {
        err = std::move(st.key_error);
        st.key_error = caf::error{};
      } else {
        fetch_key(self, head.key_domain);
        return;
      }
    }
    st.head_key.reset();
    auto op = std::move(st.ops.front());
    st.ops.pop_front();
    st.head_refresh = op.refresh;
    op.run(have_key ? &key : nullptr, err);
    st.head_refresh = key_refresh::none;
    if (st.wants_refresh != key_refresh::none) {
      // The step changed nothing: it goes first again, and waits for the keys.
      op.refresh = std::exchange(st.wants_refresh, key_refresh::none);
      st.ops.push_front(std::move(op));
    }
  }
  stop_once_answered(self);
}

void local_submit_group(room_pointer self, std::vector<single_submission> group);

/// Queues the gathered single submissions as one op.
void queue_singles(room_pointer self) {
  auto& st = self->state;
  if (st.singles.empty()) return;
  auto group = std::make_shared<std::vector<single_submission>>(std::move(st.singles));
  st.singles.clear();
  st.ops.push_back(room_op{{},
                           [self, group](const crypto::public_key*, const caf::error&) {
                             local_submit_group(self, std::move(*group));
                           },
                           key_refresh::none});
}

void enqueue(room_pointer self, std::string key_domain,
             std::function<void(const crypto::public_key*, const caf::error&)> run) {
  // Single submissions that came first keep their place.
  queue_singles(self);
  self->state.ops.push_back(room_op{std::move(key_domain), std::move(run), key_refresh::none});
  run_ops(self);
}

/// Holds a single local submission until the messages that arrived with it are read, so
/// concurrent chat.send calls share a signature and an append as a chat.sendBatch does.
void gather_single(room_pointer self, single_submission sub) {
  auto& st = self->state;
  st.singles.push_back(std::move(sub));
  if (st.singles.size() >= max_singles) {
    queue_singles(self);
    run_ops(self);
    return;
  }
  if (!st.singles_due) {
    st.singles_due = true;
    self->send(self, singles_atom::value);
  }
}

// -- the host ------------------------------------------------------------------------------

/// The domain that gets its first member with `e` (it must receive the room's state
/// first); empty when there is none.
std::string newcomer_of(room_pointer self, const room_event& e) {
  auto& st = self->state;
  std::string user;
  if (e.type == event_type::user_invited)
    user = content_text(e, "target");
  else if (e.type == event_type::user_joined)
    user = e.user;
  else
    return {};
  auto domain = std::string{domain_of_user(user)};
  if (domain == st.ctx.own_domain || has_members_on(st.room, domain)) return {};
  return domain;
}

/// The domain of the user who leaves the room with `e`: it learns of it though it may
/// have no member left.
std::string leaver_of(const room_event& e) {
  if (e.type == event_type::user_left) return std::string{domain_of_user(e.user)};
  if (e.type == event_type::user_removed)
    return std::string{domain_of_user(content_text(e, "target"))};
  return {};
}

/// Sequences a validated event into `entry`: the next seq, the state, the log, the inbox
/// and a copy for every other member server (the room's state first for a server that
/// joins with this event). Marks `message_id` (the submission) as being written; its
/// dedup mark is the caller's to add (mark_handled). `canonical`: canonical_form(e) when
/// the caller has it from signing, so the log entry is made from it (empty: written from
/// the event).
void sequence_into(room_pointer self, journal_entry& entry, room_event e,
                   const std::string& message_id, std::string_view canonical = {}) {
  auto& st = self->state;
  e.seq = st.room.last_seq + 1;
  auto newcomer = newcomer_of(self, e);
  json snapshot;
  auto snapshot_seq = st.room.last_seq;
  if (!newcomer.empty()) snapshot = snapshot_of(self);
  auto leaver = leaver_of(e);
  apply_event(self, e);
  record_applied(self, entry, e,
                 canonical.empty() ? std::string{} : encode_from_canonical(canonical, e));
  if (changes_stored_state(e.type)) record_state(self, entry);
  // Each member server's outbox refers to the log entry record_applied put, so the event
  // is stored once however many servers get it.
  auto copy_id = event_message_id(e.room_id, e.id);
  auto log_key = storage::sequenced_key(st.room_id, e.seq);
  auto send_to = [&](const std::string& domain) {
    if (domain == st.ctx.own_domain) return;
    if (domain == newcomer)
      entry.outbound.push_back({domain, state_message(st.room_id, snapshot_seq, snapshot)});
    entry.outbound.push_back({domain, {}, copy_id, log_key});
  };
  for (const auto& [domain, members] : st.room.members_per_domain) send_to(domain);
  if (!leaver.empty() && !has_members_on(st.room, leaver)) send_to(leaver);
  st.writing.insert(message_id);
}

/// Sequences one validated event in an append of its own.
void sequence(room_pointer self, room_event e, const std::string& message_id, done_fn done) {
  journal_entry entry;
  sequence_into(self, entry, std::move(e), message_id);
  mark_handled(self, entry, message_id);
  commit_marked(self, std::move(entry), {message_id}, std::move(done));
}

/// Refuses a member server's submission: the reason travels back to it as a message of
/// kind "rejected", and the submission is marked handled so a resend is not judged again.
void refuse_submit(room_pointer self, const std::string& origin, const room_event& e,
                   const std::string& reason, const std::string& message_id, done_fn done) {
  auto& st = self->state;
  log()->info("room {}: refused {} of {} from {}: {}", st.room_id, to_string(e.type), e.user,
              origin, reason);
  count_events(self, event_source::peer, false);
  journal_entry entry;
  entry.outbound.push_back({origin, rejected_message(st.room_id, e.id, e.user, reason)});
  mark_handled(self, entry, message_id);
  st.writing.insert(message_id);
  commit_marked(self, std::move(entry), {message_id}, std::move(done));
}

using result_promise = caf::typed_response_promise<event_result>;

void deliver(result_promise& promise, const std::string& message_id, const caf::error& err) {
  if (err)
    promise.deliver(err);
  else
    promise.deliver(accepted(message_id));
}

/// Answers a message seen before: accepted, once the appends in flight are on disk
/// (after_appends).
void deliver_seen(room_pointer self, result_promise promise, const std::string& message_id) {
  after_appends(self, [promise, message_id](const caf::error& err) mutable {
    deliver(promise, message_id, err);
  });
}

void on_submit(room_pointer self, const std::string& origin, const std::string& message_id,
               room_event e, result_promise promise) {
  auto& st = self->state;
  if (!st.hosted) {
    count_events(self, event_source::peer, false);
    promise.deliver(refused(message_id, "this node does not host room " + st.room_id));
    return;
  }
  if (e.origin != origin) {
    count_events(self, event_source::peer, false);
    promise.deliver(
        refused(message_id, "event origin " + e.origin + " is not the sender " + origin));
    return;
  }
  auto key_domain = e.origin;
  enqueue(self, key_domain,
          [self, origin, message_id, e = std::move(e), promise](const crypto::public_key* key,
                                                                const caf::error& key_err) mutable {
            auto& st = self->state;
            if (handled(self, message_id)) {
              deliver_seen(self, promise, message_id);
              return;
            }
            if (key == nullptr) {
              promise.deliver(key_err);
              return;
            }
            auto done = [message_id, promise](const caf::error& err) mutable {
              deliver(promise, message_id, err);
            };
            auto v = signature_check(self, e, *key);
            if (v.run_again) return;
            if (v.unknown) {
              promise.deliver(std::move(v.unknown));
              return;
            }
            if (!v.refusal.empty()) {
              refuse_submit(self, origin, e, v.refusal, message_id, done);
              return;
            }
            if (auto err = validate(st.room, e, stored_authors(self))) {
              refuse_submit(self, origin, e, detail_of(err), message_id, done);
              return;
            }
            sequence(self, std::move(e), message_id, [self, done](const caf::error& err) mutable {
              if (!err) count_events(self, event_source::peer, true);
              done(err);
            });
          });
}

// -- a member ------------------------------------------------------------------------------

void request_catchup(room_pointer self);

/// Keeps a sequenced event that came before its turn. At ctx.max_ahead the furthest one
/// is dropped instead when `e` comes earlier, so the event next in line always finds room:
/// dropping it with `ahead` full of later events left the room waiting for ever. Dropped
/// events come back through catch-up from the host's log: `dropped_up_to` keeps the gap
/// they leave open after everything held is applied, when the host may send nothing more.
void hold_ahead(room_actor_state& st, room_event e, std::string logged = {}) {
  if (st.ahead.size() >= st.ctx.max_ahead) {
    auto furthest = std::prev(st.ahead.end());
    ++st.drops;
    if (st.ctx.metrics) ++st.ctx.metrics->dropped_ahead;
    if (furthest->first <= e.seq) {
      st.dropped_up_to = std::max(st.dropped_up_to, e.seq);
      return;
    }
    st.dropped_up_to = std::max(st.dropped_up_to, furthest->first);
    st.ahead.erase(furthest);
  }
  auto seq = e.seq;
  st.ahead.emplace(seq, held_event{std::move(e), std::move(logged)});
}

/// Whether the room misses seqs it knows of: events wait in `ahead` behind a missing seq,
/// or hold_ahead dropped events the room has not applied since.
bool has_gap(const room_actor_state& st) {
  if (!st.ahead.empty()) return st.ahead.begin()->first > st.room.last_seq + 1;
  return st.dropped_up_to > st.room.last_seq;
}

/// Asks the host for a gap that is still there after gap_grace. Under load a host has
/// several transactions in flight and a later one may be applied first; asking at once
/// made members fetch, and hosts serve, events that were already on their way.
void catch_up_after_grace(room_pointer self) {
  auto& st = self->state;
  if (st.ctx.gap_grace.count() <= 0) {
    request_catchup(self);
    return;
  }
  if (st.gap_check_pending) return;
  st.gap_check_pending = true;
  st.gap_check_seq = st.room.last_seq;
  self->delayed_send(self, st.ctx.gap_grace, gap_atom::value);
}

/// gap_grace after a gap was seen: asks the host when the room has not moved on since,
/// and gives a gap that came since (the room moved on) a grace of its own. A member that
/// falls behind its host under load keeps finding new gaps between runs in flight; asking
/// whenever some gap was there at the check made it fetch, and its host read and seal
/// again, events its queue was bringing (a quarter of such a member's CPU, sixteenth round
/// of docs/PERFORMANCE.md). A gap that stays is asked for within two graces.
void on_gap_check(room_pointer self) {
  auto& st = self->state;
  st.gap_check_pending = false;
  if (!has_gap(self->state)) return;
  if (st.room.last_seq != st.gap_check_seq) {
    catch_up_after_grace(self);
    return;
  }
  request_catchup(self);
}

/// Applies the events of `ahead` that are next in line, in one append with what `entry`
/// holds already; `done` runs once that and every earlier append is on disk (with the
/// error when one failed). A gap left behind asks the host.
void drain(room_pointer self, journal_entry entry, done_fn done) {
  auto& st = self->state;
  bool state_changed = false;
  uint64_t applied = 0;
  while (!st.ahead.empty()) {
    auto first = st.ahead.begin();
    if (first->first <= st.room.last_seq) {
      st.ahead.erase(first);
      continue;
    }
    if (first->first != st.room.last_seq + 1) break;
    auto held = std::move(first->second);
    st.ahead.erase(first);
    const auto& e = held.event;
    apply_event(self, e);
    record_applied(self, entry, e, std::move(held.logged));
    state_changed = state_changed || changes_stored_state(e.type);
    ++applied;
  }
  if (state_changed) record_state(self, entry);
  bool gap = has_gap(self->state);
  if (!entry.puts.empty() || !entry.inbox.empty())
    commit(self, std::move(entry), [self, applied](const caf::error& err) {
      if (!err) count_events(self, event_source::peer, true, applied);
    });
  // Once this append, if any, and every one before it is answered: the caller's events
  // seen before (a resend, or part of a run) may be in one of those still in flight.
  after_appends(self, std::move(done));
  if (gap) catch_up_after_grace(self);
}

/// The domain whose key a sequenced event from the host needs: its origin's, unless the
/// host itself is the origin. The host's own events came sealed by the host (a transaction
/// or a catch-up reply opened with its key), which proves the origin as well as its
/// signature would, so they skip the lookup and the Ed25519 check (about 50 µs an event).
std::string relayed_key_domain(room_pointer self, const room_event& e) {
  return e.origin == self->state.host ? std::string{} : e.origin;
}

/// Checks a sequenced event from the host before it may wait in `ahead`: its user must
/// be of its origin, and a relayed event's origin signature must hold (`key` is the
/// origin's key; null for the host's own events, see relayed_key_domain). Empty when it may.
std::string check_relayed(const room_event& e, const crypto::public_key* key) {
  if (domain_of_user(e.user) != e.origin) return "user " + e.user + " is not of origin " + e.origin;
  if (key != nullptr && verify_event(e, *key)) return std::string{bad_signature};
  return {};
}

/// check_relayed, with a bad signature looked at again (signature_check).
key_verdict relayed_check(room_pointer self, const room_event& e, const crypto::public_key* key) {
  auto why = check_relayed(e, key);
  if (why == bad_signature) return signature_check(self, e, *key);
  key_verdict v;
  v.refusal = std::move(why);
  return v;
}

/// Why a sequenced event (of message `message_id` from `origin`) cannot come from this
/// room's host; empty when it can.
std::string not_from_host(room_pointer self, const std::string& origin,
                          const std::string& message_id, const room_event& e) {
  auto& st = self->state;
  if (st.hosted || origin != st.host) return "only the host " + st.host + " sequences the room";
  if (e.seq == 0) return "the event is not sequenced";
  if (message_id != event_message_id(st.room_id, e.id))
    return "the message id does not match its event";
  return {};
}

void on_event(room_pointer self, const std::string& message_id, room_event e,
              result_promise promise) {
  auto key_domain = relayed_key_domain(self, e);
  enqueue(self, key_domain,
          [self, message_id, needs_key = !key_domain.empty(), e = std::move(e), promise](
              const crypto::public_key* key, const caf::error& key_err) mutable {
            auto& st = self->state;
            if (e.seq <= st.room.last_seq || st.ahead.count(e.seq) > 0) {
              deliver_seen(self, promise, message_id);
              return;
            }
            if (needs_key && key == nullptr) {
              promise.deliver(key_err);
              return;
            }
            auto v = relayed_check(self, e, key);
            if (v.run_again) return;
            if (v.unknown) {
              promise.deliver(std::move(v.unknown));
              return;
            }
            if (!v.refusal.empty()) {
              log()->warn("room {}: refused event {} from the host: {}", st.room_id, e.id,
                          v.refusal);
              count_events(self, event_source::peer, false);
              promise.deliver(refused(message_id, v.refusal));
              return;
            }
            ++st.from_queue;
            hold_ahead(st, std::move(e));
            drain(self, {}, [message_id, promise](const caf::error& err) mutable {
              deliver(promise, message_id, err);
            });
          });
}

/// The log entry the host wrote for an event, cut out of the message that carried it
/// (`event_text`, a view into `text`) where it lies: with 4 KiB texts a copy into fresh
/// memory was 7 % of the member's CPU. Empty when the message does not show it.
std::string take_event_text(std::string& text, std::string_view event_text) {
  auto begin = reinterpret_cast<std::uintptr_t>(text.data());
  auto at = reinterpret_cast<std::uintptr_t>(event_text.data());
  if (event_text.empty() || at < begin || at - begin + event_text.size() > text.size()) return {};
  auto offset = static_cast<size_t>(at - begin);
  std::string logged = std::move(text);
  logged.erase(offset + event_text.size());
  logged.erase(0, offset);
  return logged;
}

/// A run of the host's sequenced events (event messages of one transaction): each is
/// checked and placed in line as on_event does, and one drain applies them all in one
/// append. The results wait for that append. The texts are taken apart.
void on_event_run(room_pointer self, const std::string& origin, std::vector<std::string>& texts,
                  caf::typed_response_promise<std::vector<event_result>> promise) {
  auto& st = self->state;
  struct run_state {
    std::vector<event_result> results;
    caf::error failure;  // a key that did not resolve: the sender retries
  };
  auto run = std::make_shared<run_state>();
  run->results.resize(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto message = read_room_message(texts[i]);
    const auto& message_id = message.id;
    if (message_id.empty() || message.kind != event_kind || !message.event) {
      run->results[i] = refused(message_id, "a run holds sequenced events only");
      continue;
    }
    auto& e = *message.event;
    std::string why = !e                         ? detail_of(e.error())
                      : e->room_id != st.room_id ? "an event of another room"
                                                 : not_from_host(self, origin, message_id, *e);
    if (!why.empty()) {
      run->results[i] = refused(message_id, why);
      continue;
    }
    run->results[i] = accepted(message_id);
    auto key_domain = relayed_key_domain(self, *e);
    enqueue(self, key_domain,
            [self, run, i, needs_key = !key_domain.empty(), e = std::move(*e),
             logged = take_event_text(texts[i], message.event_text)](
                const crypto::public_key* key, const caf::error& key_err) mutable {
              auto& st = self->state;
              if (e.seq <= st.room.last_seq || st.ahead.count(e.seq) > 0) return;
              if (needs_key && key == nullptr) {
                if (!run->failure) run->failure = key_err;
                return;
              }
              auto v = relayed_check(self, e, key);
              if (v.run_again) return;
              if (v.unknown) {
                if (!run->failure) run->failure = std::move(v.unknown);
                return;
              }
              if (!v.refusal.empty()) {
                log()->warn("room {}: refused event {} from the host: {}", st.room_id, e.id,
                            v.refusal);
                count_events(self, event_source::peer, false);
                run->results[i] = refused(run->results[i].id, v.refusal);
                return;
              }
              ++st.from_queue;
              hold_ahead(st, std::move(e), std::move(logged));
            });
  }
  enqueue(self, {}, [self, run, promise](const crypto::public_key*, const caf::error&) mutable {
    drain(self, {}, [run, promise](const caf::error& err) mutable {
      if (err || run->failure)
        promise.deliver(err ? err : run->failure);
      else
        promise.deliver(std::move(run->results));
    });
  });
}

void on_state(room_pointer self, const std::string& message_id, uint64_t seq, json state,
              result_promise promise) {
  enqueue(self, {},
          [self, message_id, seq, state = std::move(state), promise](const crypto::public_key*,
                                                                     const caf::error&) mutable {
            auto& st = self->state;
            if (st.room.created() && seq <= st.room.last_seq) {
              deliver_seen(self, promise, message_id);
              return;
            }
            auto fresh = decode_state(state);
            if (!fresh || fresh->room_id != st.room_id || fresh->host != st.host) {
              promise.deliver(refused(
                  message_id, fresh ? "a state of another room" : detail_of(fresh.error())));
              return;
            }
            fresh->last_seq = seq;
            journal_entry entry;
            // Authors this replica knew and a state naming all of them no longer has are
            // deleted messages (one with the most recent only leaves the others as they are).
            if (fresh->authors_complete)
              for (const auto& [id, user] : authors_of_room(self).authors)
                if (fresh->authors.count(id) == 0) {
                  put(entry, storage::column::rooms, room_author_key(st.room_id, id), "");
                  fresh->authors[id] = "";
                }
            for (const auto& [id, user] : fresh->authors) {
              if (!user.empty())
                put(entry, storage::column::rooms, room_author_key(st.room_id, id), user);
              st.authors_unflushed.push_back(id);
            }
            for (const auto& [user, role] : st.room.members) st.members_unstored.push_back(user);
            for (const auto& [user, role] : fresh->members) st.members_unstored.push_back(user);
            st.room = std::move(*fresh);
            if (st.room.type == "direct" && st.room.members.size() == 2)
              put(entry, storage::column::meta,
                  direct_room_key(st.room.members.begin()->first,
                                  std::next(st.room.members.begin())->first),
                  st.room_id);
            mark_handled(self, entry, message_id);
            record_state(self, entry);
            log()->info("room {}: state at seq {} from the host", st.room_id, seq);
            drain(self, std::move(entry), [message_id, promise](const caf::error& err) mutable {
              deliver(promise, message_id, err);
            });
            // Whatever came after the state and before this moment may be lost: ask.
            request_catchup(self);
          });
}

// -- catch-up ------------------------------------------------------------------------------

/// Has the room look, gap_grace from now, how many new events the host's queue brought
/// meanwhile (for the catch-up round of `epoch`).
void check_queue_after_grace(room_pointer self, uint64_t epoch) {
  auto& st = self->state;
  ++st.queue_checks_pending;
  self->delayed_send(self, st.ctx.gap_grace, queue_check_atom::value, epoch, st.from_queue);
}

/// After a full catch-up answer with no gap left: whether the rest is left to the host's
/// queue, which brought new events while the round was under way (a member that restarts
/// while its queue at the host drains would otherwise fetch every event twice, once by
/// catch-up and once by transaction, and the host serve both). gap_grace later the room
/// looks again: while the queue brings at least a catch-up answer's worth of new events
/// per gap_grace the room waits on, and once it brings fewer (it has delivered all, or it
/// is slow) the room asks the host, which answers with the rest or with nothing. With a
/// gap the room asks at once: the queue is not bringing the next seqs in order then, so
/// it cannot be counted on for them.
bool leave_to_queue(room_pointer self) {
  auto& st = self->state;
  if (st.ctx.gap_grace.count() <= 0 || has_gap(self->state) ||
      st.from_queue == st.from_queue_at_ask)
    return false;
  check_queue_after_grace(self, st.catchup_epoch);
  return true;
}

void catchup_failed(room_pointer self, const std::string& what) {
  auto& st = self->state;
  st.catching_up = false;
  ++st.catchup_failures;
  auto delay = st.ctx.settings.backoff_after(st.catchup_failures);
  uint64_t held_back = 0;
  if ((st.catchup_failures == 1 || st.catchup_failures % 10 == 0) &&
      (!st.ctx.catchup_lines ||
       st.ctx.catchup_lines->take(st.host, std::chrono::steady_clock::now(), held_back)))
    log()->warn("room {}: catch-up from {} failed (attempt {}, retrying in {} ms): {}{}",
                st.room_id, st.host, st.catchup_failures,
                std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(), what,
                not_logged(held_back));
  self->delayed_send(self, delay, catchup_atom::value, st.catchup_epoch);
}

void on_catchup_reply(room_pointer self, const crypto::box_key& key, uint64_t asked_after,
                      inbound_reply& reply) {
  auto& st = self->state;
  if (reply.status == 403 || reply.status == 404) {
    // The host says we have no member in the room, or does not know it: asking again
    // will not change that. The next event from the host starts over.
    log()->info("room {}: the host refuses catch-up: {}", st.room_id,
                answer_excerpt(reply.status, reply.body));
    st.catching_up = false;
    st.catchup_failures = 0;
    return;
  }
  if (reply.status != 200) {
    catchup_failed(self, answer_excerpt(reply.status, reply.body));
    return;
  }
  auto opened = key.open(reply.body);
  if (!opened) {
    catchup_failed(self, "the reply does not open: " + describe(opened.error()));
    return;
  }
  auto events = read_event_array(*opened);
  if (!events) {
    catchup_failed(self, "the reply is not a JSON array");
    return;
  }
  auto unresolved = std::make_shared<std::string>();
  for (auto& e : *events) {
    if (!e || e->seq == 0 || e->room_id != st.room_id) {
      log()->warn("room {}: catch-up brought a bad event: {}", st.room_id,
                  e ? "not sequenced or of another room" : describe(e.error()));
      continue;
    }
    auto key_domain = relayed_key_domain(self, *e);
    enqueue(self, key_domain,
            [self, needs_key = !key_domain.empty(), e = std::move(*e), unresolved](
                const crypto::public_key* key, const caf::error& key_err) mutable {
              auto& st = self->state;
              if (e.seq <= st.room.last_seq || st.ahead.count(e.seq) > 0) return;
              if (needs_key && key == nullptr) {
                *unresolved = detail_of(key_err);
                return;
              }
              auto v = relayed_check(self, e, key);
              if (v.run_again) return;
              if (v.unknown) {
                *unresolved = detail_of(v.unknown);
                return;
              }
              if (!v.refusal.empty()) {
                log()->error("room {}: catch-up event {} refused: {}", st.room_id, e.id, v.refusal);
                return;
              }
              hold_ahead(st, std::move(e));
            });
  }
  bool full = events->size() >= st.ctx.catchup_batch;
  bool none = events->empty();
  enqueue(
      self, {},
      [self, asked_after, full, none, unresolved](const crypto::public_key*, const caf::error&) {
        auto& st = self->state;
        // The host has nothing after our last seq: what was dropped ahead before we asked
        // is not there (seqs a host sent but never logged), and asking again will not
        // bring it. An event dropped since may have been logged after the host answered.
        if (none && st.drops == st.drops_at_ask) st.dropped_up_to = 0;
        // Still catching up while draining: a gap it leaves must not start a round at
        // once, past the backoff below (with a host that cannot fill it, that was a
        // loop as fast as the host answered).
        drain(self, {}, [](const caf::error&) {});
        st.catching_up = false;
        if (!unresolved->empty()) {
          catchup_failed(self, *unresolved);
          return;
        }
        if (has_gap(self->state) && st.room.last_seq == asked_after) {
          // The host's answer did not fill the gap: waiting is all that helps.
          catchup_failed(self, "the host's events do not fill the gap after seq " +
                                   std::to_string(st.room.last_seq));
          return;
        }
        st.catchup_failures = 0;
        if (st.catchup_again || (full && !leave_to_queue(self))) request_catchup(self);
      });
}

void send_catchup(room_pointer self, peer_record& rec) {
  auto& st = self->state;
  if (rec.public_key.size() != crypto::public_key{}.size()) {
    catchup_failed(self, "discovery gave a bad key for " + st.host);
    return;
  }
  if (!st.host_box || st.host_box_of != rec.public_key) {
    auto box = crypto::box_key::derive(*st.ctx.identity, crypto::public_key_of_raw(rec.public_key));
    if (!box) {
      catchup_failed(self, describe(box.error()));
      return;
    }
    st.host_box = std::move(*box);
    st.host_box_of = rec.public_key;
  }
  auto after = st.room.last_seq;
  if (st.ctx.metrics) ++st.ctx.metrics->catchup_requests;
  st.drops_at_ask = st.drops;
  json body = {{"room_id", st.room_id}, {"after", after}, {"limit", st.ctx.catchup_batch}};
  if (st.ctx.catchup_max_bytes > 0) body["max_bytes"] = st.ctx.catchup_max_bytes;
  outbound_request req;
  req.base_url = rec.base_url;
  req.path = std::string{since_path};
  req.headers = {{std::string{origin_header}, st.ctx.own_domain},
                 {std::string{version_header}, std::to_string(protocol_version)}};
  req.body = st.host_box->seal(body.dump());
  auto key = *st.host_box;
  self->request(st.ctx.transport, st.ctx.settings.request_timeout, send_atom::value, std::move(req))
      .then([self, key, after](inbound_reply& reply) { on_catchup_reply(self, key, after, reply); },
            [self](caf::error& err) { catchup_failed(self, describe(err)); });
}

/// Asks the host for the events after our last seq (one request at a time).
void request_catchup(room_pointer self) {
  auto& st = self->state;
  if (st.hosted) return;
  if (st.catching_up) {
    st.catchup_again = true;
    return;
  }
  st.catching_up = true;
  st.catchup_again = false;
  st.from_queue_at_ask = st.from_queue;
  ++st.catchup_epoch;
  self->request(st.ctx.discovery, st.ctx.settings.request_timeout, resolve_atom::value, st.host)
      .then([self](peer_record& rec) { send_catchup(self, rec); },
            [self](caf::error& err) { catchup_failed(self, "discovery: " + describe(err)); });
}

// -- local submissions ---------------------------------------------------------------------

[[nodiscard]] caf::expected<room_event> local_event(room_pointer self, local_submission& sub) {
  auto& st = self->state;
  // Made for another room id than this room's (a spelling the manager did not see as
  // ours): made again here, and signed here.
  if (!sub.event_id.empty() && sub.room_id != st.room_id) {
    sub.event_id.clear();
    sub.sig.clear();
  }
  return make_local_event(sub, st.room_id, st.ctx.own_domain);
}

/// Adds a local event to `entry`: sequenced on the host, queued for the host on a member
/// (whose replica refuses what the host would, to spare the round trip; only a join may go
/// to a room this node has no replica of yet). Marks its message id as being written and
/// appends it to `ids`. Returns false, adding nothing, when the id was handled before: the
/// submission then answers it once the appends sent so far are on disk, its own included
/// (after_appends), as its first copy may be in one of them. `made_id`: the id was made here
/// (random), so no earlier copy can exist and the dedup read, a RocksDB lookup, is skipped;
/// nor can a later one (the chat server gave no id to send again, and no peer may send an
/// event id of this node's domain), so the submission gets no dedup mark either: a put
/// fewer per message, and a dedup column that does not grow with such messages.
/// `canonical`: the event's canonical form from sign_events.
caf::expected<bool> add_local(room_pointer self, journal_entry& entry, room_event e, bool made_id,
                              std::vector<std::string>& ids, std::string_view canonical) {
  auto& st = self->state;
  auto message_id = submit_message_id(st.room_id, e.id);
  if (!made_id && handled(self, message_id)) return false;
  if (st.hosted) {
    if (auto err = validate(st.room, e, stored_authors(self))) {
      count_events(self, event_source::local, false);
      return err;
    }
    sequence_into(self, entry, std::move(e), message_id, canonical);
    if (!made_id) mark_handled(self, entry, message_id);
  } else {
    if (st.room.created()) {
      if (auto err = validate(st.room, e, stored_authors(self))) {
        count_events(self, event_source::local, false);
        return err;
      }
    } else if (e.type != event_type::user_joined) {
      return caf::make_error(errc::not_found, "no such room " + st.room_id);
    }
    entry.outbound.push_back({st.host, submit_message(e)});
    if (!made_id) mark_handled(self, entry, message_id);
    st.writing.insert(message_id);
  }
  ids.push_back(message_id);
  return true;
}

/// Single local submissions that arrived together, signed together (one Ed25519 signature
/// per group of 16) and written in one append; each answered on its own, in order.
void local_submit_group(room_pointer self, std::vector<single_submission> group) {
  std::vector<room_event*> to_sign;
  for (auto& sub : group) to_sign.push_back(&sub.event);
  auto forms = sign_events(to_sign, *self->state.ctx.identity);
  journal_entry entry;
  std::vector<std::string> ids;
  using answer = std::pair<caf::typed_response_promise<std::string>, std::string>;
  std::vector<answer> pending;  // answered by the append
  std::vector<answer> seen;     // ids handled before
  for (size_t k = 0; k < group.size(); ++k) {
    auto& sub = group[k];
    auto id = sub.event.id;
    auto added = add_local(self, entry, std::move(sub.event), sub.made_id, ids, forms[k]);
    if (!added)
      sub.promise.deliver(added.error());
    else
      (*added ? pending : seen).emplace_back(sub.promise, std::move(id));
  }
  auto answer_all = [](std::vector<answer>& answers, const caf::error& err) {
    for (auto& [promise, id] : answers) {
      if (err)
        promise.deliver(err);
      else
        promise.deliver(id);
    }
  };
  if (!ids.empty())
    commit_marked(self, std::move(entry), std::move(ids),
                  [self, answer_all, pending = std::move(pending)](const caf::error& err) mutable {
                    if (!err) count_events(self, event_source::local, true, pending.size());
                    answer_all(pending, err);
                  });
  // After the commit, so a copy of an id of this very group waits for it too.
  if (!seen.empty())
    after_appends(self, [answer_all, seen = std::move(seen)](const caf::error& err) mutable {
      answer_all(seen, err);
    });
}

/// A batch of local submissions in one append: one journal write (and one fan-out per
/// member server) for all of them. Each gets its own result, in order; a refused one does
/// not hold the others back.
void local_submit_batch(room_pointer self, std::vector<local_submission> subs,
                        caf::typed_response_promise<std::vector<event_result>> promise) {
  auto results = std::make_shared<std::vector<event_result>>(subs.size());
  journal_entry entry;
  std::vector<std::string> ids;
  std::vector<size_t> pending;  // results that wait for the append
  std::vector<size_t> seen;     // ids handled before
  // Built first and signed together: one Ed25519 signature per group of events. Those
  // the manager signed with other rooms' (a batch across rooms) come with their signature.
  std::vector<std::optional<room_event>> events(subs.size());
  std::vector<std::string> forms(subs.size());  // each event's canonical form
  std::vector<room_event*> to_sign;
  std::vector<size_t> signing;  // the index of each event of to_sign
  for (size_t i = 0; i < subs.size(); ++i) {
    auto e = local_event(self, subs[i]);
    if (!e) {
      (*results)[i] = {{}, false, detail_of(e.error())};
      continue;
    }
    events[i] = std::move(*e);
    if (subs[i].event_id.empty()) {
      to_sign.push_back(&*events[i]);
      signing.push_back(i);
    } else {
      events[i]->sig = std::move(subs[i].sig);
      forms[i] = canonical_form(*events[i]);
    }
  }
  auto signed_forms = sign_events(to_sign, *self->state.ctx.identity);
  for (size_t k = 0; k < signing.size(); ++k) forms[signing[k]] = std::move(signed_forms[k]);
  for (size_t i = 0; i < subs.size(); ++i) {
    if (!events[i]) continue;
    (*results)[i].id = events[i]->id;
    auto added = add_local(self, entry, std::move(*events[i]), subs[i].id.empty(), ids, forms[i]);
    if (!added) {
      (*results)[i].reason = detail_of(added.error());
      continue;
    }
    (*results)[i].accepted = true;
    (*added ? pending : seen).push_back(i);
  }
  auto refuse_all = [results](const std::vector<size_t>& which, const caf::error& err) {
    for (auto i : which) (*results)[i] = {(*results)[i].id, false, detail_of(err)};
  };
  if (!ids.empty())
    commit_marked(self, std::move(entry), std::move(ids),
                  [self, refuse_all, pending](const caf::error& err) {
                    if (err)
                      refuse_all(pending, err);
                    else
                      count_events(self, event_source::local, true, pending.size());
                  });
  // The answer goes once the append above and those of earlier copies of `seen` are on
  // disk (after the commit's own handler, which runs first).
  after_appends(self, [promise, results, refuse_all, seen](const caf::error& err) mutable {
    if (err) refuse_all(seen, err);
    promise.deliver(std::move(*results));
  });
}

// -- reads ---------------------------------------------------------------------------------

/// The stored events after `after`, at most `limit`, each as stored (wire form with seq);
/// with `max_bytes`, no more bytes of events than that but for the first event.
[[nodiscard]] caf::expected<std::vector<std::string>> read_log(room_pointer self, uint64_t after,
                                                               uint32_t limit,
                                                               uint64_t max_bytes = 0) {
  auto& st = self->state;
  std::vector<std::string> out;
  if (after == std::numeric_limits<uint64_t>::max()) return out;
  uint64_t bytes = 0;
  auto err =
      st.ctx.store->scan(storage::column::room_log, storage::sequenced_key(st.room_id, after + 1),
                         storage::sequenced_end(st.room_id), limit,
                         [&out, &bytes, max_bytes](std::string_view, std::string_view value) {
                           bytes += value.size() + 1;  // and the comma of the JSON array
                           if (max_bytes > 0 && bytes > max_bytes && !out.empty()) return false;
                           out.emplace_back(value);
                           return true;
                         });
  if (err) return caf::make_error(errc::storage_failed, "room log: " + describe(err));
  // Read for a member's catch-up or the chat server: nothing an OS crash could take back
  // may leave (storage.sync = "periodic"; a host would hand out those seqs again).
  if (!out.empty())
    if (auto durable = st.ctx.store->make_durable())
      return caf::make_error(errc::storage_failed, "room log: " + describe(durable));
  return out;
}

void load(room_pointer self) {
  auto& st = self->state;
  auto stored = read_room_state(*st.ctx.store, st.room_id);
  if (!stored) {
    log()->error("room {}: reading its state: {}", st.room_id, describe(stored.error()));
    return;
  }
  if (!*stored) return;
  st.room = std::move((*stored)->room);  // authors stay in the store (stored_authors)
  // Stored by an earlier version inside the state value: the next record_state moves
  // them to keys of their own, in the same write that drops them from the value.
  if ((*stored)->members_in_value)
    for (const auto& [user, role] : st.room.members) st.members_unstored.push_back(user);
  // The state value is not rewritten for messages (changes_stored_state): the log knows
  // the last seq applied.
  auto last =
      st.ctx.store->last_in_range(storage::column::room_log, storage::sequenced_key(st.room_id, 0),
                                  storage::sequenced_end(st.room_id));
  if (!last) {
    log()->error("room {}: reading its log: {}", st.room_id, describe(last.error()));
    return;
  }
  if (*last)
    if (auto split = storage::split_sequenced_key((*last)->first);
        split && split->second > st.room.last_seq)
      st.room.last_seq = split->second;
}

/// Whether the room has nothing under way that a stop would lose or leave unanswered: no
/// append or answer waiting for one, no queued step or submission, no key lookup, no
/// event held ahead of a gap or dropped there, and no catch-up asked, due or failing (a
/// retry is a timer). Its state is then all in the store, where the next actor of the room
/// finds it.
bool idle(const room_actor_state& st) {
  return st.writing.empty() && st.appends_in_flight.empty() && st.after_appends_waiting.empty() &&
         st.ops.empty() && st.singles.empty() && !st.singles_due && !st.fetching &&
         st.ahead.empty() && !has_gap(st) && !st.catching_up && !st.catchup_again &&
         st.catchup_failures == 0 && !st.gap_check_pending && st.queue_checks_pending == 0 &&
         !st.journal_failed;
}

room_impl::behavior_type room(room_pointer self, room_context ctx, std::string room_id) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.previous_keys =
      st.ctx.previous_keys ? st.ctx.previous_keys : std::make_shared<previous_keys_book>();
  st.room_id = std::move(room_id);
  st.host = std::string{domain_of_id(st.room_id)};
  st.hosted = st.host == st.ctx.own_domain;
  if (auto metrics = st.ctx.metrics) {
    ++metrics->rooms_running;
    self->attach_functor([metrics] { --metrics->rooms_running; });
  }
  load(self);
  // A replica may have missed events while the node was down.
  if (!st.hosted && st.room.created() && st.ctx.catch_up_at_start) request_catchup(self);
  return {
      [self](submit_atom, local_submission& sub) -> caf::result<std::string> {
        auto e = local_event(self, sub);
        if (!e) return e.error();
        auto promise = self->make_response_promise<std::string>();
        gather_single(self, {std::move(*e), sub.id.empty(), promise});
        return promise;
      },
      [self](singles_atom) {
        self->state.singles_due = false;
        queue_singles(self);
        run_ops(self);
      },
      [self](submit_atom,
             std::vector<local_submission>& subs) -> caf::result<std::vector<event_result>> {
        auto promise = self->make_response_promise<std::vector<event_result>>();
        enqueue(self, {},
                [self, subs = std::move(subs), promise](const crypto::public_key*,
                                                        const caf::error&) mutable {
                  local_submit_batch(self, std::move(subs), promise);
                });
        return promise;
      },
      [self](apply_atom, const std::string& origin,
             const std::string& text) -> caf::result<event_result> {
        auto& st = self->state;
        auto doc = parse_json(text, max_room_json_values);  // a room's state holds every member
        if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string() ||
            !doc.contains("kind") || !doc["kind"].is_string())
          return refused("", "a room message is a JSON object with a string kind and id");
        auto message_id = doc["id"].get<std::string>();
        auto kind = doc["kind"].get<std::string>();
        if (kind == state_kind) {
          if (st.hosted || origin != st.host)
            return refused(message_id, "only the host " + st.host + " sends the room's state");
          auto seq = doc.find("seq");
          auto state = doc.find("state");
          if (seq == doc.end() || !seq->is_number_unsigned() || state == doc.end())
            return refused(message_id, "a room state needs \"seq\" and \"state\"");
          if (message_id != state_message_id(st.room_id, seq->get<uint64_t>()))
            return refused(message_id, "the message id does not match the state");
          auto promise = self->make_response_promise<event_result>();
          on_state(self, message_id, seq->get<uint64_t>(), std::move(*state), promise);
          return promise;
        }
        if (kind != submit_kind && kind != event_kind)
          return refused(message_id, "unknown kind \"" + kind + "\"");
        auto inner = doc.find("event");
        if (inner == doc.end()) return refused(message_id, "missing \"event\"");
        auto e = decode_event(std::move(*inner));
        if (!e) return refused(message_id, detail_of(e.error()));
        if (e->room_id != st.room_id) return refused(message_id, "an event of another room");
        if (kind == submit_kind) {
          if (message_id != submit_message_id(st.room_id, e->id))
            return refused(message_id, "the message id does not match its event");
          auto promise = self->make_response_promise<event_result>();
          on_submit(self, origin, message_id, std::move(*e), promise);
          return promise;
        }
        if (auto why = not_from_host(self, origin, message_id, *e); !why.empty())
          return refused(message_id, why);
        auto promise = self->make_response_promise<event_result>();
        on_event(self, message_id, std::move(*e), promise);
        return promise;
      },
      [self](apply_atom, const std::string& origin,
             std::vector<std::string>& texts) -> caf::result<std::vector<event_result>> {
        auto promise = self->make_response_promise<std::vector<event_result>>();
        on_event_run(self, origin, texts, promise);
        return promise;
      },
      [self](info_atom, const std::string& domain) -> bool {
        const auto& room = self->state.room;
        return room.created() && !room.deleted && has_members_on(room, domain);
      },
      [self](info_atom) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.room.created())
          return caf::make_error(errc::not_found, "no such room " + st.room_id);
        // Its last_seq must not be taken back: the view is answered once the appends that
        // made it are written and, with storage.sync = "periodic", on disk; else a host
        // could hand out a seq the chat server already counted again after an OS crash.
        auto promise = self->make_response_promise<std::string>();
        after_appends(self, [self, promise, view = dump(info_view(st.room, st.ctx.own_domain))](
                                const caf::error& err) mutable {
          if (err) {
            promise.deliver(err);
            return;
          }
          if (auto durable = self->state.ctx.store->make_durable()) {
            promise.deliver(
                caf::make_error(errc::storage_failed, "room state: " + describe(durable)));
            return;
          }
          promise.deliver(std::move(view));
        });
        return promise;
      },
      [self](history_atom, uint64_t after, uint32_t limit) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.room.created())
          return caf::make_error(errc::not_found, "no such room " + st.room_id);
        if (limit == 0) limit = default_history_limit;
        // Bounded in bytes too: 1,000 messages of 1 MiB would be a reply of a GB.
        auto events =
            read_log(self, after, std::min(limit, max_page), st.ctx.settings.batch_max_bytes);
        if (!events) return events.error();
        json out = json::array();
        for (const auto& text : *events) {
          auto e = parse_event(text);
          if (e) out.push_back(local_view(*e, st.ctx.own_domain));
        }
        return dump(out);
      },
      [self](since_atom, const std::string& origin, uint64_t after, uint32_t limit,
             uint64_t max_bytes) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.hosted) return caf::make_error(errc::rejected, "not the host of " + st.room_id);
        if (!st.room.created())
          return caf::make_error(errc::not_found, "no such room " + st.room_id);
        if (!has_members_on(st.room, origin))
          return caf::make_error(errc::rejected, "not a member server");
        if (limit == 0) limit = st.ctx.catchup_batch;
        // An answer no larger than the member takes: 500 events of 100 KB were more than
        // the 16 MiB a node takes in a response by default, and a member asked for that
        // page again and again, its room held at the gap for good.
        uint64_t cap = st.ctx.settings.batch_max_bytes;
        if (max_bytes > 0) cap = std::min(cap, max_bytes);
        auto events =
            read_log(self, after, std::min(limit, std::max(max_page, st.ctx.catchup_batch)), cap);
        if (!events) return events.error();
        std::string out = "[";
        for (size_t i = 0; i < events->size(); ++i) {
          if (i > 0) out += ',';
          out += (*events)[i];
        }
        out += ']';
        return out;
      },
      [self](idle_atom, int64_t deadline) -> bool {
        // Past the deadline the manager may have stopped awaiting the answer and be routing
        // messages here again: a stop now could drop them.
        if (self->clock().now().time_since_epoch().count() > deadline) return false;
        if (!idle(self->state)) return false;
        self->quit();
        return true;
      },
      [self](catchup_atom, uint64_t epoch) {
        auto& st = self->state;
        if (epoch == st.catchup_epoch && !st.catching_up) request_catchup(self);
      },
      [self](gap_atom) { on_gap_check(self); },
      [self](queue_check_atom, uint64_t epoch, uint64_t brought_before) {
        auto& st = self->state;
        --st.queue_checks_pending;
        // A round asked since then decides at its own end.
        if (epoch != st.catchup_epoch || st.catching_up) return;
        if (st.from_queue - brought_before < st.ctx.catchup_batch)
          request_catchup(self);
        else
          check_queue_after_grace(self, epoch);
      },
  };
}

}  // namespace

room_actor spawn_room(caf::actor_system& sys, room_context ctx, std::string room_id) {
  return sys.spawn(room, std::move(ctx), std::move(room_id));
}

}  // namespace fedrelay::actors
