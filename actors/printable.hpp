// Text that came from outside (a peer's answer, a reason in its receipt), made fit for a
// log line, a status field and a JSON string.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fedrelay::actors {

/// `text` with bytes that are not UTF-8 replaced by U+FFFD (one per byte), control
/// characters written out (\n, \r, \t, \xNN for the other C0 ones and DEL, \u00NN for C1,
/// \uNNNN for the line and paragraph separators and the bidirectional marks), so that it
/// cannot start a line of its own in a log, show other than it reads, nor break a JSON
/// dump. At most `max_bytes` long, written-out characters counted: when the text does not
/// fit, it is cut at a character's end and "…" ends what is kept.
std::string printable_excerpt(std::string_view text, size_t max_bytes);

/// How much of a peer's answer or reason a log line or a status field quotes.
inline constexpr size_t max_quoted_bytes = 1000;

/// "HTTP <status>: <the body's excerpt>", a peer's answer as a failure names it.
std::string answer_excerpt(unsigned status, std::string_view body);

}  // namespace fedrelay::actors
