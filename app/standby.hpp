// What `fedrelay run` serves while the settings screen has turned federation off or left
// its settings not fully set: the local listener alone, with the screen and the status, so
// the screen can turn federation on again. `serving` is whichever of node and stand-by the
// settings call for.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "app/node.hpp"
#include "config/settings.hpp"
#include "config/status.hpp"

namespace fedrelay::app {

class standby {
 public:
  /// Loads (or creates) the identity and serves the local listener: federation.status (the
  /// status of these settings, the key, no peers), the settings screen, and 503 for every
  /// other call. REQUIRES: storage.dir and local_api.token are set. Errors: the identity
  /// cannot be read, the listener cannot bind.
  [[nodiscard]] static caf::expected<std::unique_ptr<standby>> start(config::settings s,
                                                                     std::function<void()> apply);
  ~standby();
  standby(const standby&) = delete;
  standby& operator=(const standby&) = delete;

  config::status status() const;

 private:
  struct impl;
  explicit standby(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The node when the settings enable federation and are fully set, the stand-by otherwise.
class serving {
 public:
  /// `apply`: what the settings screen calls after writing the file (see settings_screen);
  /// `store_failed`: see node::start.
  [[nodiscard]] static caf::expected<serving> start(
      config::settings s, std::function<void()> apply,
      std::function<void(const std::string& reason)> store_failed = {});
  config::status status() const;
  /// node::reload on a node; nothing on a stand-by (it has no peers to filter).
  std::vector<std::string> reload(const config::settings& fresh);
  /// Stops whatever runs (listeners first), releasing its ports and its store.
  /// `keep_status_file`: the process starts it again (see node::keep_status_file).
  void stop(bool keep_status_file = false);

 private:
  std::unique_ptr<node> node_;
  std::unique_ptr<standby> standby_;
};

}  // namespace fedrelay::app
