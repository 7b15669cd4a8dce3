// Wires the settings screen (net/settings_api.hpp) into a node's local API: the file it
// edits, the key its DNS records show, the restart that applies a change, and the one
// thread at a time that runs the checks, which block on DNS and HTTP.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "crypto/identity.hpp"
#include "net/api_support.hpp"

namespace fedrelay::app {

class settings_screen {
 public:
  /// `apply` restarts the federation part from the file (null: changes wait for the next
  /// start); it is called on an io thread and must not block.
  settings_screen(const config::settings& s, std::shared_ptr<const crypto::identity> identity,
                  std::function<void()> apply);
  /// Waits for a check run under way. REQUIRES: the listener serving routes() has stopped
  /// and the io threads it answers on still run (a run's answer is posted to them).
  ~settings_screen();
  settings_screen(const settings_screen&) = delete;
  settings_screen& operator=(const settings_screen&) = delete;

  /// The screen's calls, for local_api_context::settings_routes; none when the settings
  /// were not read from a file.
  std::vector<net::route> routes() const;

  struct check_thread;

 private:
  std::string config_path_;
  std::shared_ptr<const crypto::identity> identity_;
  std::function<void()> apply_;
  std::shared_ptr<check_thread> checks_;
};

}  // namespace fedrelay::app
