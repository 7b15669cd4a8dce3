#include "crypto/errc.hpp"

namespace fedrelay::crypto {

std::string to_string(errc code) {
  switch (code) {
    case errc::init_failed:
      return "init_failed";
    case errc::bad_pem:
      return "bad_pem";
    case errc::bad_key:
      return "bad_key";
    case errc::io_failed:
      return "io_failed";
    case errc::bad_permissions:
      return "bad_permissions";
    case errc::open_failed:
      return "open_failed";
    case errc::bad_signature:
      return "bad_signature";
  }
  return "unknown";
}

}  // namespace fedrelay::crypto
