// `fedrelay demo`: three nodes on loopback in this process, finding each other through
// static tables; one room across them, a few messages, and what each local server sees.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "actors/describe.hpp"
#include "app/commands.hpp"
#include "app/load.hpp"
#include "app/local_client.hpp"
#include "app/node.hpp"
#include "crypto/pem.hpp"
#include "net/errc.hpp"

namespace fedrelay::app {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

bool port_free(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

/// A loopback port from 10000 to 19999 that is free now, well below Linux's ephemeral
/// range (32768-60999): a port the kernel picked could be picked again, before the node
/// binds it, as the local port of any program's outgoing connection (the demo's own nodes
/// included). 0 when none was found.
uint16_t free_port(std::minstd_rand& rng) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<uint16_t>(10000 + rng() % 10000);
    if (port_free(port)) return port;
  }
  return 0;
}

bool bind_failed(const caf::error& err) {
  return err.category() == caf::atom("net") &&
         err.code() == static_cast<uint8_t>(net::errc::bind_failed);
}

struct demo_node {
  config::settings settings;
  std::unique_ptr<node> running;
  std::string user;
};

bool step(const char* what, const caf::expected<json>& reply) {
  if (reply) return true;
  std::cerr << "demo: " << what << " failed: " << actors::describe(reply.error()) << '\n';
  return false;
}

}  // namespace

int cmd_demo(bool keep) {
  auto root =
      std::filesystem::temp_directory_path() / ("fedrelay-demo-" + std::to_string(getpid()));
  std::vector<demo_node> nodes(3);
  const char* domains[] = {"a.demo", "b.demo", "c.demo"};
  const char* users[] = {"alice", "bob", "carol"};
  std::vector<std::string> keys;
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& s = nodes[i].settings;
    s.domain = domains[i];
    s.discovery = config::discovery_method::static_table;
    s.storage_dir = (root / domains[i]).string();
    s.local_api_token = "demo";
    s.transport.backoff_initial = 100ms;
    nodes[i].user = users[i];
    auto id = crypto::load_or_create_identity(s.storage_dir);
    if (!id) {
      report(id.error());
      return exit_error;
    }
    keys.push_back(crypto::public_key_pem(id->public_key()));
  }
  // Ports free when chosen may be taken by another program before a node binds them:
  // then every node stops and all start again on other ports, a few times at most.
  std::minstd_rand rng{std::random_device{}()};
  constexpr int attempts = 5;
  for (int attempt = 1;; ++attempt) {
    for (auto& n : nodes) {
      auto& s = n.settings;
      s.listen_federation = {"127.0.0.1", free_port(rng)};
      s.listen_local = {"127.0.0.1", free_port(rng)};
      if (s.listen_federation.port == 0 || s.listen_local.port == 0) {
        std::cerr << "error: demo: no free loopback port from 10000 to 19999\n";
        std::filesystem::remove_all(root);
        return exit_error;
      }
      s.public_url = "http://127.0.0.1:" + std::to_string(s.listen_federation.port);
      s.static_peers.clear();
    }
    for (size_t i = 0; i < nodes.size(); ++i)
      for (size_t j = 0; j < nodes.size(); ++j)
        if (i != j)
          nodes[i].settings.static_peers.push_back(
              {domains[j], nodes[j].settings.public_url, keys[j]});
    caf::error failed;
    for (auto& n : nodes) {
      auto started = node::start(n.settings);
      if (!started) {
        failed = std::move(started.error());
        break;
      }
      n.running = std::move(*started);
    }
    if (!failed) break;
    for (auto& n : nodes) n.running.reset();
    if (!bind_failed(failed) || attempt == attempts) {
      report(failed);
      std::filesystem::remove_all(root);
      return exit_error;
    }
    std::cerr << "demo: " << actors::describe(failed) << "; starting again on other ports\n";
  }
  for (auto& n : nodes)
    std::cout << n.settings.domain << ": " << config::status_text(n.running->status())
              << "  (local API http://" << n.settings.listen_local.to_string() << ", token demo)\n";
  std::vector<local_client> clients;
  for (auto& n : nodes) clients.emplace_back(n.settings);
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!step("users.register",
              clients[i].post("/api/v1/users.register", {{"username", users[i]}})))
      return exit_error;
  auto room = clients[0].post("/api/v1/rooms.create",
                              {{"name", "demo"}, {"type", "public"}, {"owner", "alice"}});
  if (!step("rooms.create", room)) return exit_error;
  std::string room_id = (*room)["room_id"];
  std::cout << "\nalice@a.demo created room " << room_id
            << " and invites bob@b.demo and carol@c.demo\n";
  for (const char* who : {"bob@b.demo", "carol@c.demo"})
    if (!step("rooms.invite",
              clients[0].post("/api/v1/rooms.invite",
                              {{"room_id", room_id}, {"user", who}, {"by", "alice"}})))
      return exit_error;
  // The members' servers learn of the room through federation; wait until they have it.
  auto room_known = [&](size_t i) {
    auto info = clients[i].get("/api/v1/rooms.info?room_id=" + room_id);
    return info && (*info)["room"]["members"].size() == 3;
  };
  for (int tries = 0; tries < 100 && !(room_known(1) && room_known(2)); ++tries)
    std::this_thread::sleep_for(100ms);
  const char* lines[] = {"Hello from a.demo!", "Hi alice, bob here on b.demo.",
                         "carol on c.demo, all ears."};
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!step("chat.send",
              clients[i].post("/api/v1/chat.send",
                              {{"room_id", room_id}, {"user", users[i]}, {"text", lines[i]}})))
      return exit_error;
  // Every server ends with the three messages, in the host's order; a member's server
  // sees the room from the event that brought its user in.
  auto messages = [](const json& events) {
    size_t n = 0;
    for (const auto& e : events) n += e.value("type", "") == "message.sent";
    return n;
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    json events = json::array();
    for (int tries = 0; tries < 100; ++tries) {
      auto page = clients[i].get("/api/v1/events?after=0&limit=100");
      if (page) events = (*page)["events"];
      if (messages(events) >= 3) break;
      std::this_thread::sleep_for(100ms);
    }
    std::cout << "\nwhat the chat server of " << domains[i] << " received:\n";
    for (const auto& e : events) std::cout << "  " << describe_event(e) << '\n';
  }
  if (keep) {
    std::cout << "\nthe nodes keep running (data in " << root.string() << "); Ctrl-C stops them\n";
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    int received = 0;
    sigwait(&stop, &received);
  }
  for (auto& n : nodes) n.running.reset();
  if (!keep) std::filesystem::remove_all(root);
  return exit_ok;
}

}  // namespace fedrelay::app
