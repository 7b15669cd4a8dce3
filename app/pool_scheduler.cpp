#include "app/pool_scheduler.hpp"

#include <chrono>

#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/execution_unit.hpp>
#include <caf/logger.hpp>

namespace fedrelay::app {

/// What a pool thread runs actors in: an actor it makes ready (a message to an idle actor,
/// a spawn) is queued on the same thread.
class pool_coordinator::unit final : public caf::execution_unit {
 public:
  explicit unit(pool_coordinator& parent) : execution_unit(&parent.system()), parent_(parent) {}

  void exec_later(caf::resumable* job) override { parent_.enqueue(job); }
  pool_coordinator& parent() { return parent_; }

 private:
  pool_coordinator& parent_;
};

namespace {

/// The unit of the pool thread this is, or null on any other thread.
thread_local caf::execution_unit* current_unit = nullptr;

}  // namespace

pool_coordinator::~pool_coordinator() {
  // stop() ended the clock's thread when the system started; one that never started has none.
  stop_clock();
}

void pool_coordinator::stop_clock() {
  if (!clock_thread_.joinable()) return;
  clock_.stop();
  clock_thread_.join();
}

void pool_coordinator::enqueue(caf::resumable* job) {
  if (closed_.load(std::memory_order_acquire)) {
    // Only from a destructor of what the closed runtime held: every actor has ended.
    cleanup_and_release(job);
    return;
  }
  queued_.fetch_add(1, std::memory_order_relaxed);
  io_.run_soon(&pool_coordinator::run_job, job);
}

void pool_coordinator::run_job(void* arg) {
  auto* job = static_cast<caf::resumable*>(arg);
  // Only pool threads run io_'s handlers, and each set its unit before running any.
  auto* u = static_cast<unit*>(current_unit);
  auto& self = u->parent();
  switch (job->resume(u, self.max_throughput())) {
    case caf::resumable::resume_later:
      // The actor used its share with messages left: it goes behind what else is queued,
      // still holding the reference it was queued with.
      self.enqueue(job);
      break;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
      intrusive_ptr_release(job);
      break;
    case caf::resumable::shutdown_execution_unit:
      // Only CAF's own coordinator sends jobs that end a worker; the pool ends with io_.
      break;
  }
  self.queued_.fetch_sub(1, std::memory_order_acq_rel);
}

void pool_coordinator::start() {
  clock_thread_ = std::thread{[this] {
    caf::detail::set_thread_name("relay.clock");
    system().thread_started();
    clock_.run();
    system().thread_terminates();
  }};
  auto count = std::max<size_t>(num_workers(), 1);
  for (size_t i = 0; i < count; ++i) {
    threads_.emplace_back([this] {
      CAF_SET_LOGGER_SYS(&system());
      caf::detail::set_thread_name("relay.pool");
      system().thread_started();
      unit u{*this};
      current_unit = &u;
      io_.run_here();
      current_unit = nullptr;
      system().thread_terminates();
    });
  }
  abstract_coordinator::start();
}

void pool_coordinator::stop() {
  stop_actors();
  // Every actor has ended (~actor_system waits for them first), so what is still queued
  // are the last runs of ended actors; they let go of their references. A run that has
  // not finished after 10 s is logged (and its actor's memory left) rather than waited for.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (queued_.load(std::memory_order_acquire) != 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (auto left = queued_.load(); left != 0)
    spdlog::warn("scheduler: {} actor runs still queued at shutdown; they are dropped", left);
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // The handlers still queued (a client's request in flight, say) hold handles of actors,
  // detached ones among them, and ~actor_system waits for each detached actor's last
  // handle after this returns: they go now, not with the runtime after the system.
  closed_.store(true, std::memory_order_release);
  io_.close();
  stop_clock();
  // Anything scheduled in between is dropped too.
  clock_.cancel_all();
}

void use_pool_scheduler(caf::actor_system_config& cfg, net::io_runtime& io) {
  // CAF owns the modules it is given as raw pointers (actor_system keeps them in a
  // unique_ptr): there is no other way to hand it a scheduler.
  cfg.module_factories.push_back([&io](caf::actor_system& sys) -> caf::actor_system::module* {
    return new pool_coordinator(sys, io);
  });
}

}  // namespace fedrelay::app
