#include "config/errc.hpp"

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

}  // namespace fedrelay::config
