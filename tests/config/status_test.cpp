// Tests of the exact status strings and of the status a node starts in.
#include <gtest/gtest.h>

#include "config/settings.hpp"
#include "config/status.hpp"

namespace fedrelay::config {
namespace {

settings complete_settings() {
  settings s;
  s.domain = "a.example";
  s.public_url = "http://127.0.0.1:8443";
  s.storage_dir = "/var/lib/fedrelay";
  s.local_api_token = "t";
  return s;
}

TEST(StatusTest, TextsAreExact) {
  EXPECT_EQ(status_text(status::not_fully_set), "Could not enable, settings are not fully set");
  EXPECT_EQ(status_text(status::booting), "Booting...");
  EXPECT_EQ(status_text(status::hub_registering), "[HUB Only] Registering with Hub...");
  EXPECT_EQ(status_text(status::hub_failed), "[HUB Only] Disabled, could not register with Hub");
  EXPECT_EQ(status_text(status::disabled), "Disabled");
  EXPECT_EQ(status_text(status::running), "Running");
}

TEST(StatusTest, CompleteAndEnabledBoots) {
  EXPECT_EQ(initial_status(complete_settings()), status::booting);
}

TEST(StatusTest, MissingKeysMeanNotFullySet) {
  auto s = complete_settings();
  s.local_api_token.clear();
  EXPECT_EQ(initial_status(s), status::not_fully_set);
  EXPECT_EQ(initial_status(settings{}), status::not_fully_set);
}

TEST(StatusTest, HubWithoutHubUrlIsNotFullySet) {
  auto s = complete_settings();
  s.discovery = discovery_method::hub;
  EXPECT_EQ(initial_status(s), status::not_fully_set);
  s.hub_url = "https://hub.example";
  EXPECT_EQ(initial_status(s), status::booting);
}

TEST(StatusTest, DisabledWinsOverMissingKeys) {
  auto s = complete_settings();
  s.enabled = false;
  EXPECT_EQ(initial_status(s), status::disabled);
  settings empty;
  empty.enabled = false;
  EXPECT_EQ(initial_status(empty), status::disabled);
}

}  // namespace
}  // namespace fedrelay::config
