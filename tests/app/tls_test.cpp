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

  // `fedrelay reload` of a, and waits for `expected_line` in its log.
  void reload_a(const std::string& expected_line) {
    auto r = run_command({FEDRELAY_BINARY, "reload", "-c", a.config_path()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(wait_until([&] { return a.log().find(expected_line) != std::string::npos; }, 10s))
        << a.log();
  }

  // What a's federation.status says of its queue towards b.test.
  nlohmann::json a_towards_b() { return peer_status(a, "b.test"); }

  // The last error of a's queue towards b.test once it has failed more than
  // `failures_before` times, the last time with an error containing `part` (waiting 20 s
  // at most).
  std::string failure_towards_b(const std::string& part, uint64_t failures_before = 0) {
    std::string last_error;
    wait_until(
        [&] {
          auto peer = a_towards_b();
          last_error = peer.value("last_error", "");
          return peer.value("failures", uint64_t{0}) > failures_before &&
                 last_error.find(part) != std::string::npos;
        },
        20s);
    return last_error;
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
  auto last_error = failure_towards_b("certificate verify failed");
  EXPECT_NE(last_error.find("certificate verify failed"), std::string::npos) << last_error;
  EXPECT_TRUE(b.wait_for_room_events(room, 1, 1s).empty());
}

// `tls.ca` is loaded again at each reload: peers are verified against the new CAs from
// their next connection, pooled ones included, and a bundle that does not load leaves the
// CAs loaded before.
TEST_F(TlsTest, AReloadVerifiesPeersAgainstTheNewCas) {
  start(ca.other_ca_file());
  auto room = shared_room();
  auto last_error = failure_towards_b("certificate verify failed");
  ASSERT_NE(last_error.find("certificate verify failed"), std::string::npos) << last_error;
  a.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
  a.configure({&b});
  reload_a("reload: peers verified against the CAs of " + ca.ca_file() +
           " from their next connection");
  EXPECT_EQ(a.log().find("not applied: tls."), std::string::npos) << a.log();
  ASSERT_EQ(b.wait_for_room_events(room, 2, 30s).size(), 2u) << a.log();

  const std::string broken = root.path() + "/broken-ca.pem";
  write_file(broken, "not a certificate\n");
  a.use_tls(ca.cert_file(), ca.key_file(), broken);
  a.configure({&b});
  reload_a(
      "reload: tls.ca not loaded again, peers are still verified against the CAs "
      "loaded before: ");
  EXPECT_NE(a.log().find("cannot load CA file " + broken), std::string::npos) << a.log();
  a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "still trusted"}});
  ASSERT_EQ(b.wait_for_room_events(room, 3, 30s).size(), 3u) << a.log();

  // Back to a CA that did not sign b's certificate: the connection a keeps open to b is
  // not used again.
  a.use_tls(ca.cert_file(), ca.key_file(), ca.other_ca_file());
  a.configure({&b});
  const auto failures_before = a_towards_b().value("failures", uint64_t{0});
  reload_a("reload: peers verified against the CAs of " + ca.other_ca_file() +
           " from their next connection");
  a.post("/api/v1/chat.send", {{"room_id", room}, {"user", "alice"}, {"text", "not trusted"}});
  last_error = failure_towards_b("certificate verify failed", failures_before);
  EXPECT_NE(last_error.find("certificate verify failed"), std::string::npos) << last_error;
  EXPECT_EQ(b.wait_for_room_events(room, 4, 2s).size(), 3u);
}

// A TLS key every account of the machine may read is refused at start, as `fedrelay
// check` calls it an error; one its group may read only is a warning of check's.
TEST_F(TlsTest, ANodeRefusesToStartWithATlsKeyAnyoneCanRead) {
  ASSERT_TRUE(ca.ok());
  a.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
  a.configure({});
  ASSERT_EQ(::chmod(ca.key_file().c_str(), 0644), 0);
  auto out = run_command({FEDRELAY_BINARY, "run", "-c", a.config_path()}, 20s);
  EXPECT_EQ(out.exit_code, 78) << out.output;
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
    return https_verifies(a.federation_port(), trusted_ca, "/api/v1/federation.keys");
  };
  // The metrics say when the served certificate expires.
  auto expiry_in_metrics = [&] {
    net::http_request req;
    req.target = "/metrics";
    req.headers = {{"Authorization", "Bearer " + a.token()}};
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
  reload_a("reload: TLS certificate " + cert + " and key " + key +
           " loaded again for new connections");
  EXPECT_TRUE(verifies_with(ca.other_ca_file()));
  EXPECT_FALSE(verifies_with(ca.ca_file()));
  EXPECT_EQ(expiry_in_metrics(), expiry_of(ca.other_cert_file()));
  // A half-written renewal: the certificate of one pair, the key of the other.
  write_file(cert, read_file(ca.cert_file()));
  reload_a("reload: TLS certificate not loaded again, still serving the one loaded before: ");
  EXPECT_NE(a.log().find("cannot load private key " + key + ": key values mismatch"),
            std::string::npos)
      << a.log();
  EXPECT_TRUE(verifies_with(ca.other_ca_file()));
  EXPECT_EQ(expiry_in_metrics(), expiry_of(ca.other_cert_file()));
  // New file names in the settings are loaded too, and whether they load or not, they are
  // not named among the keys read only at start.
  a.use_tls(ca.other_cert_file(), ca.key_file(), ca.ca_file());
  a.configure({});
  reload_a("cannot load private key " + ca.key_file() + ": key values mismatch");
  EXPECT_EQ(a.log().find("not applied: tls."), std::string::npos) << a.log();
  a.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
  a.configure({});
  reload_a("reload: TLS certificate " + ca.cert_file() + " and key " + ca.key_file() +
           " loaded again for new connections");
  EXPECT_EQ(a.log().find("not applied: tls."), std::string::npos) << a.log();
  EXPECT_TRUE(verifies_with(ca.ca_file()));
  EXPECT_TRUE(a.stop());
}

}  // namespace
}  // namespace fedrelay::test
