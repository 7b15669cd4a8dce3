// The room manager: routes by room id, spawns a room actor on the first message for a room
// it knows (or may come to know: a replica waiting for its host's state), links it and
// forgets it when it stops. It judges the messages no room actor can: a submission for a
// room this node does not host or does not have, and the host's rejections of our
// submissions, which go straight to the inbox.
#include "actors/room_manager_actor.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <unordered_set>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "actors/logger.hpp"
#include "actors/room_actor.hpp"
#include "actors/room_event.hpp"
#include "actors/room_state.hpp"
#include "actors/wall_clock.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;

/// Sent by the manager to itself every sixtieth of idle_room_after: lists the rooms idle
/// that long, unless the last list is still being asked.
using sweep_atom = caf::atom_constant<caf::atom("roomsweep")>;
/// Sent by the manager to itself to ask the next listed room whether it stops.
using ask_idle_atom = caf::atom_constant<caf::atom("askidle")>;
using room_manager_impl =
    room_manager_actor::extend<caf::reacts_to<sweep_atom>, caf::reacts_to<ask_idle_atom>>;

/// How long the manager waits for an idle room to answer whether it stops, and the
/// deadline it gives the room: a room that gets the question later answers no, so a yes
/// always reaches the manager while it still awaits it (and routes nothing).
constexpr std::chrono::seconds idle_answer_timeout{10};
constexpr std::chrono::seconds idle_question_deadline{5};

/// A running room actor, and when the manager last handed it a message.
struct room_slot {
  room_actor actor;
  caf::actor_clock::time_point used;
};

struct room_manager_state {
  room_context ctx;
  std::map<std::string, room_slot> rooms;
  std::map<std::string, std::string> direct;  // direct_room_key -> room id, opened this run
  // Message ids whose append is in flight, each with the answers waiting for it: the
  // first copy's and those of resends that came meanwhile.
  std::map<std::string, std::vector<caf::typed_response_promise<event_result>>> writing;
  // Rooms found idle by the last sweep, not asked yet (see ask_next_idle_room).
  std::vector<std::string> idle_rooms;
  // Replicas whose actor stopped as idle in this run: their next actor does not catch up
  // (room_context::catch_up_at_start).
  std::unordered_set<std::string> stopped_idle;
  static inline const char* name = "room_manager";
};

using room_manager_pointer = room_manager_impl::stateful_pointer<room_manager_state>;

event_result refused(const std::string& message_id, std::string reason) {
  return {message_id, false, std::move(reason)};
}

bool stored(room_manager_pointer self, storage::column c, const std::string& key) {
  auto value = self->state.ctx.store->get(c, key);
  if (!value) {
    log()->error("room manager: reading {}: {}", storage::column_name(c), describe(value.error()));
    return false;
  }
  return value->has_value();
}

/// The actor of `room_id`: running, or spawned when the store has the room or `may_be_new`
/// (a room being created, a replica waiting for its state); null otherwise.
room_actor* room_of(room_manager_pointer self, const std::string& room_id, bool may_be_new) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (auto i = st.rooms.find(room_id); i != st.rooms.end()) {
    i->second.used = now;
    return &i->second.actor;
  }
  if (!valid_room_id(room_id)) return nullptr;
  if (!may_be_new && !stored(self, storage::column::rooms, room_id)) return nullptr;
  auto ctx = st.ctx;
  ctx.catch_up_at_start = st.stopped_idle.erase(room_id) == 0;
  auto room = spawn_room(self->system(), std::move(ctx), room_id);
  self->link_to(room);
  return &st.rooms.emplace(room_id, room_slot{std::move(room), now}).first->second.actor;
}

/// While rooms are listed as idle, queues the ask of the next one behind what the manager
/// was sent meanwhile.
void ask_next_idle_room_later(room_manager_pointer self) {
  if (!self->state.idle_rooms.empty()) self->send(self, ask_idle_atom::value);
}

