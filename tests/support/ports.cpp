#include "tests/support/ports.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

namespace fedrelay::test {
namespace {

sockaddr_in loopback_address(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

uint16_t bound_port(int fd) {
  auto addr = loopback_address(0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

bool tcp_port_free(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  auto addr = loopback_address(port);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

/// Reserves `port` for this process against every other user of these helpers on the
/// machine (the test binaries ctest runs side by side): an exclusive flock on a file named
/// after the port, held until this process exits, when the kernel drops it, also after a
/// crash. A port found free by bind() alone could be found free by another test process
/// too before either server binds it. The descriptor is close-on-exec, so nodes started
/// by the test do not hold the lock after it ends. A second reservation of the same port
/// in this process fails as well (flock locks open files, not processes).
bool reserve_impl(uint16_t port) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> guard{mutex};
  const std::string dir = "/tmp/fedrelay-test-ports";
  mkdir(dir.c_str(), 01777);
  auto path = dir + "/" + std::to_string(port);
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0) return true;  // no place for reservations: fall back to bind() alone
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;
  }
  return true;  // fd stays open: the reservation lasts as long as this process
}

}  // namespace

bool reserve_port(uint16_t port) {
  return reserve_impl(port);
}

uint16_t free_tcp_port() {
  // Below Linux's ephemeral range (32768-60999): a port the kernel picked for us could be
  // picked again as the local port of some client connection before our server binds it.
  static std::minstd_rand rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<uint16_t>(20000 + rng() % 12000);
    if (tcp_port_free(port) && reserve_impl(port)) return port;
  }
  throw std::runtime_error("no free TCP port");
}

uint16_t free_udp_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint16_t port = bound_port(fd);
    close(fd);
    if (port != 0 && tcp_port_free(port) && reserve_impl(port)) return port;
  }
  throw std::runtime_error("no free UDP port");
}

listening_socket::listening_socket(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
  auto addr = loopback_address(port);
  listening_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
               listen(fd_, 1) == 0;
}

listening_socket::~listening_socket() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace fedrelay::test
