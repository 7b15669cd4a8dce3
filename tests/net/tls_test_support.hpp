// A throwaway certificate authority for TLS tests: a CA, a server certificate for
// 127.0.0.1 and localhost signed by it, and an unrelated CA with a server certificate of
// its own, made with the openssl command.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::test {

/// Files in a temp dir removed with the object: ca.pem, other-ca.pem, server.pem,
/// server.key, other-server.pem and other-server.key. Fails the running test (ok() is then
/// false) when openssl fails.
class test_ca {
 public:
  test_ca() : dir_{"fedrelay-tls"} {
    auto ec_key = std::vector<std::string>{"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
      a.insert(a.begin() + 2, b.begin(), b.end());
      return a;
    };
    for (const char* ca : {"ca", "other-ca"})
      run(with({"openssl", "req", "-x509", "-keyout", dir_ / (std::string{ca} + ".key"), "-out",
                dir_ / (std::string{ca} + ".pem"), "-days", "2", "-subj", "/CN=fedrelay test CA"},
               ec_key));
    write_file(dir_ / "ext.cnf",
               "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
               "extendedKeyUsage=serverAuth\n");
    for (const char* ca : {"ca", "other-ca"}) {
      bool first = ca == std::string{"ca"};
      std::string server = first ? "server" : "other-server";
      run(with({"openssl", "req", "-keyout", dir_ / (server + ".key"), "-out",
                dir_ / (server + ".csr"), "-subj", "/CN=127.0.0.1"},
               ec_key));
      run({"openssl", "x509", "-req", "-in", dir_ / (server + ".csr"), "-CA",
           dir_ / (std::string{ca} + ".pem"), "-CAkey", dir_ / (std::string{ca} + ".key"),
           "-CAcreateserial", "-out", dir_ / (server + ".pem"), "-days", first ? "2" : "3",
           "-extfile", dir_ / "ext.cnf"});
    }
  }

  bool ok() const { return ok_; }
  std::string ca_file() const { return dir_ / "ca.pem"; }
  std::string other_ca_file() const { return dir_ / "other-ca.pem"; }
  std::string cert_file() const { return dir_ / "server.pem"; }
  std::string key_file() const { return dir_ / "server.key"; }
  /// A server certificate for the same names, signed by the other CA, valid a day longer.
  std::string other_cert_file() const { return dir_ / "other-server.pem"; }
  std::string other_key_file() const { return dir_ / "other-server.key"; }

 private:
  void run(const std::vector<std::string>& argv) {
    auto r = run_command(argv, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    if (r.exit_code != 0) ok_ = false;
  }

  temp_dir dir_;
  bool ok_ = true;
};

/// Whether a new HTTPS connection to 127.0.0.1:`port` verifies against the CAs of
/// `ca_file`; any answer to its GET of `target` counts.
inline bool https_verifies(uint16_t port, const std::string& ca_file,
                           const std::string& target = "/") {
  net::client_options options;
  options.ca_file = ca_file;
  net::http_request req;
  req.target = target;
  return static_cast<bool>(net::http_request_blocking(
      net::url{"https", "127.0.0.1", port, {}}, std::move(req), std::chrono::seconds(10), options));
}

}  // namespace fedrelay::test
