// Edits the settings file as text, guided by toml11's source locations, so that a change
// made on the screen touches only the bytes of the values it changes: toml11 would lose
// comments and key order if it wrote the whole file back.
#include "config/settings_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <toml.hpp>

#include "config/errc.hpp"
#include "config/toml_text.hpp"

namespace fedrelay::config {
namespace {

// One replacement in the original text: `length` bytes at `offset` become `text`.
struct edit {
  size_t offset;
  size_t length;
  std::string text;
};

std::string toml_value(const std::variant<bool, std::string>& value) {
  if (auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  return toml_string(std::get<std::string>(value));
}

// Byte offsets of the start of each line (index 0 is line 1), plus one past the end.
std::vector<size_t> line_starts(const std::string& text) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') starts.push_back(i + 1);
  if (starts.back() != text.size()) starts.push_back(text.size());
  return starts;
}

caf::error cannot_edit(const std::string& name, const std::string& key, const std::string& why) {
  return caf::make_error(errc::write_failed,
                         name + ": " + key + ": " + why + "; change it in the file by hand");
}

caf::error os_error(const std::string& what, const std::string& path) {
  return caf::make_error(errc::write_failed, what + " " + path + ": " + std::strerror(errno));
}

// Replaces `length` bytes at `column` of `line` (which starts at `offset`) by `value`; a
// comment after the value keeps its column when the spaces before it allow.
edit keep_comment_column(const std::string& line, size_t offset, size_t column, size_t length,
                         std::string value) {
  size_t end = column + length;
  size_t comment = line.find_first_not_of(" ", end);
  if (comment == std::string::npos || line[comment] != '#' || comment == end)
    return {offset + column, length, std::move(value)};
  size_t width = comment - column;  // the value and the spaces before the comment
  size_t spaces = width > value.size() ? width - value.size() : 1;
  return {offset + column, width, value + std::string(spaces, ' ')};
}

// The last line of `table`'s keys, when that key's value sits on one line; else `header`.
size_t last_line_of(const toml::value& table, size_t header, size_t line_count) {
  size_t last = header;
  bool one_line = true;
  for (const auto& [key, value] : table.as_table()) {
    auto where = value.location();
    // Sub-tables and [[arrays of tables]] may be written further down, under headers
    // of their own.
    bool elsewhere = value.is_table() || (value.is_array() && !value.as_array().empty() &&
                                          value.as_array().front().is_table());
    if (elsewhere || where.line() <= last || where.line() >= line_count) continue;
    last = where.line();
    one_line = where.column() - 1 + where.region() <= where.line_str().size();
  }
  return one_line ? last : header;
}

// Where the string that starts at text[i] (a quote) ends: one past its closing quote, or
// the end of the line for an unclosed one-line string (toml11 then names the mistake).
// Lines inside a multi-line string are counted into `line`.
size_t skip_string(std::string_view text, size_t i, size_t& line) {
  const char quote = text[i];
  const bool escapes = quote == '"';
  const bool multi_line = text.compare(i, 3, std::string(3, quote)) == 0;
  i += multi_line ? 3 : 1;
  for (; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '\n') {
      if (!multi_line) return i;
      ++line;
    } else if (escapes && ch == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
      ++i;  // an escaped quote does not end the string; a line break is counted above
    } else if (ch == quote && !multi_line) {
      return i + 1;
    } else if (ch == quote && text.compare(i, 3, std::string(3, quote)) == 0) {
      // Up to two more quotes right before the closing three belong to the string.
      size_t end = i + 3;
      for (int extra = 0; extra < 2 && end < text.size() && text[end] == quote; ++extra) ++end;
      return end;
    }
  }
  return i;
}

}  // namespace

size_t line_nested_too_deep(std::string_view text, size_t max_nesting) {
  size_t line = 1;
  size_t depth = 0;
  for (size_t i = 0; i < text.size();) {
    char ch = text[i];
    if (ch == '"' || ch == '\'') {
      i = skip_string(text, i, line);
      continue;
    }
    if (ch == '#') {
      i = std::min(text.find('\n', i), text.size());
      continue;
    }
    if (ch == '\n') ++line;
    if (ch == '[' || ch == '{') {
      if (++depth > max_nesting) return line;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    }
    ++i;
  }
  return 0;
}

size_t line_too_long(std::string_view text, size_t max_bytes) {
  size_t line = 1;
  for (size_t start = 0; start < text.size(); ++line) {
    auto end = std::min(text.find('\n', start), text.size());
    if (end - start > max_bytes) return line;
    start = end + 1;
  }
  return 0;
}

