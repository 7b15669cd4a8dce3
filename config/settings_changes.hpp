// Which keys differ between two loads of a node's settings: what a reload reports it
// cannot apply while the node runs.
#pragma once

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace fedrelay::config {

/// The keys whose values differ between `before` and `after`, as written in the file
/// ("peers.static", "transport.window"), in file order. A key left out of one file and
/// set to its default in the other does not count. The tables of [[peers.static]] count
/// as one key.
std::vector<std::string> changed_keys(const settings& before, const settings& after);

/// The keys changed_keys compares, in its order: node_file_keys(), which a test holds.
std::vector<std::string> compared_keys();

}  // namespace fedrelay::config
