// What `fedrelay run` and `fedrelay hub` share to start again after their store failed a
// write (a full disk): the signal that says so, and the waits between tries.
#pragma once

#include <signal.h>

#include <chrono>

#include <caf/error.hpp>

namespace fedrelay::app {

/// Sent to the process by the store's on_write_failure: its main thread stops what runs
/// and starts it again from its data (see docs/OPERATIONS.md, "A full disk").
inline constexpr int store_failed_signal = SIGUSR2;

/// The waits before each try to start again: 1 s, then twice the last, up to a minute.
/// A failure that comes after five quiet minutes starts them over; one sooner (the disk
/// still full) goes on from where they were.
class recovery_waits {
 public:
  /// The store failed a write (at `now`).
  void store_failed(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  /// The wait before the next try; the one after it is twice as long.
  std::chrono::seconds next();

 private:
  std::chrono::seconds next_{1};
  std::chrono::steady_clock::time_point last_failure_{};
};

/// Makes std::cout and std::cerr write again after a write failed (a log file on the full
/// disk): a stream that failed once drops every later line until cleared.
void clear_output_errors();

/// Waits up to `wait` for SIGINT or SIGTERM among `signals` (blocked in every thread),
/// and returns it, or 0 when the time passed. The others (a reload, another failure) do
/// not end the wait.
int wait_for_stop(const sigset_t& signals, std::chrono::seconds wait);

}  // namespace fedrelay::app
