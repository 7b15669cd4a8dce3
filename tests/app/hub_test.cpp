// `fedrelay hub` as an operator runs it: the real binary, a real SMTP server on loopback
// (aiosmtpd), the mail read and its link followed as a person would, and `fedrelay resolve`
// finding the confirmed domain through the Hub.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <regex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "actors/hub_registrar.hpp"
#include "config/status.hpp"
#include "crypto/hash.hpp"
#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "net/http_client.hpp"
#include "net/io_runtime.hpp"
#include "net/transport.hpp"
#include "tests/app/cli_support.hpp"
#include "tests/app/cluster.hpp"
#include "tests/net/tls_test_support.hpp"
#include "tests/support/dns_server.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/smtp_server.hpp"

namespace fedrelay::test {
namespace {

using json = nlohmann::json;

struct http_reply {
  int status = 0;
  std::string head;  // status line and header fields
  std::string body;
};

/// One HTTP/1.1 request over a fresh loopback connection; the tests need nothing more.
http_reply http(uint16_t port, const std::string& method, const std::string& target,
                const std::vector<std::pair<std::string, std::string>>& headers = {},
                const std::string& body = {}) {
  http_reply out;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return out;
  timeval tv{15, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return out;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    auto n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string data;
  char buf[4096];
  for (;;) {
    auto n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    auto end = data.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    std::smatch m;
    std::string head = data.substr(0, end);
    static const std::regex length{"[Cc]ontent-[Ll]ength: *([0-9]+)"};
    if (std::regex_search(head, m, length) && data.size() >= end + 4 + std::stoul(m[1].str()))
      break;
  }
  close(fd);
  auto end = data.find("\r\n\r\n");
  if (data.size() < 12 || end == std::string::npos) return out;
  out.status = std::stoi(data.substr(9, 3));
  out.head = data.substr(0, end);
  out.body = data.substr(end + 4);
  return out;
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// What a node signs (actors/request_auth.hpp), written out again so the wire format is
/// checked independently of the code that produces it.
std::string signature_of(const crypto::identity& id, const std::string& time,
                         const std::string& body) {
  auto text =
      "POST\n/api/v1/hub.register\n" + time + "\n" + crypto::to_hex(crypto::blake2b_256(body));
  auto sig = id.sign(text);
  return crypto::to_base64(std::string_view{reinterpret_cast<const char*>(sig.data()), sig.size()});
}

std::string registration(const std::string& domain, const std::string& url,
                         const crypto::identity& id) {
  return json{
      {"domain", domain}, {"url", url}, {"public_key", crypto::public_key_pem(id.public_key())}}
      .dump();
}

std::string link_in(const std::string& mail) {
  std::smatch m;
  static const std::regex link{
      "http://127\\.0\\.0\\.1:[0-9]+/api/v1/hub\\.confirm\\?token=[0-9a-f]{64}"};
  return std::regex_search(mail, m, link) ? m[0].str() : std::string{};
}

class HubTest : public testing::Test {
 protected:
  temp_dir dir;
  std::string config = dir / "hub.toml";
  uint16_t port = free_tcp_port();
  std::unique_ptr<smtp_server> smtp;
  std::unique_ptr<child_process> hub;
  crypto::identity key = crypto::identity::generate();

  void SetUp() override { start_smtp({}); }

  void start_smtp(smtp_server_options options) {
    smtp = std::make_unique<smtp_server>(std::move(options));
    smtp->start();
  }

  std::string hub_config(const std::string& smtp_url, const std::string& extra = {}) {
    return "[hub]\nlisten = \"127.0.0.1:" + std::to_string(port) +
           "\"\npublic_url = \"http://127.0.0.1:" + std::to_string(port) +
           "\"\ndir = \"hub-data\"\nsmtp_url = \"" + smtp_url +
           "\"\nmail_from = \"hub@hub.test\"\n" + extra;
  }

  void start_hub(const std::string& text = {}) {
    write_file(config, text.empty() ? hub_config(smtp->url()) : text);
    // The log is appended to, so a restarted Hub must not be taken for up on the line its
    // previous run wrote.
    auto earlier_bytes = read_file(dir / "hub.log").size();
    hub = std::make_unique<child_process>(
        std::vector<std::string>{FEDRELAY_BINARY, "hub", "-c", config}, dir / "hub.log");
    bool up = wait_until(
        [&] {
          return !hub->running() ||
                 read_file(dir / "hub.log").find("Hub listening", earlier_bytes) !=
                     std::string::npos;
        },
        std::chrono::seconds(15));
    ASSERT_TRUE(up && hub->running()) << read_file(dir / "hub.log");
  }

  void TearDown() override {
    if (hub) hub->stop();
  }

  http_reply post_registration(const std::string& body, const crypto::identity& signer,
                               const std::string& origin, int64_t time_ms = unix_ms()) {
    auto time = std::to_string(time_ms);
    return http(port, "POST", "/api/v1/hub.register",
                {{"Content-Type", "application/json"},
                 {"X-Fedrelay-Origin", origin},
                 {"X-Fedrelay-Time", time},
                 {"X-Fedrelay-Signature", signature_of(signer, time, body)}},
                body);
  }

  http_reply register_domain(const std::string& domain, const crypto::identity& id,
                             const std::string& url = "http://127.0.0.1:9443") {
    return post_registration(registration(domain, url, id), id, domain);
  }

  http_reply lookup(const std::string& domain) {
    return http(port, "GET", "/api/v1/hub.lookup?domain=" + domain);
  }

  /// Opens a link from a mail, as a browser would, and presses the page's button: the
  /// page's answer when it has no button, the button's otherwise.
  http_reply open(const std::string& link) {
    auto target = link.substr(link.find("/api/"));
    auto shown = http(port, "GET", target);
    // The form the page holds: posted to hub.confirm, relative to the page.
    static const std::regex field{
        R"re(<form method="post" action="hub\.confirm"><input type="hidden" name="token" value="([0-9a-f]+)">)re"};
    std::smatch m;
    if (shown.status != 200 || !std::regex_search(shown.body, m, field)) return shown;
    return http(port, "POST", "/api/v1/hub.confirm",
                {{"Content-Type", "application/x-www-form-urlencoded"}}, "token=" + m[1].str());
  }

  std::string node_config_using_hub(const std::string& data_dir) {
    auto text = node_config("a.test", data_dir, free_tcp_port(), free_tcp_port());
    auto at = text.find("discovery = \"dns\"");
    return text.replace(
        at, std::string{"discovery = \"dns\""}.size(),
        "discovery = \"hub\"\nhub_url = \"http://127.0.0.1:" + std::to_string(port) + "\"");
  }
};

TEST_F(HubTest, RegisterConfirmByMailLookUpAndResolve) {
  start_hub();
  auto reg = register_domain("b.test", key);
  ASSERT_EQ(reg.status, 200) << reg.body;
  auto answer = json::parse(reg.body);
  EXPECT_EQ(answer["status"], "pending");
  EXPECT_EQ(answer["mail_to"], "webmaster@b.test");
  EXPECT_EQ(answer["mailed"], true);

  auto mails = smtp->wait_for_mails(1);
  ASSERT_EQ(mails.size(), 1u) << smtp->log();
  const auto& mail = mails[0];
  EXPECT_EQ(mail.mail_from, "hub@hub.test");
  ASSERT_EQ(mail.recipients.size(), 1u);
  EXPECT_EQ(mail.recipients[0], "webmaster@b.test");
  EXPECT_NE(mail.content.find("Subject: Confirm the federation registration of b.test"),
            std::string::npos)
      << mail.content;
  EXPECT_NE(mail.content.find("To: <webmaster@b.test>"), std::string::npos);
  EXPECT_NE(mail.content.find(crypto::fingerprint(key.public_key())), std::string::npos);
  EXPECT_NE(mail.content.find("http://127.0.0.1:9443"), std::string::npos);
  auto link = link_in(mail.content);
  ASSERT_FALSE(link.empty()) << mail.content;

  EXPECT_EQ(lookup("b.test").status, 404);  // not before the link is opened
  auto page = open(link);
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("b.test is confirmed"), std::string::npos) << page.body;
  EXPECT_NE(page.head.find("text/html"), std::string::npos);

  auto found = lookup("b.test");
  ASSERT_EQ(found.status, 200) << found.body;
  auto rec = json::parse(found.body);
  EXPECT_EQ(rec["success"], true);
  EXPECT_EQ(rec["domain"], "b.test");
  EXPECT_EQ(rec["url"], "http://127.0.0.1:9443");
  EXPECT_EQ(rec["ttl"], 300);
  auto pem = crypto::parse_public_key_pem(rec["public_key"].get<std::string>());
  ASSERT_TRUE(pem);
  EXPECT_EQ(*pem, key.public_key());

  auto node = dir / "node.toml";
  write_file(node, node_config_using_hub(dir / "node-data"));
  auto out = fedrelay({"resolve", "b.test", "-c", node});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("url:         http://127.0.0.1:9443\n"), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("source:      hub\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("fingerprint: " + crypto::fingerprint(key.public_key())),
            std::string::npos);

  // The node registering again at its next boot is answered at once and mails nobody.
  auto again = register_domain("b.test", key);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["status"], "confirmed");
  EXPECT_EQ(smtp->mails().size(), 1u);
}

// Mail gateways fetch every link of a mail to scan it: the link's page only shows what it
// would confirm, and the registration waits for the page's button.
TEST_F(HubTest, OpeningTheLinkConfirmsNothingUntilItsButtonIsPressed) {
  start_hub();
  ASSERT_EQ(register_domain("b.test", key).status, 200);
  auto link = link_in(smtp->wait_for_mails(1).at(0).content);
  auto target = link.substr(link.find("/api/"));
  for (int i = 0; i < 3; ++i) {
    auto shown = http(port, "GET", target);
    ASSERT_EQ(shown.status, 200) << shown.body;
    EXPECT_NE(shown.body.find("Confirm b.test"), std::string::npos) << shown.body;
    EXPECT_NE(shown.body.find("http://127.0.0.1:9443"), std::string::npos) << shown.body;
    EXPECT_NE(shown.body.find(crypto::fingerprint(key.public_key())), std::string::npos);
    EXPECT_NE(shown.body.find("method=\"post\""), std::string::npos) << shown.body;
    EXPECT_NE(shown.head.find("X-Frame-Options: DENY"), std::string::npos) << shown.head;
  }
  EXPECT_EQ(lookup("b.test").status, 404);
  // A posted token that is not the link's confirms nothing either.
  auto wrong = http(port, "POST", "/api/v1/hub.confirm",
                    {{"Content-Type", "application/x-www-form-urlencoded"}},
                    "token=" + std::string(64, '0'));
  EXPECT_EQ(wrong.status, 404);
  EXPECT_EQ(http(port, "POST", "/api/v1/hub.confirm", {}, "").status, 400);
  EXPECT_EQ(lookup("b.test").status, 404);
  auto confirmed = open(link);
  EXPECT_EQ(confirmed.status, 200) << confirmed.body;
  EXPECT_NE(confirmed.body.find("b.test is confirmed"), std::string::npos) << confirmed.body;
  EXPECT_EQ(lookup("b.test").status, 200);
}

TEST_F(HubTest, WrongOrUsedLinksAreRefused) {
  start_hub();
  ASSERT_EQ(register_domain("b.test", key).status, 200);
  auto mails = smtp->wait_for_mails(1);
  ASSERT_EQ(mails.size(), 1u);
  auto link = link_in(mails[0].content);
  auto wrong = http(port, "GET", "/api/v1/hub.confirm?token=" + std::string(64, '0'));
  EXPECT_EQ(wrong.status, 404);
  EXPECT_NE(wrong.body.find("not valid"), std::string::npos) << wrong.body;
  EXPECT_EQ(http(port, "GET", "/api/v1/hub.confirm?token=short").status, 404);
  EXPECT_EQ(http(port, "GET", "/api/v1/hub.confirm").status, 400);
  EXPECT_EQ(lookup("b.test").status, 404);

  ASSERT_EQ(open(link).status, 200);
  auto second = open(link);
  EXPECT_EQ(second.status, 410);
  EXPECT_NE(second.body.find("already used"), std::string::npos) << second.body;
  EXPECT_EQ(lookup("b.test").status, 200);
}

TEST_F(HubTest, UnknownAndUnconfirmedDomainsLookTheSame) {
  start_hub();
  auto unknown = lookup("never.test");
  ASSERT_EQ(register_domain("b.test", key).status, 200);
  auto pending = lookup("b.test");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(pending.status, 404);
  EXPECT_EQ(unknown.body, pending.body);
  auto malformed = lookup("not_a_domain");
  EXPECT_EQ(malformed.status, 404);
  EXPECT_EQ(malformed.body, unknown.body);
}

TEST_F(HubTest, UnsignedOrForgedRegistrationsAreRefusedAndMailNobody) {
  start_hub();
  auto body = registration("b.test", "http://127.0.0.1:9443", key);
  auto other = crypto::identity::generate();
  auto forged = post_registration(body, other, "b.test");
  EXPECT_EQ(forged.status, 401) << forged.body;
  auto stale = post_registration(body, key, "b.test", unix_ms() - 3'600'000);
  EXPECT_EQ(stale.status, 401) << stale.body;
  EXPECT_NE(stale.body.find("window"), std::string::npos) << stale.body;
  auto wrong_origin = post_registration(body, key, "c.test");
  EXPECT_EQ(wrong_origin.status, 400) << wrong_origin.body;
  auto unsigned_reg = http(port, "POST", "/api/v1/hub.register", {}, body);
  EXPECT_EQ(unsigned_reg.status, 400) << unsigned_reg.body;
  auto not_json = post_registration("{nope", key, "b.test");
  EXPECT_EQ(not_json.status, 400);
  // The URL goes into the mail as it is: no fragment (a line of text for the reader), no
  // path, and a host that is a name or an address.
  for (std::string url : {"https://b.test#Visit-https://phish.example", "https://b.test/x",
                          "https://b.te<st>:8443", "https://b_test"}) {
    auto bad_url = register_domain("b.test", key, url);
    EXPECT_EQ(bad_url.status, 400) << url << ": " << bad_url.body;
  }
  auto with_path = register_domain("b.test", key, "http://127.0.0.1:9443/some/path");
  EXPECT_EQ(with_path.status, 400) << with_path.body;
  EXPECT_EQ(http(port, "GET", "/api/v1/hub.register").status, 405);
  EXPECT_EQ(smtp->mails().size(), 0u);
}

TEST_F(HubTest, NewKeyIsServedOnlyOnceItIsConfirmed) {
  start_hub();
  ASSERT_EQ(register_domain("b.test", key).status, 200);
  ASSERT_EQ(open(link_in(smtp->wait_for_mails(1).at(0).content)).status, 200);
  auto rotated = crypto::identity::generate();
  auto reg = register_domain("b.test", rotated, "http://127.0.0.1:9444");
  ASSERT_EQ(reg.status, 200) << reg.body;
  EXPECT_EQ(json::parse(reg.body)["status"], "pending");
  auto mails = smtp->wait_for_mails(2);
  ASSERT_EQ(mails.size(), 2u);
  auto served = json::parse(lookup("b.test").body);
  EXPECT_EQ(*crypto::parse_public_key_pem(served["public_key"].get<std::string>()),
            key.public_key());
  EXPECT_EQ(served["url"], "http://127.0.0.1:9443");
  ASSERT_EQ(open(link_in(mails[1].content)).status, 200);
  served = json::parse(lookup("b.test").body);
  EXPECT_EQ(*crypto::parse_public_key_pem(served["public_key"].get<std::string>()),
            rotated.public_key());
  EXPECT_EQ(served["url"], "http://127.0.0.1:9444");
}

TEST_F(HubTest, RegistrationsAndLookupsAreRateLimited) {
  start_hub();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(register_domain("b.test", key).status, 200) << i;
  auto refused = register_domain("b.test", key);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.head.find("Retry-After:"), std::string::npos) << refused.head;
  EXPECT_GT(json::parse(refused.body)["retry_after"].get<int>(), 0);
  EXPECT_EQ(smtp->mails().size(), 1u);  // one registration, one mail
  // 120 at once, then about two a second: the bucket refills while the test asks.
  int answered = 0;
  bool limited = false;
  for (int i = 0; i < 300 && !limited; ++i) {
    auto status = lookup("b.test").status;
    limited = status == 429;
    answered += status == 404;
  }
  EXPECT_TRUE(limited);
  EXPECT_GE(answered, 120);
}

// A Hub behind a proxy sees every client at one address: its operator raises the limits
// (or lowers them) in [hub].
TEST_F(HubTest, RateLimitsAreTakenFromTheSettings) {
  start_hub(hub_config(smtp->url(), "registrations_per_minute = 2\nlookups_per_minute = 3\n"));
  for (int i = 0; i < 2; ++i) ASSERT_EQ(register_domain("b.test", key).status, 200) << i;
  EXPECT_EQ(register_domain("b.test", key).status, 429);
  // Three at once, then one every 20 s: the fourth within the test's few milliseconds is
  // refused.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(lookup("b.test").status, 404) << i;
  auto refused = lookup("b.test");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_GT(json::parse(refused.body)["retry_after"].get<int>(), 1);
}

// The Hub's mails of a day are bounded by its settings: past them a registration that would
// mail is answered 429, saying which bound held it back, and nobody is mailed.
TEST_F(HubTest, TheDaysMailsAreBoundedByTheSettings) {
  start_hub(hub_config(smtp->url(), "mails_per_day = 1\n"));
  ASSERT_EQ(register_domain("b.test", key).status, 200);
  auto other = crypto::identity::generate();
  auto held = register_domain("c.test", other);
  EXPECT_EQ(held.status, 429) << held.body;
  EXPECT_NE(held.body.find("the 1 confirmation mails it sends in a day"), std::string::npos)
      << held.body;
  EXPECT_GT(json::parse(held.body)["retry_after"].get<int>(), 0);
  EXPECT_EQ(smtp->wait_for_mails(1).size(), 1u);
}

// One client address may cause only so many mails a day, whatever domains it registers.
TEST_F(HubTest, OneAddressCausesAtMostSoManyMailsADay) {
  start_hub(hub_config(smtp->url(), "mails_per_client_per_day = 1\n"));
  ASSERT_EQ(register_domain("b.test", key).status, 200);
  auto held = register_domain("c.test", crypto::identity::generate());
  EXPECT_EQ(held.status, 429) << held.body;
  EXPECT_NE(held.body.find("registrations from this address caused 1 confirmation mails"),
            std::string::npos)
      << held.body;
  EXPECT_EQ(smtp->wait_for_mails(1).size(), 1u);
}

TEST_F(HubTest, MailThatCannotBeSentFailsTheRegistrationCleanly) {
  start_smtp({"", "", "", true});
  start_hub();
  auto reg = register_domain("b.test", key);
  EXPECT_EQ(reg.status, 503) << reg.body;
  EXPECT_NE(reg.body.find("webmaster@b.test"), std::string::npos) << reg.body;
  EXPECT_NE(reg.body.find("550"), std::string::npos) << reg.body;
  // Nothing stayed pending: the next attempt is not throttled and tries the mail again.
  auto again = register_domain("b.test", key);
  EXPECT_EQ(again.status, 503) << again.body;
}

TEST_F(HubTest, MailGoesThroughStartTlsWithAuthentication) {
  auto cert = dir / "smtp-cert.pem";
  auto cert_key = dir / "smtp-key.pem";
  auto made = run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cert_key, "-out",
                           cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                           "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  start_smtp({cert, cert_key, "hubuser:s3cret", false});
  auto url = "smtp://hubuser:s3cret@127.0.0.1:" + std::to_string(smtp->port());
  start_hub(hub_config(url, "[tls]\nca = \"" + cert + "\"\n"));
  EXPECT_EQ(read_file(dir / "hub.log").find("s3cret"), std::string::npos);
  auto reg = register_domain("b.test", key);
  ASSERT_EQ(reg.status, 200) << reg.body << read_file(dir / "hub.log");
  auto mails = smtp->wait_for_mails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_TRUE(mails[0].tls);
  EXPECT_EQ(mails[0].auth_user, "hubuser");
  ASSERT_EQ(open(link_in(mails[0].content)).status, 200);
}

TEST_F(HubTest, WrongSmtpPasswordIsReportedWithoutLeakingIt) {
  auto cert = dir / "smtp-cert.pem";
  auto cert_key = dir / "smtp-key.pem";
  ASSERT_EQ(run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cert_key, "-out",
                         cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                         "subjectAltName=IP:127.0.0.1"})
                .exit_code,
            0);
  start_smtp({cert, cert_key, "hubuser:s3cret", false});
  auto url = "smtp://hubuser:wrong-pw@127.0.0.1:" + std::to_string(smtp->port());
  start_hub(hub_config(url, "[tls]\nca = \"" + cert + "\"\n"));
  auto reg = register_domain("b.test", key);
  EXPECT_EQ(reg.status, 503) << reg.body;
  EXPECT_NE(reg.body.find("535"), std::string::npos) << reg.body;  // the server's refusal
  EXPECT_EQ(reg.body.find("wrong-pw"), std::string::npos) << reg.body;
  EXPECT_EQ(read_file(dir / "hub.log").find("wrong-pw"), std::string::npos);
  EXPECT_EQ(smtp->mails().size(), 0u);
}

