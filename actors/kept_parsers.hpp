// The simdjson parsers a thread keeps. A parser holds on to buffers of several times the
// largest text it has read, so a text over a size gets a parser of its own that goes when
// its reading is done: one big body does not hold that memory for good.
// - The DOM parser (about 15 bytes a byte) is kept for texts up to a MiB: it reads events
//   and room messages, and a batch of 100 events is about 30 kB.
// - The on-demand parser (about 6 bytes a byte, of which a text touches only what its
//   strings and structure use) is kept for texts up to 5 MiB: it reads transactions, and
//   a busy peer's (about 4 MiB with texts of 4 KiB) each faulted in fresh buffers of 20
//   MiB and more with a parser of their own.
#pragma once

#include <cstddef>

#include <simdjson.h>

namespace fedrelay::actors {

inline constexpr size_t kept_parser_bytes = size_t{1} << 20;
inline constexpr size_t kept_ondemand_parser_bytes = size_t{5} << 20;

/// The DOM parser to read a text of `bytes` with: the one this thread keeps, or `own` for
/// a text over kept_parser_bytes. It is in use until the caller is done with what it read,
/// so nothing in between may read another text with it.
simdjson::dom::parser& dom_parser_for(size_t bytes, simdjson::dom::parser& own);

/// The same for simdjson's on-demand parser, up to kept_ondemand_parser_bytes.
simdjson::ondemand::parser& ondemand_parser_for(size_t bytes, simdjson::ondemand::parser& own);

}  // namespace fedrelay::actors