/// Lists the rooms that had no message for idle_room_after, to be asked one at a time.
void sweep_idle_rooms(room_manager_pointer self) {
  auto& st = self->state;
  if (!st.idle_rooms.empty()) return;
  auto due = self->clock().now() - st.ctx.idle_room_after;
  for (const auto& [room_id, slot] : st.rooms)
    if (slot.used <= due) st.idle_rooms.push_back(room_id);
  ask_next_idle_room_later(self);
}

/// Asks the next listed room, if it is still idle, whether it stops, and forgets it if it
/// does. The answer is awaited: until it comes the manager hands no room anything, so
/// nothing can reach a room between its answer and its end, and the room's next actor is
/// spawned only after this one took its last message (each loads the room from the store,
/// which then holds all of it: the room said yes only with nothing under way). One room at a
/// time, each ask queued behind what the manager was sent meanwhile: awaiting hundreds of
/// answers at once stalled all room traffic for up to 2 s per sweep on a node with
/// 20,000 idle rooms (docs/PERFORMANCE.md, fifteenth round).
void ask_next_idle_room(room_manager_pointer self) {
  auto& st = self->state;
  auto due = self->clock().now() - st.ctx.idle_room_after;
  while (!st.idle_rooms.empty()) {
    auto room_id = std::move(st.idle_rooms.back());
    st.idle_rooms.pop_back();
    auto i = st.rooms.find(room_id);
    if (i == st.rooms.end() || i->second.used > due) continue;
    auto deadline = (self->clock().now() + idle_question_deadline).time_since_epoch().count();
    self->request(i->second.actor, idle_answer_timeout, idle_atom::value, int64_t{deadline})
        .await(
            [self, room_id, actor = i->second.actor](bool stops) {
              auto& rooms = self->state.rooms;
              auto i = rooms.find(room_id);
              if (i != rooms.end() && i->second.actor == actor) {
                if (stops) {
                  self->unlink_from(actor);
                  rooms.erase(i);
                  if (domain_of_id(room_id) != self->state.ctx.own_domain)
                    self->state.stopped_idle.insert(room_id);
                } else {
                  // Busy: asked again once it has been idle that long from now.
                  i->second.used = self->clock().now();
                }
              }
              ask_next_idle_room_later(self);
            },
            [self](caf::error&) {
              // No answer in time: the room is busy, or gone (its exit forgets it).
              ask_next_idle_room_later(self);
            });
    return;
  }
}

caf::error no_room(const std::string& room_id) {
  return caf::make_error(errc::not_found, "no such room " + room_id);
}

void commit(room_manager_pointer self, journal_entry entry, const std::string& message_id,
            caf::typed_response_promise<event_result> promise) {
  auto& st = self->state;
  st.writing[message_id].push_back(std::move(promise));
  auto answer = [self, message_id](const caf::error& err) {
    auto& writing = self->state.writing;
    auto waiting = std::move(writing[message_id]);
    writing.erase(message_id);
    for (auto& p : waiting) {
      if (err)
        p.deliver(err);
      else
        p.deliver(event_result{message_id, true, {}});
    }
  };
  self->request(st.ctx.journal, caf::infinite, append_atom::value, std::move(entry))
      .then([answer](std::vector<uint64_t>&) { answer({}); },
            [answer](caf::error& err) { answer(err); });
}

/// The answer to a message handled before: accepted at once when it is on disk, with the
/// outcome of its first copy's append when that is in flight (acknowledging it before
/// would let the sender drop it, were that append to fail). None for a new message.
std::optional<caf::result<event_result>> seen_before(room_manager_pointer self,
                                                     const std::string& message_id) {
  auto& st = self->state;
  if (auto i = st.writing.find(message_id); i != st.writing.end()) {
    auto promise = self->make_response_promise<event_result>();
    i->second.push_back(promise);
    return caf::result<event_result>{promise};
  }
  if (stored(self, storage::column::dedup, room_message_key(message_id)))
    return caf::result<event_result>{event_result{message_id, true, {}}};
  return std::nullopt;
}

