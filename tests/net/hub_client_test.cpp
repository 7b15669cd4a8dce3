// What a node takes from a Hub's answer to a lookup: a record, or an error for anything
// else, never an exception (which ended the Hub client, and in the settings screen's
// checks the node).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/errc.hpp"
#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "net/hub_client.hpp"

namespace fedrelay::net {
namespace {

http_response answer(std::string body, unsigned status = 200) {
  http_response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

TEST(HubClientTest, ARecordIsTakenFromAWellFormedAnswer) {
  auto id = crypto::identity::generate();
  nlohmann::json body = {{"success", true},
                         {"url", "https://chat.b.test:8443/"},
                         {"public_key", crypto::public_key_pem(id.public_key())},
                         {"ttl", 600}};
  auto rec = hub_record_from_reply("b.test", answer(body.dump()));
  ASSERT_TRUE(rec) << caf::to_string(rec.error());
  EXPECT_EQ(rec->base_url, "https://chat.b.test:8443");
  EXPECT_EQ(rec->ttl, 600u);
  body["ttl"] = 99999999999;  // past 32 bits: the largest, which discovery caps
  rec = hub_record_from_reply("b.test", answer(body.dump()));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->ttl, UINT32_MAX);
}

TEST(HubClientTest, AnswersOfTheWrongShapeAreErrors) {
  auto pem = crypto::public_key_pem(crypto::identity::generate().public_key());
  nlohmann::json good = {{"success", true}, {"url", "https://b.test"}, {"public_key", pem}};
  std::vector<nlohmann::json> bad;
  for (const char* key : {"success", "url", "public_key"}) {
    for (nlohmann::json wrong : {nlohmann::json("yes"), nlohmann::json(1), nlohmann::json::array(),
                                 nlohmann::json(nullptr)}) {
      auto doc = good;
      doc[key] = wrong;
      bad.push_back(doc);
    }
  }
  auto with_ttl = good;
  with_ttl["ttl"] = "forever";  // the default TTL, not an error
  EXPECT_TRUE(hub_record_from_reply("b.test", answer(with_ttl.dump())));
  for (const auto& doc : bad) {
    auto rec = hub_record_from_reply("b.test", answer(doc.dump()));
    EXPECT_FALSE(rec) << doc.dump();
  }
  for (const char* text : {"[]", "not json", "{\"success\":true}"})
    EXPECT_FALSE(hub_record_from_reply("b.test", answer(text))) << text;
  EXPECT_EQ(hub_record_from_reply("b.test", answer("", 404)).error(),
            caf::make_error(actors::errc::not_found));
}

}  // namespace
}  // namespace fedrelay::net
