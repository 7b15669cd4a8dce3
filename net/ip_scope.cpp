#include "net/ip_scope.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <boost/asio/ip/address.hpp>

#include "net/logger.hpp"

namespace fedrelay::net {
namespace {

using v6_bytes = boost::asio::ip::address_v6::bytes_type;

bool in(uint32_t address, uint32_t network, int prefix_bits) {
  uint32_t mask = prefix_bits == 0 ? 0 : ~uint32_t{0} << (32 - prefix_bits);
  return (address & mask) == network;
}

ip_scope scope_of_v4(uint32_t a) {
  if (in(a, 0x7F000000, 8)) return ip_scope::loopback;
  // Alibaba Cloud's metadata service sits in the carrier-NAT range; it counts with the
  // link-local address the other clouds use, as what a record must never reach.
  if (in(a, 0xA9FE0000, 16) || a == 0x646464C8) return ip_scope::link_local;
  if (in(a, 0x0A000000, 8) || in(a, 0xAC100000, 12) || in(a, 0xC0A80000, 16) ||
      in(a, 0x64400000, 10))
    return ip_scope::private_network;
  // 0/8 ("this network"), multicast 224/4, reserved 240/4 with the broadcast address.
  if (in(a, 0x00000000, 8) || in(a, 0xE0000000, 4) || in(a, 0xF0000000, 4))
    return ip_scope::unroutable;
  return ip_scope::global;
}

uint32_t v4_at(const v6_bytes& b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}

bool zeros(const v6_bytes& b, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (b[i] != 0) return false;
  return true;
}

// 6to4 (2002:aabb:ccdd::/48): a whole network behind the IPv4 address aa.bb.cc.dd.
bool is_6to4(const v6_bytes& b) {
  return b[0] == 0x20 && b[1] == 0x02;
}

// `text` as an IP address; nullopt when it is not one.
std::optional<boost::asio::ip::address> parse_address(std::string_view text) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string{text}, ec);
  if (ec) return std::nullopt;
  return address;
}

// The IPv4 address an IPv6 address stands for: mapped (::ffff:a.b.c.d), compatible
// (::a.b.c.d, not :: or ::1), NAT64 (64:ff9b::a.b.c.d, reached through a translator) and
// 6to4 (2002:aabb:ccdd::/48).
std::optional<uint32_t> v4_inside(const v6_bytes& b) {
  if (zeros(b, 0, 10) && b[10] == 0xFF && b[11] == 0xFF) return v4_at(b, 12);
  if (zeros(b, 0, 12) && v4_at(b, 12) > 1) return v4_at(b, 12);
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && zeros(b, 4, 12))
    return v4_at(b, 12);
  if (is_6to4(b)) return v4_at(b, 2);
  return std::nullopt;
}

// `text` as an address to compare: an IPv4 one for an IPv6 one that stands for it, IPv6
// without its zone. Not for 6to4: its /48 is a whole network, not the one IPv4 address.
std::optional<boost::asio::ip::address> comparable(std::string_view text) {
  auto address = parse_address(text);
  if (!address || address->is_v4()) return address;
  auto bytes = address->to_v6().to_bytes();
  if (auto v4 = v4_inside(bytes); v4 && !is_6to4(bytes))
    return boost::asio::ip::address{boost::asio::ip::address_v4(*v4)};
  return boost::asio::ip::address{boost::asio::ip::address_v6(bytes)};
}

ip_scope scope_of_v6(const boost::asio::ip::address_v6& v6) {
  auto b = v6.to_bytes();
  if (auto v4 = v4_inside(b)) return scope_of_v4(*v4);
  if (v6.is_loopback()) return ip_scope::loopback;
  // AWS's metadata service over IPv6, fd00:ec2::254, inside the private range.
  const v6_bytes aws_metadata{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (v6.is_link_local() || b == aws_metadata) return ip_scope::link_local;
  // fc00::/7 (unique local) and the deprecated site-local fec0::/10
  if ((b[0] & 0xFE) == 0xFC || v6.is_site_local()) return ip_scope::private_network;
  if (v6.is_unspecified() || v6.is_multicast()) return ip_scope::unroutable;
  return ip_scope::global;
}

}  // namespace

std::optional<ip_scope> scope_of(std::string_view text) {
  auto address = parse_address(text);
  if (!address) return std::nullopt;
  return address->is_v4() ? scope_of_v4(address->to_v4().to_uint()) : scope_of_v6(address->to_v6());
}

std::optional<std::string> ipv4_inside(std::string_view text) {
  auto address = parse_address(text);
  if (!address || !address->is_v6()) return std::nullopt;
  auto v4 = v4_inside(address->to_v6().to_bytes());
  if (!v4) return std::nullopt;
  return boost::asio::ip::address_v4(*v4).to_string();
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

std::vector<std::string> machine_addresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      log()->warn(
          "cannot read this machine's addresses (getifaddrs: {}): records naming them "
          "are not refused as this machine's",
          std::strerror(errno));
    return {};
  }
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owned{list, freeifaddrs};
  std::vector<std::string> out;
  char text[INET6_ADDRSTRLEN];
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const void* raw = nullptr;
    if (i->ifa_addr->sa_family == AF_INET)
      raw = &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
    else if (i->ifa_addr->sa_family == AF_INET6)
      raw = &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr;
    if (raw != nullptr && inet_ntop(i->ifa_addr->sa_family, raw, text, sizeof text) != nullptr)
      out.emplace_back(text);
  }
  return out;
}

bool among(std::string_view address, const std::vector<std::string>& addresses) {
  auto wanted = comparable(address);
  if (!wanted) return false;
  return std::any_of(addresses.begin(), addresses.end(),
                     [&](const std::string& a) { return comparable(a) == wanted; });
}

reach_verdict judge(std::string_view address, config::address_reach reach,
                    const std::vector<std::string>& machine) {
  auto scope = scope_of(address);
  if (!scope || !reachable(*scope, reach)) return reach_verdict::refused;
  if (reach != config::address_reach::any && among(address, machine))
    return reach_verdict::refused_as_this_machine;
  return reach_verdict::allowed;
}

}  // namespace fedrelay::net
