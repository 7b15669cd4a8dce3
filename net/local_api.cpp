#include "net/local_api.hpp"

#include <atomic>
#include <charconv>

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "actors/request_auth.hpp"
#include "actors/room_event.hpp"
#include "actors/transaction.hpp"
#include "config/ascii_case.hpp"
#include "crypto/pem.hpp"
#include "net/actor_call.hpp"
#include "net/api_support.hpp"
#include "net/send_batch_body.hpp"

namespace fedrelay::net {
namespace {

using nlohmann::json;
using ctx_ptr = std::shared_ptr<const local_api_context>;

/// Compares in time independent of where the strings differ, so the token cannot be
/// guessed byte by byte from response times.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % (b.empty() ? 1 : b.size())];
  return diff == 0 && !b.empty();
}

/// Wraps a handler with the bearer-token check.
request_handler authorized(const ctx_ptr& ctx, request_handler next) {
  return [ctx, next](http_request&& req, responder respond) {
    if (!bearer_ok(req, ctx->token)) {
      respond(error_reply(401, "missing or wrong bearer token"));
      return;
    }
    next(std::move(req), std::move(respond));
  };
}

/// The request body as a JSON object, or nullopt after answering 400.
std::optional<json> json_body(const http_request& req, const responder& respond) {
  auto j = actors::parse_json(req.body);
  if (j.is_discarded() || !j.is_object()) {
    respond(error_reply(400, "the body must be a JSON object (nested " +
                                 std::to_string(actors::max_json_depth) + " levels deep and of " +
                                 std::to_string(actors::max_json_values) + " values at most)"));
    return std::nullopt;
  }
  return j;
}

/// The string field `name`, or nullopt after answering 400.
std::optional<std::string> field(const json& body, const char* name, const responder& respond) {
  auto i = body.find(name);
  if (i == body.end()) {
    respond(error_reply(400, std::string{"missing field \""} + name + "\" (a non-empty string)"));
    return std::nullopt;
  }
  if (!i->is_string() || i->get<std::string>().empty()) {
    respond(error_reply(400, std::string{"field \""} + name +
                                 "\" must be a non-empty string, not " +
                                 (i->is_string() ? "an empty one" : i->type_name())));
    return std::nullopt;
  }
  return i->get<std::string>();
}

std::string qualified(const local_api_context& ctx, const std::string& user) {
  return user.find('@') == std::string::npos ? user + "@" + ctx.own_domain : user;
}

/// `user` as a local name ("alice" for "alice" and "alice@" our domain); nullopt when it
/// names a user of another server.
std::optional<std::string> local_name(const local_api_context& ctx, const std::string& user) {
  auto at = user.find('@');
  if (at == std::string::npos) return user;
  if (std::string_view{user}.substr(at + 1) == ctx.own_domain) return user.substr(0, at);
  return std::nullopt;
}

/// The acting user must be one of ours: the local server speaks only for its own users.
std::optional<std::string> local_user(const local_api_context& ctx, const std::string& user,
                                      const responder& respond) {
  auto name = local_name(ctx, user);
  if (!name) respond(error_reply(400, "user " + user + " is not a user of " + ctx.own_domain));
  return name;
}

/// How one submitting call maps its body to a room event.
struct submission_spec {
  const char* path;
  const char* type;
  const char* actor_field;  // "user" or "by"
  // Fills `content` from `body`; returns false after answering 400.
  std::function<bool(const local_api_context&, const json& body, json& content, const responder&)>
      content;
};

auto target_user(const char* from) {
  return [from](const local_api_context& ctx, const json& body, json& content,
                const responder& respond) {
    auto user = field(body, from, respond);
    if (!user) return false;
    content["target"] = qualified(ctx, *user);
    return true;
  };
}

auto fields(std::initializer_list<std::pair<const char*, const char*>> names) {
  std::vector<std::pair<const char*, const char*>> copy{names};
  return
      [copy](const local_api_context&, const json& body, json& content, const responder& respond) {
        for (auto [from, to] : copy) {
          auto value = field(body, from, respond);
          if (!value) return false;
          content[to] = *value;
        }
        return true;
      };
}

auto no_content() {
  return [](const local_api_context&, const json&, json&, const responder&) { return true; };
}

/// Why `content` (an event's content as its JSON text) is larger than a local user may
/// send; empty when it is not.
std::string too_large(const local_api_context& ctx, const std::string& content) {
  if (content.size() <= ctx.max_content_bytes) return {};
  return "the event's content is " + std::to_string(content.size()) +
         " bytes; limits.max_content_bytes is " + std::to_string(ctx.max_content_bytes);
}

/// The local submission a call's body asks for, or nullopt after answering 400 (or 413:
/// too_large).
std::optional<actors::local_submission> to_submission(const local_api_context& ctx,
                                                      const submission_spec& spec, const json& body,
                                                      const responder& respond) {
  auto room = field(body, "room_id", respond);
  if (!room) return std::nullopt;
  auto actor = field(body, spec.actor_field, respond);
  if (!actor) return std::nullopt;
  auto user = local_user(ctx, *actor, respond);
  if (!user) return std::nullopt;
  json content = json::object();
  if (!spec.content(ctx, body, content, respond)) return std::nullopt;
  // actors::dump, not nlohmann's: the same bytes, but a text is copied instead of escaped
  // one byte at a time (with 4 KiB texts nlohmann's dump here was 11 % of a node's CPU).
  actors::local_submission sub{*room, spec.type, *user, actors::dump(content), {}};
  // Every peer must take the event in one request: refused here, at once, rather than
  // by a peer later.
  if (auto why = too_large(ctx, sub.content); !why.empty()) {
    respond(error_reply(413, why));
    return std::nullopt;
  }
  // An id the node would not take must not be dropped quietly: the message sent again
  // under it would be a second message.
  if (auto id = body.find("id"); id != body.end()) {
    auto value = field(body, "id", respond);
    if (!value) return std::nullopt;
    sub.id = std::move(*value);
  }
  return sub;
}

request_handler submit_route(const ctx_ptr& ctx, submission_spec spec) {
  return [ctx, spec](http_request&& req, responder respond) {
    auto body = json_body(req, respond);
    if (!body) return;
    auto sub = to_submission(*ctx, spec, *body, respond);
    if (!sub) return;
    ask<std::string>(
        *ctx->system, ctx->rooms, ctx->timeout,
        [respond](std::string& event_id) {
          respond(success_reply(json{{"event_id", event_id}}.dump()));
        },
        fail_with(respond), actors::submit_atom::value, std::move(*sub));
  };
}

/// Messages in one chat.sendBatch at most: bounds the reply and one room append.
constexpr size_t max_batch_messages = 1000;

/// Hands a batch's submissions to the room manager and answers with one result each.
void submit_batch(const ctx_ptr& ctx, std::vector<actors::local_submission> subs,
                  const responder& respond) {
  ask<std::vector<actors::event_result>>(
      *ctx->system, ctx->rooms, ctx->timeout,
      [respond](std::vector<actors::event_result>& results) {
        // {"accepted": n, "results": [...]} written as dump() would write it, without
        // a JSON object per message.
        std::string list;
        list.reserve(results.size() * 64);
        size_t accepted = 0;
        for (const auto& r : results) {
          if (!list.empty()) list += ',';
          list += r.accepted ? R"({"event_id":)" : R"({"error":)";
          actors::append_json_string(list, r.accepted ? r.id : r.reason);
          list += '}';
          if (r.accepted) ++accepted;
        }
        respond(success_reply(R"({"accepted":)" + std::to_string(accepted) + R"(,"results":[)" +
                              list + "]}"));
      },
      fail_with(respond), actors::submit_atom::value, std::move(subs));
}

/// The submissions of a chat.sendBatch body in the plain shape (read_plain_send_batch)
/// whose users are all ours, as to_submission would make them with chat.send's spec (the
/// only one a batch takes); nullopt otherwise.
std::optional<std::vector<actors::local_submission>> plain_submissions(const local_api_context& ctx,
                                                                       const submission_spec& spec,
                                                                       std::string_view body) {
  if (std::string_view{spec.path} != "/api/v1/chat.send") return std::nullopt;
  auto items = read_plain_send_batch(body, max_batch_messages);
  if (!items) return std::nullopt;
  std::vector<actors::local_submission> subs;
  subs.reserve(items->size());
  for (auto& item : *items) {
    auto user = local_name(ctx, item.user);
    if (!user) return std::nullopt;
    // actors::dump(json{{"text", text}}), as to_submission writes it.
    // Reserved, as the text grows the string twice otherwise: with 4 KiB texts, copying
    // into the fresh memory (page faults included) was 8 % of the node's CPU.
    std::string content;
    content.reserve(item.text.size() + 16);
    content = R"({"text":)";
    actors::append_json_string(content, item.text);
    content += '}';
    // The JSON path names the message that is too large.
    if (!too_large(ctx, content).empty()) return std::nullopt;
    subs.push_back({std::move(item.room_id), spec.type, std::move(*user), std::move(content),
                    std::move(item.id)});
  }
  return subs;
}

/// chat.sendBatch {"messages":[chat.send bodies]}: one request and one durable append per
/// room for many messages, the way a busy chat server (or a bridge replaying history)
/// submits. A malformed item fails the whole call with 400 naming it, before anything is
/// submitted; after that each message has its own result, in order.
request_handler send_batch_route(const ctx_ptr& ctx, submission_spec spec) {
  return [ctx, spec](http_request&& req, responder respond) {
    if (auto subs = plain_submissions(*ctx, spec, req.body)) {
      submit_batch(ctx, std::move(*subs), respond);
      return;
    }
    auto body = json_body(req, respond);
    if (!body) return;
    auto messages = body->find("messages");
    if (messages == body->end() || !messages->is_array() || messages->empty() ||
        messages->size() > max_batch_messages) {
      respond(error_reply(400, "\"messages\" must be an array of 1 to " +
                                   std::to_string(max_batch_messages) + " chat.send bodies"));
      return;
    }
    std::vector<actors::local_submission> subs;
    subs.reserve(messages->size());
    for (size_t i = 0; i < messages->size(); ++i) {
      std::string why;
      unsigned status = 400;
      responder capture = [&why, &status](http_response r) {
        status = r.status;
        auto doc = json::parse(r.body, nullptr, false);
        why = doc.is_object() && doc.contains("error") ? doc["error"].get<std::string>() : r.body;
      };
      const auto& item = (*messages)[i];
      auto sub = item.is_object() ? to_submission(*ctx, spec, item, capture) : std::nullopt;
      if (!sub) {
        respond(error_reply(status, "messages[" + std::to_string(i) +
                                        "]: " + (why.empty() ? "not a JSON object" : why)));
        return;
      }
      subs.push_back(std::move(*sub));
    }
    submit_batch(ctx, std::move(subs), respond);
  };
}

std::vector<submission_spec> submission_specs() {
  return {
      {"/api/v1/rooms.invite", "user.invited", "by",
       [](const local_api_context& ctx, const json& body, json& content, const responder& respond) {
         if (!target_user("user")(ctx, body, content, respond)) return false;
         auto target = content["target"].get<std::string>();
         auto domain = target.substr(target.find('@') + 1);
         if (ctx.filter && !ctx.filter->allowed(domain)) {
           respond(error_reply(403, "domain not allowed: " + domain));
           return false;
         }
         return true;
       }},
      {"/api/v1/rooms.leave", "user.left", "user", no_content()},
      {"/api/v1/rooms.kick", "user.removed", "by", target_user("user")},
      {"/api/v1/rooms.setRole", "role.changed", "by",
       [](const local_api_context& ctx, const json& body, json& content, const responder& respond) {
         return target_user("user")(ctx, body, content, respond) &&
                fields({{"role", "role"}})(ctx, body, content, respond);
       }},
      {"/api/v1/rooms.mute", "user.muted", "by", target_user("user")},
      {"/api/v1/rooms.unmute", "user.unmuted", "by", target_user("user")},
      {"/api/v1/rooms.delete", "room.deleted", "by", no_content()},
      {"/api/v1/chat.send", "message.sent", "user", fields({{"text", "text"}})},
      {"/api/v1/chat.update", "message.edited", "user",
       fields({{"event_id", "target"}, {"text", "text"}})},
      {"/api/v1/chat.delete", "message.deleted", "user", fields({{"event_id", "target"}})},
      {"/api/v1/chat.react", "reaction.set", "user",
       fields({{"event_id", "target"}, {"emoji", "emoji"}})},
      {"/api/v1/chat.unreact", "reaction.unset", "user",
       fields({{"event_id", "target"}, {"emoji", "emoji"}})},
      {"/api/v1/rooms.read", "read.receipt", "user", fields({{"up_to", "up_to"}})},
      {"/api/v1/notify.send", "notification", "user",
       [](const local_api_context& ctx, const json& body, json& content, const responder& respond) {
         auto to = field(body, "to", respond);
         if (!to) return false;
         content["to"] = qualified(ctx, *to);
         return fields({{"kind", "kind"}, {"text", "text"}})(ctx, body, content, respond);
       }},
  };
}

/// Query parameter `name` as a decimal number, at most `max`; `fallback` when it is absent;
/// nullopt for anything else (empty, a sign, letters, more than 64 bits), which the route
/// refuses: read as the fallback, `events?after=abc` or `events?after=` would replay the
/// whole inbox.
std::optional<uint64_t> number_param(const http_request& req, const char* name, uint64_t fallback,
                                     uint64_t max) {
  auto text = req.query(name);
  if (!text) return fallback;
  if (text->empty()) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return std::min(value, max);
}

http_response bad_number(const char* name) {
  return error_reply(400, std::string{"query parameter "} + name + " must be a decimal number");
}
void search_remote(const ctx_ptr& ctx, const std::string& name, const std::string& domain,
                   responder respond) {
  ask<actors::peer_record>(
      *ctx->system, ctx->discovery, ctx->timeout,
      [ctx, name, domain, respond](actors::peer_record& rec) {
        auto base = parse_url(rec.base_url);
        if (!base) {
          respond(error_reply(502, "peer URL " + rec.base_url + " is not valid"));
          return;
        }
        http_request req;
        req.method = "GET";
        req.target = make_target(actors::users_search_path, {{"q", name}});
        req.headers = actors::signed_headers(*ctx->identity, ctx->own_domain, domain, req.method,
                                             req.target, "");
        ctx->client->request(
            *base, std::move(req), ctx->timeout,
            [domain, respond](caf::expected<http_response> res) {
              if (!res) {
                respond(error_reply(503, actors::detail_of(res.error())));
                return;
              }
              auto j = actors::parse_json(res->body);
              // The peer's answer is read as untrusted: a wrong shape is the peer's fault
              // (502), never an exception on this thread.
              auto found = j.is_object() ? j.find("users") : j.end();
              if (res->status != 200 || found == j.end() || !found->is_array()) {
                respond(error_reply(502, domain + " answered HTTP " + std::to_string(res->status) +
                                             (res->status == 200 ? " without a users list" : "")));
                return;
              }
              // As many as a node answers, each a user name of that domain: a peer cannot
              // pass off another domain's users or flood the chat server.
              json users = json::array();
              for (const auto& u : *found) {
                if (users.size() == actors::users_search_limit) break;
                auto username = u.is_object() ? u.find("username") : u.end();
                if (username == u.end() || !username->is_string() ||
                    !actors::valid_user_name(username->get_ref<const std::string&>()))
                  continue;
                auto name = u.find("name");
                users.push_back(
                    {{"username", username->get<std::string>() + "@" + domain},
                     {"name", name != u.end() && name->is_string() ? *name : json("")}});
              }
              respond(success_reply(json{{"users", users}}.dump()));
            });
      },
      fail_with(respond), actors::resolve_atom::value, domain);
}

/// Room a socket's queue keeps for refusals, which are small and go at once: about 200 of
/// them. A client that sends more calls than that without reading is dropped, as one that
/// reads nothing should be.
constexpr size_t refusal_headroom = 64u << 10;

/// Sends `messages`, in order, once the socket's queue has room for all of them and the
/// refusals' headroom (websocket_connection::when_drained). Pages of events and answers
/// go this way: the checks and sends of the waiters run one after the other on the
/// socket's strand, so however slowly a chat server reads, they never take the queue past
/// its limit and the socket is not dropped for them.
void send_when_room(const std::shared_ptr<websocket_connection>& conn,
                    std::vector<std::string> messages, std::function<void()> then = {}) {
  size_t bytes = refusal_headroom;
  for (const auto& m : messages) bytes += m.size();
  auto limit = conn->queue_limit();
  conn->when_drained(limit > bytes ? limit - bytes : 0,
                     [conn, messages = std::move(messages), then = std::move(then)]() mutable {
                       for (auto& m : messages) conn->send(std::move(m));
                       if (then) then();
                     });
}

/// Bytes of a socket's queue under which the pump reads the inbox's next page. A page is at
/// most about 4 MiB, so the queue stays well under its limit (8 MiB) with call answers
/// beside it, and a chat server reading slower than the inbox fills is waited for.
constexpr size_t pump_resume_bytes = 1u << 20;

/// Feeds one WebSocket from the inbox: long-polls the bridge and sends what comes, until
/// the connection ends, each page once the socket has written most of the one before.
struct event_pump : std::enable_shared_from_this<event_pump> {
  ctx_ptr ctx;
  std::shared_ptr<websocket_connection> conn;
  uint64_t after = 0;

