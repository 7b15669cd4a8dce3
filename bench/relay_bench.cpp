// Relay benchmark in the style of LevelDB's db_bench: starts two real `fedrelay run` nodes on
// loopback and prints one line per scenario (throughput, latency, recovery and their cost).
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "net/http_client.hpp"
#include "net/io_runtime.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace net = fedrelay::net;
using nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

double seconds_between(int64_t from_ns, int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

// Every deadline of the harness is one of these, so no loop can wait forever.
steady::time_point after(std::chrono::milliseconds d) {
  return steady::now() + d;
}

std::chrono::milliseconds budget_for(size_t events) {
  // A generous bound: 30 s plus 5 ms per event (a relay slower than 200 events/s is broken).
  return 30s + std::chrono::milliseconds(5 * events);
}

// ---------------------------------------------------------------------------------------
// Options

struct options {
  size_t events = 20000;                 // events per throughput and recovery run
  size_t connections = 16;               // concurrent submitting connections at A's local API
  std::vector<size_t> sizes{256, 4096};  // text sizes of the throughput runs, bytes
  std::vector<double> rates{10, 50};     // latency runs: percent of the max 256 B rate
  double latency_seconds = 5;            // length of one latency run (events = rate * seconds)
  size_t latency_size = 256;             // text size of the latency runs
  size_t file_mib = 64;                  // size of the file of the files scenario
  std::string scenarios = "throughput,latency,recovery,files";
  std::string out;         // Markdown table goes here when set
  std::string parent_dir;  // where the temp dir is made; $TMPDIR or /tmp
  std::string binary = FEDRELAY_BINARY;
  bool keep = false;  // keep the temp dir (node logs and data) for a look after
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

void usage() {
  std::printf(
      "usage: relay_bench [--events N] [--connections K] [--sizes 256,4096] [--rates 10,50]\n"
      "                   [--latency-seconds S] [--latency-size B] [--file-mib M]\n"
      "                   [--scenarios throughput,latency,recovery,files] [--out FILE.md]\n"
      "                   [--dir PARENT] [--binary PATH] [--keep]\n");
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> double {
      auto text = value();
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || v <= 0)
        throw std::runtime_error(arg + ": not a positive number: " + text);
      return v;
    };
    if (arg == "--events") {
      o.events = static_cast<size_t>(number());
    } else if (arg == "--connections") {
      o.connections = static_cast<size_t>(number());
    } else if (arg == "--sizes" || arg == "--rates") {
      auto list = split(value(), ',');
      if (list.empty()) throw std::runtime_error(arg + " needs a list");
      if (arg == "--sizes")
        o.sizes.clear();
      else
        o.rates.clear();
      for (auto& item : list) {
        double v = std::strtod(item.c_str(), nullptr);
        if (v <= 0) throw std::runtime_error(arg + ": not a positive number: " + item);
        if (arg == "--sizes")
          o.sizes.push_back(static_cast<size_t>(v));
        else
          o.rates.push_back(v);
      }
    } else if (arg == "--latency-seconds") {
      o.latency_seconds = number();
    } else if (arg == "--latency-size") {
      o.latency_size = static_cast<size_t>(number());
    } else if (arg == "--file-mib") {
      o.file_mib = static_cast<size_t>(number());
    } else if (arg == "--scenarios") {
      o.scenarios = value();
    } else if (arg == "--out") {
      o.out = value();
    } else if (arg == "--dir") {
      o.parent_dir = value();
    } else if (arg == "--binary") {
      o.binary = value();
    } else if (arg == "--keep") {
      o.keep = true;
    } else if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    } else {
      usage();
      throw std::runtime_error("unknown argument " + arg);
    }
  }
  if (o.parent_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o.parent_dir = tmp && *tmp ? tmp : "/tmp";
  }
  for (auto size : o.sizes)
    if (size < 64) throw std::runtime_error("--sizes: at least 64 bytes (the tag needs room)");
  if (o.latency_size < 64) throw std::runtime_error("--latency-size: at least 64 bytes");
  return o;
}

bool wanted(const options& o, const std::string& scenario) {
  for (auto& s : split(o.scenarios, ','))
    if (s == scenario) return true;
  return false;
}

// ---------------------------------------------------------------------------------------
// Cleanup: the node processes and the temp dir go away on every exit path, including
// Ctrl-C and an exception on any thread.

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
    std::fprintf(stderr, "relay_bench: signal %d, stopping nodes\n", sig);
    clean_up_everything();
    _exit(128 + sig);
  }).detach();
  std::set_terminate([] {
    clean_up_everything();
    std::abort();
  });
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

// The exit status (128+signal when killed), or nullopt when it is still running at `until`.
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

struct command_result {
  int exit_code = -1;
  std::string output;
};

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
}

// What /proc says about a process: CPU seconds (user + system) and memory.
struct proc_sample {
  double cpu_s = 0;
  double hwm_mb = 0;        // VmHWM: peak resident set
  double rss_mb = 0;        // VmRSS: resident now
  double ctx_switches = 0;  // voluntary + involuntary, summed over its live threads
};

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

// Bytes under `dir`: allocated blocks as du counts them, and apparent file sizes (RocksDB
// preallocates its log files, so only the second one grows event by event).
struct disk_usage {
  uint64_t allocated = 0;
  uint64_t apparent = 0;
};

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

