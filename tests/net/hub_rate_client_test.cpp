// Whom a request to the Hub counts against in its rate limits.
#include <gtest/gtest.h>

#include "net/hub_api.hpp"

namespace fedrelay::net {
namespace {

TEST(HubRateClientTest, AnIpv6ClientIsItsSlash64AndAnIpv4ClientItsAddress) {
  EXPECT_EQ(rate_limit_client("192.0.2.7:5000"), "192.0.2.7");
  EXPECT_EQ(rate_limit_client("[2001:db8:0:1::7]:5000"), "2001:db8:0:1::/64");
  EXPECT_EQ(rate_limit_client("[2001:db8:0:1:ffff:1:2:3]:443"), "2001:db8:0:1::/64");
  EXPECT_NE(rate_limit_client("[2001:db8:0:2::7]:5000"), rate_limit_client("[2001:db8:0:1::7]:1"));
  EXPECT_EQ(rate_limit_client("[::ffff:192.0.2.7]:5000"), "192.0.2.7");
  EXPECT_EQ(rate_limit_client("[::1]:5000"), "::/64");
  // Whatever is not an address stays as it came.
  EXPECT_EQ(rate_limit_client("nonsense"), "nonsense");
}

}  // namespace
}  // namespace fedrelay::net
