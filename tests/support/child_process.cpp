#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace fedrelay::test {
namespace {

std::optional<int> decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return std::nullopt;
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The child gets its own process group, so a test's Ctrl-C does not reach it twice
    // and stop() can signal whatever it forks too.
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

child_process::child_process(std::vector<std::string> argv, std::string log_path) {
  int fd = open(log_path.empty() ? "/dev/null" : log_path.c_str(),
                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open log " + log_path);
  pid_ = spawn(argv, fd);
  close(fd);
}

child_process::child_process(child_process&& other) noexcept
    : pid_(other.pid_), exit_status_(other.exit_status_) {
  other.pid_ = -1;
}

child_process::~child_process() {
  if (pid_ > 0 && !exit_status_) kill_hard();
}

bool child_process::running() {
  if (pid_ <= 0 || exit_status_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = decode_status(status);
    return false;
  }
  return true;
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  wait_until([this] { return !running(); }, timeout);
  return exit_status_;
}

std::optional<int> child_process::stop(int signal, std::chrono::milliseconds timeout) {
  if (!running()) return exit_status_;
  ::kill(pid_, signal);
  if (auto status = wait(timeout)) return status;
  kill_hard();
  return std::nullopt;
}

void child_process::kill_hard() {
  if (pid_ <= 0 || exit_status_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = decode_status(status);
}

command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  command_result result;
  pid_t pid = spawn(argv, pipe_fds[1]);
  close(pipe_fds[1]);
  fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool exited = false;
  char buf[4096];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
    if (exited && n == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      if (!exited) {
        ::kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
      result.output += "\n[killed: timeout]";
      close(pipe_fds[0]);
      result.exit_code = -1;
      return result;
    }
    if (n < 0) {
      struct timespec ts {
        0, 5'000'000
      };
      nanosleep(&ts, nullptr);
    }
  }
  close(pipe_fds[0]);
  result.exit_code = decode_status(status).value_or(-1);
  return result;
}

std::string debian_python() {
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

}  // namespace fedrelay::test
