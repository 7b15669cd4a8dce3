// app::run_checks as the settings screen calls it, inside a running node: the node's own
// ports are in use by it, and the results come back as values, text and JSON.
#include <gtest/gtest.h>

#include <optional>

#include <nlohmann/json.hpp>

#include "app/check.hpp"
#include "tests/app/cli_support.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

const app::check_result* find(const std::vector<app::check_result>& results,
                              const std::string& name) {
  for (const auto& r : results)
    if (r.name == name) return &r;
  return nullptr;
}

TEST(CheckApiTest, PortsHeldByTheRunningNodeAreOkAndOtherwiseErrors) {
  temp_dir dir;
  auto path = dir / "node.toml";
  uint16_t local = free_tcp_port();
  write_file(path, node_config("a.test", dir / "data", free_tcp_port(), local,
                               "[dns]\nresolver = \"127.0.0.1:" + std::to_string(free_udp_port()) +
                                   "\"\ntimeout_ms = 200\n"));
  ASSERT_EQ(fedrelay({"keygen", "-c", path}).exit_code, 0);
  auto settings = config::load_settings(path);
  ASSERT_TRUE(settings);
  std::optional<listening_socket> taken{std::in_place, local};
  ASSERT_TRUE(taken->listening());
  auto inside = app::run_checks(*settings, path, true);
  auto outside = app::run_checks(*settings, path, false);
  taken.reset();
  const auto* in = find(inside, "listen.local");
  const auto* out = find(outside, "listen.local");
  ASSERT_TRUE(in && out);
  EXPECT_EQ(in->level, "ok");
  EXPECT_NE(in->message.find("in use by this node"), std::string::npos) << in->message;
  EXPECT_TRUE(in->fix.empty());
  EXPECT_EQ(out->level, "error");
  EXPECT_FALSE(out->fix.empty());
  // No DNS server answers there: an error that says which server and how to try it.
  const auto* dns = find(inside, "dns");
  ASSERT_TRUE(dns);
  EXPECT_EQ(dns->level, "error");
  EXPECT_NE(dns->fix.find("dig @127.0.0.1"), std::string::npos) << dns->fix;

  EXPECT_TRUE(app::has_error(inside));
  auto text = app::to_text(inside);
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), inside.size());
  auto j = nlohmann::json::parse(app::to_json(inside));
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["checks"].size(), inside.size());
  EXPECT_EQ(j["checks"][0]["name"], inside[0].name);
}

}  // namespace
}  // namespace fedrelay::test
