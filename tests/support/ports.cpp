#include "tests/support/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <stdexcept>

namespace fedrelay::test {
namespace {

uint16_t bound_port(int fd) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

bool tcp_port_free(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

uint16_t free_tcp_port() {
  // Below Linux's ephemeral range (32768-60999): a port the kernel picked for us could be
  // picked again as the local port of some client connection before our server binds it.
  static std::minstd_rand rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<uint16_t>(20000 + rng() % 12000);
    if (tcp_port_free(port)) return port;
  }
  throw std::runtime_error("no free TCP port");
}

uint16_t free_udp_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint16_t port = bound_port(fd);
    close(fd);
    if (port != 0 && tcp_port_free(port)) return port;
  }
  throw std::runtime_error("no free UDP port");
}

}  // namespace fedrelay::test
