// `fedrelay room …`, `fedrelay send …`, `fedrelay tail …`: drive a node's local API from a
// shell, as its chat server would.
#include <chrono>
#include <iostream>
#include <thread>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
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
  if (!s) return exit_bad_settings;
  return print_reply(local_client{*s}.post("/api/v1/rooms.create",
                                           {{"name", name}, {"type", type}, {"owner", owner}}),
                     "room_id");
}

int cmd_room_invite(const std::string& config_path, const std::string& room,
                    const std::string& user, const std::string& by) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  return print_reply(local_client{*s}.post("/api/v1/rooms.invite",
                                           {{"room_id", room}, {"user", user}, {"by", by}}),
                     "event_id");
}

int cmd_send(const std::string& config_path, const std::string& room, const std::string& user,
             const std::string& text) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  return print_reply(local_client{*s}.post("/api/v1/chat.send",
                                           {{"room_id", room}, {"user", user}, {"text", text}}),
                     "event_id");
}

/// How long `tail -f` waits for a node that stopped answering (a restart), asking once a
/// second, before it gives up, as `tail -F` waits for a file that comes back.
constexpr auto follow_patience = std::chrono::minutes(5);

int cmd_tail(const std::string& config_path, uint64_t after, bool follow) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  local_client client{*s};
  bool unanswered = false;
  auto unanswered_since = std::chrono::steady_clock::now();
  for (;;) {
    auto page = client.get(
        "/api/v1/events?after=" + std::to_string(after) + "&limit=500" + (follow ? "&wait=25" : ""),
        std::chrono::seconds(40));
    if (!page && follow && page.error() == actors::errc::unavailable) {
      auto now = std::chrono::steady_clock::now();
      if (!unanswered) {
        unanswered = true;
        unanswered_since = now;
        std::cerr << "tail: " << actors::describe(page.error())
                  << "; asking again each second for up to 5 minutes\n";
      }
      if (now - unanswered_since < follow_patience) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
    }
    if (!page) {
      report(page.error());
      return exit_error;
    }
    if (unanswered) {
      std::cerr << "tail: the node answers again\n";
      unanswered = false;
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
