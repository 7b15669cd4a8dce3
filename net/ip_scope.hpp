// Which kind of network an IP address belongs to, and whether peers.addresses lets the node
// connect to it (config::address_reach).
#pragma once

#include <optional>
#include <string_view>

#include "config/settings.hpp"

namespace fedrelay::net {

enum class ip_scope {
  global,           // public unicast
  private_network,  // 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier NAT), fc00::/7
  loopback,         // 127/8, ::1
  link_local,       // 169.254/16 (cloud metadata services live here), fe80::/10
  unroutable,       // unspecified, multicast, broadcast and reserved: no peer is there
};

/// The scope of `address` ("192.0.2.1", "2001:db8::1"; an IPv4 address mapped into IPv6
/// counts as the IPv4 one); nullopt when it is not an IP address.
std::optional<ip_scope> scope_of(std::string_view address);

/// Whether `reach` lets the node connect to an address of `scope`.
bool reachable(ip_scope scope, config::address_reach reach);

}  // namespace fedrelay::net
