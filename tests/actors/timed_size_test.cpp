#include "actors/timed_size.hpp"

#include <gtest/gtest.h>

namespace fedrelay::actors {
namespace {

using std::chrono::milliseconds;

TEST(TimedSizeTest, HalvesWhatTimedOutButNeverBelowTheLeast) {
  timed_size size{2048, 100};
  EXPECT_EQ(size.now(), 2048u);
  EXPECT_EQ(size.timed_out(2048), 1024u);
  // Another request of the full size, sent before the first timed out, says nothing new.
  EXPECT_EQ(size.timed_out(2048), 0u);
  EXPECT_EQ(size.now(), 1024u);
  EXPECT_EQ(size.timed_out(300), 150u);
  EXPECT_EQ(size.timed_out(150), 100u);
  EXPECT_EQ(size.timed_out(100), 0u);
  EXPECT_EQ(size.now(), 100u);
}

TEST(TimedSizeTest, GrowsBackOnlyWhileFullRequestsAreAnsweredQuickly) {
  timed_size size{1000, 1};
  size.timed_out(1000);
  size.timed_out(500);
  ASSERT_EQ(size.now(), 250u);
  // Slow, or not full: no growth.
  size.answered(250, milliseconds{8000}, milliseconds{30000});
  size.answered(100, milliseconds{10}, milliseconds{30000});
  EXPECT_EQ(size.now(), 250u);
  size.answered(250, milliseconds{7000}, milliseconds{30000});
  EXPECT_EQ(size.now(), 500u);
  size.answered(500, milliseconds{7000}, milliseconds{30000});
  size.answered(1000, milliseconds{1}, milliseconds{30000});
  EXPECT_EQ(size.now(), 1000u);
}

}  // namespace
}  // namespace fedrelay::actors
