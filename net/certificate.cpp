#include "net/certificate.hpp"

#include <ctime>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/errc.hpp"
#include "net/http_types.hpp"

namespace fedrelay::net {
namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const { Free(p); }
};
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;

/// OpenSSL's last error as text (and the queue cleared), or `fallback`.
std::string openssl_reason(const std::string& fallback) {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

int64_t unix_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

int64_t certificate_expiry(const X509* cert) {
  return unix_seconds(X509_get0_notAfter(cert));
}

namespace {

std::string one_line_subject(X509* cert) {
  bio_ptr out{BIO_new(BIO_s_mem())};
  if (!out) return {};
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE);
  char* data = nullptr;
  auto size = BIO_get_mem_data(out.get(), &data);
  return size > 0 ? std::string{data, static_cast<size_t>(size)} : std::string{};
}

}  // namespace

caf::expected<certificate_info> inspect_certificate(const std::string& cert_file,
                                                    const std::string& key_file,
                                                    const std::string& host) {
  ERR_clear_error();
  bio_ptr cert_in{BIO_new_file(cert_file.c_str(), "r")};
  if (!cert_in)
    return caf::make_error(errc::tls_failed, "cannot read the certificate " + cert_file + ": " +
                                                 openssl_reason("no such file"));
  x509_ptr cert{PEM_read_bio_X509(cert_in.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    return caf::make_error(
        errc::tls_failed, cert_file + " holds no PEM certificate: " + openssl_reason("unreadable"));
  certificate_info info;
  info.subject = one_line_subject(cert.get());
  info.not_before = unix_seconds(X509_get0_notBefore(cert.get()));
  info.not_after = certificate_expiry(cert.get());
  info.names_host = is_ip_literal(host)
                        ? X509_check_ip_asc(cert.get(), host.c_str(), 0) == 1
                        : X509_check_host(cert.get(), host.data(), host.size(), 0, nullptr) == 1;
  bio_ptr key_in{BIO_new_file(key_file.c_str(), "r")};
  pkey_ptr key{key_in ? PEM_read_bio_PrivateKey(key_in.get(), nullptr, nullptr, nullptr) : nullptr};
  if (!key_in)
    info.key_problem = "cannot read " + key_file + ": " + openssl_reason("no such file");
  else if (!key)
    info.key_problem = key_file + " holds no PEM private key: " + openssl_reason("unreadable");
  else if (X509_check_private_key(cert.get(), key.get()) != 1)
    info.key_problem = key_file + " is not the private key of " + cert_file;
  ERR_clear_error();
  return info;
}

}  // namespace fedrelay::net
