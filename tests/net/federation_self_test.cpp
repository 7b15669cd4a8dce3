// GET federation.self without sockets: the node signs a nonce only for the holder of its
// own key, and the signature verifies with that key and nothing else.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actors/request_auth.hpp"
#include "actors/self_check.hpp"
#include "actors/transaction.hpp"
#include "actors/wall_clock.hpp"
#include "net/federation_self.hpp"
#include "net/http_types.hpp"

namespace fedrelay::net {
namespace {

class FederationSelfTest : public testing::Test {
 protected:
  std::shared_ptr<const crypto::identity> node =
      std::make_shared<const crypto::identity>(crypto::identity::generate());
  request_handler handler = make_self_check_handler("a.test", node, std::chrono::minutes(5));
  std::string nonce = "00112233445566778899aabbccddeeff";

  http_request signed_request(const crypto::identity& by, const std::string& origin,
                              const std::string& nonce_text) {
    http_request req;
    req.method = "GET";
    req.target = make_target(actors::self_path, {{"nonce", nonce_text}});
    auto now = actors::unix_ms_now();
    req.headers = {{std::string{actors::origin_header}, origin},
                   {std::string{actors::time_header}, std::to_string(now)},
                   {std::string{actors::signature_header},
                    actors::sign_request(by, req.method, req.target, now, "")}};
    return req;
  }

  http_response call(http_request req) {
    http_response out;
    out.status = 0;
    handler(std::move(req), [&](http_response res) { out = std::move(res); });
    return out;
  }
};

TEST_F(FederationSelfTest, SignsTheNonceForTheHolderOfItsKey) {
  auto res = call(signed_request(*node, "a.test", nonce));
  ASSERT_EQ(res.status, 200u) << res.body;
  auto j = nlohmann::json::parse(res.body);
  EXPECT_EQ(j["domain"], "a.test");
  auto sig = j["signature"].get<std::string>();
  EXPECT_FALSE(actors::verify_self_check(node->public_key(), "a.test", nonce, sig));
  // The signature stands for this nonce and domain, under this key only.
  EXPECT_TRUE(actors::verify_self_check(node->public_key(), "a.test", nonce + "00", sig));
  EXPECT_TRUE(actors::verify_self_check(node->public_key(), "b.test", nonce, sig));
  auto other = crypto::identity::generate();
  EXPECT_TRUE(actors::verify_self_check(other.public_key(), "a.test", nonce, sig));
  EXPECT_TRUE(actors::verify_self_check(node->public_key(), "a.test", nonce, "not base64"));
}

TEST_F(FederationSelfTest, RefusesOtherKeysOriginsAndBadNonces) {
  auto other = crypto::identity::generate();
  EXPECT_EQ(call(signed_request(other, "a.test", nonce)).status, 401u);
  EXPECT_EQ(call(signed_request(*node, "b.test", nonce)).status, 403u);
  EXPECT_EQ(call(signed_request(*node, "a.test", "short")).status, 400u);
  EXPECT_EQ(call(signed_request(*node, "a.test", std::string(16, 'z'))).status, 400u);
  auto unsigned_req = signed_request(*node, "a.test", nonce);
  unsigned_req.headers.resize(1);
  EXPECT_EQ(call(std::move(unsigned_req)).status, 401u);
  auto no_origin = signed_request(*node, "a.test", nonce);
  no_origin.headers.erase(no_origin.headers.begin());
  EXPECT_EQ(call(std::move(no_origin)).status, 400u);
}

}  // namespace
}  // namespace fedrelay::net
