// The systemd units in examples/ against the real binary: the commands they run start,
// reload and stop a node and a Hub as the units expect, the exit codes they do not restart
// on are the ones the binary gives for a file that another try would meet again, and
// systemd itself accepts the units where it is installed.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>

#include "tests/app/cli_support.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

/// The settings of one section of a unit file, by name (the last of a name that repeats).
std::map<std::string, std::string> service_settings(const std::string& unit,
                                                    const std::string& section = "[Service]") {
  std::map<std::string, std::string> out;
  std::istringstream in{read_file(std::string{FEDRELAY_SOURCE_DIR} + "/examples/" + unit)};
  bool in_service = false;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      in_service = line == section;
      continue;
    }
    auto eq = line.find('=');
    if (in_service && eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in{text};
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// ExecStart's arguments after the binary, with the settings file it names replaced by
/// `config`; empty when ExecStart does not end in "-c FILE".
std::vector<std::string> start_arguments(const std::map<std::string, std::string>& service,
                                         const std::string& config) {
  auto argv = words(service.count("ExecStart") ? service.at("ExecStart") : "");
  if (argv.size() < 3 || argv[argv.size() - 2] != "-c") return {};
  argv.back() = config;
  return {argv.begin() + 1, argv.end()};
}

/// Seconds from a value such as "90s".
int seconds_of(const std::string& value) {
  return value.empty() ? 0 : std::stoi(value);
}

class ServiceUnitTest : public testing::Test {
 protected:
  temp_dir dir;

  /// Starts the unit's ExecStart with `config`, waits for `ready` in its log, reloads it
  /// with the signal ExecReload sends, waits for `reloaded`, and stops it as systemd does
  /// (SIGTERM, TimeoutStopSec): it must exit 0.
  void start_reload_stop(const std::string& unit, const std::string& config,
                         const std::string& ready, const std::string& reloaded) {
    auto service = service_settings(unit);
    EXPECT_EQ(service["ExecReload"], "/bin/kill -HUP $MAINPID");
    auto args = start_arguments(service, config);
    ASSERT_FALSE(args.empty()) << service["ExecStart"];
    args.insert(args.begin(), FEDRELAY_BINARY);
    auto log = dir / (unit + ".log");
    child_process process{args, log};
    ASSERT_TRUE(wait_until([&] { return read_file(log).find(ready) != std::string::npos; }, 20s))
        << read_file(log);
    ASSERT_EQ(::kill(process.pid(), SIGHUP), 0);
    EXPECT_TRUE(wait_until([&] { return read_file(log).find(reloaded) != std::string::npos; }, 10s))
        << read_file(log);
    auto stop_timeout = seconds_of(service["TimeoutStopSec"]);
    EXPECT_GE(stop_timeout, 30);
    EXPECT_EQ(process.stop(SIGTERM, std::chrono::seconds(stop_timeout)), 0) << read_file(log);
  }
};

TEST_F(ServiceUnitTest, TheNodesUnitStartsReloadsAndStopsANode) {
  auto config = dir / "node.toml";
  write_file(config, node_config("a.example", dir / "data", free_tcp_port(), free_tcp_port()));
  start_reload_stop("fedrelay.service", config, "Running", "reload: nothing changed in the file");
}

TEST_F(ServiceUnitTest, TheHubsUnitStartsReloadsAndStopsAHub) {
  auto config = dir / "hub.toml";
  auto port = std::to_string(free_tcp_port());
  write_file(config, "[hub]\nlisten = \"127.0.0.1:" + port +
                         "\"\npublic_url = \"http://127.0.0.1:" + port +
                         "\"\ndir = \"hub-data\"\nsmtp_url = \"smtp://127.0.0.1:" +
                         std::to_string(free_tcp_port()) + "\"\nmail_from = \"hub@hub.test\"\n");
  start_reload_stop("fedrelay-hub.service", config, "Hub listening",
                    "reload: the Hub serves no TLS of its own");
}

// A file that is not fully set or does not load, or a command line the binary does not take,
// would fail again on every restart: the units do not restart on those exit codes.
TEST_F(ServiceUnitTest, TheUnitsDoNotRestartOnWhatAnotherTryWouldMeetAgain) {
  auto config = dir / "partial.toml";
  write_file(config, "[federation]\ndomain = \"a.example\"\n");
  auto not_fully_set = fedrelay({"run", "-c", config});
  auto wrong_command_line = fedrelay({"run", "--no-such-option"});
  auto broken = dir / "broken.toml";
  write_file(broken, "[federation]\ndomain = 3\n[hub]\nlisten = [\n");
  auto node_broken = fedrelay({"run", "-c", broken});
  auto hub_broken = fedrelay({"hub", "-c", broken});
  for (const char* unit : {"fedrelay.service", "fedrelay-hub.service"}) {
    auto service = service_settings(unit);
    EXPECT_EQ(service["Restart"], "on-failure") << unit;
    auto kept = words(service["RestartPreventExitStatus"]);
    for (int code : {not_fully_set.exit_code, wrong_command_line.exit_code, node_broken.exit_code,
                     hub_broken.exit_code}) {
      EXPECT_NE(code, 0);
      EXPECT_NE(std::find(kept.begin(), kept.end(), std::to_string(code)), kept.end())
          << unit << ": exit code " << code << " is not in RestartPreventExitStatus";
    }
  }
  // Other failures exit 1, passing ones and any a restart would not mend that is not told
  // apart: the retries stop after a few.
  for (const char* unit : {"fedrelay.service", "fedrelay-hub.service"}) {
    auto limits = service_settings(unit, "[Unit]");
    EXPECT_GT(seconds_of(limits["StartLimitIntervalSec"]), 0) << unit;
    EXPECT_GT(seconds_of(limits["StartLimitBurst"]), 0) << unit;
  }
  auto hub_config = dir / "hub.toml";
  write_file(hub_config, "[hub]\nlisten = \"127.0.0.1:1\"\n");
  EXPECT_EQ(fedrelay({"hub", "-c", hub_config}).exit_code, not_fully_set.exit_code);
}

// systemd's own check of each unit, with ExecStart pointing at the binary under test (it
// checks that the command exists). Skipped where systemd is not installed.
TEST_F(ServiceUnitTest, SystemdAcceptsTheUnits) {
  if (!std::filesystem::exists("/usr/bin/systemd-analyze"))
    GTEST_SKIP() << "systemd-analyze is not installed";
  for (const char* unit : {"fedrelay.service", "fedrelay-hub.service"}) {
    auto text = read_file(std::string{FEDRELAY_SOURCE_DIR} + "/examples/" + unit);
    const std::string installed = "/usr/local/bin/fedrelay";
    auto at = text.find("ExecStart=" + installed);
    ASSERT_NE(at, std::string::npos) << unit;
    text.replace(at + 10, installed.size(), FEDRELAY_BINARY);
    auto copy = dir / unit;
    write_file(copy, text);
    auto verdict = run_command({"/usr/bin/systemd-analyze", "verify", copy}, 30s);
    EXPECT_EQ(verdict.exit_code, 0) << unit << ":\n" << verdict.output;
  }
}

}  // namespace
}  // namespace fedrelay::test
