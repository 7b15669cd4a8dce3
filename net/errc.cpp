#include "net/errc.hpp"

namespace fedrelay::net {

std::string to_string(errc code) {
  switch (code) {
    case errc::connect_failed:
      return "connect_failed";
    case errc::timeout:
      return "timeout";
    case errc::bad_response:
      return "bad_response";
    case errc::bad_url:
      return "bad_url";
    case errc::bind_failed:
      return "bind_failed";
    case errc::http_status:
      return "http_status";
    case errc::tls_failed:
      return "tls_failed";
  }
  return "unknown";
}

}  // namespace fedrelay::net
