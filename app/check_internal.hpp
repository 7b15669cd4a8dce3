// What the parts of `fedrelay check` share (app/check_*.cpp); not for other callers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "actors/published_records.hpp"
#include "app/check.hpp"
#include "config/settings.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::app::check_detail {

/// Collects results; messages and fixes are kept to one line.
class report {
 public:
  void ok(std::string name, std::string message);
  void warning(std::string name, std::string message, std::string fix);
  void error(std::string name, std::string message, std::string fix);
  /// error() when `serious`, else warning().
  void problem(bool serious, std::string name, std::string message, std::string fix);
  std::vector<check_result> take() { return std::move(results_); }

 private:
  std::vector<check_result> results_;
};

/// What every check may look at.
struct context {
  const config::settings& s;
  std::string config_path;
  bool running_node = false;
  std::optional<crypto::identity> identity;           // loaded from node.key, if usable
  std::optional<actors::published_records> expected;  // what dns-records prints
  std::string fix_key_first() const;                  // the fix for a check that needs the key
};

/// Returns false when the settings are too incomplete for the checks that follow.
bool check_settings(context& c, report& r);
/// storage.dir, node.key (loads the identity into `c`), tls.key.
void check_files(context& c, report& r);
void check_listen(const context& c, report& r);
/// What guards the local API: its token, the file that holds it, where it listens.
void check_local_api(const context& c, report& r);
void check_certificate(const context& c, report& r);
void check_dns(const context& c, report& r);
void check_hub(const context& c, report& r);
void check_public_url(const context& c, report& r);

/// "chmod 600 PATH" style mode text: "0644".
std::string mode_text(unsigned mode);

/// The local API token examples/node.toml carries, which a node must not keep.
inline constexpr const char* example_token = "change-me";

/// The fix when this account may not read a file the node reads.
inline constexpr const char* run_as_node_account =
    "run fedrelay check as the account that runs the node";

}  // namespace fedrelay::app::check_detail
