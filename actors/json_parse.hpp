// Parsing JSON into nlohmann::json with simdjson: the same document nlohmann's own parser
// builds (its number types included), several times faster on long strings, where
// nlohmann's lexer appends one byte at a time (a fifth of a node's CPU with 4 KiB texts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fedrelay::actors {

/// Objects and arrays nested deeper than this are refused by parse_json (about where
/// simdjson's parsers stop). nlohmann parses any depth without recursion, but copies and
/// writes a value recursively: a document of a million levels, a megabyte of brackets from
/// a peer or a socket, would overflow the stack of whatever copied or wrote it.
inline constexpr size_t max_json_depth = 1024;

/// Values (objects, arrays, strings, numbers, literals) in one document parse_json takes,
/// at most. nlohmann's value of an empty object or array takes some 60 bytes for the 2 or
/// 3 of its text: 16 MB of `[{},{},...]` from a peer's answer made a GB. Far over what a
/// call, an answer or an event holds (a batch of 1000 messages is some 5000).
inline constexpr size_t max_json_values = 100'000;
/// The bound for what a peer sends that may be as large as a request: a room's state (a
/// value per member) or a catch-up answer (some 15 values an event), up to 16 MiB.
inline constexpr size_t max_room_json_values = size_t{1} << 21;

/// Whether no object or array in `text` is nested deeper than `limit` (strings skipped).
/// Counts brackets only: for text that may not be JSON at all, before parsing it.
bool nesting_within(std::string_view text, size_t limit);

/// Whether `text` holds at most `limit` values, counted from above by its brackets and
/// commas outside strings: for text that may not be JSON at all, before parsing it.
bool values_within(std::string_view text, size_t limit);

/// nlohmann::json::parse(text, nullptr, false): the document, or a discarded value when
/// `text` is not JSON, is nested deeper than max_json_depth, or holds more values than
/// `max_values`. Text simdjson refuses (integers beyond 64 bits, ...) is handed to
/// nlohmann's parser, so the result is always nlohmann's. Every text from outside the node
/// is parsed with this.
nlohmann::json parse_json(std::string_view text, size_t max_values = max_json_values);

/// The first member name that appears twice in `text`'s outermost object, which
/// parse_json gives the last value of; nullopt when there is none or `text` is no JSON
/// object. For bodies whose every member is an instruction (the settings screen's).
std::optional<std::string> repeated_member(std::string_view text);

// Members of a document from outside the node, read without exceptions. nlohmann's
// value() throws when the member holds another type ({"success":"yes"}), and in an
// actor's handler that ends the actor, in a plain thread the process.

/// `key`'s boolean, or `fallback` when `doc` is no object or has no boolean there.
bool bool_member(const nlohmann::json& doc, std::string_view key, bool fallback);
/// `key`'s string, or `fallback` when `doc` is no object or has no string there.
std::string string_member(const nlohmann::json& doc, std::string_view key,
                          std::string fallback = {});
/// `key`'s integer when it is one from 0 up, else nullopt.
std::optional<uint64_t> unsigned_member(const nlohmann::json& doc, std::string_view key);

}  // namespace fedrelay::actors
