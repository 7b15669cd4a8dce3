// A real SMTP server (Debian's python3-aiosmtpd) on 127.0.0.1 for tests: it keeps every
// message it accepts as a file, so a test reads the mail and follows its link as a person
// would. Optionally STARTTLS (required) and AUTH (required), or refusing every recipient.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::test {

struct smtp_server_options {
  std::string tls_cert;  // PEM certificate and key: offer STARTTLS and require it
  std::string tls_key;
  std::string auth;                // "user:password": require AUTH (PLAIN or LOGIN) with these
  bool reject_recipients = false;  // answer 550 to every RCPT TO
};

/// One message as the server received it.
struct received_mail {
  std::string mail_from;                // the envelope sender
  std::vector<std::string> recipients;  // the envelope recipients
  std::string content;                  // headers and body, as sent
  bool tls = false;                     // arrived over STARTTLS
  std::string auth_user;                // who authenticated; empty: nobody
};

/// Requires /usr/bin/python3 with the aiosmtpd module. Not thread-safe; the destructor
/// kills and reaps the server.
class smtp_server {
 public:
  explicit smtp_server(smtp_server_options options = {});
  ~smtp_server();
  smtp_server(const smtp_server&) = delete;
  smtp_server& operator=(const smtp_server&) = delete;

  /// Starts the server and waits (up to 10 s) until it accepts connections. The port is
  /// picked on the first start and kept by later ones. Throws std::runtime_error, with the
  /// server's log, when it does not come up.
  void start();
  /// SIGTERM, and waits until it is gone.
  void stop();

  /// 0 before the first start().
  uint16_t port() const { return port_; }
  /// "smtp://127.0.0.1:PORT"
  std::string url() const;

  /// Every message received so far, in arrival order.
  std::vector<received_mail> mails() const;
  /// Waits up to `timeout` until at least `count` messages arrived; returns them all.
  std::vector<received_mail> wait_for_mails(
      size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  /// The server's output (for failure messages).
  std::string log() const;

 private:
  smtp_server_options options_;
  uint16_t port_ = 0;
  temp_dir dir_{"fedrelay-smtp"};  // the script, its log and the messages
  std::unique_ptr<child_process> process_;
};

}  // namespace fedrelay::test
