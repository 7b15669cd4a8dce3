// The SMTP test server: a short aiosmtpd program, written next to its mail directory at
// start, so the runner needs no path into the source tree.
#include "tests/support/smtp_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

// Each message becomes NNNNNN.meta (envelope, TLS, AUTH) and then NNNNNN.eml (the content);
// the .eml appears last, by rename, so a reader never sees half a message.
constexpr const char* script = R"py(
import argparse, os, signal, ssl, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

class Sink:
    def __init__(self, outdir, reject):
        self.outdir, self.reject, self.count = outdir, reject, 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            base = os.path.join(self.outdir, "%06d" % self.count)
        user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        with open(base + ".meta", "w") as f:
            f.write("from=%s\n" % envelope.mail_from)
            for r in envelope.rcpt_tos:
                f.write("to=%s\n" % r)
            f.write("tls=%d\n" % (1 if session.ssl else 0))
            f.write("auth=%s\n" % user)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        with open(base + ".tmp", "wb") as f:
            f.write(content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 Message accepted"

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth")
    p.add_argument("--reject", action="store_true")
    a = p.parse_args()
    kwargs = {}
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = True
    if a.auth:
        user, password = a.auth.split(":", 1)
        def check(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and data.login.decode() == user
                  and data.password.decode() == password)
            return AuthResult(success=ok, handled=False, auth_data=data)
        kwargs["authenticator"] = check
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = bool(a.cert)
    controller = Controller(Sink(a.dir, a.reject), hostname="127.0.0.1", port=a.port, **kwargs)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass
    controller.stop()

main()
)py";

bool accepts(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

smtp_server::smtp_server(smtp_server_options options) : options_(std::move(options)) {
  std::filesystem::create_directories(dir_ / "mail");
  write_file(dir_ / "smtp_sink.py", script);
}

smtp_server::~smtp_server() {
  if (process_) process_->stop();
}

void smtp_server::start() {
  if (port_ == 0) port_ = free_tcp_port();
  std::vector<std::string> argv{debian_python(), dir_ / "smtp_sink.py",
                                "--port",        std::to_string(port_),
                                "--dir",         dir_ / "mail"};
  if (!options_.tls_cert.empty()) {
    argv.insert(argv.end(), {"--cert", options_.tls_cert, "--key", options_.tls_key});
  }
  if (!options_.auth.empty()) argv.insert(argv.end(), {"--auth", options_.auth});
  if (options_.reject_recipients) argv.push_back("--reject");
  // The log is appended to: after a restart, only what this run writes counts.
  auto earlier_bytes = log().size();
  process_ = std::make_unique<child_process>(std::move(argv), dir_ / "smtp.log");
  bool up = wait_until(
      [&] {
        return !process_->running() || log().find("ready", earlier_bytes) != std::string::npos;
      },
      std::chrono::seconds(10));
  if (!up || !process_->running() || !accepts(port_))
    throw std::runtime_error(
        "the SMTP server did not come up on 127.0.0.1:" + std::to_string(port_) + ":\n" + log());
}

void smtp_server::stop() {
  if (process_) process_->stop();
  process_.reset();
}

std::string smtp_server::url() const {
  return "smtp://127.0.0.1:" + std::to_string(port_);
}

std::string smtp_server::log() const {
  return read_file(dir_ / "smtp.log");
}

std::vector<received_mail> smtp_server::mails() const {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "mail"))
    if (entry.path().extension() == ".eml") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  std::vector<received_mail> out;
  for (const auto& name : names) {
    received_mail m;
    m.content = read_file(dir_ / ("mail/" + name + ".eml"));
    std::istringstream meta{read_file(dir_ / ("mail/" + name + ".meta"))};
    for (std::string line; std::getline(meta, line);) {
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      auto key = line.substr(0, eq);
      auto value = line.substr(eq + 1);
      if (key == "from") m.mail_from = value;
      if (key == "to") m.recipients.push_back(value);
      if (key == "tls") m.tls = value == "1";
      if (key == "auth") m.auth_user = value;
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<received_mail> smtp_server::wait_for_mails(size_t count,
                                                       std::chrono::milliseconds timeout) const {
  std::vector<received_mail> got;
  wait_until(
      [&] {
        got = mails();
        return got.size() >= count;
      },
      timeout);
  return got;
}

}  // namespace fedrelay::test
