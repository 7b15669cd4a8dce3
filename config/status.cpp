// The status strings and the state a node starts in; the strings are compared by users and
// scripts, so they are written here and nowhere else.
#include "config/status.hpp"

namespace fedrelay::config {

std::string_view status_text(status s) {
  switch (s) {
    case status::not_fully_set:
      return "Could not enable, settings are not fully set";
    case status::booting:
      return "Booting...";
    case status::hub_registering:
      return "[HUB Only] Registering with Hub...";
    case status::hub_failed:
      return "[HUB Only] Disabled, could not register with Hub";
    case status::disabled:
      return "Disabled";
    case status::running:
      return "Running";
  }
  return "Disabled";
}

status initial_status(const settings& s) {
  if (!s.enabled) return status::disabled;
  if (!missing_keys(s).empty()) return status::not_fully_set;
  return status::booting;
}

}  // namespace fedrelay::config
