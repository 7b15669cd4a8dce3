// Runs dnsmasq with the declared records as options, and probes it with a raw DNS query
// over UDP until it answers (no dependency on dig or kdig).
#include "tests/support/dns_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

/// dnsmasq splits an option's arguments at commas and takes everything else of a
/// command-line argument literally (quotes are only parsed in config files).
void check_txt_string(const std::string& s) {
  if (s.size() > 255) throw std::invalid_argument("dns_server: TXT string over 255 bytes");
  for (char c : s)
    if (c == ',' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      throw std::invalid_argument("dns_server: comma or control character in TXT string");
}

/// A standard query (id 0x4652, RD) for `name` type A, in wire form.
std::string probe_query(const std::string& name) {
  std::string q{"\x46\x52\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12};
  size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += std::string{"\x00\x00\x01\x00\x01", 5};
  return q;
}

/// Sends one query to 127.0.0.1:port and waits up to 50 ms for the answer to it. The
/// socket is connected, so while nothing listens yet the ICMP "port unreachable" ends
/// the wait at once.
bool answers(uint16_t port, const std::string& query) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, query.data(), query.size(), 0) == static_cast<ssize_t>(query.size())) {
    pollfd p{fd, POLLIN, 0};
    char buf[512];
    if (poll(&p, 1, 50) == 1) {
      auto n = recv(fd, buf, sizeof buf, 0);
      ok = n >= 12 && buf[0] == query[0] && buf[1] == query[1];
    }
  }
  close(fd);
  return ok;
}

}  // namespace

dns_server::dns_server(std::string zone, uint32_t ttl) : zone_(std::move(zone)), ttl_(ttl) {}

dns_server::~dns_server() {
  process_.reset();
  if (silent_fd_ >= 0) close(silent_fd_);
}

void dns_server::add_srv(const std::string& name, const std::string& target, uint16_t port,
                         uint16_t priority, uint16_t weight) {
  records_.push_back("srv-host=" + name + "," + target + "," + std::to_string(port) + "," +
                     std::to_string(priority) + "," + std::to_string(weight));
}

void dns_server::add_txt(const std::string& name, std::vector<std::string> strings) {
  std::string line = "txt-record=" + name;
  for (const auto& s : strings) {
    check_txt_string(s);
    line += "," + s;
  }
  records_.push_back(std::move(line));
}

void dns_server::add_host(const std::string& name, const std::string& ip) {
  records_.push_back("host-record=" + name + "," + ip);
}

void dns_server::add_silent_zone(const std::string& zone) {
  if (silent_fd_ < 0) {
    silent_fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (silent_fd_ < 0 || bind(silent_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(silent_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("dns_server: cannot bind the silent upstream socket");
    silent_port_ = ntohs(addr.sin_port);
  }
  records_.push_back("server=/" + zone + "/127.0.0.1#" + std::to_string(silent_port_));
}

void dns_server::start() {
  if (running()) return;
  if (port_ == 0) port_ = free_udp_port();
  // The records go on the command line: dnsmasq cuts config-file lines at 1024 bytes,
  // too short for a TXT record that needs TCP. /dev/null replaces /etc/dnsmasq.conf, and
  // the flags keep dnsmasq away from the host's resolv.conf, hosts file and interfaces.
  std::vector<std::string> argv{"dnsmasq",
                                "--keep-in-foreground",
                                "--conf-file=/dev/null",
                                "--no-resolv",
                                "--no-hosts",
                                "--no-poll",
                                "--listen-address=127.0.0.1",
                                "--bind-interfaces",
                                "--port=" + std::to_string(port_),
                                "--pid-file=",
                                "--log-facility=-",
                                "--local=/" + zone_ + "/",
                                "--local-ttl=" + std::to_string(ttl_)};
  for (const auto& r : records_) argv.push_back("--" + r);
  auto log = dir_ / "dnsmasq.log";
  process_ = std::make_unique<child_process>(std::move(argv), log);
  auto query = probe_query(zone_);
  bool up = wait_until([&] { return !process_->running() || answers(port_, query); },
                       std::chrono::seconds(5));
  if (!up || !process_->running()) {
    process_->kill_hard();
    process_.reset();
    throw std::runtime_error("dnsmasq did not come up on 127.0.0.1:" + std::to_string(port_) +
                             ":\n" + read_file(log));
  }
}

void dns_server::stop() {
  if (!process_) return;
  process_->stop(15, std::chrono::seconds(5));
  process_.reset();
}

bool dns_server::running() const {
  return process_ && process_->running();
}

}  // namespace fedrelay::test