  void next() {
    if (!conn->open()) return;
    auto self = shared_from_this();
    constexpr uint32_t wait_ms = 25'000;
    ask<std::string>(
        *ctx->system, ctx->bridge, ctx->timeout + std::chrono::milliseconds(wait_ms),
        [self](std::string& page) {
          auto j = json::parse(page, nullptr, false);
          if (j.is_discarded()) return self->conn->close("inbox unreadable");
          std::vector<std::string> events;
          for (const auto& e : j["events"]) events.push_back(e.dump());
          self->after = j.value("next", self->after);
          send_when_room(self->conn, std::move(events), [self] {
            self->conn->when_drained(pump_resume_bytes, [self] { self->next(); });
          });
        },
        [self](caf::error& err) { self->conn->close(actors::detail_of(err)); },
        actors::fetch_atom::value, after, uint32_t{500}, wait_ms);
  }
};

/// Calls of one WebSocket that may be under way at once. Each frame starts its call at
/// once, so without a bound one socket could queue any amount of work (a thousand-message
/// chat.sendBatch a frame) faster than the node does it. At the bound the socket stops
/// reading until a call is done: the chat server's further calls wait in TCP, as its
/// sends block, instead of being refused.
constexpr size_t max_websocket_calls_in_flight = 64;

/// What one socket's calls share: how many are under way, the bytes of their answers that
/// wait for room in the queue, and the socket, to read again once one is done.
struct websocket_calls {
  std::atomic<size_t> in_flight{0};
  std::atomic<size_t> held_bytes{0};
  std::weak_ptr<websocket_connection> conn;  // set before the first call
};

/// One of a socket's calls under way: counted from its making until its answer is sent, or
/// until its answer can no longer come (refused, the responder dropped unanswered, the
/// socket ended), so a lost answer cannot keep the slot for good.
class websocket_call_slot {
 public:
  explicit websocket_call_slot(std::shared_ptr<websocket_calls> calls)
      : calls_(std::move(calls)), calls_before_(calls_->in_flight.fetch_add(1)) {}
  ~websocket_call_slot() { release(); }
  /// The socket's calls under way when this one was counted.
  size_t calls_before() const { return calls_before_; }
  websocket_call_slot(const websocket_call_slot&) = delete;
  websocket_call_slot& operator=(const websocket_call_slot&) = delete;
  void release() {
    if (released_.exchange(true)) return;
    // The socket paused reading when its calls reached the bound (call_over_websocket); a
    // call counted past it (refused) frees no place under it.
    if (calls_->in_flight.fetch_sub(1) >= max_websocket_calls_in_flight &&
        calls_before_ < max_websocket_calls_in_flight)
      if (auto conn = calls_->conn.lock()) conn->resume_reading();
  }

