// `fedrelay room …`, `fedrelay send …`, `fedrelay tail …`: drive a node's local API from a
// shell, as its chat server would.
#include <iostream>
#include <thread>

#include "actors/describe.hpp"
#include "app/commands.hpp"
#include "app/load.hpp"
#include "app/local_client.hpp"

namespace fedrelay::app {
namespace {

using nlohmann::json;

int print_reply(const caf::expected<json>& reply, const char* field) {
  if (!reply) {
    report(reply.error());
    return exit_error;
  }
  std::cout << reply->value(field, "") << '\n';
  return exit_ok;
}

}  // namespace

int cmd_room_create(const std::string& config_path, const std::string& name,
                    const std::string& type, const std::string& owner) {
  auto s = load_or_report(config_path);
  if (!s) return exit_error;
  return print_reply(local_client{*s}.post("/api/v1/rooms.create",
                                           {{"name", name}, {"type", type}, {"owner", owner}}),
                     "room_id");
}

int cmd_room_invite(const std::string& config_path, const std::string& room,
                    const std::string& user, const std::string& by) {
  auto s = load_or_report(config_path);
  if (!s) return exit_error;
  return print_reply(local_client{*s}.post("/api/v1/rooms.invite",
                                           {{"room_id", room}, {"user", user}, {"by", by}}),
                     "event_id");
}

int cmd_send(const std::string& config_path, const std::string& room, const std::string& user,
             const std::string& text) {
  auto s = load_or_report(config_path);
  if (!s) return exit_error;
  return print_reply(local_client{*s}.post("/api/v1/chat.send",
                                           {{"room_id", room}, {"user", user}, {"text", text}}),
                     "event_id");
}

int cmd_tail(const std::string& config_path, uint64_t after, bool follow) {
  auto s = load_or_report(config_path);
  if (!s) return exit_error;
  local_client client{*s};
  for (;;) {
    auto page = client.get(
        "/api/v1/events?after=" + std::to_string(after) + "&limit=500" + (follow ? "&wait=25" : ""),
        std::chrono::seconds(40));
    if (!page) {
      report(page.error());
      return exit_error;
    }
    for (const auto& e : (*page)["events"])
      std::cout << e.value("cursor", 0) << "  " << describe_event(e) << '\n';
    std::cout.flush();
    auto next = page->value("next", after);
    if (!follow && next == after) return exit_ok;
    after = next;
  }
}

}  // namespace fedrelay::app
