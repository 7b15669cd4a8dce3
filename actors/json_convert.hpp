// One value of a document simdjson's DOM parser read, made into nlohmann's types the way
// parse_json (json_parse.hpp) does it, for readers that take part of a text from simdjson
// directly (event_reader.cpp). Kept apart from json_parse.hpp so that its includers do not
// all compile simdjson's header. Defined in json_parse.cpp, beside parse_json.
#pragma once

#include <string_view>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "actors/json_parse.hpp"

namespace fedrelay::actors {

/// `element`, of the document simdjson parsed from `text`, as parse_json would have built
/// it, into `out`; false where parse_json would leave `text` to nlohmann's parser, as the
/// two might type a value differently ("-0").
/// More than `max_values` values in `element` give false as well.
bool convert_element(simdjson::dom::element element, std::string_view text, nlohmann::json& out,
                     size_t max_values = max_json_values);

}  // namespace fedrelay::actors
