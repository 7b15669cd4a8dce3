// The federation settings screen as an operator uses it: two real nodes, a headless Chromium
// on a's screen, the token typed in, the status, key, DNS records and peers read from the
// page and compared with the command line, settings changed on the page and seen in the
// file, in the status and in `fedrelay status`. FEDRELAY_SCREENSHOTS=DIR keeps the PNGs
// (docs/ holds the ones the README shows).
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "config/settings.hpp"
#include "tests/app/cluster.hpp"
#include "tests/app/webdriver.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

const std::string hub_failed = "[HUB Only] Disabled, could not register with Hub";

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

/// `fedrelay status -c FILE`'s line.
std::string cli_status(const test_node& n) {
  auto r = run_command({FEDRELAY_BINARY, "status", "-c", n.config_path()});
  return trimmed(r.output.substr(0, r.output.find('\n')));
}

/// `text` with `line` inserted after the first line starting with `after`.
std::string insert_after(const std::string& text, const std::string& after,
                         const std::string& line) {
  auto at = text.find("\n", text.find("\n" + after) + 1);
  return text.substr(0, at + 1) + line + "\n" + text.substr(at + 1);
}

/// `text` with the first occurrence of `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

class SettingsScreenTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!browser_available()) GTEST_SKIP() << "chromium and chromium-driver are not installed";
    nodes = std::make_unique<cluster>(std::vector<std::string>{"a.test", "b.test"});
    nodes->start_all();
    page = std::make_unique<browser>(1280, 1620);
    url = "http://127.0.0.1:" + std::to_string(a().local_port()) + "/admin";
  }

  test_node& a() { return (*nodes)[0]; }
  test_node& b() { return (*nodes)[1]; }

  void log_in() {
    page->open(url);
    page->type("#token-input", a().token());
    page->click("#token-submit");
    auto status = page->wait_for_text(
        "#status", [](const std::string& s) { return s == "Running"; }, 15s);
    ASSERT_EQ(status, "Running");
  }

  /// Saves the page's form; waits until the status is `expected`.
  std::string save_and_wait_for(const std::string& expected, std::chrono::seconds timeout) {
    page->click("#save");
    return page->wait_for_text(
        "#status", [&](const std::string& s) { return s == expected; }, timeout);
  }

  void keep_screenshot(const std::string& name) {
    auto png = page->screenshot_png();
    ASSERT_EQ(png.substr(1, 3), "PNG");
    if (const char* dir = std::getenv("FEDRELAY_SCREENSHOTS"))
      std::ofstream(std::string{dir} + "/" + name, std::ios::binary) << png;
  }

  std::unique_ptr<cluster> nodes;
  std::unique_ptr<browser> page;
  std::string url;
};

TEST_F(SettingsScreenTest, NothingIsShownOrChangedWithoutTheToken) {
  page->open(url);
  EXPECT_TRUE(page->property("#screen", "hidden").get<bool>());
  page->type("#token-input", "wrong");
  page->click("#token-submit");
  auto said = page->wait_for_text(
      "#login-error", [](const std::string& s) { return !s.empty(); }, 10s);
  EXPECT_EQ(said, "That token was not accepted.");
  EXPECT_TRUE(page->property("#screen", "hidden").get<bool>());
  // Nothing of the node reached the page: neither its domain nor its key.
  auto html = page->execute("return document.documentElement.outerHTML;").get<std::string>();
  EXPECT_EQ(html.find("a.test"), std::string::npos);
  EXPECT_EQ(html.find("BEGIN PUBLIC KEY"), std::string::npos);
  // Every call behind the page wants the token; the file stays as it was.
  auto before = read_file(a().config_path());
  for (auto [method, call] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "federation.settings"},
                                                        {"POST", "federation.settings"},
                                                        {"GET", "federation.dnsRecords"},
                                                        {"GET", "federation.checks"},
                                                        {"GET", "federation.status"}}) {
    unsigned status = 0;
    auto reply =
        a().call(method, "/api/v1/" + call, {{"discovery", "hub"}}, &status, "not-the-token");
    EXPECT_EQ(status, 401u) << method << " " << call << ": " << reply.dump();
    EXPECT_FALSE(reply.contains("settings"));
  }
  EXPECT_EQ(read_file(a().config_path()), before);
}

