// One function per subcommand of the command line (DESIGN.md section 9). Each returns
// the process exit code and prints its errors itself, one clear line each.
#pragma once

#include <cstdint>
#include <string>

namespace fedrelay::app {

/// Exit codes shared by all subcommands.
inline constexpr int exit_ok = 0;
inline constexpr int exit_error = 1;          // bad input, failed operation
inline constexpr int exit_not_fully_set = 2;  // settings are not fully set
inline constexpr int exit_lookup_failed = 3;  // `resolve` found nothing usable
inline constexpr int exit_not_running = 4;    // `status`, `reload`: no node (or Hub) runs
inline constexpr int exit_usage = 64;         // a command line not understood (sysexits' EX_USAGE)
// The settings file does not load, or holds what a node or Hub refuses to start on (another
// domain's data, a TLS key anyone may read): another try would meet it again (EX_CONFIG).
inline constexpr int exit_bad_settings = 78;

int cmd_run(const std::string& config_path);
/// `fedrelay keygen`: the identity, created when absent; `renew` replaces it, keeping the
/// old key in the store as previous; `forget_previous` drops the previous keys. Both open
/// the node's store, so the node must be stopped.
int cmd_keygen(const std::string& config_path, bool renew = false, bool forget_previous = false);
int cmd_status(const std::string& config_path);
int cmd_dns_records(const std::string& config_path);
int cmd_reload(const std::string& config_path);
int cmd_room_create(const std::string& config_path, const std::string& name,
                    const std::string& type, const std::string& owner);
int cmd_room_invite(const std::string& config_path, const std::string& room,
                    const std::string& user, const std::string& by);
int cmd_send(const std::string& config_path, const std::string& room, const std::string& user,
             const std::string& text);
int cmd_tail(const std::string& config_path, uint64_t after, bool follow);
int cmd_demo(bool keep);
int cmd_resolve(const std::string& config_path, const std::string& domain);
/// Checks the node's setup (app/check.hpp); exit 0 only when no check is an error.
int cmd_check(const std::string& config_path, bool json);
/// Runs a Hub from the [hub] section (docs/HUB.md) until SIGINT or SIGTERM.
int cmd_hub(const std::string& config_path);

}  // namespace fedrelay::app
