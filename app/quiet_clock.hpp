// The clock behind CAF's timeouts and delayed messages, replaced by one that wakes its thread
// only when it must. CAF 0.17's clock hands every timeout set and every cancellation to its
// thread through a queue and wakes the thread for each, and again when a timeout expires:
// the relay makes requests with a timeout for every transaction, every local API call and
// every long poll. This clock keeps its schedule under a mutex instead: setting a timeout
// wakes the thread only when the new deadline comes before the one it is waiting for, and a
// cancellation (CAF cancels an actor's timeouts when the actor ends) never wakes it. What
// still wakes it is expiry: CAF 0.17 leaves the timeout of an answered request scheduled,
// so each one reaches its deadline, and is dropped by its actor. The thread therefore
// waits a millisecond past a deadline and ships everything due by then in one round, and
// a request's timeout (a bound of seconds, almost always for a request answered long ago)
// may wait up to request_slack: a receiving node's timeout per transaction (its request
// to the rooms) woke the thread and then an actor about every 4 ms at 3,000 events/s one
// by one, each round a thread switch or two on the cores the events need.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include <caf/detail/thread_safe_actor_clock.hpp>

namespace fedrelay::app {

/// Derives from CAF's thread-safe clock only because the coordinator's clock() must return
/// one; none of its queue is used. The schedule and the shipping of due events are CAF's
/// simple_actor_clock's.
class quiet_clock final : public caf::detail::thread_safe_actor_clock {
 public:
  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

  /// Ships due events until stop(); runs on the clock's own thread.
  void run();
  /// Ends run() and drops what was still scheduled.
  void stop();

  /// How often a new deadline woke the waiting thread (for the tests).
  uint64_t wakeups() const { return wakeups_.load(); }
  /// How often the thread shipped due events (for the tests).
  uint64_t rounds() const { return rounds_.load(); }

  /// How late an event may ship so that events due close together ship in one round.
  static constexpr std::chrono::milliseconds coalescing{1};
  /// How late a request's timeout may ship by default, for the same reason.
  static constexpr std::chrono::milliseconds default_request_slack{100};

  /// `request_slack`: how late a request's timeout may ship (tests make it long).
  explicit quiet_clock(std::chrono::milliseconds request_slack = default_request_slack)
      : request_slack_(request_slack) {}

 private:
  /// Runs `change` (an event of `type` due at `t`) on the schedule under the lock, then
  /// wakes the thread if that event's deadline plus its slack comes before its wake-up.
  template <class Change>
  void schedule(time_point t, event_type type, Change change);
  /// Takes every scheduled event out, under the lock (the caller drops them unlocked).
  std::vector<unique_delayed_event_ptr> take_all();
  /// When the thread must wake for the schedule: the earliest of each event's deadline
  /// plus its slack (time_point::max() when empty). REQUIRES: mtx_ held.
  time_point wake_time() const;
  /// How late an event of `type` may ship.
  duration_type slack_of(event_type type) const;

  const duration_type request_slack_;
  std::mutex mtx_;
  std::condition_variable cv_;
  time_point waiting_until_ = time_point::max();  // when the thread wakes, slack included
  bool stopping_ = false;
  std::atomic<uint64_t> wakeups_{0};
  std::atomic<uint64_t> rounds_{0};
};

}  // namespace fedrelay::app
