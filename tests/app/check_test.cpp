// `fedrelay check` against a real DNS server (dnsmasq) and a real node: correct records
// pass, and each wrong thing (a truncated key, a wrong port, a missing SRV, an open key
// file, a taken port, a public URL that reaches another node, TLS files) is an error line
// that names its fix.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <sstream>

#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "tests/app/cli_support.hpp"
#include "tests/app/cluster.hpp"
#include "tests/net/tls_test_support.hpp"
#include "tests/support/dns_server.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The line of check `name`, after expecting it to be an error and the exit code 1.
std::string error_line(const command_result& out, const std::string& name) {
  EXPECT_EQ(out.exit_code, 1) << out.output;
  auto line = check_line(out.output, name);
  EXPECT_EQ(line.rfind("error", 0), 0u) << name << " is not an error in\n" << out.output;
  return line;
}

class CheckTest : public testing::Test {
 protected:
  temp_dir root;
  test_node node{"a.test", root.path()};
  dns_server dns{"a.test", 300};
  std::string key_line =
      crypto::public_key_pem_line(*crypto::parse_public_key_pem(node.public_key_pem()));
  std::string srv_name = "_rocketchat._tcp.a.test";

  /// Serves the records `fedrelay dns-records` asks for, changed by `edit` beforehand.
  void publish(uint16_t srv_port, const std::string& key, bool with_srv = true,
               const std::string& protocol = "http") {
    dns.clear_records();
    if (with_srv) dns.add_srv(srv_name, "127.0.0.1", srv_port, 1, 1);
    dns.add_txt("rocketchat-public-key.a.test", {key.substr(0, 60), key.substr(60)});
    dns.add_txt("rocketchat-protocol.a.test", {protocol});
    if (dns.running()) dns.stop();
    dns.start();
    node.use_dns(dns.port());
    node.configure({});
  }

  void publish_correct() { publish(node.federation_port(), key_line); }

  command_result check(bool json = false) {
    std::vector<std::string> args{"check", "-c", node.config_path()};
    if (json) args.push_back("--json");
    return fedrelay(args);
  }

  std::string key_path() const { return root.path() + "/a.test/data/node.key"; }
};

TEST_F(CheckTest, CorrectRecordsAndARunningNodeAreAllOk) {
  publish_correct();
  node.start();
  auto out = check();
  EXPECT_EQ(out.exit_code, 0) << out.output;
  auto lines = lines_of(out.output);
  ASSERT_GE(lines.size(), 10u) << out.output;
  for (const auto& line : lines) EXPECT_EQ(line.rfind("ok ", 0), 0u) << line;
  for (const char* name :
       {"settings", "storage.dir", "storage.sync", "node.key", "listen.federation", "listen.local",
        "tls.cert", "dns.srv", "dns.key", "dns.protocol", "public_url"})
    EXPECT_FALSE(check_line(out.output, name).empty()) << name << " missing in\n" << out.output;
  EXPECT_TRUE(has(check_line(out.output, "public_url"), "answers as this node")) << out.output;
  EXPECT_TRUE(has(check_line(out.output, "listen.local"), "in use by the running node"))
      << out.output;
}

TEST_F(CheckTest, PeriodicSyncIsAWarningNamingThePeriod) {
  node.use_storage_settings("sync = \"periodic\"\nsync_period_ms = 500\n");
  publish_correct();
  auto line = check_line(check().output, "storage.sync");
  EXPECT_EQ(line.rfind("warning", 0), 0u) << line;
  EXPECT_TRUE(has(line, "power failure can lose those of the last 500 ms")) << line;
  EXPECT_TRUE(has(line, "storage.sync = \"always\"")) << line;
}

TEST_F(CheckTest, MarksKeptShorterThanReceiptsAreAWarning) {
  publish_correct();
  EXPECT_EQ(check_line(check().output, "storage.marks_kept_hours"), "");
  node.use_storage_settings("receipts_kept_hours = 48\nmarks_kept_hours = 24\n");
  node.configure({});
  auto out = check();
  auto line = check_line(out.output, "storage.marks_kept_hours");
  EXPECT_EQ(line.rfind("warning", 0), 0u) << out.output;
  EXPECT_TRUE(has(line, "24 is below receipts_kept_hours (48)")) << line;
  EXPECT_TRUE(
      has(line, "fix: set storage.marks_kept_hours to at least 48 in " + node.config_path()))
      << line;
}

TEST_F(CheckTest, NoNodeRunningIsAnErrorOnThePublicUrl) {
  publish_correct();
  auto out = check();
  auto line = error_line(out, "public_url");
  EXPECT_TRUE(has(
      line, "fix: start the node (fedrelay run -c " + node.config_path() + ") or fix the proxy"))
      << line;
  // Everything else is fine, and the free ports are said to be bindable.
  EXPECT_TRUE(has(check_line(out.output, "listen.federation"), "can be bound")) << out.output;
  EXPECT_EQ(check_line(out.output, "dns.srv").rfind("ok", 0), 0u) << out.output;
}

