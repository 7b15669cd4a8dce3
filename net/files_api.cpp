#include "net/files_api.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/room_event.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "net/actor_call.hpp"
#include "net/local_api.hpp"
#include "net/logger.hpp"

namespace fedrelay::net {
namespace {

using nlohmann::json;

constexpr std::string_view upload_path = "/api/v1/files.upload";

/// Receives an upload: the bytes go to a temporary file and through the hash as they come.
class upload_sink : public body_sink {
 public:
  explicit upload_sink(storage::file_writer writer) : writer(std::move(writer)) {}

  caf::error write(std::string_view bytes) override {
    hash.update(bytes);
    return writer.write(bytes);
  }

  storage::file_writer writer;
  crypto::blake2b_stream hash;
};

std::string mime_of(const http_request& req) {
  std::string mime{req.header("Content-Type")};
  return mime.empty() ? "application/octet-stream" : mime;
}

std::string too_large(uint64_t size, uint64_t max) {
  return "file too large: " + std::to_string(size) + " bytes (files.max_bytes is " +
         std::to_string(max) + ")";
}

/// Why an upload is refused from its head alone; nullopt when it may proceed.
std::optional<http_response> upload_problem(const files_api_context& ctx, const http_request& req) {
  for (const char* name : {"room_id", "user", "name"})
    if (req.query(name).value_or("").empty())
      return error_reply(400, std::string{"missing query parameter "} + name);
  auto user = *req.query("user");
  auto at = user.find('@');
  if (at != std::string::npos && user.substr(at + 1) != ctx.own_domain)
    return error_reply(400, "user " + user + " is not a user of " + ctx.own_domain);
  // As for every submission: the same id again is the same share (a retried upload).
  if (auto id = req.query("id"); id && (id->empty() || id->size() > 255))
    return error_reply(400, "query parameter id must be 1 to 255 bytes");
  for (const char* name : {"room_id", "user", "name", "id"}) {
    if (!req.query(name)) continue;
    auto value = *req.query(name);
    // They go into the file.shared event, which is JSON: UTF-8 text only.
    if (!simdjson::validate_utf8(value.data(), value.size()) ||
        std::any_of(value.begin(), value.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      return error_reply(400, std::string{"query parameter "} + name +
                                  " must be UTF-8 text without control characters");
  }
  auto mime = mime_of(req);
  if (!actors::valid_media_type(mime))
    return error_reply(415, "Content-Type " + mime + " is not a media type such as text/plain");
  if (!config::file_type_allowed(ctx.settings, mime))
    return error_reply(415, "file type " + mime + " is not allowed (files.allowed_types)");
  auto length = req.header("Content-Length");
  if (!length.empty()) {
    try {
      auto n = std::stoull(std::string{length});
      if (n > ctx.settings.max_bytes) return error_reply(413, too_large(n, ctx.settings.max_bytes));
    } catch (const std::exception&) {
      return error_reply(400, "bad Content-Length");
    }
  }
  return std::nullopt;
}

/// What a Range field asks of a file (RFC 9110, section 14.2).
struct range_request {
  enum { whole, part, unsatisfiable } kind = whole;
  uint64_t first = 0, last = 0;  // of a part: its first and last byte
};

/// "bytes=a-b", "bytes=a-" or "bytes=-n" of a file of `size` bytes. Anything else is
/// ignored, and the whole file served, as RFC 9110 asks: another unit, several ranges
/// (this server sends no multipart answers) or no valid range at all. A valid range that
/// starts past the end (or asks for the last 0 bytes) is unsatisfiable, 416.
range_request parse_range(std::string_view text, uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  if (text.substr(0, unit.size()) != unit) return {};
  text.remove_prefix(unit.size());
  auto dash = text.find('-');
  if (dash == std::string_view::npos || text.find(',') != std::string_view::npos) return {};
  auto first_text = text.substr(0, dash), last_text = text.substr(dash + 1);
  auto digits = [](std::string_view s) {
    return s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (!digits(first_text) || !digits(last_text) || (first_text.empty() && last_text.empty()))
    return {};
  // A position past 64 bits is past any file's end, so it is read as the largest.
  auto number = [](std::string_view s) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc::result_out_of_range ? std::numeric_limits<uint64_t>::max() : n;
  };
  range_request r;
  r.kind = range_request::unsatisfiable;
  if (first_text.empty()) {  // a suffix: the last n bytes
    auto n = number(last_text);
    if (n == 0 || size == 0) return r;
    return {range_request::part, size - std::min(n, size), size - 1};
  }
  auto first = number(first_text);
  auto last = last_text.empty() ? std::numeric_limits<uint64_t>::max() : number(last_text);
  if (last < first) return {};  // not a valid range: ignored
  if (first >= size) return r;
  return {range_request::part, first, std::min(last, size - 1)};
}

/// The content (or a range of it) as a response read from its file while it is sent.
http_response file_reply(const actors::file_info& info, std::string_view range) {
  http_response res;
  // The type a peer gave in its file.shared event, unless it is no media type: events are
  // not refused for it (servers of older versions shared any Content-Type), but nothing
  // else than a media type goes into the field.
  res.content_type =
      actors::valid_media_type(info.mime) ? info.mime : std::string{"application/octet-stream"};
  res.headers = {{"Accept-Ranges", "bytes"}, {"ETag", "\"" + info.id + "\""}};
  auto r = parse_range(range, info.size);  // no Range field: the whole file
  if (r.kind == range_request::whole) {
    res.file = file_part{info.path, 0, info.size};
    return res;
  }
  if (r.kind == range_request::unsatisfiable) {
    res = error_reply(416, "range " + std::string{range} + " is not within the file's " +
                               std::to_string(info.size) + " bytes");
    res.headers.emplace_back("Content-Range", "bytes */" + std::to_string(info.size));
    return res;
  }
  res.status = 206;
  res.headers.emplace_back("Content-Range", "bytes " + std::to_string(r.first) + "-" +
                                                std::to_string(r.last) + "/" +
                                                std::to_string(info.size));
  res.file = file_part{info.path, r.first, r.last - r.first + 1};
  return res;
}

json info_json(const actors::file_info& info) {
  return {{"file_id", info.id},
          {"state", info.state},
          {"size", info.size},
          {"mime", info.mime},
          {"name", info.name},
          {"origin", info.origin},
          {"fetched_bytes", info.state == "ready" ? info.size : info.fetched},
          {"attempts", info.attempts},
          {"error", info.error}};
}

/// Locates content `id` for the local server and calls `ready` when it is here; answers
/// 202 while it is fetched and 502 once it was given up.
void with_local_file(const files_api_context& ctx, const http_request& req, responder respond,
                     std::function<void(actors::file_info&, responder&)> ready) {
  ask<actors::file_info>(
      *ctx.system, ctx.files, ctx.timeout,
      [respond, ready](actors::file_info& info) mutable {
        if (info.state == "ready") return ready(info, respond);
        auto body = info_json(info);
        body["success"] = false;
        bool fetching = info.state == "fetching";
        body["error"] =
            fetching
                ? "the file is being fetched from " + info.origin + " (" +
                      std::to_string(info.fetched) + " of " + std::to_string(info.size) + " bytes)"
                : "the file could not be fetched from " + info.origin + ": " + info.error;
        http_response res;
        res.status = fetching ? 202 : 502;
        res.body = body.dump();
        respond(res);
      },
      fail_with(respond), actors::locate_atom::value, req.query("id").value_or(""));
}

void upload(const files_api_context& ctx, http_request&& req, responder respond) {
  // A streamed body passed upload_problem before it was read (make_upload_streamer).
  auto sink = std::dynamic_pointer_cast<upload_sink>(req.streamed_body);
  if (!sink) {  // a body small enough to have been read whole (an empty file, say)
    if (auto problem = upload_problem(ctx, req)) return respond(*problem);
    if (req.body.size() > ctx.settings.max_bytes)
      return respond(error_reply(413, too_large(req.body.size(), ctx.settings.max_bytes)));
    auto writer = ctx.store->create_temp();
    if (!writer) return respond(error_reply(writer.error()));
    sink = std::make_shared<upload_sink>(std::move(*writer));
    if (auto err = sink->write(req.body)) return respond(error_reply(err));
  }
  auto id = crypto::to_hex(sink->hash.finish());
  auto size = sink->writer.size();
  // Nothing to share, and a member's fetch asks for ranges of at least a byte.
  if (size == 0)
    return respond(error_reply(400, "the file is empty: a shared file has a byte at least"));
  if (auto err = ctx.store->publish(sink->writer, id)) {
    log()->error("files.upload: {}", actors::describe(err));
    return respond(error_reply(err));  // 507 when the disk has no room
  }
  auto user = *req.query("user");
  user = user.substr(0, user.find('@'));
  json content = {
      {"file_id", id}, {"name", *req.query("name")}, {"mime", mime_of(req)}, {"size", size}};
  actors::local_submission sub{*req.query("room_id"), "file.shared", user, content.dump(),
                               req.query("id").value_or("")};
  ask<std::string>(
      *ctx.system, ctx.files, ctx.timeout,
      [respond, id, size](std::string& event_id) {
        respond(
            success_reply(json{{"file_id", id}, {"event_id", event_id}, {"size", size}}.dump()));
      },
      fail_with(respond), actors::share_atom::value, std::move(sub));
}

}  // namespace

body_stream_decider make_upload_streamer(files_api_context ctx) {
  return [ctx](const http_request& head) {
    body_stream decision;
    if (head.method != "POST" || head.path() != upload_path) return decision;
    if (!bearer_ok(head, ctx.token)) {
      decision.refusal = error_reply(401, "missing or wrong bearer token");
      return decision;
    }
    if (auto problem = upload_problem(ctx, head)) {
      decision.refusal = std::move(*problem);
      return decision;
    }
    auto writer = ctx.store->create_temp();
    if (!writer) {
      log()->error("files.upload: {}", actors::describe(writer.error()));
      decision.refusal = error_reply(writer.error());
      return decision;
    }
    decision.sink = std::make_shared<upload_sink>(std::move(*writer));
    decision.max_bytes = ctx.settings.max_bytes;
    return decision;
  };
}

std::vector<route> local_file_routes(files_api_context ctx) {
  std::vector<route> routes;
  routes.push_back({"POST", std::string{upload_path}, [ctx](http_request&& req, responder respond) {
                      upload(ctx, std::move(req), std::move(respond));
                    }});
  routes.push_back({"GET", "/api/v1/files.get", [ctx](http_request&& req, responder respond) {
                      std::string range{req.header("Range")};
                      with_local_file(ctx, req, std::move(respond),
                                      [range](actors::file_info& info, responder& respond) {
                                        respond(file_reply(info, range));
                                      });
                    }});
  routes.push_back({"GET", "/api/v1/files.info", [ctx](http_request&& req, responder respond) {
                      ask<actors::file_info>(
                          *ctx.system, ctx.files, ctx.timeout,
                          [respond](actors::file_info& info) {
                            respond(success_reply(json{{"file", info_json(info)}}.dump()));
                          },
                          fail_with(respond), actors::locate_atom::value,
                          req.query("id").value_or(""));
                    }});
  return routes;
}

void serve_peer_file(const files_api_context& ctx, const std::string& origin, const std::string& id,
                     const std::string& range, responder respond) {
  ask<actors::file_info>(
      *ctx.system, ctx.files, ctx.timeout,
      [respond, range](actors::file_info& info) { respond(file_reply(info, range)); },
      [respond, origin, id](caf::error& err) {
        log()->info("federation.files.get of {} by {} refused: {}", id, origin,
                    actors::detail_of(err));
        respond(error_reply(err));
      },
      actors::access_atom::value, origin, id);
}

}  // namespace fedrelay::net
