#include "config/toml_text.hpp"

#include <sstream>

#include "config/errc.hpp"
#include "config/settings_file.hpp"

namespace fedrelay::config {
namespace {

caf::error parse_failed(const std::string& problem) {
  return make_config_error(errc::parse_failed, {problem});
}

// toml11's own message already shows the offending line; the prefix makes it greppable in
// the same "FILE:LINE:" form as every other problem.
std::string syntax_problem(const std::string& name, const toml::exception& e) {
  std::string what = e.what();
  if (what.rfind("[error] ", 0) == 0) what = what.substr(8);
  while (!what.empty() && what.back() == '\n') what.pop_back();
  return name + ":" + std::to_string(e.location().line()) + ": " + what;
}

}  // namespace

caf::expected<toml::value> parse_toml(const std::string& text, const std::string& name) {
  // toml11 reads each level of an array or inline table with a call of its own: thousands
  // of levels overflow the stack and kill the process, where a running node must only
  // refuse the file.
  if (auto line = line_nested_too_deep(text))
    return parse_failed(name + ":" + std::to_string(line) + ": values nested more than " +
                        std::to_string(max_value_nesting) +
                        " levels deep (arrays and inline tables); no setting needs more than 2");
  if (auto line = line_too_long(text))
    return parse_failed(name + ":" + std::to_string(line) + ": a line longer than " +
                        std::to_string(max_settings_line_bytes >> 10) +
                        " KiB; write a long list one entry per line");
  try {
    std::istringstream in(text);
    return toml::parse(in, name);
  } catch (const toml::exception& e) {
    return parse_failed(syntax_problem(name, e));
  } catch (const std::exception& e) {
    return parse_failed(name + ": " + e.what());
  }
}

}  // namespace fedrelay::config
