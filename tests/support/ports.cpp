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

bool port_free(int type, uint16_t port) {
  int fd = socket(AF_INET, type, 0);
  auto addr = loopback_address(port);
  bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

bool tcp_port_free(uint16_t port) {
  return port_free(SOCK_STREAM, port);
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

/// A port below Linux's ephemeral range (32768-60999) that passes `free`: a port the
/// kernel picked for us could be picked again as the local port of some client connection
/// or UDP socket before our server (or DNS server, which binds both) binds it.
template <class Free>
uint16_t free_port(Free free, const char* what) {
  static std::minstd_rand rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<uint16_t>(20000 + rng() % 12000);
    if (free(port) && reserve_impl(port)) return port;
  }
  throw std::runtime_error(std::string{"no free "} + what + " port");
}

uint16_t free_tcp_port() {
  return free_port(tcp_port_free, "TCP");
}

uint16_t free_udp_port() {
  return free_port([](uint16_t port) { return port_free(SOCK_DGRAM, port) && tcp_port_free(port); },
                   "UDP");
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
