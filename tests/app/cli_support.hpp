// Helpers for driving the real fedrelay binary from tests: config files in a temp dir,
// running a subcommand, starting a node.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::test {

/// Runs `fedrelay ARGS...` to completion (30 s bound).
inline command_result fedrelay(std::vector<std::string> args) {
  args.insert(args.begin(), FEDRELAY_BINARY);
  return run_command(args, std::chrono::seconds(30));
}

/// The line of check `name` ("dns.srv") in what `fedrelay check` printed, or "". Lines
/// are "LEVEL   NAME: ...", the level padded to 8 columns.
inline std::string check_line(const std::string& output, const std::string& name) {
  std::istringstream in{output};
  for (std::string line; std::getline(in, line);)
    if (line.size() > 8 && line.compare(8, name.size() + 2, name + ": ") == 0) return line;
  return {};
}

/// A minimal complete config for `domain` with its data under `dir`, plus `extra` TOML
/// appended (more sections).
inline std::string node_config(const std::string& domain, const std::string& dir,
                               uint16_t federation_port, uint16_t local_port,
                               const std::string& extra = {}) {
  return "[federation]\ndomain = \"" + domain +
         "\"\ndiscovery = \"dns\"\npublic_url = \"http://127.0.0.1:" +
         std::to_string(federation_port) +
         "\"\n[listen]\nfederation = \"127.0.0.1:" + std::to_string(federation_port) +
         "\"\nlocal = \"127.0.0.1:" + std::to_string(local_port) + "\"\n[storage]\ndir = \"" + dir +
         "\"\n[local_api]\ntoken = \"secret\"\n" + extra;
}

}  // namespace fedrelay::test
