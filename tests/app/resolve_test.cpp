// `fedrelay resolve` against a real DNS server (dnsmasq on a loopback port): what the
// node will use to reach a peer, which source answered, and each failure's own answer.
#include <gtest/gtest.h>

#include <thread>

#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "tests/app/cli_support.hpp"
#include "tests/support/dns_server.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

class ResolveTest : public testing::Test {
 protected:
  temp_dir dir;
  std::string config = dir / "node.toml";
  crypto::identity peer = crypto::identity::generate();
  std::string peer_key_line = crypto::public_key_pem_line(peer.public_key());
  dns_server dns{"b.test", 300};

  void SetUp() override {
    dns.add_srv("_rocketchat._tcp.b.test", "chat.b.test", 8443);
    // Split at odd places, as some DNS providers do.
    dns.add_txt(
        "rocketchat-public-key.b.test",
        {peer_key_line.substr(0, 20), peer_key_line.substr(20, 17), peer_key_line.substr(37)});
    dns.add_txt("rocketchat-protocol.b.test", {"http"});
    dns.add_srv("_rocketchat._tcp.nokey.b.test", "chat.b.test", 8443);
    dns.add_srv("_rocketchat._tcp.badkey.b.test", "chat.b.test", 8443);
    dns.add_txt("rocketchat-public-key.badkey.b.test", {"-----BEGIN PUBLIC KEY-----garbage"});
    dns.start();
    write_file(config, node_config("a.test", dir / "data", free_tcp_port(), free_tcp_port(),
                                   "[dns]\nresolver = \"127.0.0.1:" + std::to_string(dns.port()) +
                                       "\"\ntimeout_ms = 1000\n"));
  }
};

TEST_F(ResolveTest, ShowsUrlProtocolKeyTtlAndSource) {
  auto out = fedrelay({"resolve", "b.test", "-c", config});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("url:         http://chat.b.test:8443\n"), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("protocol:    http\n"), std::string::npos);
  EXPECT_NE(out.output.find("fingerprint: " + crypto::fingerprint(peer.public_key())),
            std::string::npos);
  EXPECT_NE(out.output.find("ttl:         300\n"), std::string::npos);
  EXPECT_NE(out.output.find("source:      dns\n"), std::string::npos);
  EXPECT_NE(out.output.find(crypto::public_key_pem(peer.public_key())), std::string::npos);
}

TEST_F(ResolveTest, ASecondRunIsAnsweredFromThePersistedCache) {
  ASSERT_EQ(fedrelay({"resolve", "b.test", "-c", config}).exit_code, 0);
  dns.stop();  // proves the answer did not come from DNS
  auto out = fedrelay({"resolve", "b.test", "-c", config});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("source:      cache\n"), std::string::npos) << out.output;
}

TEST_F(ResolveTest, EachFailureIsNamed) {
  auto nokey = fedrelay({"resolve", "nokey.b.test", "-c", config});
  EXPECT_EQ(nokey.exit_code, 3);
  EXPECT_NE(nokey.output.find("no_key_record"), std::string::npos) << nokey.output;
  auto badkey = fedrelay({"resolve", "badkey.b.test", "-c", config});
  EXPECT_EQ(badkey.exit_code, 3);
  EXPECT_NE(badkey.output.find("bad_key_record"), std::string::npos) << badkey.output;
  auto missing = fedrelay({"resolve", "missing.b.test", "-c", config});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.output.find("nxdomain"), std::string::npos) << missing.output;
  // Said once, as the command's error, not again as a log line of discovery's.
  for (const auto* out : {&nokey, &badkey, &missing})
    EXPECT_EQ(out->output.find("discovery of"), std::string::npos) << out->output;
}

TEST_F(ResolveTest, DeadDnsServerTimesOutWithinTheBound) {
  dns.stop();
  auto start = std::chrono::steady_clock::now();
  auto out = fedrelay({"resolve", "b.test", "-c", config});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_NE(out.output.find("resolver_timeout"), std::string::npos) << out.output;
  EXPECT_LT(took, std::chrono::seconds(6));
  // The failure was cached for the negative TTL; with the server back and the cache
  // bypassed by a fresh data directory, the lookup works again.
  dns.start();
  write_file(config,
             node_config("a.test", dir / "data2", free_tcp_port(), free_tcp_port(),
                         "[dns]\nresolver = \"127.0.0.1:" + std::to_string(dns.port()) + "\"\n"));
  EXPECT_EQ(fedrelay({"resolve", "b.test", "-c", config}).exit_code, 0);
}

TEST(ResolveTtlTest, AnAnswerExpiresWithItsTtl) {
  temp_dir dir;
  auto peer = crypto::identity::generate();
  auto line = crypto::public_key_pem_line(peer.public_key());
  dns_server dns{"b.test", 1};  // every record with a TTL of one second
  dns.add_srv("_rocketchat._tcp.b.test", "chat.b.test", 8443);
  dns.add_txt("rocketchat-public-key.b.test", {line});
  dns.start();
  auto config = dir / "node.toml";
  write_file(config,
             node_config("a.test", dir / "data", free_tcp_port(), free_tcp_port(),
                         "[dns]\nresolver = \"127.0.0.1:" + std::to_string(dns.port()) + "\"\n"));
  auto first = fedrelay({"resolve", "b.test", "-c", config});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("ttl:         1\n"), std::string::npos) << first.output;
  // Past the TTL the persisted answer is stale: DNS is asked again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto second = fedrelay({"resolve", "b.test", "-c", config});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("source:      dns\n"), std::string::npos) << second.output;
}

TEST_F(ResolveTest, StaticPeersOverrideDns) {
  auto other = crypto::identity::generate();
  write_file(config, node_config("a.test", dir / "data", free_tcp_port(), free_tcp_port(),
                                 "[dns]\nresolver = \"127.0.0.1:" + std::to_string(dns.port()) +
                                     "\"\n[[peers.static]]\ndomain = \"b.test\"\nurl = "
                                     "\"http://127.0.0.1:9999\"\npublic_key = \"\"\"" +
                                     crypto::public_key_pem(other.public_key()) + "\"\"\"\n"));
  auto out = fedrelay({"resolve", "b.test", "-c", config});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("source:      static\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("fingerprint: " + crypto::fingerprint(other.public_key())),
            std::string::npos);
}

}  // namespace
}  // namespace fedrelay::test
