#include "app/local_client.hpp"

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "net/http_client.hpp"

namespace fedrelay::app {

using nlohmann::json;

local_client::local_client(const config::settings& s)
    : local_client(s.listen_local.host == "0.0.0.0" ? "127.0.0.1" : s.listen_local.host,
                   s.listen_local.port, s.local_api_token) {}

local_client::local_client(std::string host, uint16_t port, std::string token)
    : host_(std::move(host)), port_(port), token_(std::move(token)) {}

caf::expected<json> local_client::post(const std::string& path, const json& body) const {
  return call("POST", path, body.dump(), std::chrono::seconds(30));
}

caf::expected<json> local_client::get(const std::string& path_and_query,
                                      std::chrono::seconds timeout) const {
  return call("GET", path_and_query, {}, timeout);
}

caf::expected<json> local_client::call(const std::string& method, const std::string& path,
                                       std::string body, std::chrono::seconds timeout) const {
  net::http_request req;
  req.method = method;
  req.target = path;
  req.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
  req.body = std::move(body);
  auto res =
      net::http_request_blocking(net::url{"http", host_, port_, {}}, std::move(req), timeout);
  if (!res)
    return caf::make_error(actors::errc::unavailable,
                           "the node's local API at " + host_ + ":" + std::to_string(port_) +
                               " did not answer: " + actors::detail_of(res.error()));
  auto reply = json::parse(res->body, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    return caf::make_error(actors::errc::bad_request, "not a JSON answer: " + res->body);
  if (!reply.value("success", false))
    // 503: the node is there but its federation part is not (booting, restarting).
    return caf::make_error(
        res->status == 503 ? actors::errc::unavailable : actors::errc::rejected,
        "HTTP " + std::to_string(res->status) + ": " + reply.value("error", res->body));
  return reply;
}

std::string describe_event(const json& e) {
  auto room = e.value("room_id", "");
  auto head = "[" + room.substr(0, 8) + "] #" + std::to_string(e.value("seq", 0)) + " ";
  auto user = e.value("user", "?");
  auto type = e.value("type", "?");
  if (type == "message.sent") return head + user + ": " + e.value("text", "");
  if (type == "message.edited") return head + user + " edited: " + e.value("text", "");
  if (type == "rejected")
    return "[" + room.substr(0, 8) + "] refused " + e.value("event_id", "") + ": " +
           e.value("reason", "");
  if (type == "room.created")
    return head + user + " created room \"" + e.value("name", "") + "\" (" +
           e.value("room_type", "") + ")";
  if (e.contains("target")) return head + user + " " + type + " " + e.value("target", "");
  return head + user + " " + type;
}

}  // namespace fedrelay::app
