// Tests of parse_endpoint and endpoint::to_string: IPv4, names, bracketed IPv6, bad ports.
#include <gtest/gtest.h>

#include "config/settings.hpp"

namespace fedrelay::config {
namespace {

TEST(EndpointTest, ParsesHostAndPort) {
  auto ep = parse_endpoint("127.0.0.1:3100");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 3100);
  auto name = parse_endpoint("chat.a.example:8443");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "chat.a.example");
  EXPECT_EQ(name->port, 8443);
}

TEST(EndpointTest, ParsesBracketedIpv6) {
  auto ep = parse_endpoint("[::1]:53");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 53);
  auto any = parse_endpoint("[::]:8443");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->host, "::");
  auto full = parse_endpoint("[2001:db8::42]:65535");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->host, "2001:db8::42");
  EXPECT_EQ(full->port, 65535);
}

TEST(EndpointTest, PortBounds) {
  ASSERT_TRUE(parse_endpoint("h:0"));  // load_settings refuses 0, the parser does not
  EXPECT_EQ(parse_endpoint("h:0")->port, 0);
  EXPECT_EQ(parse_endpoint("h:65535")->port, 65535);
  EXPECT_FALSE(parse_endpoint("h:65536"));
  EXPECT_FALSE(parse_endpoint("h:100000"));
  EXPECT_FALSE(parse_endpoint("h:999999999999999999999"));
}

TEST(EndpointTest, RejectsMalformedText) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", ":53", "h:port", "h:-1", "h:+1", "h: 53", "h :53", "::1:53",
        "[::1]", "[::1]53", "[::1:53", "[1.2.3.4]:53", "[]:53", "h/x:53", "a b:1"})
    EXPECT_FALSE(parse_endpoint(bad)) << bad;
}

TEST(EndpointTest, ToStringRoundTrips) {
  for (const char* text : {"127.0.0.1:3100", "[::1]:53", "[::]:8443", "localhost:1"}) {
    auto ep = parse_endpoint(text);
    ASSERT_TRUE(ep) << text;
    EXPECT_EQ(ep->to_string(), text);
  }
  EXPECT_EQ((endpoint{"fe80::1", 80}).to_string(), "[fe80::1]:80");
}

}  // namespace
}  // namespace fedrelay::config
