// What `fedrelay dns-records` tells the operator to publish: SRV from the public URL,
// the key TXT split into DNS strings that join back exactly, the protocol TXT.
#include <gtest/gtest.h>

#include "actors/published_records.hpp"
#include "crypto/identity.hpp"
#include "crypto/pem.hpp"

namespace fedrelay::actors {
namespace {

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += p;
  return out;
}

TEST(SplitTxtStringsTest, NoStringLongerThanTheLimitAndJoinGivesTheInput) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>('A' + i % 26);
  for (size_t max : {1u, 7u, 100u, 254u, 255u}) {
    auto parts = split_txt_strings(text, max);
    for (const auto& p : parts) EXPECT_LE(p.size(), max);
    EXPECT_EQ(join(parts), text);
    EXPECT_EQ(parts.size(), (text.size() + max - 1) / max);
  }
}

TEST(SplitTxtStringsTest, ExactMultipleAndEmptyText) {
  EXPECT_EQ(split_txt_strings(std::string(510, 'x')).size(), 2u);
  EXPECT_EQ(split_txt_strings(std::string(511, 'x')).size(), 3u);
  EXPECT_EQ(split_txt_strings(""), std::vector<std::string>{""});
}

TEST(SplitTxtStringsTest, KeyRecordJoinsBackToThePem) {
  auto id = crypto::identity::generate();
  auto line = crypto::public_key_pem_line(id.public_key());
  auto parts = split_txt_strings(line, 40);
  auto key = crypto::parse_public_key_pem(join(parts));
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, id.public_key());
}

TEST(QuoteTxtStringsTest, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(quote_txt_strings({"a", "b\"c", "d\\e"}), R"("a" "b\"c" "d\\e")");
}

TEST(SplitBaseUrlTest, AcceptsBaseUrlsOnly) {
  auto u = split_base_url("https://chat.a.example:8443");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "chat.a.example");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(split_base_url("http://a.example/")->port, 80);
  EXPECT_EQ(split_base_url("https://a.example")->port, 443);
  EXPECT_EQ(split_base_url("http://[::1]:9000")->host, "::1");
  EXPECT_FALSE(split_base_url("ftp://a.example"));
  EXPECT_FALSE(split_base_url("https://a.example/chat"));
  EXPECT_FALSE(split_base_url("https://a.example:0"));
  EXPECT_FALSE(split_base_url("https://a.example:70000"));
  EXPECT_FALSE(split_base_url("a.example:80"));
}

TEST(RecordsToPublishTest, FollowsThePublicUrlAndKey) {
  config::settings s;
  s.domain = "a.example";
  s.public_url = "https://chat.a.example:8443";
  auto id = crypto::identity::generate();
  auto r = records_to_publish(s, id.public_key());
  ASSERT_TRUE(r);
  auto zone = zone_file_form(*r);
  EXPECT_NE(zone.find("_rocketchat._tcp.a.example. 3600 IN SRV 1 1 8443 chat.a.example.\n"),
            std::string::npos)
      << zone;
  EXPECT_NE(zone.find("rocketchat-public-key.a.example. 3600 IN TXT \"" +
                      crypto::public_key_pem_line(id.public_key()) + "\"\n"),
            std::string::npos)
      << zone;
  EXPECT_NE(zone.find("rocketchat-protocol.a.example. 3600 IN TXT \"https\"\n"), std::string::npos);
  auto provider = provider_form(*r);
  EXPECT_NE(provider.find("_rocketchat._tcp.a.example  SRV  1 1 8443 chat.a.example\n"),
            std::string::npos)
      << provider;
  EXPECT_EQ(join(r->key_strings), crypto::public_key_pem_line(id.public_key()));
}

TEST(RecordsToPublishTest, RefusesAPublicUrlWithAPath) {
  config::settings s;
  s.domain = "a.example";
  s.public_url = "https://chat.a.example/federation";
  EXPECT_FALSE(records_to_publish(s, crypto::identity::generate().public_key()));
}

}  // namespace
}  // namespace fedrelay::actors