/// The host refused one of our submissions: the local server learns it from its inbox.
caf::result<event_result> on_rejected(room_manager_pointer self, const std::string& origin,
                                      const json& doc, const std::string& message_id) {
  auto& st = self->state;
  for (const char* field : {"room_id", "event_id", "user", "reason"})
    if (!doc.contains(field) || !doc[field].is_string())
      return refused(message_id, std::string{"a rejection needs a string \""} + field + "\"");
  auto room_id = doc["room_id"].get<std::string>();
  auto event_id = doc["event_id"].get<std::string>();
  if (domain_of_id(room_id) != origin)
    return refused(message_id, "only the host of room " + room_id + " rejects its events");
  if (domain_of_id(event_id) != st.ctx.own_domain)
    return refused(message_id, "event " + event_id + " is not of " + st.ctx.own_domain);
  if (message_id != rejected_message_id(room_id, event_id))
    return refused(message_id, "the message id does not match the rejection");
  if (auto seen = seen_before(self, message_id)) return std::move(*seen);
  json view = {{"type", "rejected"},
               {"room_id", room_id},
               {"event_id", event_id},
               {"origin", origin},
               {"user", localize_user(doc["user"].get<std::string>(), st.ctx.own_domain)},
               {"reason", doc["reason"]},
               {"ts", unix_ms_now()}};
  journal_entry entry;
  entry.inbox.push_back(dump(view));
  entry.puts.push_back(room_message_mark(message_id, room_id));
  auto promise = self->make_response_promise<event_result>();
  commit(self, std::move(entry), message_id, promise);
  return promise;
}

/// A peer refused for good (as too large for its requests, or in a receipt) the message
/// `text` we queued for it. When that is one of our submissions to a room the peer hosts,
/// the local server learns it as from a host's rejection; nothing else is told.
caf::result<event_result> on_refused_by_peer(room_manager_pointer self, const std::string& domain,
                                             const std::string& reason, const std::string& text) {
  auto doc = parse_json(text, max_room_json_values);
  if (!doc.is_object() || doc.value("kind", "") != submit_kind || !doc.contains("event") ||
      !doc["event"].is_object())
    return event_result{};
  const auto& e = doc["event"];
  for (const char* field : {"room_id", "id", "user"})
    if (!e.contains(field) || !e[field].is_string()) return event_result{};
  auto room_id = e["room_id"].get<std::string>();
  auto event_id = e["id"].get<std::string>();
  json rejection = {
      {"room_id", room_id}, {"event_id", event_id}, {"user", e["user"]}, {"reason", reason}};
  return on_rejected(self, domain, rejection, rejected_message_id(room_id, event_id));
}

/// A member server submitted to a room this node hosts but does not have: it learns so
/// as from any other refusal.
caf::result<event_result> no_such_hosted_room(room_manager_pointer self, const std::string& origin,
                                              const json& doc, const std::string& message_id) {
  auto e = decode_event(doc.contains("event") ? doc["event"] : json{});
  if (!e) return refused(message_id, detail_of(e.error()));
  if (e->origin != origin)
    return refused(message_id, "event origin " + e->origin + " is not the sender " + origin);
  if (message_id != submit_message_id(e->room_id, e->id))
    return refused(message_id, "the message id does not match its event");
  if (auto seen = seen_before(self, message_id)) return std::move(*seen);
  journal_entry entry;
  entry.outbound.push_back(
      {origin, rejected_message(e->room_id, e->id, e->user, "no such room " + e->room_id)});
  entry.puts.push_back(room_message_mark(message_id, e->room_id));
  auto promise = self->make_response_promise<event_result>();
  commit(self, std::move(entry), message_id, promise);
  return promise;
}

