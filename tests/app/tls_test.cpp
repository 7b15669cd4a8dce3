// Two real nodes over HTTPS: certificates of a CA made for the test, peers verified
// against it, and a node that trusts another CA refusing to deliver.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "net/certificate.hpp"
#include "net/http_client.hpp"
#include "tests/app/cluster.hpp"
#include "tests/net/tls_test_support.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

class TlsTest : public testing::Test {
 protected:
  test_ca ca;
  temp_dir root;
  test_node a{"a.test", root.path()};
  test_node b{"b.test", root.path()};

  void start(const std::string& ca_of_a) {
    ASSERT_TRUE(ca.ok());
    a.use_tls(ca.cert_file(), ca.key_file(), ca_of_a);
    b.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
    a.configure({&b});
    b.configure({&a});
    a.start();
    b.start();
  }

  std::string shared_room() {
    auto r =
        a.post("/api/v1/rooms.create", {{"name", "tls"}, {"type", "private"}, {"owner", "alice"}});
    auto room = r.value("room_id", "");
    a.post("/api/v1/rooms.invite", {{"room_id", room}, {"user", "bob@b.test"}, {"by", "alice"}});
    a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "over https"}});
    return room;
  }
};

TEST_F(TlsTest, NodesTalkOverVerifiedHttps) {
  start(ca.ca_file());
  auto room = shared_room();
  auto on_b = b.wait_for_room_events(room, 2, 30s);
  ASSERT_EQ(on_b.size(), 2u) << a.log() << b.log();
  EXPECT_EQ(on_b.back().value("text", ""), "over https");
}

TEST_F(TlsTest, APeerWhoseCertificateIsNotTrustedGetsNothing) {
  start(ca.other_ca_file());
  auto room = shared_room();
  std::string last_error;
  ASSERT_TRUE(wait_until(
      [&] {
        auto status = a.get("/api/v1/federation.status");
        for (const auto& p : status["peers"])
          if (p.value("domain", "") == "b.test") last_error = p.value("last_error", "");
        return !last_error.empty();
      },
      20s));
  EXPECT_NE(last_error.find("certificate verify failed"), std::string::npos) << last_error;
  EXPECT_TRUE(b.wait_for_room_events(room, 1, 1s).empty());
}

// A TLS key every account of the machine may read is refused at start, as `fedrelay
// check` calls it an error; one its group may read only is a warning of check's.
TEST_F(TlsTest, ANodeRefusesToStartWithATlsKeyAnyoneCanRead) {
  ASSERT_TRUE(ca.ok());
  a.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
  a.configure({});
  ASSERT_EQ(::chmod(ca.key_file().c_str(), 0644), 0);
  auto out = run_command({FEDRELAY_BINARY, "run", "-c", a.config_path()}, 20s);
  EXPECT_EQ(out.exit_code, 1) << out.output;
  EXPECT_NE(out.output.find("invalid: tls.key: " + ca.key_file() +
                            " has mode 0644: anyone can read the TLS key (chmod 600 " +
                            ca.key_file() + ")"),
            std::string::npos)
      << out.output;
  EXPECT_EQ(out.output.find("Running"), std::string::npos) << out.output;
  ASSERT_EQ(::chmod(ca.key_file().c_str(), 0640), 0);
  a.start();
  EXPECT_TRUE(a.stop());
}

// A renewed certificate written over the files a node serves is taken by `fedrelay
// reload` for new connections, without a restart; one that does not load leaves the node
// serving the one it had.
TEST_F(TlsTest, AReloadServesARenewedCertificateToNewConnections) {
  ASSERT_TRUE(ca.ok());
  const std::string cert = root.path() + "/a-cert.pem", key = root.path() + "/a-key.pem";
  auto install = [&](const std::string& from_cert, const std::string& from_key) {
    write_file(cert, read_file(from_cert));
    write_file(key, read_file(from_key));
    ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  };
  install(ca.cert_file(), ca.key_file());
  a.use_tls(cert, key, ca.ca_file());
  a.configure({});
  a.start();
  // Whether a new connection to a's federation port verifies against `trusted_ca`.
  auto verifies_with = [&](const std::string& trusted_ca) {
    net::client_options options;
    options.ca_file = trusted_ca;
    net::http_request req;
    req.target = "/api/v1/federation.keys";
    auto res = net::http_request_blocking(net::url{"https", "127.0.0.1", a.federation_port(), {}},
                                          std::move(req), 10s, options);
    return static_cast<bool>(res);
  };
  auto reload = [&](const std::string& expected_line) {
    auto r = run_command({FEDRELAY_BINARY, "reload", "-c", a.config_path()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(wait_until([&] { return a.log().find(expected_line) != std::string::npos; }, 10s))
        << a.log();
  };
  // The metrics say when the served certificate expires.
  auto expiry_in_metrics = [&] {
    net::http_request req;
    req.target = "/metrics";
    req.headers = {{"Authorization", "Bearer token-a.test"}};
    auto res =
        net::http_request_blocking({"http", "127.0.0.1", a.local_port(), {}}, std::move(req), 10s);
    std::string text = res ? res->body : std::string{};
    const std::string name = "\nfedrelay_tls_certificate_expiry_timestamp_seconds ";
    auto at = text.find(name);
    return at == std::string::npos ? int64_t{-1} : std::stoll(text.substr(at + name.size()));
  };
  auto expiry_of = [](const std::string& file) {
    auto info = net::inspect_certificate(file, "", "");
    EXPECT_TRUE(info);
    return info ? info->not_after : int64_t{0};
  };
  ASSERT_NE(expiry_of(ca.cert_file()), expiry_of(ca.other_cert_file()));
  EXPECT_EQ(expiry_in_metrics(), expiry_of(ca.cert_file()));
  EXPECT_TRUE(verifies_with(ca.ca_file()));
  EXPECT_FALSE(verifies_with(ca.other_ca_file()));
  install(ca.other_cert_file(), ca.other_key_file());
  reload("reload: TLS certificate " + cert + " and key " + key +
         " loaded again for new connections");
  EXPECT_TRUE(verifies_with(ca.other_ca_file()));
  EXPECT_FALSE(verifies_with(ca.ca_file()));
  EXPECT_EQ(expiry_in_metrics(), expiry_of(ca.other_cert_file()));
  // A half-written renewal: the certificate of one pair, the key of the other.
  write_file(cert, read_file(ca.cert_file()));
  reload("reload: TLS certificate not loaded again, still serving the one loaded before: ");
  EXPECT_NE(a.log().find("cannot load private key " + key + ": key values mismatch"),
            std::string::npos)
      << a.log();
  EXPECT_TRUE(verifies_with(ca.other_ca_file()));
  EXPECT_EQ(expiry_in_metrics(), expiry_of(ca.other_cert_file()));
  // New file names in the settings are loaded too, and whether they load or not, they are
  // not named among the keys read only at start.
  a.use_tls(ca.other_cert_file(), ca.key_file(), ca.ca_file());
  a.configure({});
  reload("cannot load private key " + ca.key_file() + ": key values mismatch");
  EXPECT_EQ(a.log().find("not applied: tls."), std::string::npos) << a.log();
  a.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
  a.configure({});
  reload("reload: TLS certificate " + ca.cert_file() + " and key " + ca.key_file() +
         " loaded again for new connections");
  EXPECT_EQ(a.log().find("not applied: tls."), std::string::npos) << a.log();
  EXPECT_TRUE(verifies_with(ca.ca_file()));
  EXPECT_TRUE(a.stop());
}

}  // namespace
}  // namespace fedrelay::test
