// The simdjson parsers a thread keeps. A parser holds on to buffers of several times the
// largest text it has read (the DOM parser about 15 bytes a byte), so each thread keeps
// one of each kind for texts up to a MiB (a batch of 100 events is about 30 kB), and a
// larger text gets a parser of its own that goes when its reading is done: one big body
// does not hold that memory for good.
#pragma once

#include <cstddef>

#include <simdjson.h>

namespace fedrelay::actors {

inline constexpr size_t kept_parser_bytes = size_t{1} << 20;

/// The DOM parser to read a text of `bytes` with: the one this thread keeps, or `own` for
/// a text over kept_parser_bytes. It is in use until the caller is done with what it read,
/// so nothing in between may read another text with it.
simdjson::dom::parser& dom_parser_for(size_t bytes, simdjson::dom::parser& own);

/// The same for simdjson's on-demand parser.
simdjson::ondemand::parser& ondemand_parser_for(size_t bytes, simdjson::ondemand::parser& own);

}  // namespace fedrelay::actors
