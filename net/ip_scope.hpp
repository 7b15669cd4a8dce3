// Which kind of network an IP address belongs to, and whether peers.addresses lets the node
// connect to it (config::address_reach).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"

namespace fedrelay::net {

enum class ip_scope {
  global,           // public unicast
  private_network,  // 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier NAT), fc00::/7, fec0::/10
  loopback,         // 127/8, ::1
  link_local,       // 169.254/16, fe80::/10, and the clouds' metadata services
                    // (169.254.169.254, fd00:ec2::254, 100.100.100.200)
  unroutable,       // unspecified, multicast, broadcast and reserved: no peer is there
};

/// The scope of `address` ("192.0.2.1", "2001:db8::1"; an IPv6 address that stands for
/// an IPv4 one, see ipv4_inside, counts as that); nullopt when it is not an IP address.
std::optional<ip_scope> scope_of(std::string_view address);

/// The IPv4 address an IPv6 address stands for, as text: mapped (::ffff:a.b.c.d),
/// compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::/48); nullopt
/// for any other address, IPv4 ones included, and for what is not an address.
std::optional<std::string> ipv4_inside(std::string_view address);

/// Whether `reach` lets the node connect to an address of `scope`.
bool reachable(ip_scope scope, config::address_reach reach);

/// The addresses of this machine's network interfaces (getifaddrs), loopback included, as
/// text; empty when they cannot be read.
std::vector<std::string> machine_addresses();

/// Whether `address` is one of `addresses` (either side may be an IPv6 address that
/// stands for an IPv4 one, see ipv4_inside; IPv6 zones are ignored).
bool among(std::string_view address, const std::vector<std::string>& addresses);

enum class reach_verdict { allowed, refused, refused_as_this_machine };

/// Whether peers.addresses = `reach` lets the node connect to `address`, one a peer's
/// record led to: by its network, and, short of "any", never to one of `machine`, the
/// machine's own addresses (machine_addresses()): a record naming the machine's public or
/// private address reaches the services listening on all addresses, as loopback would.
reach_verdict judge(std::string_view address, config::address_reach reach,
                    const std::vector<std::string>& machine);

}  // namespace fedrelay::net
