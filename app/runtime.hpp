// The CAF actor system the app runs on, set up once: worker threads sized for the
// machine, and fedrelay's message and error types registered.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

namespace fedrelay::app {

struct runtime_config : caf::actor_system_config {
  /// `threads`: CAF worker threads (CAF alone would start max(4, cores)).
  explicit runtime_config(size_t threads);
};

/// Owns the config and the system in the order CAF needs (config outlives the system).
/// REQUIRES: every long-lived actor has been sent an exit before destruction, since
/// ~actor_system waits for all actors.
class runtime {
 public:
  explicit runtime(size_t threads = 2) : config_(threads), system_(config_) {}
  caf::actor_system& system() { return system_; }

 private:
  runtime_config config_;
  caf::actor_system system_;
};

}  // namespace fedrelay::app