TEST_F(HubTest, HubDownThenUpKeepsItsRecords) {
  start_hub();
  ASSERT_EQ(register_domain("b.test", key).status, 200);
  ASSERT_EQ(open(link_in(smtp->wait_for_mails(1).at(0).content)).status, 200);
  ASSERT_EQ(hub->stop(), 0) << read_file(dir / "hub.log");

  auto node = dir / "node.toml";
  write_file(node, node_config_using_hub(dir / "node-data"));
  auto down = fedrelay({"resolve", "b.test", "-c", node});
  EXPECT_EQ(down.exit_code, 3) << down.output;
  EXPECT_NE(down.output.find("unavailable"), std::string::npos) << down.output;

  start_hub();
  // A fresh data directory, so the node does not answer from its negative cache.
  write_file(node, node_config_using_hub(dir / "node-data2"));
  auto up = fedrelay({"resolve", "b.test", "-c", node});
  ASSERT_EQ(up.exit_code, 0) << up.output;
  EXPECT_NE(up.output.find("source:      hub\n"), std::string::npos) << up.output;
}

// A write its store could not make (a full disk; here, files that may not grow) and the
// Hub starts itself again from its data, in the same process, once the disk takes writes.
TEST_F(HubTest, AfterAFullDiskTheHubStartsAgainByItself) {
  start_hub();
  // fedrelay ignores SIGXFSZ, so a write past the limit fails (EFBIG). The Hub's log is a
  // file too: what it says meanwhile is lost.
  rlimit none{0, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(hub->pid(), RLIMIT_FSIZE, &none, nullptr), 0);
  EXPECT_NE(register_domain("b.test", key).status, 200);
  rlimit unbounded{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(hub->pid(), RLIMIT_FSIZE, &unbounded, nullptr), 0);
  bool back = wait_until([&] { return register_domain("b.test", key).status == 200; },
                         std::chrono::seconds(90));
  auto log = read_file(dir / "hub.log");
  EXPECT_TRUE(back) << log;
  EXPECT_TRUE(hub->running());
  // Started again inside the same process.
  EXPECT_NE(log.find("Hub listening", log.find("Hub listening") + 1), std::string::npos) << log;
}

