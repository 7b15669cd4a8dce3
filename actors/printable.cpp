#include "actors/printable.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

namespace fedrelay::actors {
namespace {

/// The length of the well-formed UTF-8 sequence at `s[i]` (RFC 3629: no overlong forms,
/// no surrogates, nothing past U+10FFFF), or 0 when there is none.
size_t sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  auto continuation = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  uint8_t b = byte(i);
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    if (!continuation(i + 1) || !continuation(i + 2)) return 0;
    uint8_t c = byte(i + 1);
    if ((b == 0xE0 && c < 0xA0) || (b == 0xED && c > 0x9F)) return 0;
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    uint8_t c = byte(i + 1);
    if ((b == 0xF0 && c < 0x90) || (b == 0xF4 && c > 0x8F)) return 0;
    return 4;
  }
  return 0;
}

/// What stands for the character at `s[i]` of length `n`.
std::string written_out(std::string_view s, size_t i, size_t n) {
  if (n == 0) return "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no character
  auto b = static_cast<uint8_t>(s[i]);
  char buffer[8];
  if (n == 1 && (b < 0x20 || b == 0x7F)) {
    if (b == '\n') return "\\n";
    if (b == '\r') return "\\r";
    if (b == '\t') return "\\t";
    std::snprintf(buffer, sizeof buffer, "\\x%02X", b);
    return buffer;
  }
  if (n == 2 && b == 0xC2 && static_cast<uint8_t>(s[i + 1]) < 0xA0) {  // C1: U+0080-U+009F
    std::snprintf(buffer, sizeof buffer, "\\u%04X", static_cast<uint8_t>(s[i + 1]));
    return buffer;
  }
  if (n == 3) {
    // Line and paragraph separators, and the marks that turn text around: a line that
    // shows other than it reads.
    unsigned c = (b & 0x0Fu) << 12 | (static_cast<uint8_t>(s[i + 1]) & 0x3Fu) << 6 |
                 (static_cast<uint8_t>(s[i + 2]) & 0x3Fu);
    if (c == 0x200E || c == 0x200F || (c >= 0x2028 && c <= 0x202E) ||
        (c >= 0x2066 && c <= 0x2069)) {
      std::snprintf(buffer, sizeof buffer, "\\u%04X", c);
      return buffer;
    }
  }
  return std::string{s.substr(i, n)};
}

}  // namespace

std::string printable_excerpt(std::string_view text, size_t max_bytes) {
  constexpr std::string_view more = "\xE2\x80\xA6";  // …
  std::string out;
  size_t with_more = 0;  // the longest `out` (at a character's end) that "…" still fits after
  size_t i = 0;
  while (i < text.size()) {
    auto n = sequence_length(text, i);
    auto piece = written_out(text, i, n);
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    if (out.size() + more.size() <= max_bytes) with_more = out.size();
    i += n == 0 ? 1 : n;
  }
  if (i < text.size()) {
    out.resize(with_more);
    if (more.size() <= max_bytes) out += more;
  }
  return out;
}

std::string answer_excerpt(unsigned status, std::string_view body) {
  return "HTTP " + std::to_string(status) + ": " + printable_excerpt(body, max_quoted_bytes);
}

}  // namespace fedrelay::actors