TEST_F(SettingsScreenTest, ShowsWhatTheCommandLineShowsAndAppliesChanges) {
  // A room across both nodes, then b goes away: a's queue for b fills.
  auto room = a().post("/api/v1/rooms.create",
                       {{"name", "general"}, {"type", "public"}, {"owner", "alice"}});
  ASSERT_TRUE(room.value("success", false)) << room.dump();
  std::string room_id = room["room_id"];
  ASSERT_TRUE(a().post("/api/v1/rooms.invite",
                       {{"room_id", room_id}, {"user", "bob@b.test"}, {"by", "alice"}})
                  .value("success", false));
  ASSERT_FALSE(b().wait_for_room_events(room_id, 1, 20s).empty());
  ASSERT_TRUE(b().stop());
  for (int i = 0; i < 3; ++i)
    a().post("/api/v1/chat.send", {{"room_id", room_id}, {"user", "alice"}, {"text", "hi"}});

  log_in();
  // Status, key and records as the command line and the key file give them.
  EXPECT_EQ(cli_status(a()), "Running");
  EXPECT_EQ(page->property("#public-key", "value").get<std::string>(), a().public_key_pem());
  page->click("#copy-key");
  EXPECT_EQ(page->wait_for_text(
                "#copy-key", [](const std::string& s) { return s == "Copied"; }, 5s),
            "Copied");
  auto records = run_command({FEDRELAY_BINARY, "dns-records", "-c", a().config_path()});
  ASSERT_EQ(records.exit_code, 0) << records.output;
  EXPECT_EQ(page->wait_for_text(
                "#dns-records", [](const std::string& s) { return s != "Loading..."; }, 10s),
            trimmed(records.output));
  EXPECT_EQ(page->property("#domain", "value").get<std::string>(), "a.test");
  EXPECT_EQ(page->property("#discovery", "value").get<std::string>(), "static");
  EXPECT_TRUE(page->property("#enabled", "checked").get<bool>());
  // The checks: unavailable, or one row per check the node ran.
  unsigned checks_status = 0;
  auto checks = a().get("/api/v1/federation.checks", &checks_status);
  auto shown = page->wait_for_text(
      "#checks", [](const std::string& s) { return s != "Loading..." && s != "Running..."; }, 60s);
  if (checks_status == 503 && checks.value("error", "").find("unavailable") != std::string::npos)
    EXPECT_EQ(shown, "checks unavailable");
  else
    for (const auto& c : checks["checks"])
      EXPECT_NE(shown.find(c["name"].get<std::string>()), std::string::npos);
  // The peer b with what is queued for it.
  auto peers = page->wait_for_text(
      "#peers",
      [](const std::string& s) {
        return s.find("b.test") != std::string::npos && s.find("backing_off") != std::string::npos;
      },
      20s);
  auto stats = a().get("/api/v1/federation.status");
  ASSERT_EQ(stats["peers"].size(), 1u) << stats.dump();
  EXPECT_GE(stats["peers"][0]["queue_depth"].get<uint64_t>(), 3u);
  EXPECT_NE(peers.find("b.test backing_off " +
                       std::to_string(stats["peers"][0]["queue_depth"].get<uint64_t>())),
            std::string::npos)
      << peers;
  EXPECT_NE(peers.find(stats["peers"][0]["last_error"].get<std::string>()), std::string::npos);
  keep_screenshot("screen-federation.png");

  // A bad Hub URL: the line the command line prints for that file, and the file untouched.
  auto original = read_file(a().config_path());
  auto bad = insert_after(original, "public_url = ", "hub_url = \"ftp://hub.test\"");
  write_file(a().config_path(), bad);
  auto cli = run_command({FEDRELAY_BINARY, "status", "-c", a().config_path()});
  write_file(a().config_path(), original);
  ASSERT_EQ(cli.exit_code, 78);
  ASSERT_EQ(cli.output.rfind("error: ", 0), 0u) << cli.output;
  page->type("#hub-url", "ftp://hub.test");
  page->click("#save");
  auto error = page->wait_for_text(
      "#messages", [](const std::string& s) { return !s.empty(); }, 10s);
  EXPECT_EQ(error, trimmed(cli.output));
  EXPECT_EQ(read_file(a().config_path()), original);
  EXPECT_EQ(page->text("#status"), "Running");
  keep_screenshot("screen-federation-error.png");

  // Discovery through a Hub nobody answers: the file changes there and only there, and the
  // node restarts into the Hub's failure.
  auto hub = "http://127.0.0.1:" + std::to_string(free_tcp_port());
  page->type("#hub-url", hub);
  page->click("#discovery option[value=hub]");
  EXPECT_EQ(save_and_wait_for(hub_failed, 40s), hub_failed);
  auto expected = insert_after(original, "public_url = ", "hub_url = \"" + hub + "\"");
  expected = replaced(expected, "discovery = \"static\"", "discovery = \"hub\"");
  EXPECT_EQ(read_file(a().config_path()), expected);
  auto s = config::load_settings(a().config_path());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->discovery, config::discovery_method::hub);
  EXPECT_EQ(s->hub_url, hub);
  EXPECT_EQ(cli_status(a()), hub_failed);
  EXPECT_NE(page->text("#status-reason").find("cannot be reached"), std::string::npos);
  keep_screenshot("screen-federation-hub.png");

  // Back to static: Running again, with the queue for b still there.
  page->click("#discovery option[value=static]");
  EXPECT_EQ(save_and_wait_for("Running", 20s), "Running");
  EXPECT_EQ(cli_status(a()), "Running");
  EXPECT_NE(read_file(a().config_path()).find("discovery = \"static\""), std::string::npos);
  page->wait_for_text(
      "#peers", [](const std::string& s) { return s.find("b.test") != std::string::npos; }, 20s);
  EXPECT_GE(a().get("/api/v1/federation.status")["peers"][0]["queue_depth"].get<uint64_t>(), 3u);
}