// The node side for real: the registrar posting through the HTTP transport, first to a
// Hub that is not there, then to one that comes up; the status strings of DESIGN.md §7.
TEST_F(HubTest, NodeRegistrarFollowsAHubThatComesUpLater) {
  using namespace std::chrono_literals;
  net::io_runtime io{1};
  net::http_client client{io};
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> seen;  // status text, reason
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto transport = net::spawn_transport(sys, client, 5000ms);
  actors::hub_registrar_options o;
  o.hub_url = "http://127.0.0.1:" + std::to_string(port);
  o.domain = "a.test";
  o.public_url = "http://127.0.0.1:9555";
  o.identity = std::make_shared<const crypto::identity>(key);
  o.transport = transport;
  o.on_status = [&](config::status s, const std::string& why) {
    std::lock_guard<std::mutex> guard{mutex};
    seen.emplace_back(std::string{config::status_text(s)}, why);
  };
  o.backoff_initial = 100ms;
  o.backoff_max = 400ms;
  o.pending_poll = 200ms;
  auto registrar = actors::spawn_hub_registrar(sys, o);
  // Whatever the test's outcome, both actors go before the system waits for them.
  struct stop_on_exit {
    std::vector<caf::actor> actors;
    ~stop_on_exit() {
      for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
  } stopper{{caf::actor_cast<caf::actor>(registrar), caf::actor_cast<caf::actor>(transport)}};
  auto last = [&] {
    std::lock_guard<std::mutex> guard{mutex};
    return seen.empty() ? std::pair<std::string, std::string>{} : seen.back();
  };

  EXPECT_TRUE(wait_until(
      [&] { return last().first == "[HUB Only] Disabled, could not register with Hub"; }, 10s))
      << last().first;
  {
    std::lock_guard<std::mutex> guard{mutex};
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.front().first, "[HUB Only] Registering with Hub...");
    EXPECT_NE(seen.back().second.find("cannot be reached"), std::string::npos)
        << seen.back().second;
  }
  start_hub();
  EXPECT_TRUE(wait_until([&] { return last().first == "Running"; }, 10s)) << last().second;
  EXPECT_NE(last().second.find("waiting for webmaster@a.test"), std::string::npos) << last().second;
  auto mails = smtp->wait_for_mails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].recipients.at(0), "webmaster@a.test");
  EXPECT_EQ(open(link_in(mails[0].content)).status, 200);
  EXPECT_TRUE(
      wait_until([&] { return last().second.find("; confirmed") != std::string::npos; }, 10s))
      << last().second;
  EXPECT_EQ(last().first, "Running");
  auto found = json::parse(lookup("a.test").body);
  EXPECT_EQ(found["url"], "http://127.0.0.1:9555");
  EXPECT_EQ(smtp->mails().size(), 1u);  // polling the pending registration mailed nobody
}

