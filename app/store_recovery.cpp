#include "app/store_recovery.hpp"

#include <ctime>

#include <algorithm>
#include <iostream>

namespace fedrelay::app {
namespace {

using std::chrono::seconds;

constexpr seconds first_wait{1};
constexpr seconds longest_wait{60};
constexpr seconds quiet_before_first_wait_again{300};

}  // namespace

void recovery_waits::store_failed(std::chrono::steady_clock::time_point now) {
  if (now - last_failure_ > quiet_before_first_wait_again) next_ = first_wait;
  last_failure_ = now;
}

seconds recovery_waits::next() {
  auto wait = next_;
  next_ = std::min(next_ * 2, longest_wait);
  return wait;
}

void clear_output_errors() {
  std::cout.clear();
  std::cerr.clear();
}

int wait_for_stop(const sigset_t& signals, seconds wait) {
  auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= seconds{0}) return 0;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                     static_cast<long>(ns % 1'000'000'000)};
    int received = sigtimedwait(&signals, nullptr, &timeout);
    if (received == SIGINT || received == SIGTERM) return received;
  }
}

}  // namespace fedrelay::app
