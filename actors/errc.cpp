#include "actors/errc.hpp"

#include <caf/sec.hpp>

namespace fedrelay::actors {

std::string to_string(errc code) {
  switch (code) {
    case errc::not_found:
      return "not_found";
    case errc::no_srv_record:
      return "no_srv_record";
    case errc::no_key_record:
      return "no_key_record";
    case errc::bad_key_record:
      return "bad_key_record";
    case errc::bad_protocol:
      return "bad_protocol";
    case errc::nxdomain:
      return "nxdomain";
    case errc::resolver_timeout:
      return "resolver_timeout";
    case errc::resolver_failed:
      return "resolver_failed";
    case errc::domain_not_allowed:
      return "domain_not_allowed";
    case errc::rejected:
      return "rejected";
    case errc::unavailable:
      return "unavailable";
    case errc::bad_request:
      return "bad_request";
    case errc::storage_failed:
      return "storage_failed";
    case errc::timed_out:
      return "timed_out";
  }
  return "unknown";
}

bool is_timeout(const caf::error& err) {
  return err == caf::sec::request_timeout || (err.category() == caf::atom("actors") &&
                                              static_cast<errc>(err.code()) == errc::timed_out);
}

}  // namespace fedrelay::actors
