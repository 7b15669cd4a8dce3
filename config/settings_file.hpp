// Changes a few keys of the node's TOML file in place, keeping every other byte (comments,
// key order, layout), and replaces the file atomically: what the settings screen saves.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fedrelay::config {

/// One key to set, written "section.key" ("federation.domain"), with its new value.
struct setting_change {
  std::string key;
  std::variant<bool, std::string> value;
};

/// `text` (the file named `name`) with every change applied. A key that is present is
/// replaced where it stands, its trailing comment kept; a missing key becomes the first
/// line of its table, or of a new "[section]" appended when the file has none. The result
/// is not validated here: load it with parse_settings(). Errors: errc::parse_failed when
/// `text` is not TOML; errc::write_failed naming the key when its value spans several lines
/// or its table is written in a form that cannot be edited line by line (inline or dotted).
[[nodiscard]] caf::expected<std::string> edit_settings_text(
    const std::string& text, const std::string& name, const std::vector<setting_change>& changes);

/// `text` as a TOML basic string: quoted, with '"', '\\' and control characters escaped.
/// With `max_shown`, cut after that many characters and marked "..." (for messages).
std::string toml_string(const std::string& text, size_t max_shown = std::string::npos);

/// How deep arrays and inline tables may nest in the settings file: a node's settings
/// nest 2 levels at most, and toml11 needs a stack frame chain per level.
inline constexpr size_t max_value_nesting = 64;

/// The line (from 1) where `text` opens an array or inline table more than `max_nesting`
/// levels deep, or 0 when it does not. Brackets and braces in strings ("...", '...', and
/// their multi-line forms) and comments do not count; table headers count as the one or two
/// levels their brackets open.
size_t line_nested_too_deep(std::string_view text, size_t max_nesting = max_value_nesting);

/// The longest line the settings file may hold. toml11 looks back to the start of the line
/// for every value it reads, so a list of N values on one line takes time that grows with
/// N squared: 20,000 domains in one `deny` line took 17 s to load, at every command and
/// reload. Written one entry per line, the same list loads at once.
inline constexpr size_t max_settings_line_bytes = size_t{64} << 10;

/// The line (from 1) of `text` longer than `max_bytes`, or 0 when none is.
size_t line_too_long(std::string_view text, size_t max_bytes = max_settings_line_bytes);

/// The largest settings file read_text_file() reads. A node's settings take a few KiB; the
/// bound keeps a file filled by mistake from holding up every command (toml11 parses a
/// long one-line list in time that grows with the square of its length).
inline constexpr size_t max_settings_file_bytes = size_t{1} << 20;

/// Reads the whole settings file. Errors: errc::parse_failed with the OS reason when it
/// cannot, or saying why when `path` is not a regular file (a FIFO would block the reader
/// forever) or holds more than max_settings_file_bytes, checked before it is read.
[[nodiscard]] caf::expected<std::string> read_text_file(const std::string& path);

/// Replaces `path` with `text` so that a reader sees the old or the new file, never a
/// part: a new temporary file of a unique name in the same directory with the old file's
/// mode (and owner, when allowed), fsynced, renamed over `path`, then the directory
/// fsynced. When `path` is a symbolic link, the file it points to is replaced and the link
/// stays. Errors: errc::write_failed with the OS reason (`path` is then unchanged).
[[nodiscard]] caf::error replace_file(const std::string& path, const std::string& text);

}  // namespace fedrelay::config
