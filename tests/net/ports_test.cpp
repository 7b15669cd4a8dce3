// The test port helpers: a port handed out is reserved against every other test process
// until its holder exits, so tests that ctest runs side by side never pick the same one.
#include "tests/support/ports.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

namespace fedrelay::test {
namespace {

/// Runs `check` in a child process; its exit status is 0 when it held.
bool in_child(bool (*check)(uint16_t), uint16_t port) {
  pid_t pid = fork();
  if (pid == 0) _exit(check(port) ? 0 : 1);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(PortsTest, APortHandedOutIsReservedHereAndInOtherProcesses) {
  auto port = free_tcp_port();
  EXPECT_FALSE(reserve_port(port));  // not twice in this process
  EXPECT_FALSE(in_child([](uint16_t p) { return reserve_port(p); }, port));
}

TEST(PortsTest, AReservationEndsWithItsProcess) {
  uint16_t port = 0;
  for (int i = 0; i < 100 && port == 0; ++i) {
    // A port nobody holds: the child takes it and exits without releasing it by hand.
    auto candidate = static_cast<uint16_t>(31000 + i);
    if (in_child([](uint16_t p) { return reserve_port(p); }, candidate)) port = candidate;
  }
  ASSERT_NE(port, 0);
  EXPECT_TRUE(reserve_port(port));
}

TEST(PortsTest, PortsHandedOutInOneProcessAreDistinct) {
  std::set<uint16_t> ports;
  for (int i = 0; i < 50; ++i) ports.insert(free_tcp_port());
  for (int i = 0; i < 10; ++i) ports.insert(free_udp_port());
  EXPECT_EQ(ports.size(), 60u);
}

}  // namespace
}  // namespace fedrelay::test
