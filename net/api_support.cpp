#include "net/api_support.hpp"

#include <utility>

#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "storage/errc.hpp"

namespace fedrelay::net {

http_response error_reply(unsigned status, std::string_view message) {
  http_response res;
  res.status = status;
  // A message may quote what a request carried, a query's bytes decoded as they came: bytes
  // that are not UTF-8 are replaced, where dump() would throw and leave no answer at all.
  res.body = nlohmann::json{{"success", false}, {"error", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

namespace {

unsigned status_of(const caf::error& err) {
  if (err == caf::sec::request_receiver_down) return 503;
  if (err.category() == caf::atom("storage")) return storage::is_no_space(err) ? 507 : 500;
  if (err.category() == caf::atom("system")) return err == caf::sec::request_timeout ? 504 : 500;
  if (err.category() != caf::atom("actors")) return 500;
  switch (static_cast<actors::errc>(err.code())) {
    case actors::errc::not_found:
      return 404;
    case actors::errc::bad_request:
      return 400;
    case actors::errc::rejected:
    case actors::errc::domain_not_allowed:
      return 403;
    case actors::errc::unavailable:
    case actors::errc::storage_failed:
      return 503;
    case actors::errc::resolver_timeout:
    case actors::errc::timed_out:
      return 504;
    default:
      return 502;  // discovery of a peer failed: the upstream is at fault
  }
}

}  // namespace

http_response error_reply(const caf::error& err) {
  // Said as the HTTP server says it for a streamed body, without the server's paths.
  if (status_of(err) == 507) return error_reply(507, no_room_for_body);
  auto res = error_reply(status_of(err), actors::detail_of(err));
  // A failed store (the node starts again from its data within seconds) or a part of the
  // node stopped with it: worth another try soon, as a client of 503 expects to be told.
  if (err == caf::sec::request_receiver_down ||
      (err.category() == caf::atom("actors") &&
       static_cast<actors::errc>(err.code()) == actors::errc::storage_failed))
    res.headers.emplace_back("Retry-After", "5");
  return res;
}

std::function<void(caf::error&)> fail_with(const responder& respond) {
  return [respond](caf::error& err) { respond(error_reply(err)); };
}

namespace {

/// Where success_reply puts "success" into `json_object` (right after its opening brace),
/// and what it puts there (with a comma when other fields follow); npos for a text
/// without an object.
std::pair<size_t, std::string_view> success_spot(std::string_view json_object) {
  auto open = json_object.find('{');
  if (open == std::string_view::npos) return {std::string_view::npos, {}};
  auto rest = json_object.substr(open + 1);
  bool empty = rest.find_first_not_of(" \t\r\n") == rest.rfind('}');
  return {open + 1, empty ? R"("success":true)" : R"("success":true,)"};
}

}  // namespace

http_response success_reply(std::string_view json_object, unsigned status) {
  http_response res;
  res.status = status;
  // Splice "success" in front instead of re-encoding what the actors already encoded, in
  // one copy: an inbox page can be megabytes.
  auto [at, field] = success_spot(json_object);
  if (at == std::string_view::npos) {
    res.body = R"({"success":true})";
  } else {
    res.body.reserve(json_object.size() + field.size());
    res.body.append(json_object.substr(0, at)).append(field).append(json_object.substr(at));
  }
  return res;
}

http_response success_reply(std::string&& json_object, unsigned status) {
  auto [at, field] = success_spot(json_object);
  if (at == std::string_view::npos) return success_reply(std::string_view{}, status);
  // In the text itself: with room to spare (an inbox page is written with some) this
  // moves its bytes along instead of copying them into fresh memory.
  json_object.insert(at, field);
  http_response res;
  res.status = status;
  res.body = std::move(json_object);
  return res;
}

request_handler route_table(std::vector<route> routes) {
  return [routes = std::move(routes)](http_request&& req, responder respond) {
    auto path = req.path();
    bool path_known = false;
    for (const auto& r : routes) {
      if (r.path != path) continue;
      path_known = true;
      if (r.method == req.method) {
        r.handler(std::move(req), std::move(respond));
        return;
      }
    }
    if (path_known)
      respond(error_reply(405, "method " + req.method + " not allowed on " + path));
    else
      respond(error_reply(404, "no such endpoint: " + path));
  };
}

}  // namespace fedrelay::net
