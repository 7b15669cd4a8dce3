// `fedrelay check`: every way a node's setup can be wrong, one result per check with the
// exact fix (docs/OPERATIONS.md lists them). Also used by the settings screen.
#pragma once

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace fedrelay::app {

struct check_result {
  std::string name;     // what was checked: "settings", "node.key", "dns.srv", ...
  std::string level;    // "ok" | "warning" | "error"
  std::string message;  // what was found, one line
  std::string fix;      // the exact fix, one line; "" when ok
};

/// Runs every check: the settings, the data directory and key files, the listen
/// addresses, the DNS records (asked of dns.resolver), the Hub's record (discovery = hub),
/// a signed self-check through public_url, and the TLS certificate. Blocking (DNS, HTTP,
/// each bounded by dns.timeout_ms or 10 s): call it off the io threads.
/// `running_node`: called from inside a running node, whose own listen ports are then
/// reported in use by this node (ok). From the command line, a port held while a node
/// runs on storage.dir (per its status file) is reported the same way.
std::vector<check_result> run_checks(const config::settings& settings,
                                     const std::string& config_path, bool running_node = false);

/// run_checks() on the file as it is on disk; a file that does not load gives one error
/// result per problem (the lines `fedrelay run` prints), since nothing else can be checked.
std::vector<check_result> check_file(const std::string& config_path, bool running_node = false);

/// {"success":true,"ok":bool,"checks":[{"name","level","message","fix"},...]}; "ok" is
/// true when no check is an error.
std::string to_json(const std::vector<check_result>& results);

/// One line per check: "LEVEL   NAME: MESSAGE" and, unless ok, " -- fix: FIX".
std::string to_text(const std::vector<check_result>& results);

/// Whether any result is an error.
bool has_error(const std::vector<check_result>& results);

}  // namespace fedrelay::app
