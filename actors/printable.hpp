// Text that came from outside (a peer's answer, a reason in its receipt), made fit for a
// log line, a status field and a JSON string.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fedrelay::actors {

/// `text` with bytes that are not UTF-8 replaced by U+FFFD, control characters written
/// out (\n, \r, \t, \xNN for the other C0 ones and DEL, \u00NN for C1), so that it cannot
/// start a line of its own in a log nor break a JSON dump; cut at a character boundary to
/// at most `max_bytes` of the text, then "…" when something was left out.
std::string printable_excerpt(std::string_view text, size_t max_bytes);

/// How much of a peer's answer or reason a log line or a status field quotes.
inline constexpr size_t max_quoted_bytes = 1000;

}  // namespace fedrelay::actors