caf::result<event_result> on_apply(room_manager_pointer self, const std::string& origin,
                                   const std::string& text) {
  auto& st = self->state;
  auto doc = parse_json(text, max_room_json_values);  // a room's state holds every member
  if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string() || !doc.contains("kind") ||
      !doc["kind"].is_string())
    return refused(doc.is_object() && doc.contains("id") && doc["id"].is_string()
                       ? doc["id"].get<std::string>()
                       : std::string{},
                   "a room message is a JSON object with a string kind and id");
  auto message_id = doc["id"].get<std::string>();
  auto kind = doc["kind"].get<std::string>();
  if (kind == rejected_kind) return on_rejected(self, origin, doc, message_id);
  std::string room_id;
  if (kind == state_kind) {
    if (doc.contains("room_id") && doc["room_id"].is_string()) room_id = doc["room_id"];
  } else if (kind == submit_kind || kind == event_kind) {
    if (doc.contains("event") && doc["event"].is_object() && doc["event"].contains("room_id") &&
        doc["event"]["room_id"].is_string())
      room_id = doc["event"]["room_id"];
  } else {
    return refused(message_id, "unknown kind \"" + kind + "\"");
  }
  if (!valid_room_id(room_id)) return refused(message_id, "no valid room id");
  auto host = std::string{domain_of_id(room_id)};
  if (kind == submit_kind) {
    if (host != st.ctx.own_domain)
      return refused(message_id, st.ctx.own_domain + " does not host room " + room_id);
    auto room = room_of(self, room_id, false);
    if (room == nullptr) return no_such_hosted_room(self, origin, doc, message_id);
    return self->delegate(*room, apply_atom::value, origin, text);
  }
  if (host != origin || host == st.ctx.own_domain)
    return refused(message_id, "only the host " + host + " sends room " + room_id);
  return self->delegate(*room_of(self, room_id, true), apply_atom::value, origin, text);
}

/// The replica a room message goes to as part of a run: set for a sequenced event of a
/// room hosted by the sender (the bulk of what servers send each other); null for
/// everything else, which takes the one-message path. `room_id` is the message's
/// "event"."room_id" when it is a sequenced event ("kind":"event" with a string id, an
/// "event" object and a string room id in it), empty otherwise: decode_transaction
/// reads it, so the text is not parsed here.
room_actor* run_room(room_manager_pointer self, const std::string& origin,
                     const std::string& room_id) {
  auto& st = self->state;
  if (room_id.empty() || !valid_room_id(room_id)) return nullptr;
  auto host = domain_of_id(room_id);
  if (host != origin || host == st.ctx.own_domain) return nullptr;
  return room_of(self, room_id, true);
}

/// The room messages of one transaction. The leading sequenced events go to their rooms
/// in one message per room; from the first other message on, each takes the one-message
/// path (through this actor's own mailbox, so it reaches its room after the runs).
caf::result<std::vector<event_result>> apply_batch(room_manager_pointer self,
                                                   const std::string& origin,
                                                   std::vector<std::string>& texts,
                                                   const std::vector<std::string>& rooms) {
  if (texts.empty()) return std::vector<event_result>{};
  struct gathering {
    std::vector<event_result> results;
    size_t left = 0;
    caf::error failure;
  };
  auto g = std::make_shared<gathering>();
  g->results.resize(texts.size());
  g->left = texts.size();
  auto promise = self->make_response_promise<std::vector<event_result>>();
  auto settled = [g, promise](size_t count) mutable {
    g->left -= count;
    if (g->left > 0) return;
    if (g->failure)
      promise.deliver(g->failure);
    else
      promise.deliver(std::move(g->results));
  };
  auto failed = [g, settled](size_t count, caf::error& err) mutable {
    if (!g->failure) g->failure = std::move(err);
    settled(count);
  };
  std::map<room_actor*, std::pair<std::vector<size_t>, std::vector<std::string>>> runs;
  size_t i = 0;
  for (; i < texts.size(); ++i) {
    // A missing room id only sends the message the one-message path, which judges all.
    auto room = run_room(self, origin, i < rooms.size() ? rooms[i] : std::string{});
    if (room == nullptr) break;
    runs[room].first.push_back(i);
    runs[room].second.push_back(std::move(texts[i]));
  }
  for (auto& [room, run] : runs) {
    self->request(*room, caf::infinite, apply_atom::value, origin, std::move(run.second))
        .then(
            [g, settled, indices = run.first](std::vector<event_result>& got) mutable {
              for (size_t k = 0; k < indices.size() && k < got.size(); ++k)
                g->results[indices[k]] = std::move(got[k]);
              settled(indices.size());
            },
            [failed, n = run.first.size()](caf::error& err) mutable { failed(n, err); });
  }
  auto me = caf::actor_cast<room_manager_actor>(self);
  for (; i < texts.size(); ++i) {
    self->request(me, caf::infinite, apply_atom::value, origin, std::move(texts[i]))
        .then(
            [g, settled, i](event_result& got) mutable {
              g->results[i] = std::move(got);
              settled(1);
            },
            [failed](caf::error& err) mutable { failed(1, err); });
  }
  return promise;
}