TEST_F(HubTest, TwoNodesFindEachOtherThroughTheHubAndTalk) {
  using namespace std::chrono_literals;
  start_hub();
  auto hub_url = "http://127.0.0.1:" + std::to_string(port);
  test_node a{"a.test", dir.path()};
  test_node b{"b.test", dir.path()};
  for (auto* n : {&a, &b}) {
    n->use_hub(hub_url);
    n->configure({});
    n->start();
  }
  // Each node registered at boot; the webmasters confirm by following the mailed links.
  auto mails = smtp->wait_for_mails(2);
  ASSERT_EQ(mails.size(), 2u) << read_file(dir / "hub.log");
  for (const auto& mail : mails) EXPECT_EQ(open(link_in(mail.content)).status, 200);
  for (auto* n : {&a, &b})
    EXPECT_TRUE(wait_until(
        [&] { return n->get("/api/v1/federation.status").value("status", "") == "Running"; }, 20s))
        << n->log();
  auto r =
      a.post("/api/v1/rooms.create", {{"name", "hub"}, {"type", "private"}, {"owner", "alice"}});
  auto room = r.value("room_id", "");
  ASSERT_TRUE(
      a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}})
          .value("success", false));
  ASSERT_TRUE(a.post("/api/v1/chat.send",
                     {{"room_id", room}, {"user", "alice"}, {"text", "found you through the Hub"}})
                  .value("success", false));
  auto on_b = b.wait_for_room_events(room, 2, 30s);
  ASSERT_EQ(on_b.size(), 2u) << a.log() << b.log();
  EXPECT_EQ(on_b.back().value("text", ""), "found you through the Hub");
  // And back: b's user answers through the host, found through the Hub as well.
  ASSERT_TRUE(b.post("/api/v1/chat.send", {{"room_id", room}, {"user", "bob"}, {"text", "hello"}})
                  .value("success", false));
  EXPECT_EQ(a.wait_for_room_events(room, 4, 30s).size(), 4u) << a.log();
  // Each change of the registration is logged once.
  auto log = a.log();
  size_t lines = 0;
  for (auto at = log.find("waiting for webmaster@a.test"); at != std::string::npos;
       at = log.find("waiting for webmaster@a.test", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << log;
}

// A Hub serving TLS itself takes a renewed certificate at `fedrelay reload`, keeps the one
// it had when the renewal does not load, and refuses to start with a key anyone can read.
TEST_F(HubTest, AReloadServesARenewedCertificate) {
  using namespace std::chrono_literals;
  test_ca ca;
  ASSERT_TRUE(ca.ok());
  const std::string cert = dir / "hub-cert.pem", cert_key = dir / "hub-key.pem";
  auto install = [&](const std::string& from_cert, const std::string& from_key) {
    write_file(cert, read_file(from_cert));
    write_file(cert_key, read_file(from_key));
    ASSERT_EQ(::chmod(cert_key.c_str(), 0600), 0);
  };
  install(ca.cert_file(), ca.key_file());
  const auto text =
      hub_config(smtp->url(), "[tls]\ncert = \"" + cert + "\"\nkey = \"" + cert_key + "\"\n");
  start_hub(text);
  EXPECT_TRUE(https_verifies(port, ca.ca_file()));
  EXPECT_FALSE(https_verifies(port, ca.other_ca_file()));
  auto reload = [&](const std::string& expected_line) {
    auto r = fedrelay({"reload", "-c", config});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("asked Hub " + std::to_string(hub->pid()) + " to read again"),
              std::string::npos)
        << r.output;
    EXPECT_TRUE(wait_until(
        [&] { return read_file(dir / "hub.log").find(expected_line) != std::string::npos; }, 10s))
        << read_file(dir / "hub.log");
  };
  install(ca.other_cert_file(), ca.other_key_file());
  reload("reload: TLS certificate " + cert + " and key " + cert_key +
         " loaded again for new connections");
  EXPECT_TRUE(https_verifies(port, ca.other_ca_file()));
  EXPECT_FALSE(https_verifies(port, ca.ca_file()));
  // A half-written renewal: the certificate of one pair, the key of the other.
  write_file(cert, read_file(ca.cert_file()));
  reload("reload: TLS certificate not loaded again, still serving the one loaded before: ");
  EXPECT_NE(read_file(dir / "hub.log").find("key values mismatch"), std::string::npos);
  EXPECT_TRUE(https_verifies(port, ca.other_ca_file()));
  EXPECT_TRUE(hub->running());

  hub->stop();
  hub.reset();
  auto after = fedrelay({"reload", "-c", config});
  EXPECT_EQ(after.exit_code, 4) << after.output;
  EXPECT_NE(after.output.find("no Hub is running on "), std::string::npos) << after.output;
  install(ca.other_cert_file(), ca.other_key_file());
  ASSERT_EQ(::chmod(cert_key.c_str(), 0644), 0);
  auto refused = fedrelay({"hub", "-c", config});
  EXPECT_EQ(refused.exit_code, 78) << refused.output;
  EXPECT_NE(refused.output.find("anyone can read the TLS key"), std::string::npos)
      << refused.output;
}

