#include "actors/kept_parsers.hpp"

namespace fedrelay::actors {

simdjson::dom::parser& dom_parser_for(size_t bytes, simdjson::dom::parser& own) {
  thread_local simdjson::dom::parser kept;
  return bytes <= kept_parser_bytes ? kept : own;
}

simdjson::ondemand::parser& ondemand_parser_for(size_t bytes, simdjson::ondemand::parser& own) {
  thread_local simdjson::ondemand::parser kept;
  return bytes <= kept_ondemand_parser_bytes ? kept : own;
}

}  // namespace fedrelay::actors
