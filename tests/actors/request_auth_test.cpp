// Signed requests between nodes (actors/request_auth.hpp): the accepted time window, for
// any time a request may name, and the server a request is for.
#include "actors/request_auth.hpp"

#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "actors/errc.hpp"
#include "actors/transaction.hpp"
#include "actors/wall_clock.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

constexpr int64_t min_ms = std::numeric_limits<int64_t>::min();
constexpr int64_t max_ms = std::numeric_limits<int64_t>::max();

TEST(RequestAuthTest, TheWindowHoldsBothWaysAndAtTheEndsOfTheRange) {
  EXPECT_TRUE(within_skew(1'000'000, 1'000'000, 0ms));
  EXPECT_TRUE(within_skew(1'000'000, 700'000, 300s));
  EXPECT_TRUE(within_skew(1'000'000, 1'300'000, 300s));
  EXPECT_FALSE(within_skew(1'000'000, 699'999, 300ms * 1000));
  EXPECT_FALSE(within_skew(1'000'000, 1'300'001, 300ms * 1000));
  // Where now - then overflows an int64.
  EXPECT_FALSE(within_skew(1'000'000, min_ms, 300s));
  EXPECT_FALSE(within_skew(-1'000'000, max_ms, 300s));
  EXPECT_FALSE(within_skew(max_ms, min_ms, std::chrono::milliseconds{max_ms}));
  EXPECT_TRUE(within_skew(max_ms, 0, std::chrono::milliseconds{max_ms}));
  EXPECT_FALSE(within_skew(0, 0, -1ms));
}

TEST(RequestAuthTest, ARequestTimedAtTheEndsOfTheRangeIsRefusedBeforeItsSignature) {
  auto id = crypto::identity::generate();
  auto pk = id.public_key();
  std::string key(pk.begin(), pk.end());
  for (int64_t when : {min_ms, max_ms}) {
    auto err = verify_request(key, "GET", "/x", std::to_string(when), "",
                              sign_request(id, "GET", "/x", when, ""), 300s);
    EXPECT_EQ(err, caf::make_error(errc::rejected)) << when;
  }
  auto now = unix_ms_now();
  EXPECT_FALSE(verify_request(key, "GET", "/x", std::to_string(now), "",
                              sign_request(id, "GET", "/x", now, ""), 300s));
}

// The destination is signed: a server that received a read cannot ask a third server the
// same in the caller's name, nor drop the destination to make it the older form.
TEST(RequestAuthTest, ARequestSignedForOneServerIsRefusedByAnother) {
  auto id = crypto::identity::generate();
  auto pk = id.public_key();
  std::string key(pk.begin(), pk.end());
  auto now = unix_ms_now();
  auto time = std::to_string(now);
  auto for_b = sign_request(id, "GET", "/x", now, "", "b.example");
  EXPECT_FALSE(verify_request(key, "GET", "/x", time, "", for_b, 300s, "b.example", "b.example"));
  // The name is signed as written, and compared with the node's own without regard to case.
  EXPECT_FALSE(verify_request(key, "GET", "/x", time, "",
                              sign_request(id, "GET", "/x", now, "", "B.Example"), 300s,
                              "B.Example", "b.example"));
  auto elsewhere =
      verify_request(key, "GET", "/x", time, "", for_b, 300s, "b.example", "c.example");
  EXPECT_EQ(elsewhere, caf::make_error(errc::rejected));
  EXPECT_NE(caf::to_string(elsewhere).find("signed for b.example, not for c.example"),
            std::string::npos)
      << caf::to_string(elsewhere);
  // Naming c.example instead, or nothing, leaves a signature that does not verify.
  EXPECT_EQ(verify_request(key, "GET", "/x", time, "", for_b, 300s, "c.example", "c.example"),
            caf::make_error(errc::rejected));
  EXPECT_EQ(verify_request(key, "GET", "/x", time, "", for_b, 300s, "", "c.example"),
            caf::make_error(errc::rejected));
  // A destination that is no domain name is not repeated in the answer.
  auto junk = std::string(4000, 'x') + "\r\n";
  auto not_a_name = verify_request(key, "GET", "/x", time, "", for_b, 300s, junk, "c.example");
  EXPECT_EQ(not_a_name, caf::make_error(errc::bad_request));
  EXPECT_EQ(caf::to_string(not_a_name).find("xxxx"), std::string::npos);
  // The form without a destination, which servers before it send, is still taken.
  EXPECT_FALSE(verify_request(key, "GET", "/x", time, "", sign_request(id, "GET", "/x", now, ""),
                              300s, "", "c.example"));
}

TEST(RequestAuthTest, AMissingSignatureIsSaidToBeMissing) {
  auto id = crypto::identity::generate();
  auto pk = id.public_key();
  std::string key(pk.begin(), pk.end());
  auto now = std::to_string(unix_ms_now());
  auto missing = verify_request(key, "GET", "/x", now, "", "", 300s, "", "c.example");
  EXPECT_EQ(missing, caf::make_error(errc::bad_request));
  EXPECT_NE(caf::to_string(missing).find(std::string{signature_header} + " is missing"),
            std::string::npos)
      << caf::to_string(missing);
  auto malformed = verify_request(key, "GET", "/x", now, "", "!!", 300s, "", "c.example");
  EXPECT_NE(caf::to_string(malformed).find(std::string{signature_header} + " is malformed"),
            std::string::npos)
      << caf::to_string(malformed);
}

TEST(RequestAuthTest, TheSignedHeadersNameTheDestinationUnlessThereIsNone) {
  auto id = crypto::identity::generate();
  auto header = [](const std::vector<std::pair<std::string, std::string>>& headers,
                   std::string_view name) {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::string{};
  };
  auto to_b = signed_headers(id, "a.example", "b.example", "GET", "/x", "");
  EXPECT_EQ(header(to_b, origin_header), "a.example");
  EXPECT_EQ(header(to_b, destination_header), "b.example");
  auto pk = id.public_key();
  std::string key(pk.begin(), pk.end());
  EXPECT_FALSE(verify_request(key, "GET", "/x", header(to_b, time_header), "",
                              header(to_b, signature_header), 300s, "b.example", "b.example"));
  auto to_hub = signed_headers(id, "a.example", "", "POST", "/x", "{}");
  EXPECT_EQ(header(to_hub, destination_header), "");
  EXPECT_EQ(to_hub.size(), 3u);
}

}  // namespace
}  // namespace fedrelay::actors