TEST_F(CheckTest, TruncatedKeyIsAnErrorNamingTheWholeRecord) {
  publish(node.federation_port(), key_line.substr(0, key_line.size() - 30));
  node.start();
  auto out = check();
  auto line = error_line(out, "dns.key");
  EXPECT_TRUE(has(line, "rocketchat-public-key.a.test is truncated")) << line;
  EXPECT_TRUE(has(line, "fix: publish the whole key")) << line;
  // The fix is the record as dns-records prints it.
  auto records = fedrelay({"dns-records", "-c", node.config_path()});
  auto begin = records.output.find("rocketchat-public-key.a.test. ");
  ASSERT_NE(begin, std::string::npos) << records.output;
  auto record = records.output.substr(begin, records.output.find('\n', begin) - begin);
  EXPECT_TRUE(has(line, record)) << line << "\nwants\n" << record;
  // The other checks still pass.
  EXPECT_EQ(check_line(out.output, "dns.srv").rfind("ok", 0), 0u) << out.output;
  EXPECT_EQ(check_line(out.output, "public_url").rfind("ok", 0), 0u) << out.output;
}

TEST_F(CheckTest, AnotherKeyIsAnErrorNamingBothFingerprints) {
  auto other = crypto::identity::generate();
  publish(node.federation_port(), crypto::public_key_pem_line(other.public_key()));
  auto out = check();
  auto line = error_line(out, "dns.key");
  EXPECT_TRUE(has(line, crypto::fingerprint(other.public_key()))) << line;
  EXPECT_TRUE(
      has(line, "replace it with: rocketchat-public-key.a.test. 3600 IN TXT \"" + key_line + "\""))
      << line;
}

TEST_F(CheckTest, SrvWithAWrongPortIsAnError) {
  uint16_t wrong = node.federation_port() + 1;
  publish(wrong, key_line);
  auto out = check();
  auto line = error_line(out, "dns.srv");
  EXPECT_TRUE(has(line, "points to 127.0.0.1:" + std::to_string(wrong))) << line;
  EXPECT_TRUE(has(line, "replace it with: " + srv_name + ". 3600 IN SRV 1 1 " +
                            std::to_string(node.federation_port()) + " 127.0.0.1."))
      << line;
}

TEST_F(CheckTest, MissingSrvIsAnError) {
  publish(node.federation_port(), key_line, false);
  auto out = check();
  auto line = error_line(out, "dns.srv");
  EXPECT_TRUE(has(line, "no SRV record " + srv_name)) << line;
  EXPECT_TRUE(has(line, "fix: add: " + srv_name + ". 3600 IN SRV 1 1 " +
                            std::to_string(node.federation_port()) + " 127.0.0.1."))
      << line;
  // As dns-records warns, an address is no SRV target.
  EXPECT_TRUE(has(line,
                  "; but an SRV record's target must be a host name (RFC 2782): give "
                  "127.0.0.1 a name (an A or AAAA record such as relay.a.test)"))
      << line;
  EXPECT_EQ(check_line(out.output, "dns.key").rfind("ok", 0), 0u) << out.output;
}

TEST_F(CheckTest, ProtocolThatContradictsPublicUrlIsAnError) {
  publish(node.federation_port(), key_line, true, "https");
  auto out = check();
  auto line = error_line(out, "dns.protocol");
  EXPECT_TRUE(has(line, "says https, but public_url is http")) << line;
  EXPECT_TRUE(has(line, "replace it with: rocketchat-protocol.a.test. 3600 IN TXT \"http\""))
      << line;
}

TEST_F(CheckTest, JsonIsOneObjectWithEveryCheck) {
  publish(node.federation_port(), key_line, false);
  auto out = check(true);
  EXPECT_EQ(out.exit_code, 1) << out.output;
  auto j = json::parse(out.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out.output;
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["ok"], false);
  ASSERT_TRUE(j["checks"].is_array());
  std::map<std::string, json> by_name;
  for (const auto& c : j["checks"]) {
    ASSERT_TRUE(c["name"].is_string() && c["level"].is_string() && c["message"].is_string() &&
                c["fix"].is_string())
        << c;
    auto level = c["level"].get<std::string>();
    EXPECT_TRUE(level == "ok" || level == "warning" || level == "error") << c;
    EXPECT_EQ(c["fix"].get<std::string>().empty(), level == "ok") << c;
    by_name[c["name"].get<std::string>()] = c;
  }
  EXPECT_EQ(by_name["dns.srv"]["level"], "error");
  EXPECT_EQ(by_name["dns.key"]["level"], "ok");
  EXPECT_EQ(by_name["settings"]["level"], "ok");
}

