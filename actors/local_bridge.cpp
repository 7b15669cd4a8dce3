// The local bridge. A long-poll that finds nothing parks its response promise in the state;
// an inbox wake from the journal answers every waiter whose cursor it passed, and a sweep
// on the actor clock answers the waiters whose wait is over with whatever is new (usually
// nothing). One sweep is scheduled at a time, for the earliest deadline: a local server that
// polls a busy inbox hundreds of times a second would otherwise put a timer on the clock
// for every poll, each firing later at a waiter long answered.
#include "actors/local_bridge_actor.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/event_reader.hpp"
#include "actors/inbox.hpp"
#include "actors/logger.hpp"
#include "actors/room_event.hpp"
#include "actors/transaction.hpp"
#include "storage/keys.hpp"
#include "storage/sequenced_read.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {

std::string local_user_key(std::string_view username) {
  return storage::joined_key({"user", username});
}

namespace {

using json = nlohmann::json;
using bridge_impl = local_bridge_actor::extend<caf::reacts_to<expire_atom>>;
using time_point = caf::actor_clock::time_point;

constexpr uint32_t default_page = 100;
constexpr uint32_t max_page = 1000;
/// A page ends once its events pass this many bytes (it holds one at least): a thousand
/// messages of 1 MiB would be a reply of a GB.
constexpr size_t max_page_bytes = 4u << 20;
// References a page reads before it knows how large their views are (see read_page).
constexpr size_t first_chunk = 16;

struct waiter {
  uint64_t after = 0;
  uint32_t limit = 0;
  bool resolve = true;  // show references as their events (false: pass over them)
  time_point deadline;
  caf::typed_response_promise<std::string> promise;
};

struct local_bridge_state {
  storage::store* store = nullptr;
  std::string own_domain;              // users of this domain are shown in the local API's form
  std::map<uint64_t, waiter> waiters;  // by waiter id
  uint64_t next_waiter = 0;
  std::set<time_point> sweeps;  // when the sweeps scheduled on the clock come
  // The newest inbox cursor the bridge knows of: read from the inbox's last key on first
  // use, then moved on by the journal's wakes and by every page. Once read, it is at least
  // every cursor this bridge handed out (a wake can come after the page that showed its
  // events), so a reader's cursor past it is past anything written.
  std::optional<uint64_t> newest;
  static inline const char* name = "local_bridge";
};

using bridge_pointer = bridge_impl::stateful_pointer<local_bridge_state>;

[[nodiscard]] caf::expected<uint64_t> newest_cursor(bridge_pointer self) {
  auto& st = self->state;
  if (st.newest) return *st.newest;
  auto last = last_inbox_cursor(*st.store);
  if (!last) return last.error();
  st.newest = *last;
  return *last;
}

/// How the local server sees room log entry `logged`, which an inbox reference at `cursor`
/// names; the parse error when the entry does not parse, which a write in one batch with
/// the reference rules out short of a damaged store (the reader then goes past it).
caf::expected<std::string> local_view_of(bridge_pointer self, std::string_view logged,
                                         uint64_t cursor) {
  // A message, the bulk of any inbox, is shown without making its event first.
  if (auto shown = read_message_view(logged, self->state.own_domain, cursor))
    return std::move(*shown);
  auto e = parse_event(logged);
  if (!e) return std::move(e.error());
  return with_cursor(local_view_text(*e, self->state.own_domain), cursor);
}

/// One page of the inbox: the JSON reply, the events it holds, and the cursor it ends at
/// (past entries skipped as damaged too, so it can be ahead of the last event's).
struct inbox_page {
  std::string reply;
  size_t count = 0;
  uint64_t next = 0;
};

/// The page after `after`; with `resolve` false, references to messages are passed over
/// unread (those of earlier versions, which may be of any event, are still shown).
[[nodiscard]] caf::expected<inbox_page> read_page(bridge_pointer self, uint64_t after,
                                                  uint32_t limit, bool resolve) {
  // The reply is written in one string, sized once its pieces are known: a page of large
  // messages is megabytes, and growing it, then copying it into its frame, was a tenth of
  // a receiver's CPU with 4 KiB messages.
  constexpr std::string_view opening = R"({"events":[)";
  std::string reply{opening};
  size_t count = 0;
  uint64_t next = after;
  auto append = [&](std::string_view value, uint64_t cursor) {
    next = cursor;
    if (count++ > 0) reply.push_back(',');
    reply.append(value);
  };
  auto full = [&] { return reply.size() - opening.size() >= max_page_bytes; };
  // The journal wrote each value as a JSON object holding its cursor, or as a reference
  // into the room log. Values are appended as they are scanned up to the first reference
  // to show; from there they are kept, and the references read together afterwards (a
  // large message's log entries come in runs of seqs, see storage::read_sequenced).
  enum class kind { whole, reference, passed_over };
  struct kept {
    uint64_t cursor;
    std::string value;  // whole: the event; reference: the room log key
    kind what;
  };
  std::vector<kept> tail;
  caf::error err;
  if (after < std::numeric_limits<uint64_t>::max()) {
    limit = limit == 0 ? default_page : std::min(limit, max_page);
    err = self->state.store->scan(
        storage::column::inbox, storage::encode_u64(after + 1), "", limit,
        [&](std::string_view key, std::string_view value) {
          auto cursor = storage::decode_u64(key).value_or(tail.empty() ? next : tail.back().cursor);
          auto reference = inbox_reference(value);
          if (reference && !resolve && is_message_reference(value)) {
            if (tail.empty())
              next = cursor;
            else
              tail.push_back({cursor, {}, kind::passed_over});
            return true;
          }
          if (tail.empty() && !reference) {
            append(value, cursor);
            return !full();
          }
          if (reference)
            tail.push_back({cursor, std::string{*reference}, kind::reference});
          else
            tail.push_back({cursor, std::string{value}, kind::whole});
          return true;
        });
  }
  // Each entry's view is made as it is read, without keeping a copy of the entry (views
  // are nullopt until their entry is found). The references are read in chunks, each
  // sized by the views so far to what the page still has room for: a page of 1 MiB
  // messages holds four, and reading every reference the scan found first (up to
  // `limit`) read a gigabyte for it. An entry that does not parse is logged when the page
  // reaches it, not when it is read past the page's end.
  std::vector<std::optional<caf::expected<std::string>>> views(tail.size());
  auto show = [&](size_t i, std::string_view logged) {
    views[i].emplace(local_view_of(self, logged, tail[i].cursor));
  };
  auto& store = *self->state.store;
  caf::error unreadable;
  size_t chunk = first_chunk;
  for (size_t begin = 0; begin < tail.size() && !full() && !unreadable;) {
    auto end = std::min(tail.size(), begin + chunk);
    std::vector<std::string_view> log_keys;
    std::vector<size_t> referring;  // the tail entry of each log key
    for (size_t i = begin; i < end; ++i)
      if (tail[i].what == kind::reference) {
        log_keys.push_back(tail[i].value);
        referring.push_back(i);
      }
    auto together = storage::read_sequenced(
        store, storage::column::room_log, log_keys,
        [&](size_t k, std::string_view value) { show(referring[k], value); });
    // What the page will hold of this chunk, in its order and up to the entry that fills it.
    size_t bytes = reply.size();
    for (size_t i = begin; i < end && bytes - opening.size() < max_page_bytes; ++i)
      if (tail[i].what == kind::whole)
        bytes += 1 + tail[i].value.size();
      else if (views[i] && *views[i])
        bytes += 1 + (*views[i])->size();
    // Room for the page's end, and for what the local API puts in front (`"success"`).
    reply.reserve(bytes + 64);
    for (size_t i = begin; i < end && !full(); ++i) {
      auto& entry = tail[i];
      if (entry.what == kind::passed_over) {
        next = entry.cursor;
        continue;
      }
      if (entry.what == kind::whole) {
        append(entry.value, entry.cursor);
        continue;
      }
      if (together && !views[i]) {
        // Some entry could not be read: each not read yet is looked up alone, so the page
        // ends before the first that cannot, and the next read tries it again.
        auto alone = store.get(storage::column::room_log, entry.value);
        if (!alone) {
          unreadable = std::move(alone.error());
          break;
        }
        if (*alone) show(i, **alone);
      }
      next = entry.cursor;
      if (!views[i])
        log()->error("inbox: cursor {} refers to a room log entry that is missing", entry.cursor);
      else if (!*views[i])
        log()->error("inbox: cursor {} refers to a room log entry that does not parse: {}",
                     entry.cursor, describe(views[i]->error()));
      else
        append(**views[i], entry.cursor);
    }
    begin = end;
    auto used = std::min(reply.size() - opening.size(), max_page_bytes);
    auto average = count > 0 ? (reply.size() - opening.size()) / count : 0;
    chunk = average > 0 ? (max_page_bytes - used) / average + 1 : tail.size();
  }
  if (!err) err = std::move(unreadable);
  if (err && count == 0) return caf::make_error(errc::storage_failed, "inbox: " + describe(err));
  auto& newest_known = self->state.newest;
  if (newest_known && next > after) newest_known = std::max(*newest_known, next);
  // A cursor past the newest (one kept from before the node's data was replaced, say) is
  // answered with the newest: a reader waiting there would skip every event numbered up
  // to it. Only what the bridge knows to be written counts, so none written meanwhile is.
  if (count == 0 && next == after && after > 0) {
    auto newest = newest_cursor(self);
    if (!newest) return caf::make_error(errc::storage_failed, "inbox: " + describe(newest.error()));
    next = std::min(next, *newest);
  }
  // With storage.sync = "periodic" the page may hold events not yet on disk: the chat
  // server must not see what an OS crash could take back (it would move its cursor past
  // numbers the node then hands out again).
  if (count > 0 || next > after)
    if (auto durable = store.make_durable())
      return caf::make_error(errc::storage_failed, "inbox: " + describe(durable));
  reply.append(R"(],"next":)").append(std::to_string(next)).push_back('}');
  return inbox_page{std::move(reply), count, next};
}

void answer(bridge_pointer self, waiter& w) {
  auto page = read_page(self, w.after, w.limit, w.resolve);
  if (page)
    w.promise.deliver(std::move(page->reply));
  else
    w.promise.deliver(page.error());
}

/// Schedules a sweep at `due` unless one comes by then. Sweeps cannot be cancelled: one
/// that finds no waiter due only schedules the next.
void sweep_at(bridge_pointer self, time_point due) {
  auto& st = self->state;
  if (!st.sweeps.empty() && *st.sweeps.begin() <= due) return;
  st.sweeps.insert(due);
  self->delayed_send(self, due - self->clock().now(), expire_atom::value);
}

/// A page after `after` now, or once events come or `wait_ms` is over.
caf::result<std::string> fetch(bridge_pointer self, uint64_t after, uint32_t limit,
                               uint32_t wait_ms, bool resolve) {
  auto page = read_page(self, after, limit, resolve);
  if (!page) return page.error();
  // A page of skipped entries only still moves the reader on.
  if (page->count > 0 || page->next != after || wait_ms == 0) return std::move(page->reply);
  auto& st = self->state;
  auto id = st.next_waiter++;
  auto promise = self->make_response_promise<std::string>();
  auto deadline = self->clock().now() + std::chrono::milliseconds{wait_ms};
  st.waiters.emplace(id, waiter{after, limit, resolve, deadline, promise});
  sweep_at(self, deadline);
  return promise;
}

bridge_impl::behavior_type local_bridge(bridge_pointer self, storage::store* store,
                                        std::string own_domain) {
  self->state.store = store;
  self->state.own_domain = std::move(own_domain);
  // Parked long-polls are answered with what there is when the node stops: a promise
  // dropped unanswered would leave its requester waiting for its whole timeout.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, w] : self->state.waiters) answer(self, w);
    self->state.waiters.clear();
    self->quit(msg.reason);
  });
  return {
      [self](fetch_atom, uint64_t after, uint32_t limit, uint32_t wait_ms) {
        return fetch(self, after, limit, wait_ms, true);
      },
      [self](fetch_whole_atom, uint64_t after, uint32_t limit, uint32_t wait_ms) {
        return fetch(self, after, limit, wait_ms, false);
      },
      [self](inbox_atom, uint64_t last_cursor) {
        auto& st = self->state;
        if (st.newest) st.newest = std::max(*st.newest, last_cursor);
        for (auto i = st.waiters.begin(); i != st.waiters.end();) {
          if (i->second.after >= last_cursor) {
            ++i;
            continue;
          }
          answer(self, i->second);
          i = st.waiters.erase(i);
        }
      },
      [self](expire_atom) {
        auto& st = self->state;
        auto now = self->clock().now();
        st.sweeps.erase(st.sweeps.begin(), st.sweeps.upper_bound(now));
        auto next = time_point::max();
        for (auto i = st.waiters.begin(); i != st.waiters.end();) {
          if (i->second.deadline > now) {
            next = std::min(next, i->second.deadline);
            ++i;
            continue;
          }
          answer(self, i->second);
          i = st.waiters.erase(i);
        }
        if (next != time_point::max()) sweep_at(self, next);
      },
      [self](register_atom, const std::string& username,
             const std::string& name) -> caf::result<bool> {
        if (!valid_user_name(username))
          return caf::make_error(errc::bad_request, "\"" + username +
                                                        "\" is not a user name (1 to 255 bytes, "
                                                        "no '@', ':', spaces or control bytes)");
        auto& store = *self->state.store;
        auto key = local_user_key(username);
        auto existing = store.get(storage::column::meta, key);
        if (!existing) return caf::make_error(errc::storage_failed, describe(existing.error()));
        auto value = dump({{"username", username}, {"name", name}});
        if (*existing && **existing == value) return false;
        storage::write_batch batch;
        batch.put(storage::column::meta, key, value);
        // Registrations are rare; a synced write keeps the answer honest.
        if (auto err = store.write(batch, storage::durability::synced))
          return caf::make_error(errc::storage_failed, describe(err));
        return !existing->has_value();
      },
      [self](search_atom, const std::string& query) -> caf::result<std::string> {
        auto prefix = local_user_key(query);
        json users = json::array();
        auto err = self->state.store->scan(storage::column::meta, prefix, "", 0,
                                           [&](std::string_view key, std::string_view value) {
                                             if (key.substr(0, prefix.size()) != prefix)
                                               return false;
                                             auto user = json::parse(value, nullptr, false);
                                             if (user.is_object()) users.push_back(std::move(user));
                                             return users.size() < users_search_limit;
                                           });
        if (err) return caf::make_error(errc::storage_failed, describe(err));
        return dump(users);
      },
  };
}

}  // namespace

local_bridge_actor spawn_local_bridge(caf::actor_system& sys, storage::store& store,
                                      std::string own_domain) {
  return sys.spawn(local_bridge, &store, std::move(own_domain));
}

}  // namespace fedrelay::actors
