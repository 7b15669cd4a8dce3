#include "app/store_recovery.hpp"

#include <gtest/gtest.h>

namespace fedrelay::app {
namespace {

using std::chrono::seconds;

TEST(RecoveryWaitsTest, EachWaitIsTwiceTheLastUpToAMinute) {
  recovery_waits waits;
  waits.store_failed();
  for (auto expected : {1, 2, 4, 8, 16, 32, 60, 60}) EXPECT_EQ(waits.next(), seconds{expected});
  // A store that fails again soon (the disk still full) does not start the waits over.
  waits.store_failed();
  EXPECT_EQ(waits.next(), seconds{60});
}

TEST(RecoveryWaitsTest, AFailureAfterFiveQuietMinutesStartsTheWaitsOver) {
  recovery_waits waits;
  auto start = std::chrono::steady_clock::now();
  waits.store_failed(start);
  for (int i = 0; i < 4; ++i) (void)waits.next();
  waits.store_failed(start + seconds{299});
  EXPECT_EQ(waits.next(), seconds{16});
  waits.store_failed(start + seconds{299} + seconds{301});
  EXPECT_EQ(waits.next(), seconds{1});
}

}  // namespace
}  // namespace fedrelay::app
