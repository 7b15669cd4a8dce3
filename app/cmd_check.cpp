// `fedrelay check -c FILE [--json]`: every check of app/check.hpp, one line each.
#include <iostream>

#include "app/check.hpp"
#include "app/commands.hpp"

namespace fedrelay::app {

int cmd_check(const std::string& config_path, bool json) {
  // A file that does not load still gets one result per problem, so --json callers see
  // them too.
  auto results = check_file(config_path);
  std::cout << (json ? to_json(results) + "\n" : to_text(results));
  return has_error(results) ? exit_error : exit_ok;
}

}  // namespace fedrelay::app
