// The federation status state machine's states and their exact strings (DESIGN.md
// section 7): users and scripts compare these strings, so they live only here.
#pragma once

#include <string_view>

#include "config/settings.hpp"

namespace fedrelay::config {

enum class status {
  not_fully_set,    // "Could not enable, settings are not fully set"
  booting,          // "Booting..."
  hub_registering,  // "[HUB Only] Registering with Hub..."
  hub_failed,       // "[HUB Only] Disabled, could not register with Hub"
  disabled,         // "Disabled"
  running,          // "Running"
};

/// The exact status string.
std::string_view status_text(status s);

/// The status a node with these settings starts in: disabled when enabled = false (even
/// with keys missing: the user turned federation off, so nothing is waiting on them),
/// otherwise not_fully_set when missing_keys() is not empty, booting otherwise.
status initial_status(const settings& s);

}  // namespace fedrelay::config
