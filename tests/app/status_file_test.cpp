#include "app/status_file.hpp"

#include <sys/resource.h>

#include <csignal>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace fedrelay::app {
namespace {

TEST(StatusFileTest, WrittenAndReadBackWhileTheProcessLives) {
  fedrelay::test::temp_dir dir{"fedrelay-status"};
  write_status_file(dir.path(), config::status::booting);
  EXPECT_EQ(read_live_status(dir.path()), "Booting...");
  write_status_file(dir.path(), config::status::running);
  EXPECT_EQ(read_live_status(dir.path()), "Running");
  remove_status_file(dir.path());
  EXPECT_FALSE(read_live_status(dir.path()));
}

// A disk with no room (here: files that may not grow) kept an empty new file, renamed over
// the last good one: `fedrelay status` said no node ran while it waited to start again.
TEST(StatusFileTest, AFileThatCannotBeWrittenLeavesTheLastOne) {
  fedrelay::test::temp_dir dir{"fedrelay-status"};
  write_status_file(dir.path(), config::status::running);
  auto previous_signal = std::signal(SIGXFSZ, SIG_IGN);
  rlimit previous{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &previous), 0);
  rlimit none{0, previous.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &none), 0);
  write_status_file(dir.path(), config::status::booting);
  ::setrlimit(RLIMIT_FSIZE, &previous);
  std::signal(SIGXFSZ, previous_signal);
  EXPECT_EQ(read_live_status(dir.path()), "Running");
}

}  // namespace
}  // namespace fedrelay::app
