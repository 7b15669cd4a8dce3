#include "bench/process.hpp"

#ifdef FEDRELAY_RESERVED_PORTS
#include "tests/support/ports.hpp"
#endif

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fedrelay::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

double seconds_between(int64_t from_ns, int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

double per_second(size_t count, int64_t from_ns, int64_t to_ns) {
  if (count == 0 || to_ns <= from_ns) return 0;
  return static_cast<double>(count) / seconds_between(from_ns, to_ns);
}

steady::time_point after(std::chrono::milliseconds d) {
  return steady::now() + d;
}

std::chrono::milliseconds budget_for(size_t events) {
  return 30s + std::chrono::milliseconds(5 * events);
}

// ---------------------------------------------------------------------------------------
// Cleanup: the node processes and the temp dir go away on every exit path, including
// Ctrl-C and an exception on any thread.

namespace {

struct cleanup_registry {
  std::mutex mu;
  std::vector<pid_t> pids;
  std::string temp_dir;
};

cleanup_registry& registry() {
  static cleanup_registry r;
  return r;
}

void forget_child(pid_t pid) {
  std::lock_guard<std::mutex> lock(registry().mu);
  auto& p = registry().pids;
  p.erase(std::remove(p.begin(), p.end(), pid), p.end());
}

}  // namespace

void clean_up_everything() {
  std::lock_guard<std::mutex> lock(registry().mu);
  for (pid_t pid : registry().pids) {
    // Each node leads its own process group, so this reaches whatever it started too.
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  registry().pids.clear();
  if (!registry().temp_dir.empty()) {
    std::error_code ec;
    fs::remove_all(registry().temp_dir, ec);
    registry().temp_dir.clear();
  }
}

// Signals are taken by one thread with sigwait (the others block them), so cleaning up
// runs in an ordinary thread instead of a signal handler.
void install_signal_thread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    std::fflush(stdout);
    std::fprintf(stderr, "relay_bench: signal %d, stopping nodes\n", sig);
    clean_up_everything();
    _exit(128 + sig);
  }).detach();
  std::set_terminate([] {
    clean_up_everything();
    std::abort();
  });
}

std::string make_temp_dir(const std::string& parent, bool keep) {
  std::string pattern = parent + "/relay_bench.XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("cannot make a temp dir in " + parent);
  if (!keep) {
    std::lock_guard<std::mutex> lock(registry().mu);
    registry().temp_dir = buf.data();
  }
  return buf.data();
}

// ---------------------------------------------------------------------------------------
// Processes

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Our threads block the termination signals; the child must not inherit that, or the
  // SIGTERM of a graceful stop would never arrive.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  std::unique_lock<std::mutex> lock(registry().mu);
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  if (rc == 0) registry().pids.push_back(pid);
  lock.unlock();
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

std::optional<int> wait_exit(pid_t pid, steady::time_point until) {
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      forget_child(pid);
      if (r == pid && WIFEXITED(status)) return WEXITSTATUS(status);
      if (r == pid && WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (steady::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

void kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  forget_child(pid);
}

command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = spawn(argv, fds[1]);
  close(fds[1]);
  command_result result;
  auto until = after(limit);
  char buf[4096];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n > 0) {
        result.output.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;
    }
    if (steady::now() >= until) {
      kill_and_reap(pid);
      close(fds[0]);
      throw std::runtime_error(argv[0] + " " + argv[1] + " did not finish in time");
    }
  }
  close(fds[0]);
  result.exit_code = wait_exit(pid, after(limit)).value_or(-1);
  return result;
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return {};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

uint16_t free_tcp_port() {
#ifdef FEDRELAY_RESERVED_PORTS
  // Built with the tests: the ports the test helpers reserve across processes, so the
  // relay_bench runs ctest starts beside other tests never take a port one of them holds.
  return fedrelay::test::free_tcp_port();
#else
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  if (!ok) throw std::runtime_error("no free TCP port on 127.0.0.1");
  return ntohs(addr.sin_port);
#endif
}

proc_sample sample_process(pid_t pid) {
  proc_sample s;
  if (pid <= 0) return s;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  // Fields after the command name, which may itself hold spaces: state is field 3,
  // utime and stime are fields 14 and 15.
  auto close_paren = stat.rfind(')');
  if (close_paren != std::string::npos) {
    std::istringstream in(stat.substr(close_paren + 2));
    std::vector<std::string> fields;
    std::string f;
    while (in >> f && fields.size() < 13) fields.push_back(f);
    if (fields.size() >= 13) {
      double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      s.cpu_s = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    }
  }
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    auto kb = [&] { return std::strtod(line.c_str() + line.find(':') + 1, nullptr) / 1024.0; };
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_mb = kb();
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mb = kb();
  }
  // Every hand-off between threads (actor mailboxes, io threads, the WAL writer) shows up
  // here, so switches per event say how much of the time is waking threads up.
  std::error_code ec;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/task", ec), end;
       !ec && it != end; it.increment(ec)) {
    std::istringstream task(read_file(it->path().string() + "/status"));
    while (std::getline(task, line))
      if (line.find("ctxt_switches:") != std::string::npos)
        s.ctx_switches += std::strtod(line.c_str() + line.find(':') + 1, nullptr);
  }
  return s;
}

disk_usage disk_bytes(const std::string& dir) {
  disk_usage total;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total.allocated += static_cast<uint64_t>(st.st_blocks) * 512;
      total.apparent += static_cast<uint64_t>(st.st_size);
    }
  }
  return total;
}

}  // namespace fedrelay::bench
