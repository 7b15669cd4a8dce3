#include "actors/metrics.hpp"

#include <algorithm>

namespace fedrelay::actors {

void latency_histogram::observe(std::chrono::nanoseconds took) {
  auto seconds = std::chrono::duration<double>(took).count();
  auto bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
  buckets_[static_cast<size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, took.count())),
                    std::memory_order_relaxed);
}

latency_histogram::snapshot latency_histogram::read() const {
  snapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

void node_metrics::accepted(event_source from, uint64_t n) {
  (from == event_source::local ? accepted_local : accepted_peer)
      .fetch_add(n, std::memory_order_relaxed);
}

void node_metrics::rejected(event_source from, uint64_t n) {
  (from == event_source::local ? rejected_local : rejected_peer)
      .fetch_add(n, std::memory_order_relaxed);
}

std::atomic<uint64_t>& memory_returned_bytes() {
  static std::atomic<uint64_t> bytes{0};
  return bytes;
}

std::atomic<uint64_t>& store_write_failures() {
  static std::atomic<uint64_t> failures{0};
  return failures;
}

}  // namespace fedrelay::actors
