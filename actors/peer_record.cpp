#include "actors/peer_record.hpp"

namespace fedrelay::actors {

std::string to_string(record_source s) {
  switch (s) {
    case record_source::dns:
      return "dns";
    case record_source::hub:
      return "hub";
    case record_source::static_table:
      return "static";
    case record_source::cache:
      return "cache";
  }
  return "unknown";
}

}  // namespace fedrelay::actors
