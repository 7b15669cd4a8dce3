// Parsing JSON into nlohmann::json with simdjson: the same document nlohmann's own parser
// builds (its number types included), several times faster on long strings, where
// nlohmann's lexer appends one byte at a time (a fifth of a node's CPU with 4 KiB texts).
#pragma once

#include <string_view>

#include <simdjson.h>
#include <nlohmann/json.hpp>

namespace fedrelay::actors {

/// nlohmann::json::parse(text, nullptr, false): the document, or a discarded value when
/// `text` is not JSON. Text simdjson refuses (deeper than 1024 levels, integers beyond 64
/// bits, ...) is handed to nlohmann's parser, so the result is always nlohmann's.
nlohmann::json parse_json(std::string_view text);

/// `element`, of the document simdjson parsed from `text`, as parse_json would have built
/// it, into `out`; false where parse_json would leave `text` to nlohmann's parser, as the
/// two might type a value differently ("-0").
bool convert_element(simdjson::dom::element element, std::string_view text, nlohmann::json& out);

}  // namespace fedrelay::actors