 private:
  std::shared_ptr<websocket_calls> calls_;
  size_t calls_before_;
  std::atomic<bool> released_{false};
};

/// Bytes of answers a socket's calls may have waiting for room in its queue: past it an
/// answer is replaced by a short 503, so a chat server that makes many large calls (64
/// pages of rooms.history) and reads nothing pins no more memory than this.
constexpr size_t max_held_answer_bytes = 32u << 20;

/// The message answering call `ref` with an error.
std::string call_error(const json& ref, unsigned status, const std::string& error) {
  return json{{"ref", ref}, {"status", status}, {"reply", {{"success", false}, {"error", error}}}}
      .dump();
}

/// Answers one API call made over the WebSocket through the ordinary route table.
void call_over_websocket(const request_handler& calls,
                         const std::shared_ptr<websocket_connection>& conn,
                         const std::shared_ptr<websocket_calls>& socket_calls,
                         const std::string& message) {
  auto refuse = [&conn](unsigned status, const std::string& error, const json& ref) {
    conn->send(call_error(ref, status, error));
  };
  auto j = actors::parse_json(message);
  // The ref a refusal names, whenever the message has one, so the caller knows which failed.
  auto ref = j.is_object() ? j.value("ref", json{}) : json{};
  if (j.is_discarded() || !j.is_object() || !j["call"].is_string())
    return refuse(400, "a message is {\"call\", \"body\", \"ref\"}", ref);
  // The call's body counts with the listener's request bodies until it is answered: 64
  // calls under way on each of a few sockets would hold gigabytes otherwise.
  auto held = conn->hold_memory(message.size());
  if (!held) return refuse(503, "too many request bodies in memory; try again", ref);
  auto slot = std::make_shared<websocket_call_slot>(socket_calls);
  // Reading pauses at the bound (below), so no call should come past it; one that did would
  // be refused rather than let the count grow.
  if (slot->calls_before() >= max_websocket_calls_in_flight)
    return refuse(429,
                  "too many calls under way on this socket (" +
                      std::to_string(max_websocket_calls_in_flight) + "): wait for their answers",
                  ref);
  // On the socket's strand, from its message callback: holds before the next frame is read.
  if (slot->calls_before() + 1 >= max_websocket_calls_in_flight) conn->pause_reading();
  auto call = j["call"].get<std::string>();
  bool read = call.rfind("rooms.info", 0) == 0 || call.rfind("rooms.history", 0) == 0 ||
              call.rfind("users.search", 0) == 0 || call.rfind("federation.status", 0) == 0;
  http_request req;
  req.method = read ? "GET" : "POST";
  req.target = "/api/v1/" + call;
  req.headers = {{"Authorization", std::string{conn->request().header("Authorization")}}};
  req.body = j.value("body", json::object()).dump();
  calls(std::move(req), [conn, ref, slot, socket_calls, held](http_response res) {
    auto reply = json::parse(res.body, nullptr, false);
    auto text =
        json{{"ref", ref}, {"status", res.status}, {"reply", reply.is_discarded() ? json{} : reply}}
            .dump();
    if (auto limit = conn->queue_limit(); text.size() + refusal_headroom > limit)
      text = call_error(ref, 413,
                        "the answer (" + std::to_string(text.size()) +
                            " bytes) is larger than this socket queues: make this call over HTTP");
    if (socket_calls->held_bytes.fetch_add(text.size()) + text.size() > max_held_answer_bytes) {
      socket_calls->held_bytes -= text.size();
      text = call_error(ref, 503,
                        "the answers waiting for this socket to read are over " +
                            std::to_string(max_held_answer_bytes >> 20) +
                            " MiB: read them, then call again");
      socket_calls->held_bytes += text.size();
    }
    // Answers to calls made together (several pages of rooms.history, say) wait for a slow
    // reader instead of dropping the socket. The call counts as under way until its answer
    // is sent, so a reader that never reads has at most 64 answers held for it.
    auto size = text.size();
    send_when_room(conn, {std::move(text)}, [slot, socket_calls, size] {
      socket_calls->held_bytes -= size;
      slot->release();
    });
  });
}

}  // namespace

