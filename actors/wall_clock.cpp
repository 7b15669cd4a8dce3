#include "actors/wall_clock.hpp"

#include <chrono>

namespace fedrelay::actors {

namespace {

template <class Unit>
int64_t unix_now() {
  return std::chrono::duration_cast<Unit>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int64_t unix_ms_now() {
  return unix_now<std::chrono::milliseconds>();
}

int64_t unix_seconds_now() {
  return unix_now<std::chrono::seconds>();
}

}  // namespace fedrelay::actors
