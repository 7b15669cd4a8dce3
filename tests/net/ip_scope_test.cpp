// Which network an address is in, and which of them each peers.addresses choice reaches.
#include "net/ip_scope.hpp"

#include <gtest/gtest.h>

namespace fedrelay::net {
namespace {

using config::address_reach;

TEST(IpScopeTest, AddressesAreSortedByTheNetworkTheyAreIn) {
  struct expectation {
    const char* address;
    ip_scope scope;
  };
  for (auto [address, scope] : std::initializer_list<expectation>{
           {"93.184.216.34", ip_scope::global},
           {"2001:db8::1", ip_scope::global},
           {"172.32.0.1", ip_scope::global},
           {"100.128.0.1", ip_scope::global},
           {"10.1.2.3", ip_scope::private_network},
           {"172.16.0.1", ip_scope::private_network},
           {"172.31.255.255", ip_scope::private_network},
           {"192.168.1.1", ip_scope::private_network},
           {"100.64.0.1", ip_scope::private_network},
           {"fd12:3456::1", ip_scope::private_network},
           {"127.0.0.1", ip_scope::loopback},
           {"127.255.0.9", ip_scope::loopback},
           {"::1", ip_scope::loopback},
           {"::ffff:127.0.0.1", ip_scope::loopback},
           {"169.254.169.254", ip_scope::link_local},
           {"::ffff:169.254.169.254", ip_scope::link_local},
           {"fe80::1", ip_scope::link_local},
           {"fd00:ec2::254", ip_scope::link_local},
           {"100.100.100.200", ip_scope::link_local},
           {"64:ff9b::a9fe:a9fe", ip_scope::link_local},
           {"64:ff9b::10.0.0.1", ip_scope::private_network},
           {"64:ff9b::93.184.216.34", ip_scope::global},
           {"2002:7f00:1::1", ip_scope::loopback},
           {"::127.0.0.1", ip_scope::loopback},
           {"fec0::1", ip_scope::private_network},
           {"fd00:ec2::253", ip_scope::private_network},
           {"0.0.0.0", ip_scope::unroutable},
           {"::", ip_scope::unroutable},
           {"224.0.0.1", ip_scope::unroutable},
           {"255.255.255.255", ip_scope::unroutable},
           {"ff02::1", ip_scope::unroutable},
       }) {
    auto found = scope_of(address);
    ASSERT_TRUE(found) << address;
    EXPECT_EQ(*found, scope) << address;
  }
  EXPECT_FALSE(scope_of("b.example"));
  EXPECT_FALSE(scope_of("300.1.1.1"));
  EXPECT_FALSE(scope_of(""));
}

TEST(IpScopeTest, TheIpv4AddressAnIpv6OneStandsFor) {
  EXPECT_EQ(ipv4_inside("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ipv4_inside("::192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ipv4_inside("64:ff9b::c000:207"), "192.0.2.7");
  EXPECT_EQ(ipv4_inside("2002:c000:207::1"), "192.0.2.7");
  EXPECT_FALSE(ipv4_inside("::1"));
  EXPECT_FALSE(ipv4_inside("::"));
  EXPECT_FALSE(ipv4_inside("2001:db8::1"));
  EXPECT_FALSE(ipv4_inside("192.0.2.7"));
  EXPECT_FALSE(ipv4_inside("b.example"));
}

TEST(IpScopeTest, EachReachTakesItsNetworks) {
  EXPECT_TRUE(reachable(ip_scope::global, address_reach::public_only));
  EXPECT_FALSE(reachable(ip_scope::private_network, address_reach::public_only));
  EXPECT_TRUE(reachable(ip_scope::global, address_reach::private_networks));
  EXPECT_TRUE(reachable(ip_scope::private_network, address_reach::private_networks));
  for (auto inner : {ip_scope::loopback, ip_scope::link_local, ip_scope::unroutable}) {
    EXPECT_FALSE(reachable(inner, address_reach::public_only));
    EXPECT_FALSE(reachable(inner, address_reach::private_networks));
    EXPECT_TRUE(reachable(inner, address_reach::any));
  }
}

TEST(IpScopeTest, TheMachinesAddressesIncludeItsLoopback) {
  auto machine = machine_addresses();
  EXPECT_TRUE(among("127.0.0.1", machine)) << machine.size();
  EXPECT_FALSE(among("192.0.2.250", {"192.0.2.2", "2001:db8::2"}));
  EXPECT_TRUE(among("::ffff:192.0.2.2", {"192.0.2.2"}));
  EXPECT_TRUE(among("192.0.2.2", {"::ffff:192.0.2.2"}));
  EXPECT_TRUE(among("fe80::1%2", {"fe80::1"}));
  EXPECT_TRUE(among("2001:DB8::2", {"2001:db8:0::2"}));
  // A 6to4 network is not its one IPv4 address.
  EXPECT_FALSE(among("2002:c000:202::1", {"192.0.2.2"}));
  EXPECT_FALSE(among("b.example", {"b.example"}));
}

// A record that names the machine's own public or private address reaches its services as
// loopback would: only "any" allows it.
TEST(IpScopeTest, TheMachinesOwnAddressesAreReachedOnlyWithAny) {
  const std::vector<std::string> machine{"127.0.0.1", "::1", "10.1.2.3", "203.0.113.5",
                                         "2001:db8::5"};
  for (auto reach : {address_reach::private_networks, address_reach::public_only}) {
    EXPECT_EQ(judge("203.0.113.5", reach, machine), reach_verdict::refused_as_this_machine);
    EXPECT_EQ(judge("2001:db8::5", reach, machine), reach_verdict::refused_as_this_machine);
    EXPECT_EQ(judge("::ffff:203.0.113.5", reach, machine), reach_verdict::refused_as_this_machine);
    EXPECT_EQ(judge("203.0.113.6", reach, machine), reach_verdict::allowed);
    EXPECT_EQ(judge("127.0.0.1", reach, machine), reach_verdict::refused);
  }
  EXPECT_EQ(judge("10.1.2.3", address_reach::private_networks, machine),
            reach_verdict::refused_as_this_machine);
  EXPECT_EQ(judge("10.1.2.4", address_reach::private_networks, machine), reach_verdict::allowed);
  EXPECT_EQ(judge("10.1.2.4", address_reach::public_only, machine), reach_verdict::refused);
  for (auto address : {"127.0.0.1", "10.1.2.3", "203.0.113.5"})
    EXPECT_EQ(judge(address, address_reach::any, machine), reach_verdict::allowed) << address;
  EXPECT_EQ(judge("not an address", address_reach::any, machine), reach_verdict::refused);
}

}  // namespace
}  // namespace fedrelay::net
