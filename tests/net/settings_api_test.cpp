// The settings screen's calls as plain handlers, without sockets: what they read from the
// file, what they refuse and with which lines, and when they write and apply.
#include "net/settings_api.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "actors/published_records.hpp"
#include "config/settings.hpp"
#include "config/storage_domain.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::net {
namespace {

using nlohmann::json;

class SettingsApiTest : public testing::Test {
 protected:
  test::temp_dir dir{"settings-api"};
  std::string path = dir / "node.toml";
  std::string original =
      "# the node\n[federation]\ndomain = \"a.test\"  # ours\ndiscovery = \"dns\"\n"
      "public_url = \"http://127.0.0.1:8443\"\n\n[storage]\ndir = \"data\"\n"
      "[local_api]\ntoken = \"t\"\n";
  std::shared_ptr<const crypto::identity> id =
      std::make_shared<const crypto::identity>(crypto::identity::generate());
  int applied = 0;
  checks_runner runner;

  void SetUp() override { test::write_file(path, original); }

  /// Calls the route (method, "federation.X") and returns the reply with its status.
  std::pair<unsigned, json> call(const std::string& method, const std::string& name,
                                 const std::string& body = "") {
    settings_api_context ctx;
    ctx.config_path = path;
    ctx.identity = id;
    ctx.apply = [this] { ++applied; };
    ctx.run_checks = runner;
    for (auto& r : settings_routes(ctx)) {
      if (r.method != method || r.path != "/api/v1/" + name) continue;
      http_request req;
      req.method = method;
      req.target = r.path;
      req.body = body;
      http_response out;
      out.status = 0;
      r.handler(std::move(req), [&](http_response res) { out = std::move(res); });
      return {out.status, json::parse(out.body, nullptr, false)};
    }
    ADD_FAILURE() << "no route " << method << " " << name;
    return {0, json{}};
  }