// ---------------------------------------------------------------------------------------
// HTTP: one io thread and a pooled client, shared by the submitters and the reader.

class api_client {
 public:
  explicit api_client(size_t connections)
      : runtime_(1), client_(runtime_, options_for(connections)) {}

  // `done` runs on the io thread: keep it short.
  void request(uint16_t port, const std::string& token, const std::string& method,
               const std::string& target, std::string body, std::chrono::milliseconds timeout,
               net::response_callback done, const std::string& type = "application/json") {
    net::http_request req;
    req.method = method;
    req.target = target;
    req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", type}};
    req.body = std::move(body);
    client_.request(net::url{"http", "127.0.0.1", port, {}}, std::move(req), timeout,
                    std::move(done));
  }

  // REQUIRES: not on the io thread.
  caf::expected<net::http_response> call(uint16_t port, const std::string& token,
                                         const std::string& method, const std::string& target,
                                         std::string body, std::chrono::milliseconds timeout,
                                         const std::string& type = "application/json") {
    auto result = std::make_shared<std::promise<caf::expected<net::http_response>>>();
    auto future = result->get_future();
    request(
        port, token, method, target, std::move(body), timeout,
        [result](caf::expected<net::http_response> r) { result->set_value(std::move(r)); }, type);
    // The client answers every request within its timeout; the margin covers a runtime
    // that stopped answering at all.
    if (future.wait_for(timeout + 5s) != std::future_status::ready)
      throw std::runtime_error("HTTP client did not answer " + target);
    return future.get();
  }

 private:
  static net::client_options options_for(size_t connections) {
    net::client_options o;
    // The submitters' connections plus the reader's long poll and status calls.
    o.max_connections_per_host = connections + 2;
    return o;
  }

  net::io_runtime runtime_;
  net::http_client client_;
};

// ---------------------------------------------------------------------------------------
// A node: `fedrelay run` with its own directory, ports and static peer table.

