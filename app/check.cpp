#include "app/check.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "app/check_internal.hpp"
#include "app/runtime.hpp"

namespace fedrelay::app {
namespace check_detail {
namespace {

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

void report::ok(std::string name, std::string message) {
  results_.push_back({std::move(name), "ok", one_line(std::move(message)), {}});
}

void report::warning(std::string name, std::string message, std::string fix) {
  results_.push_back(
      {std::move(name), "warning", one_line(std::move(message)), one_line(std::move(fix))});
}

void report::error(std::string name, std::string message, std::string fix) {
  results_.push_back(
      {std::move(name), "error", one_line(std::move(message)), one_line(std::move(fix))});
}

void report::problem(bool serious, std::string name, std::string message, std::string fix) {
  if (serious)
    error(std::move(name), std::move(message), std::move(fix));
  else
    warning(std::move(name), std::move(message), std::move(fix));
}

std::string context::fix_key_first() const {
  return "create or repair node.key first (see above), then run fedrelay check -c " + config_path +
         " again";
}

std::string mode_text(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777);
  return text;
}

}  // namespace check_detail

std::vector<check_result> run_checks(const config::settings& settings,
                                     const std::string& config_path, bool running_node) {
  using namespace check_detail;
  register_net_error_names();
  report r;
  context c{settings, config_path, running_node, std::nullopt, std::nullopt};
  if (check_settings(c, r)) {
    check_files(c, r);
    check_local_api(c, r);
    check_listen(c, r);
    check_certificate(c, r);
    // Without a usable key the records are still known but for the key's value, which
    // check_dns does not compare then.
    auto key = c.identity ? c.identity->public_key() : crypto::public_key{};
    if (auto expected = actors::records_to_publish(settings, key))
      c.expected = std::move(*expected);
    check_dns(c, r);
    if (settings.discovery == config::discovery_method::hub) check_hub(c, r);
    check_public_url(c, r);
  }
  return r.take();
}

namespace {

/// What to do about a settings file that does not load: a line to correct, unless the
/// file itself cannot be read.
std::string settings_fix(const std::string& config_path) {
  struct stat st {};
  if (::stat(config_path.c_str(), &st) != 0)
    return errno == ENOENT ? "pass the node's settings file with -c (examples/node.toml shows "
                             "every key)"
                           : check_detail::run_as_node_account;
  if (S_ISDIR(st.st_mode)) return "pass the settings file itself with -c, not its directory";
  if (::access(config_path.c_str(), R_OK) != 0) return check_detail::run_as_node_account;
  return "correct that line of " + config_path;
}

}  // namespace

std::vector<check_result> check_file(const std::string& config_path, bool running_node) {
  auto s = config::load_settings(config_path);
  if (s) return run_checks(*s, config_path, running_node);
  std::vector<check_result> results;
  auto fix = settings_fix(config_path);
  for (const auto& line : config::error_lines(s.error()))
    results.push_back({"settings", "error", line, fix});
  return results;
}

bool has_error(const std::vector<check_result>& results) {
  return std::any_of(results.begin(), results.end(),
                     [](const check_result& x) { return x.level == "error"; });
}

std::string to_json(const std::vector<check_result>& results) {
  // Ordered, so a person reading the JSON sees name, level, message, fix in that order.
  auto checks = nlohmann::ordered_json::array();
  for (const auto& x : results)
    checks.push_back(
        {{"name", x.name}, {"level", x.level}, {"message", x.message}, {"fix", x.fix}});
  return nlohmann::ordered_json{{"success", true}, {"ok", !has_error(results)}, {"checks", checks}}
      .dump();
}

std::string to_text(const std::vector<check_result>& results) {
  std::string out;
  for (const auto& x : results) {
    out += x.level;
    out.append(x.level.size() < 8 ? 8 - x.level.size() : 1, ' ');
    out += x.name + ": " + x.message;
    if (!x.fix.empty()) out += " -- fix: " + x.fix;
    out += '\n';
  }
  return out;
}

}  // namespace fedrelay::app
