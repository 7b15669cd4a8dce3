// The composition root of one fedrelay node: opens the store and the identity, spawns
// the actors and the listeners, and tears them down in reverse order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/discovery_actor.hpp"
#include "config/settings.hpp"
#include "config/status.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::app {

class node {
 public:
  /// Boots a node. REQUIRES: missing_keys(s) is empty and s.enabled. Errors: the store is
  /// locked or cannot be opened, the identity cannot be read, a listener cannot bind.
  /// `apply`: called by the settings screen after it wrote the file (see settings_screen).
  /// `store_failed`: called once, from any thread, when the store failed a write and so
  /// refuses every write from then on (a full disk, a failed fsync), with the reason: the
  /// node answers 503 until it is started again from its data (`fedrelay run` does that).
  [[nodiscard]] static caf::expected<std::unique_ptr<node>> start(
      config::settings s, std::function<void()> apply = {},
      std::function<void(const std::string& reason)> store_failed = {});

  ~node();  // stops listeners, then actors, then closes the store
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Applies what can change without a restart from freshly loaded settings: the
  /// [peers] allow and deny lists. Returns a line per change for the log, and one naming
  /// the keys that changed but take a restart.
  std::vector<std::string> reload(const config::settings& fresh);

  config::status status() const;
  /// Leaves the status file in place when the node goes: the process starts it again.
  void keep_status_file() { keep_status_file_ = true; }
  const config::settings& settings() const;
  const crypto::identity& identity() const;
  actors::discovery_actor discovery() const;

 private:
  struct impl;
  explicit node(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  bool keep_status_file_ = false;
};

}  // namespace fedrelay::app
