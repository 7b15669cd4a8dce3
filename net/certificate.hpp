// Reads the TLS certificate and key files a node serves, for `fedrelay check`: validity
// dates, whether the key belongs to the certificate, whether it names the public host.
#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

struct x509_st;  // OpenSSL's X509

namespace fedrelay::net {

/// When `cert` expires, in Unix seconds; 0 when its date cannot be read.
int64_t certificate_expiry(const x509_st* cert);

struct certificate_info {
  std::string subject;      // one line, e.g. "CN = chat.a.example"
  int64_t not_before = 0;   // Unix seconds
  int64_t not_after = 0;    // Unix seconds
  std::string key_problem;  // "" when the key file holds the certificate's private key
  bool names_host = false;  // the certificate is valid for the host asked about
};

/// Reads the first certificate of `cert_file` (PEM) and the private key of `key_file`,
/// and checks the certificate against `host` (a name or an IP address). Errors:
/// net::errc::tls_failed when the certificate cannot be read. A key that cannot be read
/// or does not match is not an error: `key_problem` says what is wrong.
[[nodiscard]] caf::expected<certificate_info> inspect_certificate(const std::string& cert_file,
                                                                  const std::string& key_file,
                                                                  const std::string& host);

}  // namespace fedrelay::net