  /// What `fedrelay run` would print for `text` in this file, after "error: ".
  std::vector<std::string> cli_lines(const std::string& text) {
    test::write_file(path, text);
    auto s = config::load_settings(path);
    test::write_file(path, original);
    return s ? std::vector<std::string>{} : config::error_lines(s.error());
  }
};

TEST_F(SettingsApiTest, ReadsTheFile) {
  auto [status, reply] = call("GET", "federation.settings");
  ASSERT_EQ(status, 200u) << reply.dump();
  EXPECT_EQ(reply["settings"], (json{{"enabled", true},
                                     {"domain", "a.test"},
                                     {"discovery", "dns"},
                                     {"hub_url", ""},
                                     {"public_url", "http://127.0.0.1:8443"}}));
  EXPECT_EQ(reply["file"], path);
  EXPECT_TRUE(reply["missing"].empty());
  EXPECT_FALSE(reply.contains("token"));
  EXPECT_EQ(reply.dump().find("\"t\""), std::string::npos);  // the token never leaves
}

TEST_F(SettingsApiTest, AValidChangeIsWrittenInPlaceAndApplied) {
  auto [status, reply] =
      call("POST", "federation.settings", R"({"discovery":"hub","hub_url":"https://hub.test/"})");
  ASSERT_EQ(status, 200u) << reply.dump();
  EXPECT_TRUE(reply["changed"].get<bool>());
  EXPECT_TRUE(reply["applying"].get<bool>());
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(reply["settings"]["hub_url"], "https://hub.test");
  EXPECT_EQ(reply["expected_status"], "Booting...");
  EXPECT_EQ(test::read_file(path),
            "# the node\n[federation]\ndomain = \"a.test\"  # ours\ndiscovery = \"hub\"\n"
            "public_url = \"http://127.0.0.1:8443\"\nhub_url = \"https://hub.test/\"\n\n"
            "[storage]\ndir = \"data\"\n[local_api]\ntoken = \"t\"\n");
  // The same values again change nothing and restart nothing.
  auto again =
      call("POST", "federation.settings", R"({"discovery":"hub","hub_url":"https://hub.test/"})");
  EXPECT_FALSE(again.second["changed"].get<bool>());
  EXPECT_EQ(applied, 1);
}

// A data directory that holds a.test's rooms and queues stays a.test's: the screen refuses
// another domain before it writes the file, since the node would not start again.
TEST_F(SettingsApiTest, AnotherDomainOverAnotherDomainsDataIsRefused) {
  std::filesystem::create_directories(dir / "data");
  ASSERT_FALSE(config::claim_storage_dir(dir / "data", "a.test"));
  auto [status, reply] = call("POST", "federation.settings", R"({"domain":"c.test"})");
  EXPECT_EQ(status, 409u) << reply.dump();
  EXPECT_NE(reply.value("error", "").find("holds the data of a.test, not of c.test"),
            std::string::npos)
      << reply.dump();
  EXPECT_EQ(test::read_file(path), original);
  EXPECT_EQ(applied, 0);
  // The same domain in other letters is the same domain.
  EXPECT_EQ(call("POST", "federation.settings", R"({"domain":"A.Test"})").first, 200u);
}

TEST_F(SettingsApiTest, AnEmptiedKeyIsSavedAndReportedMissing) {
  auto [status, reply] = call("POST", "federation.settings", R"({"domain":"","enabled":true})");
  ASSERT_EQ(status, 200u) << reply.dump();
  EXPECT_EQ(reply["missing"], json::array({"federation.domain"}));
  EXPECT_EQ(reply["expected_status"], "Could not enable, settings are not fully set");
  auto records = call("GET", "federation.dnsRecords");
  EXPECT_EQ(records.first, 409u);
  EXPECT_EQ(records.second["error"],
            path + ": federation.domain: not set (needed to know what to publish)");
}

TEST_F(SettingsApiTest, ABadValueGivesTheCommandLinesLinesAndLeavesTheFile) {
  auto expected = cli_lines(
      "# the node\n[federation]\ndomain = \"a..test\"  # ours\ndiscovery = \"dsn\"\n"
      "public_url = \"http://127.0.0.1:8443\"\n\n[storage]\ndir = \"data\"\n"
      "[local_api]\ntoken = \"t\"\n");
  ASSERT_EQ(expected.size(), 2u);
  auto [status, reply] =
      call("POST", "federation.settings", R"({"domain":"a..test","discovery":"dsn"})");
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(reply["errors"], json(expected));
  EXPECT_EQ(reply["error"], expected[0]);
  EXPECT_EQ(test::read_file(path), original);
  EXPECT_EQ(applied, 0);
}

TEST_F(SettingsApiTest, RefusesWhatTheScreenDoesNotChange) {
  for (const char* body : {"", "[]", R"({"token":"x"})", R"({"enabled":"yes"})", R"({"domain":3})",
                           R"({"listen":"0.0.0.0:1"})"}) {
    auto [status, reply] = call("POST", "federation.settings", body);
    EXPECT_EQ(status, 400u) << body;
    EXPECT_FALSE(reply["success"].get<bool>()) << body;
  }
  // Two values for one key: which was meant cannot be told (the last one used to win).
  auto [twice_status, twice] = call("POST", "federation.settings",
                                    R"({"domain":"x.test","discovery":"dns","domain":"y.test"})");
  EXPECT_EQ(twice_status, 400u);
  EXPECT_EQ(twice["error"], "setting \"domain\" is given twice");
  EXPECT_EQ(test::read_file(path), original);
  // A file whose token went missing by hand would leave no node to serve the screen.
  auto no_token = original.substr(0, original.find("[local_api]"));
  test::write_file(path, no_token);
  auto [status, reply] = call("POST", "federation.settings", R"({"discovery":"static"})");
  EXPECT_EQ(status, 409u);
  EXPECT_EQ(reply["error"],
            path + ": local_api.token: not set (the node serving this screen needs it)");
  EXPECT_EQ(test::read_file(path), no_token);
  EXPECT_EQ(applied, 0);
}

TEST_F(SettingsApiTest, DnsRecordsAreWhatTheCommandLinePrints) {
  auto [status, reply] = call("GET", "federation.dnsRecords");
  ASSERT_EQ(status, 200u) << reply.dump();
  auto s = config::load_settings(path);
  ASSERT_TRUE(s);
  auto records = actors::records_to_publish(*s, id->public_key());
  ASSERT_TRUE(records);
  EXPECT_EQ(reply["records"], actors::printed_form(*records, "a.test"));
}

TEST_F(SettingsApiTest, ChecksRunThroughTheRunnerOneAtATime) {
  auto none = call("GET", "federation.checks");
  EXPECT_EQ(none.first, 503u);
  EXPECT_EQ(none.second["error"], "checks unavailable: this node has no check runner");
  runner = [](std::function<void(std::string)> done) {
    done(R"({"success":true,"ok":true,"checks":[]})");
    return true;
  };
  auto ran = call("GET", "federation.checks");
  EXPECT_EQ(ran.first, 200u);
  EXPECT_TRUE(ran.second["ok"].get<bool>());
  runner = [](std::function<void(std::string)>) { return false; };
  auto busy = call("GET", "federation.checks");
  EXPECT_EQ(busy.first, 503u);
  EXPECT_EQ(busy.second["error"], "checks are already running; try again when they end");
}

TEST_F(SettingsApiTest, ThePageHoldsNoDataAndLoadsNothingFromElsewhere) {
  auto page = settings_page();
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>Federation"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos);
  EXPECT_EQ(page.body.find("https://"), std::string::npos);
  EXPECT_NE(std::string{page.header("Content-Security-Policy")}.find("default-src 'none'"),
            std::string::npos);
}

}  // namespace
}  // namespace fedrelay::net
