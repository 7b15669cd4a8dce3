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

}  // namespace fedrelay::test
