// A child process started by a test (a fedrelay node, dnsmasq, an SMTP server), killed
// and reaped when the object goes away so no test leaves processes behind.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fedrelay::test {

class child_process {
 public:
  /// Starts argv[0] (looked up in PATH) with its output appended to `log_path`
  /// (or /dev/null when empty). Throws std::runtime_error when it cannot be started.
  explicit child_process(std::vector<std::string> argv, std::string log_path = {});
  ~child_process();  // SIGKILL and reap, if still running
  child_process(child_process&&) noexcept;
  child_process& operator=(child_process&&) = delete;
  child_process(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  /// Sends `signal` (SIGTERM by default) and waits up to `timeout` for the exit.
  /// Returns the exit status as from waitpid's WEXITSTATUS, or 128+signal, or nullopt
  /// when it did not exit in time (it is then killed with SIGKILL).
  std::optional<int> stop(int signal = 15,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// SIGKILL and reap: a crash.
  void kill_hard();
  /// Waits up to `timeout` for the process to exit by itself.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

/// Runs a command to completion (bounded by `timeout`), returning its exit code and
/// what it printed on stdout and stderr together.
struct command_result {
  int exit_code = -1;
  std::string output;
};
command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Debian's Python interpreter (/usr/bin/python3), where python3-* packages install,
/// whatever python3 comes first in PATH; "python3" when there is none.
std::string debian_python();

/// Polls `ready` every 20 ms until it returns true or `timeout` passes.
template <class Predicate>
bool wait_until(Predicate ready, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    struct timespec ts {
      0, 20'000'000
    };
    nanosleep(&ts, nullptr);
  }
  return ready();
}

}  // namespace fedrelay::test
