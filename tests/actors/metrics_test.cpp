// The metrics probe: a duration lands in the first bucket whose bound it does not exceed
// (Prometheus' "le"), and the counts and sum add up.
#include <gtest/gtest.h>

#include "actors/metrics.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

TEST(LatencyHistogramTest, BucketsCountAndSum) {
  latency_histogram h;
  h.observe(100us);  // exactly the first bound: in it
  h.observe(101us);  // just over: the second
  h.observe(3ms);    // 0.005
  h.observe(10s);    // past every bound: +Inf
  auto s = h.read();
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[1], 1u);
  EXPECT_EQ(s.buckets[5], 1u);
  EXPECT_EQ(s.buckets.back(), 1u);
  EXPECT_NEAR(s.sum_seconds, 10.003201, 1e-9);
}

TEST(NodeMetricsTest, CountsBySource) {
  node_metrics m;
  m.accepted(event_source::local, 3);
  m.accepted(event_source::peer);
  m.rejected(event_source::peer, 2);
  EXPECT_EQ(m.accepted_local.load(), 3u);
  EXPECT_EQ(m.accepted_peer.load(), 1u);
  EXPECT_EQ(m.rejected_local.load(), 0u);
  EXPECT_EQ(m.rejected_peer.load(), 2u);
}

}  // namespace
}  // namespace fedrelay::actors
