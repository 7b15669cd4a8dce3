#include "net/ip_scope.hpp"

#include <cstdint>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace fedrelay::net {
namespace {

bool in(uint32_t address, uint32_t network, int prefix_bits) {
  uint32_t mask = prefix_bits == 0 ? 0 : ~uint32_t{0} << (32 - prefix_bits);
  return (address & mask) == network;
}

ip_scope scope_of_v4(const boost::asio::ip::address_v4& v4) {
  auto a = v4.to_uint();
  if (in(a, 0x7F000000, 8)) return ip_scope::loopback;
  if (in(a, 0xA9FE0000, 16)) return ip_scope::link_local;
  if (in(a, 0x0A000000, 8) || in(a, 0xAC100000, 12) || in(a, 0xC0A80000, 16) ||
      in(a, 0x64400000, 10))
    return ip_scope::private_network;
  // 0/8 ("this network"), multicast 224/4, reserved 240/4 with the broadcast address.
  if (in(a, 0x00000000, 8) || in(a, 0xE0000000, 4) || in(a, 0xF0000000, 4))
    return ip_scope::unroutable;
  return ip_scope::global;
}

}  // namespace

std::optional<ip_scope> scope_of(std::string_view text) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string{text}, ec);
  if (ec) return std::nullopt;
  if (address.is_v4()) return scope_of_v4(address.to_v4());
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped())
    return scope_of_v4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
  if (v6.is_loopback()) return ip_scope::loopback;
  if (v6.is_link_local()) return ip_scope::link_local;
  auto bytes = v6.to_bytes();
  if ((bytes[0] & 0xFE) == 0xFC) return ip_scope::private_network;
  if (v6.is_unspecified() || v6.is_multicast()) return ip_scope::unroutable;
  return ip_scope::global;
}

bool reachable(ip_scope scope, config::address_reach reach) {
  switch (reach) {
    case config::address_reach::any:
      return true;
    case config::address_reach::private_networks:
      return scope == ip_scope::global || scope == ip_scope::private_network;
    case config::address_reach::public_only:
      break;
  }
  return scope == ip_scope::global;
}

}  // namespace fedrelay::net