/// Submits the room.created event of `room_id`, a new room hosted here; replies with the
/// room id once it is written. `on_done` (may be empty) runs when the answer is known.
caf::result<std::string> create_room(room_manager_pointer self, const std::string& room_id,
                                     const std::string& owner, json content,
                                     std::function<void()> on_done) {
  auto room = *room_of(self, room_id, true);
  local_submission sub{
      room_id, std::string{to_string(event_type::room_created)}, owner, dump(content), {}};
  auto promise = self->make_response_promise<std::string>();
  self->request(room, caf::infinite, submit_atom::value, std::move(sub))
      .then(
          [promise, room_id, on_done](std::string&) mutable {
            if (on_done) on_done();
            promise.deliver(room_id);
          },
          [promise, on_done](caf::error& err) mutable {
            if (on_done) on_done();
            promise.deliver(err);
          });
  return promise;
}

/// The room actor a local submission goes to. Errors: bad_request (a room_created, which
/// only create and dm make), not_found.
caf::expected<room_actor*> room_for(room_manager_pointer self, const local_submission& sub) {
  auto& st = self->state;
  if (sub.type == to_string(event_type::room_created))
    return caf::make_error(errc::bad_request, "rooms are made with create or dm");
  bool may_be_new = domain_of_id(sub.room_id) != st.ctx.own_domain &&
                    sub.type == to_string(event_type::user_joined);
  auto room = room_of(self, sub.room_id, may_be_new);
  if (room == nullptr) return no_room(sub.room_id);
  return room;
}

/// Makes and signs the events of a batch that spans rooms, together: one Ed25519
/// signature per group of max_signing_group events, as a room signs its own. Alone, each
/// room would sign its share, one signature for a share of one event (17 µs here), which
/// made a batch of 100 messages in 100 rooms cost the host 2.8 times the CPU of one in a
/// single room. A submission that cannot be made is left as it is: its room refuses it.
void sign_across_rooms(room_manager_pointer self, std::vector<local_submission>& subs) {
  auto& st = self->state;
  std::vector<room_event> events;
  std::vector<size_t> made;  // the submission of each event
  events.reserve(subs.size());
  for (size_t i = 0; i < subs.size(); ++i) {
    auto e = make_local_event(subs[i], subs[i].room_id, st.ctx.own_domain);
    if (!e) continue;
    events.push_back(std::move(*e));
    made.push_back(i);
  }
  std::vector<room_event*> to_sign;
  to_sign.reserve(events.size());
  for (auto& e : events) to_sign.push_back(&e);
  sign_events(to_sign, *st.ctx.identity);
  for (size_t k = 0; k < events.size(); ++k) {
    auto& sub = subs[made[k]];
    sub.event_id = std::move(events[k].id);
    sub.ts = events[k].ts;
    sub.sig = std::move(events[k].sig);
  }
}

