// The threads the app runs on, set up once: one pool that runs both the sockets (net's io
// runtime) and the actors (CAF's scheduler), and fedrelay's message and error types
// registered.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "net/io_runtime.hpp"

namespace fedrelay::app {

/// Teaches actors::describe() net's error names; once, thread-safe. Code that describes
/// net errors without an actor system (fedrelay check) calls it; runtime_config does.
void register_net_error_names();

struct runtime_config : caf::actor_system_config {
  /// Actors run on `io`'s `threads` lent threads (CAF alone would start max(4, cores)
  /// workers of its own).
  runtime_config(size_t threads, net::io_runtime& io);
};

/// Owns the io runtime, the config and the system in the order they need: the io
/// runtime's context outlives the threads the system runs it on, the config the system.
/// REQUIRES: every long-lived actor has been sent an exit before destruction, since
/// ~actor_system waits for all actors; every server and client on io() is gone first.
class runtime {
 public:
  explicit runtime(size_t threads = 2)
      : io_(net::io_runtime::lent_threads{}), config_(threads, io_), system_(config_) {}
  caf::actor_system& system() { return system_; }
  /// The sockets' runtime, run by the same threads as the actors.
  net::io_runtime& io() { return io_; }

 private:
  net::io_runtime io_;
  runtime_config config_;
  caf::actor_system system_;
};

}  // namespace fedrelay::app
