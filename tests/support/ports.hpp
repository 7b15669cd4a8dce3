// Free loopback ports for tests, so `ctest -j2` never collides.
#pragma once

#include <cstdint>

namespace fedrelay::test {

/// A TCP port on 127.0.0.1 (20000-31999, below the ephemeral range) that was free a
/// moment ago and that no other test process (nor this one) has been given: ports are
/// reserved with a lock file under /tmp/fedrelay-test-ports until the process exits.
uint16_t free_tcp_port();

/// Reserves `port` for this process as free_tcp_port does; false when this or another
/// live process holds it already.
bool reserve_port(uint16_t port);

/// A UDP port on 127.0.0.1 that was free a moment ago; also free for TCP (DNS servers
/// listen on both); reserved like free_tcp_port's.
uint16_t free_udp_port();

/// A TCP socket bound to 127.0.0.1:`port` and listening, closed when it goes: it holds the
/// port taken while a test checks what a node says about that.
class listening_socket {
 public:
  explicit listening_socket(uint16_t port);
  ~listening_socket();
  listening_socket(const listening_socket&) = delete;
  listening_socket& operator=(const listening_socket&) = delete;

  /// Whether the socket is bound and listening.
  bool listening() const { return listening_; }

 private:
  int fd_ = -1;
  bool listening_ = false;
};

}  // namespace fedrelay::test
