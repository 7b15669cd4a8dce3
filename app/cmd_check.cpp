// `fedrelay check -c FILE [--json]`: every check of app/check.hpp, one line each.
#include <iostream>

#include "app/check.hpp"
#include "app/commands.hpp"

namespace fedrelay::app {

int cmd_check(const std::string& config_path, bool json) {
  std::vector<check_result> results;
  auto s = config::load_settings(config_path);
  if (s) {
    results = run_checks(*s, config_path);
  } else {
    // A file that does not load still gets one result per problem, so --json callers
    // see them too; nothing else can be checked without the settings.
    for (const auto& line : config::error_lines(s.error()))
      results.push_back({"settings", "error", line, "correct that line of " + config_path});
  }
  std::cout << (json ? to_json(results) + "\n" : to_text(results));
  return has_error(results) ? exit_error : exit_ok;
}

}  // namespace fedrelay::app
