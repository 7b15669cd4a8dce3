// relay_bench's view of a node: a pooled HTTP client for the local APIs, and one
// `fedrelay run` process with its own directory, ports and static peer table.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "net/http_client.hpp"
#include "net/io_runtime.hpp"

namespace fedrelay::bench {

// One io thread and a pooled client: relay_bench has one for the submitters and its calls,
// and one for the inbox readers.
class api_client {
 public:
  explicit api_client(size_t connections);

  // `done` runs on the io thread: keep it short. `content_type` labels `body`.
  void request(uint16_t port, const std::string& token, const std::string& method,
               const std::string& target, std::string body, std::chrono::milliseconds timeout,
               net::response_callback done, const std::string& content_type = "application/json");

  // Runs `fn` on the io thread at `when`.
  void at(std::chrono::steady_clock::time_point when, std::function<void()> fn) {
    runtime_.run_at(when, std::move(fn));
  }

  // REQUIRES: not on the io thread.
  caf::expected<net::http_response> call(uint16_t port, const std::string& token,
                                         const std::string& method, const std::string& target,
                                         std::string body, std::chrono::milliseconds timeout,
                                         const std::string& content_type = "application/json");

 private:
  net::io_runtime runtime_;
  net::http_client client_;
};

class node {
 public:
  // Writes a config without peers and makes the node's key (`fedrelay keygen`).
  node(std::string domain, const std::string& root, std::string binary);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  const std::string& domain() const { return domain_; }
  const std::string& token() const { return token_; }
  uint16_t local_port() const { return local_port_; }
  pid_t pid() const { return pid_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log() const;

  // Settings like the multi-node tests use: static discovery, short backoff (so a restarted
  // peer is retried within a second), plain HTTP on loopback; `storage` lines go into the
  // [storage] table (storage.sync).
  void configure(const std::vector<const node*>& peers, const std::string& storage = {});

  // Starts the node and waits (at most 30 s) until it prints Running.
  void start();

  // SIGTERM and wait up to 30 s (then SIGKILL); "" when it exited with status 0, else how
  // it ended.
  std::string stop();

  // SIGKILL, as a crash: nothing of the node runs after this returns.
  void kill();

  std::string tail_of_log(size_t lines = 15) const;

  // The local API, blocking; throws when no 2xx JSON reply comes.
  nlohmann::json call(api_client& api, const std::string& method, const std::string& target,
                      const nlohmann::json& body = nlohmann::json::object()) const;

  // The same with a raw body of `content_type` (files.upload takes the file's bytes with
  // its MIME type); the timeout leaves room for a body of many MiB.
  nlohmann::json call_raw(api_client& api, const std::string& method, const std::string& target,
                          std::string body, const std::string& content_type,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

 private:
  std::string domain_;
  std::string dir_;
  std::string config_;
  std::string binary_;
  std::string token_;
  std::string public_key_pem_;
  uint16_t federation_port_;
  uint16_t local_port_;
  pid_t pid_ = -1;
};

}  // namespace fedrelay::bench
