// Real fedrelay nodes on loopback for multi-node tests: each one a `fedrelay run` process
// with its own data directory and ports, finding the others through static peer tables,
// driven only through its local API as a chat server would.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/dns_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::test {

using nlohmann::json;

class test_node {
 public:
  /// Prepares (keygen) a node for `domain` under `root`; `extra` TOML is appended to its
  /// settings (after the static peer table is known, see cluster).
  test_node(std::string domain, const std::string& root);
  ~test_node();

  const std::string& domain() const { return domain_; }
  /// The local API's bearer token, as a production node's: long enough for `check`.
  std::string token() const { return "local-api-token-of-" + domain_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& public_key_pem() const { return public_key_pem_; }
  uint16_t federation_port() const { return federation_port_; }
  uint16_t local_port() const { return local_port_; }
  std::string log() const;

  /// Serves the federation port with TLS (cert and key files) and verifies peers against
  /// `ca`; peers then reach it with https. Call before configure().
  void use_tls(std::string cert, std::string key, std::string ca);
  const std::string& scheme() const { return scheme_; }
  /// Finds peers through DNS asked of 127.0.0.1:`port` instead of the static table.
  void use_dns(uint16_t port);
  /// Registers with, and finds peers through, the Hub at `url`.
  void use_hub(std::string url);
  /// TOML lines for its [storage] table besides `dir`, e.g. "sync = \"periodic\"\n".
  void use_storage_settings(std::string lines);
  /// Lines for the [peers] table of the next configure(), instead of the default
  /// `addresses = "any"`, which lets DNS and Hub records name peers on 127.0.0.1.
  void use_peer_settings(std::string lines);

  /// Writes the settings: this node plus `peers` as its static table, then `extra`.
  void configure(const std::vector<const test_node*>& peers, const std::string& extra = {});

  /// Starts `fedrelay run` and waits (bounded) until it prints Running.
  void start();
  /// SIGTERM and wait; false when it did not stop cleanly.
  bool stop();
  /// SIGKILL: a crash.
  void kill_hard();
  bool running();
  /// The running node's process id; -1 before start().
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  /// Calls the local API with the bearer token (or `token` when given); the reply's JSON (or
  /// {"success":false, "http_error":…} when no answer came). `status` (optional) receives the HTTP
  /// status.
  json call(const std::string& method, const std::string& path, const json& body = json::object(),
            unsigned* status = nullptr, const std::string& token = {}) const;
  json post(const std::string& path, const json& body, unsigned* status = nullptr) const {
    return call("POST", path, body, status);
  }
  json get(const std::string& path_and_query, unsigned* status = nullptr) const {
    return call("GET", path_and_query, json::object(), status);
  }

  /// Every inbox event from cursor 0 on (pages through `events`).
  std::vector<json> all_events() const;

  /// Polls all_events() until `count` events of `room_id` are there (or `timeout`); returns
  /// those events.
  std::vector<json> wait_for_room_events(const std::string& room_id, size_t count,
                                         std::chrono::milliseconds timeout) const;

 private:
  std::string domain_;
  std::string dir_;
  std::string config_path_;
  std::string public_key_pem_;
  uint16_t federation_port_;
  uint16_t local_port_;
  std::unique_ptr<child_process> process_;
  std::string scheme_ = "http";
  std::string tls_section_;
  std::string discovery_ = "static";
  std::string dns_section_;
  std::string hub_url_;
  std::string storage_lines_;
  std::string peer_lines_ = "addresses = \"any\"\n";
};

/// N nodes that know each other through static peer tables.
class cluster {
 public:
  /// Nodes named by `domains`, e.g. {"a.test", "b.test", "c.test"}; `extra` TOML for all,
  /// and `storage` lines for the [storage] table of all (see use_storage_settings).
  explicit cluster(const std::vector<std::string>& domains, const std::string& extra = {},
                   const std::string& storage = {});
  test_node& operator[](size_t i) { return *nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  void start_all();

 private:
  temp_dir root_{"fedrelay-cluster"};
  std::vector<std::unique_ptr<test_node>> nodes_;
};

/// The one-line PEM of `n`'s key, as the rocketchat-public-key TXT record holds it.
std::string public_key_line(const test_node& n);

/// Declares in `dns` (before its start) the records `fedrelay dns-records` asks `n` to
/// publish: the SRV to `target` and n's federation port, `key_line` (n's own key when
/// empty) as a TXT of two strings, and n's scheme as the protocol TXT.
void publish_records(dns_server& dns, const test_node& n, const std::string& target = "127.0.0.1",
                     std::string key_line = {});

/// What `n`'s federation.status says of its queue to `domain`: the entry of its `peers`,
/// an empty object when it names none.
json peer_status(const test_node& n, const std::string& domain);

/// The events of `room_id` among `events`, without the cursor (which differs per node).
std::vector<json> room_events(const std::vector<json>& events, const std::string& room_id);

}  // namespace fedrelay::test
