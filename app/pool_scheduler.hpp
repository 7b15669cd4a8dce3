// CAF's scheduler replaced by the threads that run the sockets. A relayed event crosses
// from an HTTP handler to actors and back several times on each node; with CAF's workers
// and separate io threads each crossing woke another thread, and at low rates most of a
// node's CPU went to those switches (docs/PERFORMANCE.md, "One pool for sockets and
// actors"). Here an actor made ready by a handler, or a handler made ready by an actor, is
// queued on the same thread without waking another (net::io_runtime::lent_threads); a
// second thread is woken for what comes from outside the pool (the journal's answers,
// timeouts) while the first waits on the sockets. Detached actors (the journal, DNS
// lookups, files) keep threads of their own.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "app/quiet_clock.hpp"
#include "net/io_runtime.hpp"

namespace fedrelay::app {

/// Runs actors as handlers of `io`, on `scheduler.max-threads` threads it starts at
/// start() and joins at stop(), each calling io.run_here(). Timeouts run on a quiet_clock.
/// REQUIRES: `io` was made with lent_threads, nothing else runs it, and it outlives the
/// system.
class pool_coordinator final : public caf::scheduler::abstract_coordinator {
 public:
  pool_coordinator(caf::actor_system& sys, net::io_runtime& io)
      : abstract_coordinator(sys), io_(io) {}
  ~pool_coordinator() override;

  quiet_clock& clock() noexcept override { return clock_; }
  /// Queues `job` to run on a pool thread, behind the running handler when called from one.
  void enqueue(caf::resumable* job) override;

 protected:
  void start() override;
  void stop() override;

 private:
  class unit;
  static void run_job(void* job);
  // Ends the clock's thread, if it runs (dropping what the clock still holds).
  void stop_clock();

  net::io_runtime& io_;
  quiet_clock clock_;
  std::thread clock_thread_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> queued_{0};    // jobs handed to io_ that have not run yet
  std::atomic<bool> closed_{false};  // io_ is closed: nothing more can run
};

/// Makes systems built from `cfg` run on a pool_coordinator over `io`, whatever its
/// scheduler.policy says.
void use_pool_scheduler(caf::actor_system_config& cfg, net::io_runtime& io);

}  // namespace fedrelay::app