TEST_F(SettingsScreenTest, TurningFederationOffKeepsTheScreenToTurnItOnAgain) {
  auto room =
      a().post("/api/v1/rooms.create", {{"name", "kept"}, {"type", "public"}, {"owner", "alice"}});
  ASSERT_TRUE(room.value("success", false)) << room.dump();
  log_in();
  page->click("label.switch span");
  EXPECT_EQ(save_and_wait_for("Disabled", 20s), "Disabled");
  EXPECT_NE(read_file(a().config_path()).find("enabled = false"), std::string::npos);
  EXPECT_EQ(cli_status(a()), "Disabled");
  // The key is still shown; federation calls are refused while it is off.
  EXPECT_EQ(page->property("#public-key", "value").get<std::string>(), a().public_key_pem());
  unsigned status = 0;
  auto refused =
      a().post("/api/v1/chat.send",
               {{"room_id", room["room_id"]}, {"user", "alice"}, {"text", "x"}}, &status);
  EXPECT_EQ(status, 503u) << refused.dump();
  EXPECT_EQ(refused.value("error", ""), "federation is not running: Disabled");

  // Clearing the domain leaves the settings not fully set, which the screen says.
  page->click("label.switch span");
  page->type("#domain", "");
  page->execute(
      "document.getElementById('domain').dispatchEvent(new Event('input')); return true;");
  EXPECT_EQ(save_and_wait_for("Could not enable, settings are not fully set", 20s),
            "Could not enable, settings are not fully set");
  EXPECT_NE(page->text("#messages").find("missing: federation.domain"), std::string::npos);

  page->type("#domain", "a.test");
  EXPECT_EQ(save_and_wait_for("Running", 20s), "Running");
  EXPECT_EQ(cli_status(a()), "Running");
  auto info = a().get("/api/v1/rooms.info?room_id=" + room["room_id"].get<std::string>());
  EXPECT_TRUE(info.value("success", false)) << info.dump();
}

}  // namespace
}  // namespace fedrelay::test
