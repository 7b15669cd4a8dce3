// Free loopback ports for tests, so `ctest -j2` never collides.
#pragma once

#include <cstdint>

namespace fedrelay::test {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
uint16_t free_tcp_port();

/// A UDP port on 127.0.0.1 that was free a moment ago; also free for TCP (DNS servers
/// listen on both).
uint16_t free_udp_port();

}  // namespace fedrelay::test