/// A batch of local submissions: one batch per room (each one append there), the results
/// put back in the order of `subs`.
caf::result<std::vector<event_result>> submit_batch(room_manager_pointer self,
                                                    std::vector<local_submission>& subs) {
  struct gathering {
    std::vector<event_result> results;
    size_t rooms_left = 0;
  };
  auto g = std::make_shared<gathering>();
  g->results.resize(subs.size());
  std::map<room_actor*, std::vector<size_t>> by_room;
  for (size_t i = 0; i < subs.size(); ++i) {
    auto room = room_for(self, subs[i]);
    if (room)
      by_room[*room].push_back(i);
    else
      g->results[i].reason = detail_of(room.error());
  }
  if (by_room.empty()) return std::move(g->results);
  if (by_room.size() > 1) sign_across_rooms(self, subs);
  auto promise = self->make_response_promise<std::vector<event_result>>();
  g->rooms_left = by_room.size();
  for (auto& [room, indices] : by_room) {
    std::vector<local_submission> part;
    part.reserve(indices.size());
    for (auto i : indices) part.push_back(std::move(subs[i]));
    auto place = [g, promise, indices = indices](std::vector<event_result> got) mutable {
      for (size_t k = 0; k < indices.size() && k < got.size(); ++k)
        g->results[indices[k]] = std::move(got[k]);
      if (--g->rooms_left == 0) promise.deliver(std::move(g->results));
    };
    self->request(*room, caf::infinite, submit_atom::value, std::move(part))
        .then([place](std::vector<event_result>& got) mutable { place(std::move(got)); },
              [place, n = indices.size()](caf::error& err) mutable {
                place(std::vector<event_result>(n, event_result{{}, false, detail_of(err)}));
              });
  }
  return promise;
}

/// The direct room of the pair when one exists and is not deleted.
std::string existing_direct_room(room_manager_pointer self, const std::string& key) {
  auto& st = self->state;
  if (auto i = st.direct.find(key); i != st.direct.end()) return i->second;
  auto room_id = st.ctx.store->get(storage::column::meta, key);
  if (!room_id || !*room_id) return {};
  auto stored = read_room_state(*st.ctx.store, **room_id);
  if (!stored || !*stored || (*stored)->room.deleted) return {};
  return **room_id;
}

/// Whether the entry `key`, `value` of column rooms is the state of a deleted room.
bool is_deleted_room(std::string_view key, std::string_view value) {
  if (key.find('\0') != std::string_view::npos) return false;  // a member or an author
  auto doc = nlohmann::json::parse(value, nullptr, false);
  return doc.is_object() && doc.value("deleted", false);
}

/// Starts a replica of each room of another host that is not deleted: each asks its host
/// for what it missed while this node was down (catch-up).
void start_replicas(room_manager_pointer self) {
  auto& st = self->state;
  std::string from;
  for (;;) {
    std::string found;
    bool deleted = false;
    // One seek per room: the keys after a room id up to room id + 0x01 are its authors.
    auto err = st.ctx.store->scan(storage::column::rooms, from, "", 1,
                                  [&found, &deleted](std::string_view key, std::string_view value) {
                                    found = std::string{key};
                                    deleted = is_deleted_room(key, value);
                                    return false;
                                  });
    if (err) {
      log()->error("room manager: listing the rooms: {}", describe(err));
      return;
    }
    if (found.empty()) return;
    auto room_id = found.substr(0, found.find('\0'));
    // A deleted room gets no more events: nothing to catch up on.
    if (domain_of_id(room_id) != st.ctx.own_domain && !deleted) room_of(self, room_id, false);
    from = room_id + '\x01';
  }
}