class node {
 public:
  node(std::string domain, const std::string& root, std::string binary)
      : domain_(std::move(domain)),
        dir_(root + "/" + domain_),
        config_(dir_ + "/node.toml"),
        binary_(std::move(binary)),
        token_("bench-token-" + domain_),
        federation_port_(free_tcp_port()),
        local_port_(free_tcp_port()) {
    fs::create_directories(dir_);
    configure({});
    auto key = run_command({binary_, "keygen", "-c", config_}, 60s);
    auto begin = key.output.find("-----BEGIN PUBLIC KEY-----");
    if (key.exit_code != 0 || begin == std::string::npos)
      throw std::runtime_error("keygen failed for " + domain_ + ": " + key.output);
    public_key_pem_ = key.output.substr(begin);
  }
  ~node() {
    if (pid_ > 0) kill_and_reap(pid_);
  }
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  const std::string& domain() const { return domain_; }
  const std::string& token() const { return token_; }
  uint16_t local_port() const { return local_port_; }
  pid_t pid() const { return pid_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log() const { return read_file(dir_ + "/node.log"); }

  // Settings like the multi-node tests use: static discovery, short backoff (so a restarted
  // peer is retried within a second), plain HTTP on loopback.
  void configure(const std::vector<const node*>& peers) {
    std::string text = "[federation]\ndomain = \"" + domain_ + "\"\ndiscovery = \"static\"\n" +
                       "public_url = \"http://127.0.0.1:" + std::to_string(federation_port_) +
                       "\"\n" +
                       "[listen]\nfederation = \"127.0.0.1:" + std::to_string(federation_port_) +
                       "\"\n" + "local = \"127.0.0.1:" + std::to_string(local_port_) + "\"\n" +
                       "[storage]\ndir = \"data\"\n[local_api]\ntoken = \"" + token_ + "\"\n" +
                       "[transport]\nbackoff_initial_ms = 100\nbackoff_max_ms = 1000\n";
    for (const auto* p : peers)
      text += "\n[[peers.static]]\ndomain = \"" + p->domain_ +
              "\"\nurl = \"http://127.0.0.1:" + std::to_string(p->federation_port_) +
              "\"\npublic_key = \"\"\"" + p->public_key_pem_ + "\"\"\"\n";
    write_file(config_, text);
  }

  // Starts the node and waits (at most 30 s) until it prints Running.
  void start() {
    auto from = log().size();
    int fd = open((dir_ + "/node.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open the log of " + domain_);
    pid_ = spawn({binary_, "run", "-c", config_}, fd);
    close(fd);
    auto until = after(30s);
    while (steady::now() < until) {
      if (log().find("Running\n", from) != std::string::npos) return;
      if (wait_exit(pid_, steady::now())) {
        pid_ = -1;
        throw std::runtime_error(domain_ + " exited while starting:\n" + tail_of_log());
      }
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error(domain_ + " did not start within 30 s:\n" + tail_of_log());
  }

  // SIGTERM and wait up to 30 s (then SIGKILL); "" when it exited with status 0, else how
  // it ended.
  std::string stop() {
    if (pid_ <= 0) return {};
    ::kill(pid_, SIGTERM);
    auto status = wait_exit(pid_, after(30s));
    if (!status) kill_and_reap(pid_);
    pid_ = -1;
    if (!status) return "still running 30 s after SIGTERM, killed";
    return *status == 0 ? "" : "exit status " + std::to_string(*status);
  }

  std::string tail_of_log(size_t lines = 15) const {
    auto text = log();
    size_t pos = text.size();
    for (size_t n = 0; n <= lines && pos > 0; ++n) pos = text.rfind('\n', pos - 1);
    return text.substr(pos == std::string::npos ? 0 : pos);
  }

  // The local API, blocking; throws when no 2xx JSON reply comes.
  json call(api_client& api, const std::string& method, const std::string& target,
            const json& body = json::object()) const {
    return call_raw(api, method, target, method == "GET" ? "" : body.dump(), "application/json");
  }

  // The same with a raw body of Content-Type `type` (files.upload).
  json call_raw(api_client& api, const std::string& method, const std::string& target,
                std::string body, const std::string& type) const {
    auto res = api.call(local_port_, token_, method, target, std::move(body), 120s, type);
    if (!res)
      throw std::runtime_error(domain_ + " " + target + ": " +
                               fedrelay::actors::describe(res.error()));
    auto j = json::parse(res->body, nullptr, false);
    if (res->status / 100 != 2 || j.is_discarded())
      throw std::runtime_error(domain_ + " " + target + ": HTTP " + std::to_string(res->status) +
                               " " + res->body);
    return j;
  }

 private:
  std::string domain_;
  std::string dir_;
  std::string config_;
  std::string binary_;
  std::string token_;
  std::string public_key_pem_;
  uint16_t federation_port_;
  uint16_t local_port_;
  pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------------------
// Events carry their run, sequence number and send time in the text: "fb<run>:<seq>:<ns>:"
// and then filler up to the wanted size, so the reader needs no table of event ids.

std::string event_text(int run, size_t seq, int64_t sent_ns, size_t size) {
  std::string text =
      "fb" + std::to_string(run) + ":" + std::to_string(seq) + ":" + std::to_string(sent_ns) + ":";
  // Letters and digits from a per-event pseudo-random stream: a repeated character would
  // compress to almost nothing in RocksDB's tables and understate the bytes per event.
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t state = 0x9e3779b97f4a7c15ULL * (seq + 1) + static_cast<uint64_t>(run);
  while (text.size() < size) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    text.push_back(alphabet[state % 36]);
  }
  return text;
}

struct tag {
  int run;
  size_t seq;
  int64_t sent_ns;
};

std::optional<tag> parse_tag(const std::string& text) {
  if (text.rfind("fb", 0) != 0) return std::nullopt;
  char* end = nullptr;
  tag t{};
  t.run = static_cast<int>(std::strtol(text.c_str() + 2, &end, 10));
  if (*end != ':') return std::nullopt;
  t.seq = std::strtoull(end + 1, &end, 10);
  if (*end != ':') return std::nullopt;
  t.sent_ns = std::strtoll(end + 1, &end, 10);
  if (*end != ':') return std::nullopt;
  return t;
}

// What the reader saw of one run.
struct seen_result {
  size_t count = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  std::vector<int64_t> latencies_ns;  // seen at B minus submitted at A, one per event
};

// B's local server: one thread long-polling B's `events` from cursor 0 on, counting the
// tagged events of the current run. Survives B being down (retries every 50 ms).
class inbox_reader {
 public:
  inbox_reader(api_client& api, const node& b, std::string room_id)
      : api_(api), b_(b), room_id_(std::move(room_id)) {}
  ~inbox_reader() { stop(); }

  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Starts counting run `run` of `expected` events (sequence numbers 0..expected-1).
  void begin_run(int run, size_t expected) {
    std::lock_guard<std::mutex> lock(mu_);
    run_ = run;
    expected_ = expected;
    seen_.assign(expected, 0);
    result_ = seen_result{};
    result_.latencies_ns.reserve(expected);
  }

  // Waits until `want` events of the current run were seen, or `until`; the result so far.
  seen_result wait_for(size_t want, steady::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, until, [&] { return result_.count >= want; });
    return result_;
  }

  // Stops polling and waits (bounded) for the poll in flight to end. A node that gets
  // SIGTERM while a long poll is pending takes about 30 s to exit (its local API call
  // timeout), so the recovery scenario pauses the reader around B's stop.
  void pause() {
    std::unique_lock<std::mutex> lock(mu_);
    paused_ = true;
    cv_.wait_until(lock, after(20s), [&] { return !in_call_; });
  }
  void resume() {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = false;
  }

 private:
  void loop() {
    uint64_t cursor = 0;
    while (!stop_) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        in_call_ = !paused_;
      }
      cv_.notify_all();
      if (!in_call_) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      auto target = "/api/v1/events?after=" + std::to_string(cursor) + "&limit=1000&wait=1";
      caf::expected<net::http_response> res = caf::error{};
      try {
        res = api_.call(b_.local_port(), b_.token(), "GET", target, "", 15s);
      } catch (const std::exception&) {
        res = caf::error{};
      }
      if (!res || res->status != 200) {
        // B is stopped or restarting during the recovery scenario.
        std::this_thread::sleep_for(50ms);
        continue;
      }
      int64_t seen_ns = now_ns();
      auto page = json::parse(res->body, nullptr, false);
      if (page.is_discarded()) continue;
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& e : page.value("events", json::array())) {
        if (e.value("room_id", "") != room_id_) continue;
        auto text = e.find("text");
        if (text == e.end() || !text->is_string()) continue;
        auto t = parse_tag(text->get_ref<const std::string&>());
        if (!t || t->run != run_ || t->seq >= expected_ || seen_[t->seq]) continue;
        seen_[t->seq] = 1;
        if (result_.count++ == 0) result_.first_ns = seen_ns;
        result_.last_ns = seen_ns;
        result_.latencies_ns.push_back(seen_ns - t->sent_ns);
      }
      cursor = page.value("next", cursor);
      cv_.notify_all();
    }
  }

  api_client& api_;
  const node& b_;
  std::string room_id_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  bool paused_ = false;
  bool in_call_ = false;
  std::condition_variable cv_;
  int run_ = -1;
  size_t expected_ = 0;
  std::vector<char> seen_;
  seen_result result_;
};

