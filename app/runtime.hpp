// The CAF actor system the app runs on, set up once: worker threads sized for the
// machine, and fedrelay's message and error types registered.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

namespace fedrelay::app {

/// Teaches actors::describe() net's error names; once, thread-safe. Code that describes
/// net errors without an actor system (fedrelay check) calls it; runtime_config does.
void register_net_error_names();

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