/// Submits the removal of every member of a refused domain from the rooms hosted here.
uint32_t remove_refused_members(room_manager_pointer self) {
  auto& st = self->state;
  if (!st.ctx.allowed) return 0;
  uint32_t removals = 0;
  std::string from;
  for (;;) {
    std::string room_id;
    auto err = st.ctx.store->scan(storage::column::rooms, from, "", 1,
                                  [&](std::string_view key, std::string_view) {
                                    room_id = std::string{key.substr(0, key.find('\0'))};
                                    return false;
                                  });
    if (err || room_id.empty()) return removals;
    from = room_id + '\x01';
    if (domain_of_id(room_id) != st.ctx.own_domain) continue;
    auto stored = read_room_state(*st.ctx.store, room_id);
    if (!stored || !*stored || (*stored)->room.deleted) continue;
    const auto& state = (*stored)->room;
    std::string owner;
    for (const auto& [user, role] : state.members)
      if (role == "owner" && domain_of_user(user) == st.ctx.own_domain) owner = user;
    if (owner.empty()) continue;
    auto* room = room_of(self, room_id, false);
    if (room == nullptr) continue;
    for (const auto& [user, role] : state.members) {
      auto domain = std::string{domain_of_user(user)};
      if (domain == st.ctx.own_domain || st.ctx.allowed(domain)) continue;
      nlohmann::json content{{"target", user}};
      // Fire and forget: the room answers the submission to nobody.
      caf::anon_send(*room, submit_atom::value,
                     local_submission{room_id,
                                      std::string{to_string(event_type::user_removed)},
                                      owner.substr(0, owner.find('@')),
                                      content.dump(),
                                      {}});
      log()->info("removing {} from room {}: its domain is refused by [peers]", user, room_id);
      ++removals;
    }
  }
}

room_manager_impl::behavior_type room_manager(room_manager_pointer self, room_context ctx) {
  self->state.ctx = std::move(ctx);
  // A linked room that exits is forgotten (the next message spawns it again from the
  // store); an exit from anyone else, such as app's shutdown, ends the manager and
  // through the links its rooms. A normal exit of no room known is one that stopped idle.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    bool normal = !msg.reason || msg.reason == caf::exit_reason::normal;
    for (auto i = st.rooms.begin(); i != st.rooms.end(); ++i) {
      if (i->second.actor.address() != msg.source) continue;
      // A room stops with request_receiver_down when the journal ended first, as it does
      // when the node stops; the room said so itself.
      if (!normal && msg.reason != caf::sec::request_receiver_down)
        log()->error("room {} stopped: {}", i->first, describe(msg.reason));
      st.rooms.erase(i);
      return;
    }
    if (!normal) self->quit(msg.reason);
  });
  start_replicas(self);
  auto sweep_every = self->state.ctx.idle_room_after / 60;
  if (sweep_every.count() > 0) self->delayed_send(self, sweep_every, sweep_atom::value);
  return {
      [self, sweep_every](sweep_atom) {
        sweep_idle_rooms(self);
        self->delayed_send(self, sweep_every, sweep_atom::value);
      },
      [self](ask_idle_atom) { ask_next_idle_room(self); },
      [self](create_atom, const std::string& name, const std::string& type,
             const std::string& owner) -> caf::result<std::string> {
        if (type != "public" && type != "private" && type != "broadcast")
          return caf::make_error(errc::bad_request,
                                 "room type must be public, private or broadcast");
        if (!valid_user_name(owner))
          return caf::make_error(errc::bad_request, "\"" + owner + "\" is not a local user name");
        return create_room(self, make_room_id(self->state.ctx.own_domain), owner,
                           {{"name", name}, {"room_type", type}}, {});
      },
      [self](dm_atom, const std::string& from, const std::string& to) -> caf::result<std::string> {
        auto& st = self->state;
        if (!valid_user_name(from))
          return caf::make_error(errc::bad_request, "\"" + from + "\" is not a local user name");
        auto peer = qualify_user(to, st.ctx.own_domain);
        if (!peer) return caf::make_error(errc::bad_request, "\"" + to + "\" is not a user");
        auto self_user = from + "@" + st.ctx.own_domain;
        if (*peer == self_user)
          return caf::make_error(errc::bad_request, "a direct chat needs two users");
        auto domain = std::string{domain_of_user(*peer)};
        if (domain != st.ctx.own_domain && st.ctx.allowed && !st.ctx.allowed(domain))
          return caf::make_error(errc::domain_not_allowed, domain + " may not federate with us");
        auto key = direct_room_key(self_user, *peer);
        if (auto existing = existing_direct_room(self, key); !existing.empty()) return existing;
        // Remembered until the room is written (the store answers then), so a second call
        // for the pair meanwhile reuses it.
        auto room_id = make_room_id(st.ctx.own_domain);
        st.direct[key] = room_id;
        return create_room(self, room_id, from,
                           {{"name", ""}, {"room_type", "direct"}, {"with", *peer}},
                           [self, key] { self->state.direct.erase(key); });
      },
      [self](forget_atom) -> uint32_t { return remove_refused_members(self); },
      [self](rejected_atom, const std::string& domain, const std::string&,
             const std::string& reason,
             const std::string& text) { return on_refused_by_peer(self, domain, reason, text); },
      [self](submit_atom, local_submission& sub) -> caf::result<std::string> {
        auto room = room_for(self, sub);
        if (!room) return room.error();
        return self->delegate(**room, submit_atom::value, std::move(sub));
      },
      [self](submit_atom, std::vector<local_submission>& subs)
          -> caf::result<std::vector<event_result>> { return submit_batch(self, subs); },
      [self](info_atom, const std::string& room_id) -> caf::result<std::string> {
        auto room = room_of(self, room_id, false);
        if (room == nullptr) return no_room(room_id);
        return self->delegate(*room, info_atom::value);
      },
      [self](info_atom, const std::string& room_id,
             const std::string& domain) -> caf::result<bool> {
        auto room = room_of(self, room_id, false);
        if (room == nullptr) return false;
        return self->delegate(*room, info_atom::value, domain);
      },
      [self](history_atom, const std::string& room_id, uint64_t after,
             uint32_t limit) -> caf::result<std::string> {
        auto room = room_of(self, room_id, false);
        if (room == nullptr) return no_room(room_id);
        return self->delegate(*room, history_atom::value, after, limit);
      },
      [self](apply_atom, const std::string& origin, const std::string& text)
          -> caf::result<event_result> { return on_apply(self, origin, text); },
      [self](apply_atom, const std::string& origin, std::vector<std::string>& texts,
             const std::vector<std::string>& rooms) -> caf::result<std::vector<event_result>> {
        return apply_batch(self, origin, texts, rooms);
      },
      [self](since_atom, const std::string& origin, const std::string& room_id, uint64_t after,
             uint32_t limit, uint64_t max_bytes) -> caf::result<std::string> {
        auto& st = self->state;
        if (domain_of_id(room_id) != st.ctx.own_domain) return no_room(room_id);
        auto room = room_of(self, room_id, false);
        if (room == nullptr) return no_room(room_id);
        return self->delegate(*room, since_atom::value, origin, after, limit, max_bytes);
      },
  };
}

}  // namespace