// The local API is guarded by its token alone: the example's token, a short one, a file
// anyone may read and a listener other machines may reach are named.
TEST_F(CheckTest, WhatGuardsTheLocalApiIsChecked) {
  publish_correct();
  const auto text = read_file(node.config_path());
  auto with = [&](const std::string& from, const std::string& to) {
    auto changed = text;
    auto at = changed.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) changed.replace(at, from.size(), to);
    write_file(node.config_path(), changed);
    ::chmod(node.config_path().c_str(), 0600);
  };
  auto out = check();
  EXPECT_TRUE(has(check_line(out.output, "local_api.token"), "ok ")) << out.output;
  EXPECT_FALSE(has(out.output, "can read local_api.token")) << out.output;
  EXPECT_FALSE(has(out.output, "may be reached from other machines")) << out.output;

  with("token = \"" + node.token() + "\"", "token = \"change-me\"");
  out = check();
  EXPECT_EQ(out.exit_code, 1) << out.output;
  EXPECT_TRUE(has(check_line(out.output, "local_api.token"),
                  "error   local_api.token: is examples/node.toml's value"))
      << out.output;
  EXPECT_TRUE(has(out.output, "openssl rand -hex 32")) << out.output;

  with("token = \"" + node.token() + "\"", "token = \"short\"");
  out = check();
  EXPECT_TRUE(
      has(check_line(out.output, "local_api.token"), "warning local_api.token: is 5 characters"))
      << out.output;

  with("local = \"127.0.0.1:", "local = \"0.0.0.0:");
  ASSERT_EQ(::chmod(node.config_path().c_str(), 0644), 0);
  out = check();
  EXPECT_TRUE(has(out.output, "warning settings: " + node.config_path() +
                                  " has mode 0644: every account of this machine can read "
                                  "local_api.token -- fix: chmod o-r " +
                                  node.config_path()))
      << out.output;
  EXPECT_TRUE(has(out.output, "warning listen.local: 0.0.0.0:")) << out.output;
  EXPECT_TRUE(has(out.output, "may be reached from other machines")) << out.output;
}

TEST_F(CheckTest, KeyFileReadableByOthersIsAnErrorWithChmod) {
  publish_correct();
  ASSERT_EQ(chmod(key_path().c_str(), 0644), 0);
  auto out = check();
  auto line = error_line(out, "node.key");
  EXPECT_TRUE(has(line, "mode 0644")) << line;
  EXPECT_TRUE(has(line, "fix: chmod 600 " + key_path())) << line;
  ASSERT_EQ(chmod(key_path().c_str(), 0600), 0);
  EXPECT_EQ(check_line(check().output, "node.key").rfind("ok", 0), 0u);
}

TEST_F(CheckTest, MissingKeyNamesKeygen) {
  publish_correct();
  ASSERT_EQ(unlink(key_path().c_str()), 0);
  auto out = check();
  auto line = error_line(out, "node.key");
  EXPECT_TRUE(has(line, "fix: fedrelay keygen -c " + node.config_path())) << line;
}

// A node.key this account may not read is no damaged key to restore: check runs as
// another account than the node's (as root, the test runs it as nobody).
TEST_F(CheckTest, AKeyThisAccountMayNotReadSaysWhoShouldRunCheck) {
  publish_correct();
  std::vector<std::string> args{FEDRELAY_BINARY, "check", "-c", node.config_path()};
  if (geteuid() == 0) {
    // nobody reaches the settings file, not the data directory keygen made 0700.
    for (const auto& dir : {root.path(), root.path() + "/a.test"})
      ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
    ASSERT_EQ(chmod(node.config_path().c_str(), 0644), 0);
    args.insert(args.begin(), {"runuser", "-u", "nobody", "--"});
  } else {
    ASSERT_EQ(chmod(key_path().c_str(), 0), 0);
  }
  auto out = run_command(args, std::chrono::seconds(30));
  auto line = error_line(out, "node.key");
  EXPECT_TRUE(has(line, key_path() + ": Permission denied")) << line;
  EXPECT_TRUE(has(line, "fix: run fedrelay check as the account that runs the node")) << line;
  EXPECT_FALSE(has(line, "restore")) << line;
}

// A settings file that cannot be read has no line to correct.
TEST_F(CheckTest, AMissingSettingsFileIsToBePassedNotCorrected) {
  auto missing = fedrelay({"check", "-c", root.path() + "/nowhere.toml"});
  auto line = error_line(missing, "settings");
  EXPECT_TRUE(has(line, "No such file or directory")) << line;
  EXPECT_TRUE(has(line, "fix: pass the node's settings file with -c")) << line;
  auto directory = fedrelay({"check", "-c", root.path()});
  line = error_line(directory, "settings");
  EXPECT_TRUE(has(line, "fix: pass the settings file itself with -c, not its directory")) << line;
}