TEST_F(HubTest, MissingHubSettingsAreNamed) {
  write_file(config, "[hub]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n");
  auto out = fedrelay({"hub", "-c", config});
  EXPECT_EQ(out.exit_code, 2) << out.output;
  for (const char* key : {"hub.public_url", "hub.dir", "hub.smtp_url", "hub.mail_from"})
    EXPECT_NE(out.output.find(key), std::string::npos) << key << "\n" << out.output;
  EXPECT_EQ(out.output.find("hub.listen"), std::string::npos) << out.output;
}

}  // namespace
}  // namespace fedrelay::test

namespace fedrelay::test {
namespace {

TEST_F(HubTest, CheckComparesTheHubsConfirmedRecordWithThisNode) {
  using namespace std::chrono_literals;
  start_hub();
  dns_server dns{"test", 300};  // publishes nothing: with discovery = hub, only warnings
  dns.start();
  test_node a{"a.test", dir.path()};
  a.use_dns(dns.port());
  a.use_hub("http://127.0.0.1:" + std::to_string(port));
  a.configure({});
  auto before = fedrelay({"check", "-c", a.config_path()});
  EXPECT_EQ(before.exit_code, 1) << before.output;
  auto line = check_line(before.output, "hub");
  EXPECT_EQ(line.rfind("error", 0), 0u) << before.output;
  EXPECT_NE(line.find("the Hub has no confirmed record for a.test"), std::string::npos) << line;
  EXPECT_NE(line.find("open the link the Hub mails to webmaster@a.test"), std::string::npos)
      << line;
  EXPECT_EQ(check_line(before.output, "dns.srv").rfind("warning", 0), 0u) << before.output;

  a.start();
  auto mails = smtp->wait_for_mails(1);
  ASSERT_EQ(mails.size(), 1u) << read_file(dir / "hub.log");
  EXPECT_EQ(open(link_in(mails[0].content)).status, 200);
  auto after = fedrelay({"check", "-c", a.config_path()});
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_EQ(check_line(after.output, "hub").rfind("ok", 0), 0u) << after.output;
  EXPECT_EQ(check_line(after.output, "public_url").rfind("ok", 0), 0u) << after.output;

  // The node moved, the Hub still says the old address.
  auto text = read_file(a.config_path());
  auto old_url = "http://127.0.0.1:" + std::to_string(a.federation_port());
  text.replace(text.find(old_url), old_url.size(), "http://127.0.0.1:1");
  write_file(a.config_path(), text);
  auto moved = fedrelay({"check", "-c", a.config_path()});
  EXPECT_EQ(moved.exit_code, 1) << moved.output;
  line = check_line(moved.output, "hub");
  EXPECT_EQ(line.rfind("error", 0), 0u) << moved.output;
  EXPECT_NE(line.find("its URL is " + old_url + ", not public_url http://127.0.0.1:1"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace fedrelay::test