bool bearer_ok(const http_request& req, const std::string& token) {
  auto auth = req.header("Authorization");
  // The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
  constexpr std::string_view scheme = "Bearer ";
  return config::equal_ignoring_case(auth.substr(0, scheme.size()), scheme) &&
         same_secret(auth.substr(scheme.size()), token);
}

body_stream_decider bearer_before_body(std::string token, body_stream_decider next) {
  return [token = std::move(token), next = std::move(next)](const http_request& head) {
    if (!bearer_ok(head, token)) {
      body_stream refused;
      refused.refusal = error_reply(401, "missing or wrong bearer token");
      return refused;
    }
    return next ? next(head) : body_stream{};
  };
}

upgrade_decider make_local_upgrade(local_api_context context, request_handler calls) {
  auto ctx = std::make_shared<const local_api_context>(std::move(context));
  return [ctx, calls](http_request&& req, upgrade_responder decide) {
    if (req.path() != "/api/v1/events.stream") {
      decide(error_reply(404, "no such stream: " + req.path()));
      return;
    }
    if (!bearer_ok(req, ctx->token)) {
      decide(error_reply(401, "missing or wrong bearer token"));
      return;
    }
    auto after = number_param(req, "after", 0, UINT64_MAX);
    if (!after) {
      decide(bad_number("after"));
      return;
    }
    decide(
        websocket_handler{[ctx, calls, after = *after](std::shared_ptr<websocket_connection> conn) {
          std::weak_ptr<websocket_connection> weak = conn;
          auto socket_calls = std::make_shared<websocket_calls>();
          socket_calls->conn = weak;
          conn->on_message([calls, weak, socket_calls](std::string message) {
            if (auto c = weak.lock()) call_over_websocket(calls, c, socket_calls, message);
          });
          auto pump = std::make_shared<event_pump>();
          pump->ctx = ctx;
          pump->conn = conn;
          pump->after = after;
          pump->next();
        }});
  };
}