// A second settings file naming the storage.dir of a running node, on other ports: check
// says so, instead of finding the ports free and all well (run would find the store locked).
TEST_F(CheckTest, AnotherFileOnARunningNodesStorageDirIsAnError) {
  publish_correct();
  node.start();
  auto other = root.path() + "/other.toml";
  write_file(other,
             node_config("a.test", root.path() + "/a.test/data", free_tcp_port(), free_tcp_port()));
  auto out = fedrelay({"check", "-c", other});
  EXPECT_EQ(out.exit_code, 1) << out.output;
  bool named = false;
  for (const auto& l : lines_of(out.output))
    named |= has(l, "error   storage.dir: " + root.path() +
                        "/a.test/data is in use by a running "
                        "node (pid ") &&
             has(l, "fix: give " + other + " its own storage.dir");
  EXPECT_TRUE(named) << out.output;
  // The node's own file is all well.
  EXPECT_EQ(check().exit_code, 0);
}

TEST_F(CheckTest, ATakenListenAddressIsAnError) {
  publish_correct();
  std::optional<listening_socket> taken{std::in_place, node.local_port()};
  ASSERT_TRUE(taken->listening());
  auto out = check();
  taken.reset();
  auto line = error_line(out, "listen.local");
  EXPECT_TRUE(
      has(line, "127.0.0.1:" + std::to_string(node.local_port()) + " is in use by another process"))
      << line;
  EXPECT_TRUE(has(line, "listen.local in " + node.config_path())) << line;
  EXPECT_EQ(check_line(out.output, "listen.federation").rfind("ok", 0), 0u) << out.output;
}

TEST_F(CheckTest, APublicUrlThatReachesAnotherNodeIsAnError) {
  // b.test runs where a.test's public URL points: a misdirected proxy, as seen from outside.
  test_node other{"b.test", root.path()};
  other.configure({});
  other.start();
  publish_correct();
  auto text = read_file(node.config_path());
  auto own = "public_url = \"http://127.0.0.1:" + std::to_string(node.federation_port()) + "\"";
  auto at = text.find(own);
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, own.size(),
               "public_url = \"http://127.0.0.1:" + std::to_string(other.federation_port()) + "\"");
  write_file(node.config_path(), text);
  auto out = check();
  auto line = error_line(out, "public_url");
  EXPECT_TRUE(has(line, "HTTP 403")) << line;
  EXPECT_TRUE(has(line, "does not reach this node")) << line;
}

TEST_F(CheckTest, BrokenSettingsAreErrorLines) {
  write_file(node.config_path(), "[federation]\ndomain = \"a.test\"\nbogus = 1\n");
  auto out = check();
  auto line = error_line(out, "settings");
  EXPECT_TRUE(has(line, "federation.bogus")) << line;
}

class CheckTlsTest : public CheckTest {
 protected:
  test_ca ca;
};

TEST_F(CheckTlsTest, AShortLivedCertificateWarnsAndAForeignKeyIsAnError) {
  ASSERT_TRUE(ca.ok());
  node.use_tls(ca.cert_file(), ca.key_file(), ca.ca_file());
  publish(node.federation_port(), key_line, true, "https");
  node.start();
  auto out = check();
  // The test CA's certificate lives two days: a warning, not an error.
  EXPECT_EQ(out.exit_code, 0) << out.output;
  auto line = check_line(out.output, "tls.cert");
  EXPECT_EQ(line.rfind("warning", 0), 0u) << out.output;
  EXPECT_TRUE(has(line, "expires in 1 day (") || has(line, "expires in 2 days (")) << line;
  EXPECT_TRUE(has(line, "fix: renew it before")) << line;
  EXPECT_TRUE(has(line, ", then fedrelay reload -c " + node.config_path())) << line;
  EXPECT_EQ(check_line(out.output, "public_url").rfind("ok", 0), 0u) << out.output;
  EXPECT_EQ(check_line(out.output, "dns.protocol").rfind("ok", 0), 0u) << out.output;
  node.stop();
  // The CA's key (beside ca.pem) is not the certificate's.
  auto ca_key = ca.ca_file().substr(0, ca.ca_file().size() - 4) + ".key";
  node.use_tls(ca.cert_file(), ca_key, ca.ca_file());
  node.configure({});
  out = check();
  EXPECT_EQ(out.exit_code, 1) << out.output;
  bool named = false;
  for (const auto& l : lines_of(out.output))
    named |= has(l, "error   tls.cert: " + ca_key + " is not the private key of");
  EXPECT_TRUE(named) << out.output;
}

}  // namespace
}  // namespace fedrelay::test
