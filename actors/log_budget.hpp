// A bound on the log lines of one kind that anyone can set off.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace fedrelay::actors {

/// At most `lines` log lines of one kind in each `period`; the lines past that are counted,
/// and the count goes out with the next line allowed. For what any client can cause, such
/// as federation requests naming made-up domains: each would be a lookup that fails and a
/// line or two in the log, and a flood of them would fill the disk with the log.
/// Not thread-safe: one per actor state.
class log_budget {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  log_budget(size_t lines, std::chrono::seconds period) : lines_(lines), period_(period) {}

  /// Whether a line may go out at `now`. When it may, `held_back` is how many lines were
  /// not logged since the last that was (0 if none).
  bool take(time_point now, uint64_t& held_back) {
    if (!started_ || now - window_start_ >= period_) {
      started_ = true;
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= lines_) {
      ++held_back_;
      return false;
    }
    ++used_;
    held_back = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  size_t lines_;
  std::chrono::seconds period_;
  bool started_ = false;
  time_point window_start_;
  size_t used_ = 0;
  uint64_t held_back_ = 0;
};

/// A log_budget for each of several kinds of line (say one per peer), shared by actors
/// on any thread: for a fault many actors meet at once, such as a host that every one of
/// its rooms' replicas fails to reach.
class shared_log_budgets {
 public:
  shared_log_budgets(size_t lines, std::chrono::seconds period) : lines_(lines), period_(period) {}

  /// log_budget::take of the budget of `kind`.
  bool take(const std::string& kind, log_budget::time_point now, uint64_t& held_back) {
    std::lock_guard<std::mutex> lock{mutex_};
    return budgets_.try_emplace(kind, lines_, period_).first->second.take(now, held_back);
  }

 private:
  size_t lines_;
  std::chrono::seconds period_;
  std::mutex mutex_;
  std::map<std::string, log_budget> budgets_;
};

/// The tail of a line that log_budget::take let out after holding back `held_back`: ""
/// when none were, else " (N more such lines not logged)".
inline std::string not_logged(uint64_t held_back) {
  if (held_back == 0) return {};
  return " (" + std::to_string(held_back) + " more such lines not logged)";
}

}  // namespace fedrelay::actors