room_manager_actor spawn_room_manager(caf::actor_system& sys, room_context ctx) {
  return sys.spawn(room_manager, std::move(ctx));
}

caf::expected<room_event> make_local_event(const local_submission& sub, const std::string& room_id,
                                           const std::string& own_domain) {
  auto type = parse_event_type(sub.type);
  if (!type) return caf::make_error(errc::bad_request, "unknown event type \"" + sub.type + "\"");
  if (!valid_user_name(sub.user))
    return caf::make_error(errc::bad_request, "\"" + sub.user + "\" is not a local user name");
  if (sub.id.size() > 255 || sub.id.find('\0') != std::string::npos)
    return caf::make_error(errc::bad_request, "an event id has at most 255 bytes and no NUL");
  auto content = sub.content.empty() ? json::object() : parse_content(sub.content);
  if (!content.is_object())
    return caf::make_error(errc::bad_request, "the content is not a JSON object");
  if (auto err = qualify_content(*type, content, own_domain)) return err;
  if (auto err = check_content(*type, content)) return err;
  room_event e;
  if (!sub.event_id.empty()) {
    e.id = sub.event_id;
    e.ts = sub.ts;
  } else {
    e.id = (sub.id.empty() ? time_ordered_hex() : sub.id) + ":" + own_domain;
    e.ts = unix_ms_now();
  }
  e.type = *type;
  e.room_id = room_id;
  e.origin = own_domain;
  e.user = sub.user + "@" + own_domain;
  e.content = std::move(content);
  return e;
}

}  // namespace fedrelay::actors
