#include "actors/timed_size.hpp"

#include <algorithm>

namespace fedrelay::actors {

timed_size::timed_size(uint64_t most, uint64_t least)
    : most_(std::max<uint64_t>(most, 1)),
      least_(std::clamp<uint64_t>(least, 1, most_)),
      current_(most_) {}

uint64_t timed_size::timed_out(uint64_t sent) {
  auto half = std::max(sent / 2, least_);
  if (half >= current_) return 0;
  current_ = half;
  return current_;
}

void timed_size::answered(uint64_t sent, std::chrono::milliseconds took,
                          std::chrono::milliseconds limit) {
  if (current_ >= most_ || sent < current_ || took * 4 >= limit) return;
  current_ = std::min(current_ * 2, most_);
}

}  // namespace fedrelay::actors
