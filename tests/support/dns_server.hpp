// A real DNS server (dnsmasq) on 127.0.0.1 for tests: declare the records of one zone,
// start it on a free port, stop and restart it on the same port.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::test {

/// Serves `zone` authoritatively-ish: names under it that were not declared get
/// NXDOMAIN, names outside it get REFUSED (dnsmasq's --local). Every record carries the
/// same `ttl` (dnsmasq has one --local-ttl). Declare records before start(); names are
/// absolute without the trailing dot ("_rocketchat._tcp.a.test").
/// Requires dnsmasq in PATH. Not thread-safe; the destructor kills and reaps dnsmasq.
class dns_server {
 public:
  explicit dns_server(std::string zone, uint32_t ttl = 300);
  ~dns_server();
  dns_server(const dns_server&) = delete;
  dns_server& operator=(const dns_server&) = delete;

  void add_srv(const std::string& name, const std::string& target, uint16_t port,
               uint16_t priority = 10, uint16_t weight = 5);
  /// One TXT record whose character-strings are `strings`, in order (each at most 255
  /// bytes; no commas or control characters: dnsmasq
  /// takes them from its command line, where a comma separates strings).
  void add_txt(const std::string& name, std::vector<std::string> strings);
  /// Forgets every declared record (the zone stays); declare the new ones, then stop()
  /// and start() to serve them on the same port.
  void clear_records() { records_.clear(); }
  /// An A record (or AAAA for an IPv6 address).
  void add_host(const std::string& name, const std::string& ip);
  /// Names under `zone` (outside the served zone) are forwarded to a UDP socket that
  /// never answers: a live server that times out for some domains and not for others.
  void add_silent_zone(const std::string& zone);

  /// Starts dnsmasq with the declared records and waits (up to 5 s) until it answers. The port is
  /// picked on the first start and kept by later ones. Throws std::runtime_error, with
  /// dnsmasq's log, when it does not come up.
  void start();
  /// SIGTERM, and waits until dnsmasq is gone (its port is then closed).
  void stop();
  bool running() const;

  /// The UDP and TCP port on 127.0.0.1; 0 before the first start().
  uint16_t port() const { return port_; }
  const std::string& zone() const { return zone_; }
  /// "127.0.0.1"
  std::string host() const { return "127.0.0.1"; }

 private:
  std::string zone_;
  uint32_t ttl_;
  uint16_t port_ = 0;
  std::vector<std::string> records_;  // dnsmasq options without the leading --
  temp_dir dir_{"fedrelay-dns"};      // dnsmasq's log
  std::unique_ptr<child_process> process_;
  int silent_fd_ = -1;  // the socket that receives and ignores forwarded queries
  uint16_t silent_port_ = 0;
};

}  // namespace fedrelay::test
