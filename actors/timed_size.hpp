// How much to put in one request to a peer when the link may be slower than a request's
// time allows: a transaction's events, a file's range. A request that times out is sent
// again at half its size, and the size grows back while requests come back quickly.
// Without it, a transaction or range too large to cross a slow link within the request's
// time was sent again whole after every timeout, and never got through.
#pragma once

#include <chrono>
#include <cstdint>

namespace fedrelay::actors {

class timed_size {
 public:
  /// Sizes between `least` and `most`; starts at `most`.
  timed_size(uint64_t most, uint64_t least);

  /// What one request may carry now.
  uint64_t now() const { return current_; }

  /// A request of `sent` timed out: later ones carry at most half of it (not below
  /// `least`). Returns the new size when it shrank, 0 when it did not.
  uint64_t timed_out(uint64_t sent);

  /// A request of `sent` was answered after `took`, of `limit` allowed. A request that
  /// was full (at the size now) and took under a quarter of its time doubles the size
  /// (not above `most`): a link that is fast again gets full requests back within a few.
  void answered(uint64_t sent, std::chrono::milliseconds took, std::chrono::milliseconds limit);

 private:
  uint64_t most_;
  uint64_t least_;
  uint64_t current_;
};

}  // namespace fedrelay::actors