request_handler make_local_handler(local_api_context context) {
  auto ctx = std::make_shared<const local_api_context>(std::move(context));
  std::vector<route> routes;
  auto add = [&](const char* method, std::string path, request_handler h) {
    routes.push_back({method, std::move(path), authorized(ctx, std::move(h))});
  };
  for (auto& spec : submission_specs()) {
    if (std::string_view{spec.path} == "/api/v1/chat.send")
      add("POST", "/api/v1/chat.sendBatch", send_batch_route(ctx, spec));
    add("POST", spec.path, submit_route(ctx, spec));
  }
  if (ctx->files)
    for (auto& r : local_file_routes(*ctx->files)) add(r.method.c_str(), r.path, r.handler);

  add("POST", "/api/v1/users.register", [ctx](http_request&& req, responder respond) {
    auto body = json_body(req, respond);
    if (!body) return;
    auto username = field(*body, "username", respond);
    if (!username) return;
    auto name = *username;
    if (auto given = body->find("name"); given != body->end()) {
      if (!given->is_string()) {
        respond(error_reply(400, "\"name\" must be a string"));
        return;
      }
      name = given->get<std::string>();
    }
    ask<bool>(
        *ctx->system, ctx->bridge, ctx->timeout,
        [respond](bool created) {
          respond(success_reply(json{{"created", created}}.dump()));
        },
        fail_with(respond), actors::register_atom::value, *username, name);
  });

  add("GET", "/api/v1/users.search", [ctx](http_request&& req, responder respond) {
    auto q = req.query("q").value_or("");
    auto at = q.find('@');
    if (q.empty()) {
      respond(error_reply(400, "missing query parameter q (name or name@domain)"));
      return;
    }
    if (at != std::string::npos && q.substr(at + 1) != ctx->own_domain) {
      auto domain = q.substr(at + 1);
      if (at == 0) {  // peers answer only a search by the start of a name
        respond(error_reply(
            400, "query parameter q must name the start of a user name before @" + domain));
        return;
      }
      if (!actors::valid_domain(domain)) {
        respond(error_reply(400, "query parameter q: \"" + domain + "\" after @ is no domain"));
        return;
      }
      if (ctx->filter && !ctx->filter->allowed(domain)) {
        respond(error_reply(403, "domain not allowed: " + domain));
        return;
      }
      search_remote(ctx, q.substr(0, at), domain, std::move(respond));
      return;
    }
    ask<std::string>(
        *ctx->system, ctx->bridge, ctx->timeout,
        [respond](std::string& users) { respond(success_reply(R"({"users":)" + users + "}")); },
        fail_with(respond), actors::search_atom::value, q.substr(0, at));
  });

  add("POST", "/api/v1/rooms.create", [ctx](http_request&& req, responder respond) {
    auto body = json_body(req, respond);
    if (!body) return;
    auto name = field(*body, "name", respond);
    if (!name) return;
    auto type = field(*body, "type", respond);
    if (!type) return;
    auto owner = field(*body, "owner", respond);
    if (!owner) return;
    auto user = local_user(*ctx, *owner, respond);
    if (!user) return;
    if (auto why = too_large(*ctx, *name); !why.empty()) {
      respond(error_reply(413, why));
      return;
    }
    ask<std::string>(
        *ctx->system, ctx->rooms, ctx->timeout,
        [respond](std::string& room_id) {
          respond(success_reply(json{{"room_id", room_id}}.dump()));
        },
        fail_with(respond), actors::create_atom::value, *name, *type, *user);
  });

  add("POST", "/api/v1/dm.create", [ctx](http_request&& req, responder respond) {
    auto body = json_body(req, respond);
    if (!body) return;
    auto from = field(*body, "from", respond);
    if (!from) return;
    auto to = field(*body, "to", respond);
    if (!to) return;
    auto user = local_user(*ctx, *from, respond);
    if (!user) return;
    auto target = qualified(*ctx, *to);
    auto domain = target.substr(target.find('@') + 1);
    if (ctx->filter && !ctx->filter->allowed(domain)) {
      respond(error_reply(403, "domain not allowed: " + domain));
      return;
    }
    ask<std::string>(
        *ctx->system, ctx->rooms, ctx->timeout,
        [respond](std::string& room_id) {
          respond(success_reply(json{{"room_id", room_id}}.dump()));
        },
        fail_with(respond), actors::dm_atom::value, *user, target);
  });

  add("GET", "/api/v1/rooms.info", [ctx](http_request&& req, responder respond) {
    auto room = req.query("room_id").value_or("");
    if (room.empty()) return respond(error_reply(400, "missing query parameter room_id"));
    ask<std::string>(
        *ctx->system, ctx->rooms, ctx->timeout,
        [respond](std::string& info) { respond(success_reply(R"({"room":)" + info + "}")); },
        fail_with(respond), actors::info_atom::value, room);
  });

  add("GET", "/api/v1/rooms.history", [ctx](http_request&& req, responder respond) {
    auto room = req.query("room_id").value_or("");
    if (room.empty()) return respond(error_reply(400, "missing query parameter room_id"));
    auto after = number_param(req, "after", 0, UINT64_MAX);
    auto limit = number_param(req, "limit", 100, 1000);
    if (!after || !limit) return respond(bad_number(after ? "limit" : "after"));
    ask<std::string>(
        *ctx->system, ctx->rooms, ctx->timeout,
        [respond](std::string& events) { respond(success_reply(R"({"events":)" + events + "}")); },
        fail_with(respond), actors::history_atom::value, room, *after,
        static_cast<uint32_t>(*limit));
  });

  // The stream is a WebSocket (the server hands upgrades to the stream's decider before
  // any route): a plain request for it is told so, and other methods get 405 from here.
  add("GET", "/api/v1/events.stream", [](http_request&&, responder respond) {
    auto res = error_reply(426, "events.stream is a WebSocket: send an upgrade request");
    res.headers.emplace_back("Upgrade", "websocket");
    respond(std::move(res));
  });

  add("GET", "/api/v1/events", [ctx](http_request&& req, responder respond) {
    auto after = number_param(req, "after", 0, UINT64_MAX);
    auto limit = number_param(req, "limit", 100, 10'000);
    auto wait_s = number_param(req, "wait", 0, 60);
    if (!after || !limit || !wait_s)
      return respond(bad_number(!after ? "after" : !limit ? "limit" : "wait"));
    auto wait_ms = static_cast<uint32_t>(*wait_s * 1000);
    ask<std::string>(
        *ctx->system, ctx->bridge, ctx->timeout + std::chrono::milliseconds(wait_ms),
        [respond](std::string& page) { respond(success_reply(std::move(page))); },
        fail_with(respond), actors::fetch_atom::value, *after, static_cast<uint32_t>(*limit),
        wait_ms);
  });

  add("GET", "/api/v1/federation.status", [ctx](http_request&&, responder respond) {
    auto reply = [ctx, respond](const json& peers) {
      crypto::public_key key = ctx->identity->public_key();
      json lists = json::object();
      if (ctx->filter) {
        auto f = ctx->filter->snapshot();
        lists = {{"allow", f.allow},
                 {"deny", f.deny},
                 {"refused_by_deny", f.refused_by_deny},
                 {"refused_by_allow", f.refused_by_allow},
                 {"refused_per_domain", f.refused_per_domain}};
      }
      respond(success_reply(json{
          {"status", ctx->status_text()},
          {"status_reason", ctx->status_reason ? ctx->status_reason() : ""},
          {"domain", ctx->own_domain},
          {"public_key", crypto::public_key_pem(key)},
          {"fingerprint", crypto::fingerprint(key)},
          {"peers", peers},
          {"peer_lists", lists}}.dump(-1, ' ', false, json::error_handler_t::replace)));
    };
    ask<std::vector<actors::peer_stats>>(
        *ctx->system, ctx->peers, ctx->timeout,
        [reply](std::vector<actors::peer_stats>& stats) {
          json peers = json::array();
          for (const auto& p : stats)
            peers.push_back({{"domain", p.domain},
                             {"state", p.state},
                             {"queue_depth", p.queue_depth},
                             {"oldest_queued_age_ms", p.oldest_age_ms},
                             {"transactions_sent", p.transactions_sent},
                             {"failures", p.failures},
                             {"backoff_ms", p.backoff_ms},
                             {"last_error", p.last_error},
                             {"events_relayed", p.events_relayed},
                             {"events_refused", p.events_refused}});
          reply(peers);
        },
        [reply](caf::error&) { reply(json::array()); }, actors::stats_atom::value);
  });

  for (const auto& r : ctx->settings_routes) add(r.method.c_str(), r.path, r.handler);
  if (!ctx->settings_routes.empty())
    routes.push_back({"GET", settings_page_path,
                      [](http_request&&, responder respond) { respond(settings_page()); }});
  if (ctx->metrics) add("GET", "/metrics", ctx->metrics);

  return route_table(std::move(routes));
}

}  // namespace fedrelay::net