// ---------------------------------------------------------------------------------------
// Submitting chat.send at A: closed loop (K requests in flight, each answer sends the next)
// or open loop (a fixed offered rate, whatever the answers do).

struct submit_result {
  size_t accepted = 0;
  size_t failed = 0;
  int64_t first_ns = 0;
  int64_t last_accept_ns = 0;
  std::string first_error;
};

// Set before the HTTP client goes away, so late answers do not start new requests.
std::atomic<bool> stopping{false};

class submitter : public std::enable_shared_from_this<submitter> {
 public:
  submitter(api_client& api, const node& a, std::string room_id, int run, size_t size)
      : api_(api), a_(a), room_id_(std::move(room_id)), run_(run), size_(size) {}

  submit_result closed_loop(size_t n, size_t connections, steady::time_point until) {
    total_ = n;
    chain_ = true;
    result_.first_ns = now_ns();
    for (size_t i = 0; i < std::min(n, connections); ++i) send_next();
    return wait(until);
  }

  submit_result open_loop(size_t n, double rate, steady::time_point until) {
    total_ = n;
    chain_ = false;
    result_.first_ns = now_ns();
    auto start = steady::now();
    for (size_t i = 0; i < n && steady::now() < until; ++i) {
      std::this_thread::sleep_until(start +
                                    std::chrono::nanoseconds(static_cast<int64_t>(1e9 * i / rate)));
      send_next();
    }
    return wait(until);
  }

 private:
  void send_next() {
    if (stopping) return;
    size_t seq;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (next_ >= total_) return;
      seq = next_++;
    }
    // Built by hand: the text is ASCII without quotes, and this runs once per event.
    auto body = R"({"room_id":)" + json(room_id_).dump() + R"(,"user":"alice","text":")" +
                event_text(run_, seq, now_ns(), size_) + "\"}";
    api_.request(
        a_.local_port(), a_.token(), "POST", "/api/v1/chat.send", std::move(body), 30s,
        [self = shared_from_this()](caf::expected<net::http_response> r) { self->on_answer(r); });
  }

  void on_answer(const caf::expected<net::http_response>& r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (r && r->status == 200) {
        ++result_.accepted;
        result_.last_accept_ns = now_ns();
      } else {
        ++result_.failed;
        if (result_.first_error.empty())
          result_.first_error = r ? "HTTP " + std::to_string(r->status) + " " + r->body
                                  : fedrelay::actors::describe(r.error());
      }
      ++answered_;
    }
    cv_.notify_all();
    if (chain_) send_next();
  }

  submit_result wait(steady::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    // Only what was sent is waited for: an open loop cut short by its deadline sent fewer.
    if (!cv_.wait_until(lock, until, [&] { return answered_ >= (chain_ ? total_ : next_); }))
      throw std::runtime_error("submitting did not finish in time (" + std::to_string(answered_) +
                               " of " + std::to_string(total_) + " answered)");
    return result_;
  }

  api_client& api_;
  const node& a_;
  std::string room_id_;
  int run_;
  size_t size_;
  bool chain_ = true;
  size_t total_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;
  size_t answered_ = 0;
  submit_result result_;
};

// ---------------------------------------------------------------------------------------
// Reporting

double percentile_ms(std::vector<int64_t> sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[std::max<size_t>(rank, 1) - 1]) / 1e6;
}

