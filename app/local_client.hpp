// A blocking client of a node's local API, for the command line (`fedrelay room`, `send`,
// `tail`) and `fedrelay demo`: what a chat server does, from a shell.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "config/settings.hpp"

namespace fedrelay::app {

class local_client {
 public:
  /// Talks to the local API of the node with these settings (listen.local, token).
  explicit local_client(const config::settings& s);
  local_client(std::string host, uint16_t port, std::string token);

  /// POST `path` with a JSON body; the reply object, or an error with the API's message
  /// (or why no answer came).
  [[nodiscard]] caf::expected<nlohmann::json> post(const std::string& path,
                                                   const nlohmann::json& body) const;
  /// GET `path_and_query`.
  [[nodiscard]] caf::expected<nlohmann::json> get(
      const std::string& path_and_query,
      std::chrono::seconds timeout = std::chrono::seconds(30)) const;

 private:
  [[nodiscard]] caf::expected<nlohmann::json> call(const std::string& method,
                                                   const std::string& path, std::string body,
                                                   std::chrono::seconds timeout) const;
  std::string host_;
  uint16_t port_;
  std::string token_;
};

/// One inbox event as one line for people: "[room] user: text" and the like.
std::string describe_event(const nlohmann::json& event);

}  // namespace fedrelay::app
