#include "config/errc.hpp"

#include <caf/message_builder.hpp>

namespace fedrelay::config {

std::string to_string(errc code) {
  switch (code) {
    case errc::invalid:
      return "invalid";
    case errc::parse_failed:
      return "parse_failed";
    case errc::not_fully_set:
      return "not_fully_set";
    case errc::write_failed:
      return "write_failed";
  }
  return "unknown";
}

caf::error make_config_error(errc code, const std::vector<std::string>& problems) {
  return caf::make_error(code, caf::message_builder(problems.begin(), problems.end()).to_message());
}

}  // namespace fedrelay::config