struct row {
  std::string name;
  size_t events = 0;
  size_t size = 0;
  std::string offered = "max";  // "max" (closed loop) or events/s
  double e2e_per_s = 0;         // events seen at B / (last seen - first submitted)
  double accepted_per_s = 0;    // events accepted at A / (last accepted - first submitted)
  double p50 = 0, p99 = 0, p999 = 0, max_ms = 0;  // submit -> seen at B
  double a_hwm_mb = 0, b_hwm_mb = 0;
  double a_cpu_per_100k = 0, b_cpu_per_100k = 0;
  double client_cpu_per_100k = 0;  // this process: submitting, reading and parsing
  double a_switches_per_event = 0, b_switches_per_event = 0;
  std::string note;
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A measured value, or "-" for one the scenario does not measure (such as latency while the
// receiving node is down): a real rate or latency is never exactly 0.
std::string measured_or_dash(double v, int digits) {
  return v == 0 ? "-" : fixed(v, digits);
}

void print_row(const row& r) {
  std::printf(
      "%-16s : %9s ev/s e2e; %9s accepted/s; p50 %8s ms p99 %8s ms p99.9 %8s ms; "
      "RSS A %6s MB B %6s MB; cpu/100k A %6s s B %6s s client %5s s; ctx sw/event A %5s B %5s "
      "(%zu x %zu B, offered %s)%s%s\n",
      r.name.c_str(), measured_or_dash(r.e2e_per_s, 0).c_str(),
      measured_or_dash(r.accepted_per_s, 0).c_str(), measured_or_dash(r.p50, 2).c_str(),
      measured_or_dash(r.p99, 2).c_str(), measured_or_dash(r.p999, 2).c_str(),
      fixed(r.a_hwm_mb, 1).c_str(), fixed(r.b_hwm_mb, 1).c_str(),
      fixed(r.a_cpu_per_100k, 1).c_str(), measured_or_dash(r.b_cpu_per_100k, 1).c_str(),
      fixed(r.client_cpu_per_100k, 1).c_str(), fixed(r.a_switches_per_event, 1).c_str(),
      measured_or_dash(r.b_switches_per_event, 1).c_str(), r.events, r.size, r.offered.c_str(),
      r.note.empty() ? "" : "; ", r.note.c_str());
  std::fflush(stdout);
}

std::string markdown_table(const std::vector<row>& rows) {
  std::string t =
      "| scenario | events | text B | offered ev/s | e2e ev/s | accepted ev/s | p50 ms | p99 ms "
      "| p99.9 ms | max ms | A peak RSS MB | B peak RSS MB | A cpu s/100k | B cpu s/100k "
      "| client cpu s/100k | A ctx sw/event | B ctx sw/event | notes |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows)
    t += "| " + r.name + " | " + std::to_string(r.events) + " | " + std::to_string(r.size) + " | " +
         r.offered + " | " + measured_or_dash(r.e2e_per_s, 0) + " | " +
         measured_or_dash(r.accepted_per_s, 0) + " | " + measured_or_dash(r.p50, 2) + " | " +
         measured_or_dash(r.p99, 2) + " | " + measured_or_dash(r.p999, 2) + " | " +
         measured_or_dash(r.max_ms, 2) + " | " + fixed(r.a_hwm_mb, 1) + " | " +
         fixed(r.b_hwm_mb, 1) + " | " + fixed(r.a_cpu_per_100k, 1) + " | " +
         measured_or_dash(r.b_cpu_per_100k, 1) + " | " + fixed(r.client_cpu_per_100k, 1) + " | " +
         fixed(r.a_switches_per_event, 1) + " | " + measured_or_dash(r.b_switches_per_event, 1) +
         " | " + r.note + " |\n";
  return t;
}

void fill_latencies(row& r, std::vector<int64_t> latencies) {
  std::sort(latencies.begin(), latencies.end());
  r.p50 = percentile_ms(latencies, 0.50);
  r.p99 = percentile_ms(latencies, 0.99);
  r.p999 = percentile_ms(latencies, 0.999);
  r.max_ms = latencies.empty() ? 0 : static_cast<double>(latencies.back()) / 1e6;
}

double per_event(double total, size_t events) {
  return events == 0 ? 0 : total / static_cast<double>(events);
}

double per_100k(double cpu_s, size_t events) {
  return per_event(cpu_s, events) * 100000.0;
}

std::string machine_summary() {
  struct sysinfo si {};
  sysinfo(&si);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  char buf[200];
  std::snprintf(buf, sizeof buf, "%ld cores online, %.1f GiB RAM, load average %.2f %.2f %.2f",
                sysconf(_SC_NPROCESSORS_ONLN),
                static_cast<double>(si.totalram) * si.mem_unit / (1024.0 * 1024 * 1024), load[0],
                load[1], load[2]);
  return buf;
}

// ---------------------------------------------------------------------------------------
// The scenarios

class bench {
 public:
  explicit bench(options o) : o_(std::move(o)), api_(o_.connections) {}

  int run(const std::string& command_line) {
    set_up();
    if (wanted(o_, "throughput"))
      for (size_t size : o_.sizes) throughput(size);
    if (wanted(o_, "latency")) {
      if (max_rate_ <= 0) throughput_for_latency();
      for (double pct : o_.rates) latency(pct);
    }
    if (wanted(o_, "recovery")) recovery();
    if (wanted(o_, "files")) files();
    reader_->stop();
    for (auto* n : {a_.get(), b_.get()}) {
      auto how = n->stop();
      if (!how.empty())
        std::printf("note: %s on SIGTERM at the end: %s\n", n->domain().c_str(), how.c_str());
    }
    if (!o_.out.empty()) write_report(command_line);
    return 0;
  }

  // On failure: what the nodes last said, before the temp dir goes away.
  void print_logs() const {
    for (const auto* n : {a_.get(), b_.get()})
      if (n)
        std::fprintf(stderr, "--- %s node.log (tail)\n%s\n", n->domain().c_str(),
                     n->tail_of_log().c_str());
  }

 private:
  void set_up() {
    std::string pattern = o_.parent_dir + "/relay_bench.XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data()))
      throw std::runtime_error("cannot make a temp dir in " + o_.parent_dir);
    if (!o_.keep) {
      std::lock_guard<std::mutex> lock(registry().mu);
      registry().temp_dir = buf.data();
    }
    root_ = buf.data();
    machine_before_ = machine_summary();
    std::printf("relay_bench: %s; nodes in %s\n", machine_before_.c_str(), root_.c_str());
    a_ = std::make_unique<node>("a.test", root_, o_.binary);
    b_ = std::make_unique<node>("b.test", root_, o_.binary);
    a_->configure({b_.get()});
    b_->configure({a_.get()});
    a_->start();
    b_->start();

    a_->call(api_, "POST", "/api/v1/users.register", {{"username", "alice"}, {"name", "Alice"}});
    b_->call(api_, "POST", "/api/v1/users.register", {{"username", "bob"}, {"name", "Bob"}});
    auto created = a_->call(api_, "POST", "/api/v1/rooms.create",
                            {{"name", "bench"}, {"type", "private"}, {"owner", "alice"}});
    room_id_ = created.at("room_id").get<std::string>();
    a_->call(api_, "POST", "/api/v1/rooms.invite",
             {{"room_id", room_id_}, {"user", "bob@" + b_->domain()}, {"by", "alice"}});

    reader_ = std::make_unique<inbox_reader>(api_, *b_, room_id_);
    reader_->start();
    // Warm-up: B has joined and the peer connection is up before anything is timed.
    const size_t warm = 200;
    reader_->begin_run(0, warm);
    auto s = std::make_shared<submitter>(api_, *a_, room_id_, 0, 256);
    s->closed_loop(warm, o_.connections, after(60s));
    if (reader_->wait_for(warm, after(60s)).count < warm)
      throw std::runtime_error("warm-up: B did not see the first events of the room");
  }

  struct measured {
    submit_result submitted;
    seen_result seen;
    proc_sample a0, a1, b0, b1, c0, c1;
  };

  measured measure(size_t n, size_t size, double rate) {
    int run = ++run_;
    measured m;
    reader_->begin_run(run, n);
    m.a0 = sample_process(a_->pid());
    m.b0 = sample_process(b_->pid());
    m.c0 = sample_process(getpid());
    auto until = after(budget_for(n));
    auto s = std::make_shared<submitter>(api_, *a_, room_id_, run, size);
    m.submitted =
        rate > 0 ? s->open_loop(n, rate, until) : s->closed_loop(n, o_.connections, until);
    m.seen = reader_->wait_for(m.submitted.accepted, until);
    m.a1 = sample_process(a_->pid());
    m.b1 = sample_process(b_->pid());
    m.c1 = sample_process(getpid());
    return m;
  }

  row to_row(const std::string& name, size_t size, const measured& m) {
    row r;
    r.name = name;
    r.size = size;
    r.events = m.seen.count;
    if (m.seen.count > 0)
      r.e2e_per_s =
          static_cast<double>(m.seen.count) / seconds_between(m.submitted.first_ns, m.seen.last_ns);
    if (m.submitted.accepted > 0)
      r.accepted_per_s = static_cast<double>(m.submitted.accepted) /
                         seconds_between(m.submitted.first_ns, m.submitted.last_accept_ns);
    fill_latencies(r, m.seen.latencies_ns);
    r.a_hwm_mb = m.a1.hwm_mb;
    r.b_hwm_mb = m.b1.hwm_mb;
    r.a_cpu_per_100k = per_100k(m.a1.cpu_s - m.a0.cpu_s, m.seen.count);
    r.b_cpu_per_100k = per_100k(m.b1.cpu_s - m.b0.cpu_s, m.seen.count);
    r.client_cpu_per_100k = per_100k(m.c1.cpu_s - m.c0.cpu_s, m.seen.count);
    r.a_switches_per_event = per_event(m.a1.ctx_switches - m.a0.ctx_switches, m.seen.count);
    r.b_switches_per_event = per_event(m.b1.ctx_switches - m.b0.ctx_switches, m.seen.count);
    if (m.submitted.failed > 0)
      r.note +=
          std::to_string(m.submitted.failed) + " submits failed (" + m.submitted.first_error + ")";
    if (m.seen.count < m.submitted.accepted)
      r.note += (r.note.empty() ? "" : "; ") + std::string("only ") + std::to_string(m.seen.count) +
                " of " + std::to_string(m.submitted.accepted) + " accepted seen at B in time";
    return r;
  }

  void add(row r) {
    print_row(r);
    rows_.push_back(std::move(r));
  }

  void throughput(size_t size) {
    auto m = measure(o_.events, size, 0);
    auto r = to_row("throughput_" + std::to_string(size), size, m);
    r.offered = "max (" + std::to_string(o_.connections) + " conns)";
    if (size == o_.latency_size && r.e2e_per_s > max_rate_) max_rate_ = r.e2e_per_s;
    add(std::move(r));
  }

  // Latency runs need the max rate of their text size; measure it when throughput was
  // skipped or ran with other sizes.
  void throughput_for_latency() { throughput(o_.latency_size); }

  void latency(double pct) {
    double rate = max_rate_ * pct / 100.0;
    auto n = static_cast<size_t>(std::max(100.0, rate * o_.latency_seconds));
    auto m = measure(n, o_.latency_size, rate);
    auto r = to_row("latency_" + fixed(pct, 0) + "pct", o_.latency_size, m);
    r.offered = fixed(rate, 0);
    add(std::move(r));
  }

  double queue_depth_for(const std::string& domain) {
    auto status = a_->call(api_, "GET", "/api/v1/federation.status");
    for (const auto& p : status.value("peers", json::array()))
      if (p.value("domain", "") == domain) return p.value("queue_depth", 0.0);
    return 0;
  }

  void recovery() {
    const size_t n = o_.events;
    const size_t size = o_.latency_size;
    int run = ++run_;
    reader_->begin_run(run, n);
    auto b_before_stop = sample_process(b_->pid());
    auto du_before = disk_bytes(a_->data_dir());
    reader_->pause();
    auto stop_ns = now_ns();
    auto how = b_->stop();
    stop_note_ = "B stopped in " + fixed(seconds_between(stop_ns, now_ns()), 2) + " s";
    if (!how.empty()) {
      std::printf("note: B on SIGTERM: %s\n%s\n", how.c_str(), b_->tail_of_log(5).c_str());
      stop_note_ += " (" + how + ")";
    }

    auto a0 = sample_process(a_->pid());
    auto c0 = sample_process(getpid());
    auto until = after(budget_for(n));
    auto s = std::make_shared<submitter>(api_, *a_, room_id_, run, size);
    auto submitted = s->closed_loop(n, o_.connections, until);
    // Every accepted event is queued for B; federation.status says when the outbox has them.
    double depth = 0;
    for (auto wait_until = after(30s); steady::now() < wait_until;
         std::this_thread::sleep_for(100ms))
      if ((depth = queue_depth_for(b_->domain())) >= static_cast<double>(submitted.accepted)) break;
    auto du_queued = disk_bytes(a_->data_dir());
    auto a_queued = sample_process(a_->pid());
    auto c_queued = sample_process(getpid());

    row queued;
    queued.name = "recovery_queue";
    queued.size = size;
    queued.events = submitted.accepted;
    queued.offered = "max (B down)";
    queued.accepted_per_s = static_cast<double>(submitted.accepted) /
                            seconds_between(submitted.first_ns, submitted.last_accept_ns);
    queued.a_hwm_mb = a_queued.hwm_mb;
    queued.b_hwm_mb = b_before_stop.hwm_mb;
    queued.a_cpu_per_100k = per_100k(a_queued.cpu_s - a0.cpu_s, submitted.accepted);
    queued.client_cpu_per_100k = per_100k(c_queued.cpu_s - c0.cpu_s, submitted.accepted);
    queued.a_switches_per_event =
        per_event(a_queued.ctx_switches - a0.ctx_switches, submitted.accepted);
    auto bytes_per_event = [&](uint64_t bytes) {
      return depth > 0 ? fixed(static_cast<double>(bytes) / depth, 0) : std::string("-");
    };
    queued.note =
        "queue_depth " + fixed(depth, 0) + "; A data dir du " +
        fixed(static_cast<double>(du_queued.allocated) / 1e6, 1) +
        " MB = " + bytes_per_event(du_queued.allocated) + " B/queued event, apparent " +
        fixed(static_cast<double>(du_queued.apparent) / 1e6, 1) + " MB, grown by " +
        bytes_per_event(du_queued.apparent - std::min(du_queued.apparent, du_before.apparent)) +
        " B/queued event while B was down";
    if (!stop_note_.empty()) queued.note += "; " + stop_note_;
    if (submitted.failed > 0)
      queued.note += "; " + std::to_string(submitted.failed) + " submits failed (" +
                     submitted.first_error + ")";
    add(queued);

    auto start_ns = now_ns();
    b_->start();
    reader_->resume();
    auto running_ns = now_ns();
    auto b0 = sample_process(b_->pid());
    auto seen = reader_->wait_for(submitted.accepted, after(budget_for(n)));
    auto a1 = sample_process(a_->pid());
    auto b1 = sample_process(b_->pid());
    auto c1 = sample_process(getpid());

    row drained;
    drained.name = "recovery_drain";
    drained.size = size;
    drained.events = seen.count;
    drained.offered = "backlog";
    if (seen.count > 0)
      drained.e2e_per_s = static_cast<double>(seen.count) / seconds_between(start_ns, seen.last_ns);
    fill_latencies(drained, seen.latencies_ns);
    drained.a_hwm_mb = a1.hwm_mb;
    drained.b_hwm_mb = b1.hwm_mb;
    drained.a_cpu_per_100k = per_100k(a1.cpu_s - a_queued.cpu_s, seen.count);
    drained.b_cpu_per_100k = per_100k(b1.cpu_s - b0.cpu_s, seen.count);
    drained.client_cpu_per_100k = per_100k(c1.cpu_s - c_queued.cpu_s, seen.count);
    drained.a_switches_per_event = per_event(a1.ctx_switches - a_queued.ctx_switches, seen.count);
    drained.b_switches_per_event = per_event(b1.ctx_switches - b0.ctx_switches, seen.count);
    // The rate between the first and the last page seen leaves out B's start and the
    // sender's backoff; a backlog that came in one page has no such rate.
    std::string page_rate = "all in one page";
    if (seen.count > 0 && seen.last_ns > seen.first_ns)
      page_rate =
          fixed(static_cast<double>(seen.count) / seconds_between(seen.first_ns, seen.last_ns), 0) +
          " ev/s";
    drained.note = "B start to Running " + fixed(seconds_between(start_ns, running_ns), 2) +
                   " s, to first event " +
                   fixed(seen.count ? seconds_between(start_ns, seen.first_ns) : 0, 2) +
                   " s, first to last event " + page_rate +
                   "; latencies include the time B was down";
    if (seen.count < submitted.accepted)
      drained.note += "; only " + std::to_string(seen.count) + " of " +
                      std::to_string(submitted.accepted) + " seen in time";
    add(drained);
  }

  // One file shared by A's local server (upload) and fetched by B from A (the origin) in
  // ranges, verified, until B's files.info says ready: the MB/s of each leg.
  void files() {
    std::string bytes(o_.file_mib << 20, '\0');
    uint64_t state = 0x2545f4914f6cdd1dULL;
    for (auto& c : bytes) {  // incompressible, like most shared files
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      c = static_cast<char>(state);
    }
    auto id = fedrelay::crypto::to_hex(fedrelay::crypto::blake2b_256(bytes));
    auto size = bytes.size();
    auto b0 = sample_process(b_->pid());
    auto a0 = sample_process(a_->pid());
    auto start_ns = now_ns();
    auto up = a_->call_raw(
        api_, "POST",
        net::make_target("/api/v1/files.upload",
                         {{"room_id", room_id_}, {"user", "alice"}, {"name", "bench.bin"}}),
        std::move(bytes), "application/octet-stream");
    auto uploaded_ns = now_ns();
    if (up.value("file_id", "") != id)
      throw std::runtime_error("files.upload answered another id: " + up.dump());
    auto until = after(budget_for(0) + std::chrono::seconds(size >> 20));
    std::string state_text;
    while (steady::now() < until) {
      // 404 until the file.shared event has reached B.
      auto res =
          api_.call(b_->local_port(), b_->token(), "GET", "/api/v1/files.info?id=" + id, "", 30s);
      auto info = json::parse(res ? res->body : "", nullptr, false);
      state_text = info.is_object() && info["file"].is_object() ? info["file"].value("state", "")
                                                                : "unknown";
      if (state_text != "fetching" && state_text != "unknown") break;
      std::this_thread::sleep_for(10ms);
    }
    auto fetched_ns = now_ns();
    auto a1 = sample_process(a_->pid());
    auto b1 = sample_process(b_->pid());
    double mb = static_cast<double>(size) / 1e6;
    auto line = "file_transfer " + std::to_string(o_.file_mib) + " MiB: upload to A " +
                fixed(mb / seconds_between(start_ns, uploaded_ns), 1) +
                " MB/s; A (origin) to B (member), fetched and verified " +
                fixed(mb / seconds_between(uploaded_ns, fetched_ns), 1) + " MB/s (" +
                fixed(seconds_between(uploaded_ns, fetched_ns), 2) + " s); A cpu " +
                fixed(a1.cpu_s - a0.cpu_s, 2) + " s, B cpu " + fixed(b1.cpu_s - b0.cpu_s, 2) +
                " s, RSS high-water A " + fixed(a1.hwm_mb, 1) + " MB, B " + fixed(b1.hwm_mb, 1) +
                " MB" + (state_text == "ready" ? "" : "; NOT READY: " + state_text) +
                "; the time includes the file.shared event's trip to B";
    std::printf("%s\n", line.c_str());
    file_lines_.push_back(line);
  }

  void write_report(const std::string& command_line) {
    std::string md = "Command: `" + command_line + "`\n\n";
    md += "Machine: " + machine_before_ + " at start; " + machine_summary() + " at end.\n\n";
    md += markdown_table(rows_);
    for (const auto& line : file_lines_) md += "\n" + line + "\n";
    write_file(o_.out, md);
    std::printf("relay_bench: wrote %s\n", o_.out.c_str());
  }

  options o_;
  api_client api_;
  std::string root_;
  std::string room_id_;
  std::string machine_before_;
  std::unique_ptr<node> a_;
  std::unique_ptr<node> b_;
  std::unique_ptr<inbox_reader> reader_;
  std::vector<row> rows_;
  std::vector<std::string> file_lines_;
  double max_rate_ = 0;
  int run_ = 0;
  std::string stop_note_;
};

}  // namespace

int main(int argc, char** argv) {
  install_signal_thread();
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  int rc = 1;
  std::unique_ptr<bench> b;
  try {
    auto o = parse_options(argc, argv);
    b = std::make_unique<bench>(std::move(o));
    rc = b->run(command_line);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relay_bench: %s\n", e.what());
    if (b) b->print_logs();
    rc = 1;
  }
  stopping = true;
  // The bench (reader thread, HTTP client) goes before the nodes it talks to are killed.
  b.reset();
  clean_up_everything();
  return rc;
}