caf::expected<std::string> edit_settings_text(const std::string& text, const std::string& name,
                                              const std::vector<setting_change>& changes) {
  auto parsed = parse_toml(text, name);
  if (!parsed) return parsed.error();
  const toml::value& root = *parsed;
  auto starts = line_starts(text);
  std::vector<edit> edits;
  std::string appended;  // new tables, after everything else
  for (const auto& change : changes) {
    auto dot = change.key.find('.');
    if (dot == std::string::npos) return cannot_edit(name, change.key, "not a section.key name");
    auto section = change.key.substr(0, dot);
    auto key = change.key.substr(dot + 1);
    auto line = key + " = " + toml_value(change.value);
    if (!root.contains(section)) {
      appended += "\n[" + section + "]\n" + line + "\n";
      continue;
    }
    const auto& table = root.at(section);
    if (!table.is_table()) return cannot_edit(name, change.key, "[" + section + "] is not a table");
    if (table.contains(key)) {
      auto where = table.at(key).location();
      size_t column = where.column() - 1;
      if (where.line() < 1 || where.line() >= starts.size() ||
          column + where.region() > where.line_str().size())
        return cannot_edit(name, change.key, "its value spans several lines");
      edits.push_back(keep_comment_column(where.line_str(), starts[where.line() - 1], column,
                                          where.region(), toml_value(change.value)));
      continue;
    }
    // A missing key goes below the table's last key, or its "[section]" header line.
    auto header = table.location();
    auto header_text = header.line_str();
    auto first = header_text.find_first_not_of(" \t");
    if (header.line() < 1 || header.line() >= starts.size() || first == std::string::npos ||
        header_text.compare(first, 1, "[") != 0 || header_text.compare(first, 2, "[[") == 0)
      return cannot_edit(name, change.key,
                         "[" + section + "] is written inline or with dotted keys");
    edits.push_back({starts[last_line_of(table, header.line(), starts.size())], 0, line + "\n"});
  }
  // Apply from the end so earlier offsets stay valid; insertions at one offset keep their
  // order because the sort is stable and they are applied in reverse.
  std::stable_sort(edits.begin(), edits.end(),
                   [](const edit& a, const edit& b) { return a.offset < b.offset; });
  std::string out = text;
  for (auto i = edits.rbegin(); i != edits.rend(); ++i) {
    // An insertion after a last line without a newline needs one first.
    bool needs_newline =
        i->length == 0 && i->offset == out.size() && !out.empty() && out.back() != '\n';
    out.replace(i->offset, i->length, (needs_newline ? "\n" : "") + i->text);
  }
  if (!appended.empty() && !out.empty() && out.back() != '\n') out += '\n';
  return out + appended;
}

std::string toml_string(const std::string& text, size_t max_shown) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == max_shown) {
      out += "...";
      break;
    }
    char ch = text[i];
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

namespace {

caf::error unreadable(const std::string& path, const std::string& why) {
  return caf::make_error(errc::parse_failed, path + ": cannot read: " + why);
}

// What a path that is not a regular file is, for the message.
std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "it is a directory";
  if (S_ISFIFO(mode)) return "it is a FIFO, not a regular file";
  if (S_ISSOCK(mode)) return "it is a socket, not a regular file";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "it is a device, not a regular file";
  return "it is not a regular file";
}

std::string too_large(const std::string& path) {
  return path + ": cannot read: larger than " + std::to_string(max_settings_file_bytes >> 20) +
         " MiB, the most a settings file may hold (a node's settings take a few KiB)";
}

}  // namespace

caf::expected<std::string> read_text_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return unreadable(path, std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_at_return{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return unreadable(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return unreadable(path, kind_of(st.st_mode));
  if (st.st_size > static_cast<off_t>(max_settings_file_bytes))
    return caf::make_error(errc::parse_failed, too_large(path));
  std::string text;
  char chunk[1 << 16];
  for (;;) {
    auto n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unreadable(path, std::strerror(errno));
    if (n == 0) return text;
    text.append(chunk, static_cast<size_t>(n));
    // A file that grew since fstat is read no further than the cap.
    if (text.size() > max_settings_file_bytes)
      return caf::make_error(errc::parse_failed, too_large(path));
  }
}

caf::error replace_file(const std::string& link_or_path, const std::string& text) {
  namespace fs = std::filesystem;
  // A settings file kept elsewhere and linked to is replaced where it is, and the link
  // stays a link.
  std::error_code ec;
  auto target = fs::is_symlink(link_or_path, ec) ? fs::canonical(link_or_path, ec) : fs::path{};
  const std::string path = ec || target.empty() ? link_or_path : target.string();
  struct stat old_stat {};
  bool existed = ::stat(path.c_str(), &old_stat) == 0;
  mode_t mode = existed ? (old_stat.st_mode & 07777) : 0600;
  auto dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  // A name of its own, created afresh (mkostemp opens with O_EXCL): a name fixed in
  // advance could be a link someone else placed there, and the write would follow it.
  std::string tmp = (dir / ("." + fs::path(path).filename().string() + ".XXXXXX")).string();
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return os_error("cannot create", tmp);
  // mkostemp creates it 0600; the file keeps exactly the old mode, and the old owner when
  // this process may give it (root editing a file of the node's user).
  bool ok = ::fchmod(fd, mode) == 0;
  if (ok && existed && (old_stat.st_uid != ::geteuid() || old_stat.st_gid != ::getegid()) &&
      ::fchown(fd, old_stat.st_uid, old_stat.st_gid) != 0 &&
      ::fchown(fd, static_cast<uid_t>(-1), old_stat.st_gid) != 0) {
    // Neither the owner nor the group could be kept (only root may give a file away, and
    // a member of the group may keep the group): the file is this process's, as a file it
    // creates would be.
  }
  for (size_t done = 0; ok && done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    errno = saved;
    return os_error("cannot write", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    return os_error("cannot replace", path);
  }
  // The rename is durable once the directory entry is.
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return caf::none;
}

}  // namespace fedrelay::config
