// Signed requests between nodes (actors/request_auth.hpp): the accepted time window, for
// any time a request may name.
#include "actors/request_auth.hpp"

#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "actors/errc.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

constexpr int64_t min_ms = std::numeric_limits<int64_t>::min();
constexpr int64_t max_ms = std::numeric_limits<int64_t>::max();

TEST(RequestAuthTest, TheWindowHoldsBothWaysAndAtTheEndsOfTheRange) {
  EXPECT_TRUE(within_skew(1'000'000, 1'000'000, 0ms));
  EXPECT_TRUE(within_skew(1'000'000, 700'000, 300s));
  EXPECT_TRUE(within_skew(1'000'000, 1'300'000, 300s));
  EXPECT_FALSE(within_skew(1'000'000, 699'999, 300ms * 1000));
  EXPECT_FALSE(within_skew(1'000'000, 1'300'001, 300ms * 1000));
  // Where now - then overflows an int64.
  EXPECT_FALSE(within_skew(1'000'000, min_ms, 300s));
  EXPECT_FALSE(within_skew(-1'000'000, max_ms, 300s));
  EXPECT_FALSE(within_skew(max_ms, min_ms, std::chrono::milliseconds{max_ms}));
  EXPECT_TRUE(within_skew(max_ms, 0, std::chrono::milliseconds{max_ms}));
  EXPECT_FALSE(within_skew(0, 0, -1ms));
}

TEST(RequestAuthTest, ARequestTimedAtTheEndsOfTheRangeIsRefusedBeforeItsSignature) {
  auto id = crypto::identity::generate();
  auto pk = id.public_key();
  std::string key(pk.begin(), pk.end());
  for (int64_t when : {min_ms, max_ms}) {
    auto err = verify_request(key, "GET", "/x", std::to_string(when), "",
                              sign_request(id, "GET", "/x", when, ""), 300s);
    EXPECT_EQ(err, caf::make_error(errc::rejected)) << when;
  }
  auto now = unix_ms_now();
  EXPECT_FALSE(verify_request(key, "GET", "/x", std::to_string(now), "",
                              sign_request(id, "GET", "/x", now, ""), 300s));
}

}  // namespace
}  // namespace fedrelay::actors
