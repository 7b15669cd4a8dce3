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

}  // namespace
}  // namespace fedrelay::app
