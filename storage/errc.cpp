#include "storage/errc.hpp"

namespace fedrelay::storage {

std::string to_string(errc code) {
  switch (code) {
    case errc::locked:
      return "locked";
    case errc::open_failed:
      return "open_failed";
    case errc::read_failed:
      return "read_failed";
    case errc::write_failed:
      return "write_failed";
    case errc::corrupted:
      return "corrupted";
    case errc::bad_batch:
      return "bad_batch";
    case errc::no_space:
      return "no_space";
  }
  return "unknown";
}

bool is_no_space(const caf::error& err) {
  return err.category() == caf::atom("storage") && static_cast<errc>(err.code()) == errc::no_space;
}

}  // namespace fedrelay::storage
