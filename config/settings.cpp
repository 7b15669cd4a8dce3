// Reads and validates the node's TOML settings in one pass over the parsed tree, collecting
// every problem with its file and line so a user can fix a whole file in one go.
#include "config/settings.hpp"

#include "config/peer_filter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include <toml.hpp>

#include "config/errc.hpp"
#include "config/settings_file.hpp"
#include "config/toml_text.hpp"

namespace fedrelay::config {
namespace {

namespace fs = std::filesystem;

using key_list = std::vector<const char*>;

// The known tables and their keys: unknown keys are problems, and these lists are what
// "did you mean" suggestions are drawn from.
struct section_schema {
  const char* name;
  key_list keys;
};

const section_schema schema[] = {
    {"federation", {"enabled", "domain", "discovery", "hub_url", "public_url"}},
    {"listen", {"federation", "local"}},
    {"storage", {"dir", "sync", "sync_period_ms", "receipts_kept_hours", "marks_kept_hours"}},
    {"dns", {"resolver", "timeout_ms", "negative_ttl_s"}},
    {"local_api", {"token"}},
    {"tls", {"cert", "key", "ca"}},
    {"peers", {"allow", "deny", "static", "addresses"}},
    {"transport",
     {"batch_max_events", "batch_max_bytes", "window", "backoff_initial_ms", "backoff_max_ms",
      "request_timeout_ms"}},
    {"limits",
     {"max_body_bytes", "max_content_bytes", "max_connections", "read_timeout_s", "clock_skew_s"}},
    {"files",
     {"max_bytes", "allowed_types", "fetch_chunk_bytes", "fetch_max_bytes_per_s",
      "fetch_attempts"}},
    {"hub",
     {"listen", "public_url", "dir", "smtp_url", "mail_from", "registrations_per_minute",
      "lookups_per_minute", "mails_per_domain_per_day", "mails_per_day",
      "mails_per_client_per_day"}},
};

const key_list static_peer_keys = {"domain", "url", "public_key"};

const char* const pem_begin = "-----BEGIN PUBLIC KEY-----";
const char* const pem_end = "-----END PUBLIC KEY-----";

// --- text helpers -------------------------------------------------------------------------

bool is_lower_alnum(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

bool is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

bool is_alnum(char ch) {
  return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

std::string lowercase(std::string text) {
  for (auto& ch : text)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return text;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string trim(const std::string& text) {
  const char* space = " \t\r\n";
  auto first = text.find_first_not_of(space);
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

bool has_space_or_control(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f; });
}

// RFC 6838 restricted-name characters: what a type or subtype of a MIME type may hold.
bool is_mime_char(char ch) {
  return is_alnum(ch) || std::string_view{"!#$&-^_.+"}.find(ch) != std::string_view::npos;
}

// Why `text` (lower case) is not "type/subtype", "type/*" or "*/*"; empty when it is one.
std::string mime_pattern_problem(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return "has no '/'";
  auto type = text.substr(0, slash), sub = text.substr(slash + 1);
  auto token = [](const std::string& t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), is_mime_char);
  };
  if (type == "*") return sub == "*" ? "" : "may only be \"*/*\" when the type is '*'";
  if (!token(type)) return "has a bad type before '/'";
  if (sub != "*" && !token(sub)) return "has a bad subtype after '/'";
  return {};
}

// A string as the user would write it in TOML, cut short so a pasted PEM block does not
// flood the message.
std::string quote(const std::string& text) {
  return toml_string(text, 60);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Whether `word` could be an abbreviation of `full`: its letters appear in `full` in order
// ("pubkey" for "public_key").
bool abbreviates(const std::string& word, const std::string& full) {
  size_t i = 0;
  for (char ch : full)
    if (i < word.size() && word[i] == ch) ++i;
  return word.size() >= 3 && i == word.size() && word.size() < full.size();
}

// The closest of `candidates` to `word` when it looks like a typo or an abbreviation.
template <class Names>
const char* closest(const std::string& word, const Names& candidates) {
  const char* best = nullptr;
  size_t best_distance = 3;  // more than two edits away is a different word, not a typo
  for (const char* candidate : candidates) {
    size_t d = edit_distance(word, candidate);
    if (d < best_distance && d < word.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  if (best == nullptr)
    for (const char* candidate : candidates)
      if (abbreviates(word, candidate)) return candidate;
  return best;
}

std::string join(const key_list& items) {
  std::string out;
  for (const char* item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// --- value checks (each returns why the value is bad, or "" when it is fine) --------------

// DNS names compare case-insensitively, so `name` is lowercased first: one spelling keeps
// lookups, the cache and allow/deny matching simple.
std::string domain_problem(std::string& name) {
  name = lowercase(name);
  if (name.empty()) return "is empty";
  if (name.size() > 253) return "is longer than 253 characters";
  size_t start = 0;
  for (;;) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    std::string label = name.substr(start, end - start);
    if (label.empty()) return "has an empty label";
    if (label.size() > 63) return "has a label longer than 63 characters";
    for (char ch : label)
      if (!is_lower_alnum(ch) && ch != '-') return "contains " + quote(std::string(1, ch));
    if (label.front() == '-' || label.back() == '-')
      return "has a label that starts or ends with '-'";
    if (end == name.size()) return {};
    start = end + 1;
  }
}

bool is_ipv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

bool is_ipv4(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

std::string port_problem(const std::string& text, uint16_t& port) {
  if (text.empty()) return "has no port";
  if (!std::all_of(text.begin(), text.end(), is_digit)) return "has a port that is not a number";
  if (text.size() > 5 || std::stoul(text) > 65535) return "has a port over 65535";
  port = static_cast<uint16_t>(std::stoul(text));
  return {};
}

// Splits "host:port" or "[v6]:port" into `out`.
std::string endpoint_problem(const std::string& text, endpoint& out) {
  if (text.empty()) return "is empty";
  if (has_space_or_control(text)) return "contains whitespace";
  std::string host;
  std::string port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return "has a '[' without ']'";
    host = text.substr(1, close - 1);
    if (!is_ipv6(host)) return "has " + quote(host) + " in brackets, which is not an IPv6 address";
    std::string rest = text.substr(close + 1);
    if (rest.empty()) return "has no port";
    if (rest.front() != ':') return "has text after ']' that is not \":port\"";
    port = rest.substr(1);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return "has no port";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return "has an IPv6 address without brackets";
    if (host.empty()) return "has no host";
    bool host_chars_ok = std::all_of(host.begin(), host.end(), [](char ch) {
      return is_alnum(ch) || ch == '-' || ch == '.' || ch == '_';
    });
    if (!host_chars_ok) return "has an invalid host " + quote(host);
  }
  uint16_t number = 0;
  if (auto why = port_problem(port, number); !why.empty()) return why;
  out.host = host;
  out.port = number;
  return {};
}

/// The longest URL a setting takes: far above any real one, far below what would make a
/// record, a message or the settings screen unwieldy.
constexpr size_t max_url_bytes = 2048;

struct url_rules {
  key_list schemes;
  bool path_allowed;      // a base URL below a path prefix (hub_url)
  bool userinfo_allowed;  // credentials in the URL (smtp_url)
};

// Checks a URL; on success strips trailing '/' from `text`, so users of the value append
// "/api/v1/..." without doubling the slash.
std::string url_problem(std::string& text, const url_rules& rules) {
  if (text.empty()) return "is empty";
  if (has_space_or_control(text)) return "contains whitespace";
  auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return "has no scheme";
  std::string scheme = lowercase(text.substr(0, scheme_end));
  if (std::none_of(rules.schemes.begin(), rules.schemes.end(),
                   [&](const char* s) { return scheme == s; }))
    return "has the scheme " + quote(scheme);
  std::string rest = text.substr(scheme_end + 3);
  auto authority_end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, authority_end);
  std::string path = authority_end == std::string::npos ? "" : rest.substr(authority_end);
  if (path.find_first_of("?#") != std::string::npos) return "has a query or fragment";
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    if (!rules.userinfo_allowed) return "has user info";
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return "has no host";
  std::string host = authority;
  std::string port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return "has a '[' without ']'";
    host = authority.substr(1, close - 1);
    if (!is_ipv6(host)) return "has " + quote(host) + " in brackets, which is not an IPv6 address";
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "has text after ']' that is not \":port\"";
      port = after.substr(1);
      if (port.empty()) return "has no port after ':'";
    }
  } else {
    if (auto colon = authority.rfind(':'); colon != std::string::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return "has no port after ':'";
    }
    if (host.empty()) return "has no host";
    std::string name = host;
    if (!domain_problem(name).empty()) return "has an invalid host " + quote(host);
  }
  uint16_t number = 0;
  if (!port.empty()) {
    if (auto why = port_problem(port, number); !why.empty()) return why;
    if (number == 0) return "has port 0";
  }
  if (!rules.path_allowed && !path.empty() && path != "/") return "has a path " + quote(path);
  while (ends_with(text, "/") && !ends_with(text, "://")) text.pop_back();
  return {};
}

// Config does not depend on crypto, so only the PEM armour is checked here; crypto decodes
// the key when it is first used.
std::string pem_problem(const std::string& text) {
  std::string pem = trim(text);
  if (!starts_with(pem, pem_begin)) return std::string("does not start with \"") + pem_begin + "\"";
  if (!ends_with(pem, pem_end) || pem.size() < strlen(pem_begin) + strlen(pem_end))
    return std::string("does not end with \"") + pem_end + "\"";
  std::string body =
      pem.substr(strlen(pem_begin), pem.size() - strlen(pem_begin) - strlen(pem_end));
  bool any = false;
  for (char ch : body) {
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    if (!is_alnum(ch) && ch != '+' && ch != '/' && ch != '=')
      return "has a character that is not base64 (" + quote(std::string(1, ch)) +
             ") between the BEGIN and END lines";
    any = true;
  }
  if (!any) return "has no key between the BEGIN and END lines";
  return {};
}

std::string mail_problem(std::string& text) {
  if (has_space_or_control(text)) return "contains whitespace";
  auto at = text.rfind('@');
  if (at == std::string::npos || at == 0) return "is not an address of the form name@domain";
  if (text.find_first_of("<>\"") != std::string::npos) return "contains '<', '>' or '\"'";
  std::string domain = text.substr(at + 1);
  if (auto why = domain_problem(domain); !why.empty()) return "has a domain that " + why;
  text = text.substr(0, at + 1) + domain;
  return {};
}

// "./data" next to the file means next to the file, whatever the daemon's cwd is.
std::string resolve_path(const fs::path& base_dir, const std::string& text) {
  if (text.empty()) return text;
  fs::path p(text);
  std::string out = (p.is_absolute() ? p : base_dir / p).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// --- the walk over the file --------------------------------------------------------------

std::string type_name(const toml::value& v) {
  switch (v.type()) {
    case toml::value_t::boolean:
      return "a boolean";
    case toml::value_t::integer:
      return "an integer";
    case toml::value_t::floating:
      return "a float";
    case toml::value_t::string:
      return "a string";
    case toml::value_t::array:
      return "an array";
    case toml::value_t::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// "3 is an integer" for scalars, "got a table" for the rest, so a type error shows what
// the user actually wrote.
std::string describe(const toml::value& v) {
  switch (v.type()) {
    case toml::value_t::boolean:
      return std::string(v.as_boolean() ? "true" : "false") + " is a boolean";
    case toml::value_t::integer:
      return std::to_string(v.as_integer()) + " is an integer";
    case toml::value_t::floating: {
      std::ostringstream out;
      out << v.as_floating();
      return out.str() + " is a float";
    }
    case toml::value_t::string:
      return quote(v.as_string().str) + " is a string";
    default:
      return "got " + type_name(v);
  }
}

struct problem {
  uint32_t line;
  std::string text;
};

// Collects problems as "FILE:LINE: KEY: what is wrong (what is expected)".
class checker {
 public:
  explicit checker(std::string file) : file_(std::move(file)) {}

  void report(const toml::value& at, const std::string& key, const std::string& what) {
    auto line = at.location().line();
    problems_.push_back({line, file_ + ":" + std::to_string(line) + ": " + key + ": " + what});
  }

  // "KEY: WHAT (expected EXPECTED)"
  void report(const toml::value& at, const std::string& key, const std::string& what,
              const std::string& expected) {
    report(at, key, what + " (expected " + expected + ")");
  }

  bool ok() const { return problems_.empty(); }

  // In file order, which is how a user reads and fixes them.
  std::vector<std::string> take_problems() {
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const problem& a, const problem& b) { return a.line < b.line; });
    std::vector<std::string> out;
    for (auto& p : problems_) out.push_back(std::move(p.text));
    return out;
  }

 private:
  std::string file_;
  std::vector<problem> problems_;
};

// One table of the file and its dotted name, with getters that report type errors.
class table_view {
 public:
  table_view(checker& c, const toml::value& v, std::string name)
      : checker_(c), value_(v), name_(std::move(name)) {}

  std::string key_name(const std::string& key) const { return name_ + "." + key; }

  const toml::value* find(const std::string& key) const {
    const auto& t = value_.as_table();
    auto i = t.find(key);
    return i == t.end() ? nullptr : &i->second;
  }

  const toml::value& value() const { return value_; }

  std::optional<std::string> string(const std::string& key, const std::string& expected) {
    auto* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      checker_.report(*v, key_name(key), describe(*v), expected);
      return std::nullopt;
    }
    return v->as_string().str;
  }

  std::optional<bool> boolean(const std::string& key) {
    auto* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      checker_.report(*v, key_name(key), describe(*v), "true or false");
      return std::nullopt;
    }
    return v->as_boolean();
  }

  // An integer of at least `min`.
  std::optional<int64_t> integer(const std::string& key, int64_t min,
                                 int64_t max = std::numeric_limits<int64_t>::max()) {
    auto* v = find(key);
    if (v == nullptr) return std::nullopt;
    std::string expected =
        max == std::numeric_limits<int64_t>::max()
            ? "an integer >= " + std::to_string(min)
            : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!v->is_integer()) {
      checker_.report(*v, key_name(key), describe(*v), expected);
      return std::nullopt;
    }
    int64_t n = v->as_integer();
    if (n < min || n > max) {
      checker_.report(*v, key_name(key),
                      std::to_string(n) + (n < min ? " is too small" : " is too large"), expected);
      return std::nullopt;
    }
    return n;
  }

  // Reports keys not in `known`, with a suggestion when the key looks like a typo or
  // belongs to another table.
  void check_keys(const key_list& known) {
    for (const auto& [key, v] : value_.as_table()) {
      if (std::any_of(known.begin(), known.end(), [&](const char* k) { return key == k; }))
        continue;
      std::string hint;
      if (const char* near = closest(key, known)) {
        hint = "did you mean " + key_name(near) + "?";
      } else if (auto owner = owning_section(key); !owner.empty()) {
        hint = "it belongs in [" + owner + "]: " + owner + "." + key;
      } else {
        hint = "expected one of " + join(known);
      }
      checker_.report(v, key_name(key), "unknown key (" + hint + ")");
    }
  }

  static std::string owning_section(const std::string& key) {
    for (const auto& section : schema)
      for (const char* k : section.keys)
        if (key == k) return section.name;
    return {};
  }

 private:
  checker& checker_;
  const toml::value& value_;
  std::string name_;
};

class settings_reader {
 public:
  settings_reader(checker& c, settings& s, fs::path base_dir)
      : c_(c), s_(s), base_dir_(std::move(base_dir)) {}

  void read(const toml::value& root) {
    for (const auto& [key, v] : root.as_table()) {
      const section_schema* section = nullptr;
      for (const auto& candidate : schema)
        if (key == candidate.name) section = &candidate;
      if (section == nullptr) {
        report_unknown_top_level(key, v);
        continue;
      }
      if (!v.is_table()) {
        c_.report(v, key, describe(v), "a table [" + key + "]");
        continue;
      }
      table_view t(c_, v, key);
      t.check_keys(section->keys);
      read_section(key, t);
    }
  }

 private:
  void report_unknown_top_level(const std::string& key, const toml::value& v) {
    std::vector<const char*> names;
    for (const auto& section : schema) names.push_back(section.name);
    const char* near = closest(key, names);
    auto owner = table_view::owning_section(key);
    const char* kind = v.is_table() ? "unknown table" : "unknown key";
    std::string hint;
    // A plain value is more likely a key written above its table than a misspelt table.
    if (!owner.empty() && (!v.is_table() || near == nullptr)) {
      hint = "it belongs in [" + owner + "]: " + owner + "." + key;
    } else if (near != nullptr) {
      hint = std::string("did you mean [") + near + "]?";
    } else {
      hint = "expected one of ";
      for (size_t i = 0; i < names.size(); ++i)
        hint += std::string(i ? ", [" : "[") + names[i] + "]";
    }
    c_.report(v, key, std::string(kind) + " (" + hint + ")");
  }

  void read_section(const std::string& name, table_view& t) {
    if (name == "federation") return read_federation(t);
    if (name == "listen") return read_listen(t);
    if (name == "storage") return read_storage(t);
    if (name == "dns") return read_dns(t);
    if (name == "local_api") return read_local_api(t);
    if (name == "tls") return read_tls(t);
    if (name == "peers") return read_peers(t);
    if (name == "transport") return read_transport(t);
    if (name == "limits") return read_limits(t);
    if (name == "files") return read_files(t);
    if (name == "hub") return read_hub(t);
  }

  void read_federation(table_view& t) {
    if (auto v = t.boolean("enabled")) s_.enabled = *v;
    if (auto v = t.string("domain", "a domain name such as \"chat.example.com\"")) {
      // An empty domain is "not set" (missing_keys reports it), as in a fresh admin form.
      if (!v->empty()) {
        std::string name = *v;
        if (auto why = domain_problem(name); !why.empty())
          c_.report(*t.find("domain"), "federation.domain", quote(*v) + " " + why,
                    "a domain name such as \"chat.example.com\"");
        else
          s_.domain = name;
      }
    }
    read_choice(t, "discovery", "a discovery method",
                {{"dns", discovery_method::dns},
                 {"hub", discovery_method::hub},
                 {"static", discovery_method::static_table}},
                s_.discovery);
    read_url(t, "hub_url", s_.hub_url, {{"http", "https"}, true, false},
             "\"https://host[:port][/path]\"");
    read_url(t, "public_url", s_.public_url, {{"http", "https"}, false, false},
             "\"https://host[:port]\" without a path");
  }

  // An empty URL means "not set"; anything else has to satisfy `rules`.
  void read_url(table_view& t, const std::string& key, std::string& out, const url_rules& rules,
                const std::string& expected) {
    auto v = t.string(key, expected);
    if (!v || v->empty()) return;
    // Named by its length, not quoted: it goes into messages, records and the screen.
    if (v->size() > max_url_bytes) {
      c_.report(*t.find(key), t.key_name(key),
                "is " + std::to_string(v->size()) + " bytes long, more than a URL here may be (" +
                    std::to_string(max_url_bytes) + ")",
                expected);
      return;
    }
    std::string url = *v;
    if (auto why = url_problem(url, rules); !why.empty())
      c_.report(*t.find(key), t.key_name(key), quote(redacted_url(*v)) + " " + why, expected);
    else
      out = url;
  }

  bool read_endpoint(table_view& t, const std::string& key, endpoint& out) {
    const char* expected = "\"host:port\", or \"[v6-address]:port\"";
    auto v = t.string(key, expected);
    if (!v) return false;
    endpoint ep;
    auto why = endpoint_problem(*v, ep);
    if (why.empty() && ep.port == 0) why = "has port 0";
    if (!why.empty()) {
      c_.report(*t.find(key), t.key_name(key), quote(*v) + " " + why, expected);
      return false;
    }
    out = ep;
    return true;
  }

  /// A key whose value must be one of `names`: the value named goes to `out`; any other
  /// is reported as "<value> is not <what>", expecting the names ("a", "b" or "c").
  template <class Value>
  void read_choice(table_view& t, const std::string& key, const char* what,
                   std::initializer_list<std::pair<const char*, Value>> names, Value& out) {
    std::string expected;
    size_t index = 0;
    for (const auto& choice : names) {
      if (index > 0) expected += index + 1 == names.size() ? " or " : ", ";
      expected += quote(choice.first);
      ++index;
    }
    auto v = t.string(key, expected);
    if (!v) return;
    for (const auto& choice : names)
      if (*v == choice.first) {
        out = choice.second;
        return;
      }
    c_.report(*t.find(key), t.key_name(key), quote(*v) + " is not " + what, expected);
  }

  void read_listen(table_view& t) {
    read_endpoint(t, "federation", s_.listen_federation);
    read_endpoint(t, "local", s_.listen_local);
  }

  void read_storage(table_view& t) {
    if (auto v = t.string("dir", "a directory path")) s_.storage_dir = resolve_path(base_dir_, *v);
    read_choice(t, "sync", "a sync mode",
                {{"always", sync_mode::always}, {"periodic", sync_mode::periodic}},
                s_.storage_sync);
    // Up to a minute: a longer period would put more accepted events at risk than an
    // operator choosing this mode for speed would expect.
    constexpr int64_t max_period_ms = 60'000;
    if (auto v = t.integer("sync_period_ms", 1, max_period_ms))
      s_.storage_sync_period = std::chrono::milliseconds(*v);
    // At least an hour: far longer than the clock-skew window in which a copy of a
    // transaction is taken at all. At most ten years.
    if (auto v = t.integer("receipts_kept_hours", 1, 87'600))
      s_.storage_receipts_kept = std::chrono::hours(*v);
    // The same bounds: a resend of a message after its mark went is handled again, and
    // peers resend for as long as they are kept from delivering.
    if (auto v = t.integer("marks_kept_hours", 1, 87'600))
      s_.storage_marks_kept = std::chrono::hours(*v);
  }

  void read_dns(table_view& t) {
    const char* expected = "an IP address with an optional port, such as \"127.0.0.1:53\"";
    if (auto v = t.string("resolver", expected); v && !v->empty()) {
      std::string why;
      endpoint ep{"", 53};
      const std::string& text = *v;
      // A bare address means port 53, as in resolv.conf.
      if (text.find(':') == std::string::npos) {
        ep.host = text;
      } else if (text.front() == '[' && text.back() == ']') {
        ep.host = text.substr(1, text.size() - 2);
      } else if (text.front() != '[' && text.find(':') != text.rfind(':')) {
        ep.host = text;
      } else {
        why = endpoint_problem(text, ep);
      }
      if (why.empty() && !is_ipv4(ep.host) && !is_ipv6(ep.host))
        why = "has the host " + quote(ep.host) + ", which is not an IP address";
      if (why.empty() && ep.port == 0) why = "has port 0";
      if (why.empty())
        s_.dns_resolver = ep;
      else
        c_.report(*t.find("resolver"), "dns.resolver", quote(text) + " " + why, expected);
    }
    if (auto v = t.integer("timeout_ms", 1)) s_.dns_timeout = std::chrono::milliseconds(*v);
    if (auto v = t.integer("negative_ttl_s", 0)) s_.dns_negative_ttl = std::chrono::seconds(*v);
  }

  void read_local_api(table_view& t) {
    const char* expected = "printable characters without spaces";
    if (auto v = t.string("token", expected)) {
      // The token itself is never echoed: error messages end up in logs.
      if (has_space_or_control(*v))
        c_.report(*t.find("token"), "local_api.token", "contains whitespace", expected);
      else
        s_.local_api_token = *v;
    }
  }

  void read_tls(table_view& t) {
    if (auto v = t.string("cert", "a file path")) s_.tls.cert = resolve_path(base_dir_, *v);
    if (auto v = t.string("key", "a file path")) s_.tls.key = resolve_path(base_dir_, *v);
    if (auto v = t.string("ca", "a file path")) s_.tls.ca = resolve_path(base_dir_, *v);
    if (!s_.tls.cert.empty() && s_.tls.key.empty())
      c_.report(*t.find("cert"), "tls.cert", "is set without tls.key",
                "both tls.cert and tls.key, or neither");
    if (s_.tls.cert.empty() && !s_.tls.key.empty())
      c_.report(*t.find("key"), "tls.key", "is set without tls.cert",
                "both tls.cert and tls.key, or neither");
  }

  /// What an item of a list of strings becomes, or the problem with it.
  struct list_item {
    std::string value;
    std::string problem;  // empty: keep `value`
  };

  /// Reads `key` (when present) as an array of strings into `out`, each item through
  /// `take`. An item that is not a string or has a problem is reported with `expected`;
  /// a value that is not an array, with `list_example`.
  void read_string_list(table_view& t, const std::string& key, const char* list_example,
                        const char* expected,
                        const std::function<list_item(const std::string&)>& take,
                        std::vector<std::string>& out) {
    auto* v = t.find(key);
    if (v == nullptr) return;
    if (!v->is_array()) {
      c_.report(*v, t.key_name(key), describe(*v), list_example);
      return;
    }
    const auto& items = v->as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      std::string name = t.key_name(key) + "[" + std::to_string(i) + "]";
      const auto& item = items[i];
      if (!item.is_string()) {
        c_.report(item, name, describe(item), expected);
        continue;
      }
      const std::string& text = item.as_string().str;
      auto taken = take(text);
      if (!taken.problem.empty()) {
        c_.report(item, name, quote(text) + " " + taken.problem, expected);
        continue;
      }
      out.push_back(std::move(taken.value));
    }
  }

  void read_peer_patterns(table_view& t, const std::string& key, std::vector<std::string>& out) {
    read_string_list(
        t, key, "an array of domains, such as [\"b.example\"]",
        "a domain such as \"b.example\" or a wildcard such as \"*.example.com\"",
        [](const std::string& text) {
          bool wildcard = starts_with(text, "*.");
          std::string domain = wildcard ? text.substr(2) : text;
          auto problem = domain_problem(domain);
          return list_item{wildcard ? "*." + domain : domain, problem};
        },
        out);
  }

  void read_peers(table_view& t) {
    read_peer_patterns(t, "allow", s_.allow);
    read_peer_patterns(t, "deny", s_.deny);
    if (auto* v = t.find("static")) read_static_peers(*v);
    read_choice(t, "addresses", "a choice of peer addresses",
                {{"public", address_reach::public_only},
                 {"private", address_reach::private_networks},
                 {"any", address_reach::any}},
                s_.peer_addresses);
  }

  void read_static_peers(const toml::value& v) {
    if (!v.is_array()) {
      c_.report(v, "peers.static", describe(v), "an array of tables, written [[peers.static]]");
      return;
    }
    std::map<std::string, uint32_t> first_line;  // domain -> line, to catch duplicates
    const auto& items = v.as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      std::string name = "peers.static[" + std::to_string(i) + "]";
      const auto& item = items[i];
      if (!item.is_table()) {
        c_.report(item, name, describe(item), "a table with domain, url and public_key");
        continue;
      }
      table_view t(c_, item, name);
      t.check_keys(static_peer_keys);
      static_peer peer;
      read_static_domain(t, peer, first_line);
      const char* url_expected = "\"http://host:port\" or \"https://host:port\"";
      if (auto url = t.string("url", url_expected)) {
        std::string text = *url;
        if (auto why = url_problem(text, {{"http", "https"}, false, false}); !why.empty())
          c_.report(*t.find("url"), t.key_name("url"), quote(*url) + " " + why, url_expected);
        else
          peer.url = text;
      } else if (t.find("url") == nullptr) {
        c_.report(item, t.key_name("url"), "is not set", url_expected);
      }
      const std::string pem_expected =
          std::string("a PEM block from \"") + pem_begin + "\" to \"" + pem_end + "\"";
      if (auto key = t.string("public_key", pem_expected)) {
        if (auto why = pem_problem(*key); !why.empty())
          c_.report(*t.find("public_key"), t.key_name("public_key"), why, pem_expected);
        else
          peer.public_key_pem = trim(*key);
      } else if (t.find("public_key") == nullptr) {
        c_.report(item, t.key_name("public_key"), "is not set", pem_expected);
      }
      s_.static_peers.push_back(std::move(peer));
    }
  }

  void read_static_domain(table_view& t, static_peer& peer,
                          std::map<std::string, uint32_t>& first_line) {
    const char* expected = "the peer's domain, such as \"b.example\"";
    auto domain = t.string("domain", expected);
    if (!domain) {
      if (t.find("domain") == nullptr)
        c_.report(t.value(), t.key_name("domain"), "is not set", expected);
      return;
    }
    std::string name = *domain;
    const toml::value& at = *t.find("domain");
    if (auto why = domain_problem(name); !why.empty()) {
      c_.report(at, t.key_name("domain"), quote(*domain) + " " + why, expected);
      return;
    }
    auto [it, inserted] = first_line.emplace(name, at.location().line());
    if (!inserted) {
      c_.report(at, t.key_name("domain"),
                quote(name) + " is already listed on line " + std::to_string(it->second),
                "each domain once");
      return;
    }
    peer.domain = name;
  }

  void read_transport(table_view& t) {
    auto& tr = s_.transport;
    if (auto v = t.integer("batch_max_events", 1)) tr.batch_max_events = static_cast<size_t>(*v);
    if (auto v = t.integer("batch_max_bytes", 1)) tr.batch_max_bytes = static_cast<size_t>(*v);
    if (auto v = t.integer("window", 1)) tr.window = static_cast<size_t>(*v);
    auto initial = t.integer("backoff_initial_ms", 1);
    auto max = t.integer("backoff_max_ms", 1);
    if (initial) tr.backoff_initial = std::chrono::milliseconds(*initial);
    if (max) tr.backoff_max = std::chrono::milliseconds(*max);
    if (auto v = t.integer("request_timeout_ms", 1))
      tr.request_timeout = std::chrono::milliseconds(*v);
    // Blame the key the user wrote; a default on the other side cannot be wrong by itself.
    if ((initial || max) && tr.backoff_max < tr.backoff_initial) {
      const char* key = max ? "backoff_max_ms" : "backoff_initial_ms";
      c_.report(*t.find(key), t.key_name(key),
                std::to_string(tr.backoff_max.count()) + " ms of backoff_max_ms is below the " +
                    std::to_string(tr.backoff_initial.count()) + " ms of backoff_initial_ms",
                "backoff_max_ms >= backoff_initial_ms");
    }
  }

  void read_limits(table_view& t) {
    auto& l = s_.limits;
    auto body = t.integer("max_body_bytes", 1);
    constexpr int64_t min_content_bytes = 256;
    auto content = t.integer("max_content_bytes", min_content_bytes);
    if (body) l.max_body_bytes = static_cast<size_t>(*body);
    if (content) l.max_content_bytes = static_cast<size_t>(*content);
    // A node must take, in one request, the largest event its own users may send: a peer
    // configured alike would otherwise refuse it for good. Unwritten, the content limit
    // follows a smaller request limit, so settings that lowered max_body_bytes before
    // max_content_bytes existed still load.
    auto fits = [&l] { return l.max_content_bytes + event_overhead_bytes <= l.max_body_bytes; };
    if (body && !content && !fits() && l.max_body_bytes >= event_overhead_bytes + min_content_bytes)
      l.max_content_bytes = l.max_body_bytes - event_overhead_bytes;
    if ((body || content) && !fits()) {
      const char* key = content ? "max_content_bytes" : "max_body_bytes";
      c_.report(
          *t.find(key), t.key_name(key),
          std::to_string(l.max_content_bytes) + " bytes of max_content_bytes and " +
              std::to_string(event_overhead_bytes) + " for the event around it exceed the " +
              std::to_string(l.max_body_bytes) + " of max_body_bytes",
          // Alone, max_body_bytes sets the content limit too, down to its least.
          content
              ? "max_content_bytes <= max_body_bytes - " + std::to_string(event_overhead_bytes)
              : "max_body_bytes >= " + std::to_string(event_overhead_bytes + min_content_bytes) +
                    " (the least max_content_bytes, " + std::to_string(min_content_bytes) +
                    ", and the event around it)");
    }
    if (auto v = t.integer("max_connections", 1)) l.max_connections = static_cast<size_t>(*v);
    if (auto v = t.integer("read_timeout_s", 1)) l.read_timeout = std::chrono::seconds(*v);
    if (auto v = t.integer("clock_skew_s", 1)) l.clock_skew = std::chrono::seconds(*v);
  }

  void read_files(table_view& t) {
    auto& f = s_.files;
    if (auto v = t.integer("max_bytes", 1)) f.max_bytes = static_cast<uint64_t>(*v);
    if (auto v = t.integer("fetch_chunk_bytes", 4096))
      f.fetch_chunk_bytes = static_cast<uint64_t>(*v);
    if (auto v = t.integer("fetch_max_bytes_per_s", 0))
      f.fetch_max_bytes_per_s = static_cast<uint64_t>(*v);
    if (auto v = t.integer("fetch_attempts", 1)) f.fetch_attempts = static_cast<uint32_t>(*v);
    read_string_list(
        t, "allowed_types", "an array of MIME types, such as [\"image/*\", \"text/plain\"]",
        "a MIME type such as \"image/png\" or a wildcard such as \"image/*\"",
        [](const std::string& text) {
          auto type = lowercase(text);
          auto problem = mime_pattern_problem(type);
          return list_item{std::move(type), problem};
        },
        f.allowed_types);
  }

  void read_hub(table_view& t) {
    auto& h = s_.hub;
    endpoint ep;
    if (t.find("listen") != nullptr && read_endpoint(t, "listen", ep)) h.listen = ep.to_string();
    read_url(t, "public_url", h.public_url, {{"http", "https"}, false, false},
             "\"https://host[:port]\" without a path");
    if (auto v = t.string("dir", "a directory path")) h.dir = resolve_path(base_dir_, *v);
    read_url(t, "smtp_url", h.smtp_url, {{"smtp", "smtps"}, false, true},
             "\"smtp://host[:port]\" or \"smtps://host[:port]\"");
    const char* mail_expected = "an address such as \"hub@hub.example\"";
    if (auto v = t.string("mail_from", mail_expected); v && !v->empty()) {
      std::string address = *v;
      if (auto why = mail_problem(address); !why.empty())
        c_.report(*t.find("mail_from"), "hub.mail_from", quote(*v) + " " + why, mail_expected);
      else
        h.mail_from = address;
    }
    // Bounded so that the token buckets' arithmetic stays exact; far above any real need.
    constexpr int64_t max_per_minute = 1'000'000;
    if (auto v = t.integer("registrations_per_minute", 1, max_per_minute))
      h.registrations_per_minute = static_cast<uint32_t>(*v);
    if (auto v = t.integer("lookups_per_minute", 1, max_per_minute))
      h.lookups_per_minute = static_cast<uint32_t>(*v);
    if (auto v = t.integer("mails_per_domain_per_day", 1, 288))
      h.mails_per_domain_per_day = static_cast<uint32_t>(*v);
    if (auto v = t.integer("mails_per_day", 1, max_per_minute))
      h.mails_per_day = static_cast<uint32_t>(*v);
    if (auto v = t.integer("mails_per_client_per_day", 1, max_per_minute))
      h.mails_per_client_per_day = static_cast<uint32_t>(*v);
  }

  checker& c_;
  settings& s_;
  fs::path base_dir_;
};

fs::path absolute_path(const std::string& path) {
  std::error_code ec;
  auto p = fs::absolute(path, ec);
  return ec ? fs::path(path) : p.lexically_normal();
}

caf::expected<settings> parse_at(const std::string& text, const std::string& name,
                                 const fs::path& source) {
  auto root = parse_toml(text, name);
  if (!root) return root.error();
  settings s;
  s.source_path = source.string();
  checker c(name);
  settings_reader(c, s, source.parent_path()).read(*root);
  if (!c.ok()) return make_config_error(errc::invalid, c.take_problems());
  return s;
}

}  // namespace

std::string to_string(sync_mode m) {
  return m == sync_mode::periodic ? "periodic" : "always";
}

std::string to_string(address_reach r) {
  switch (r) {
    case address_reach::public_only:
      return "public";
    case address_reach::private_networks:
      return "private";
    case address_reach::any:
      break;
  }
  return "any";
}

std::string to_string(discovery_method m) {
  switch (m) {
    case discovery_method::dns:
      return "dns";
    case discovery_method::hub:
      return "hub";
    case discovery_method::static_table:
      return "static";
  }
  return "unknown";
}

std::string endpoint::to_string() const {
  std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

bool is_ip_address(const std::string& host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    return is_ipv6(host.substr(1, host.size() - 2));
  return is_ipv4(host) || is_ipv6(host);
}

std::optional<endpoint> parse_endpoint(const std::string& text) {
  endpoint ep;
  if (!endpoint_problem(text, ep).empty()) return std::nullopt;
  return ep;
}

caf::expected<settings> load_settings(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse_at(*text, path, absolute_path(path));
}

std::vector<std::string> node_file_keys() {
  std::vector<std::string> keys;
  for (const auto& section : schema)
    if (section.name != std::string_view{"hub"})
      for (const char* key : section.keys) keys.push_back(std::string{section.name} + "." + key);
  return keys;
}

caf::expected<settings> parse_settings(const std::string& text, const std::string& name) {
  return parse_at(text, name, absolute_path(name));
}

std::vector<std::string> missing_keys(const settings& s) {
  std::vector<std::string> missing;
  if (s.domain.empty()) missing.push_back("federation.domain");
  if (s.discovery == discovery_method::hub && s.hub_url.empty())
    missing.push_back("federation.hub_url");
  if (s.public_url.empty()) missing.push_back("federation.public_url");
  if (s.storage_dir.empty()) missing.push_back("storage.dir");
  if (s.local_api_token.empty()) missing.push_back("local_api.token");
  return missing;
}

bool file_type_allowed(const file_settings& f, const std::string& mime) {
  if (f.allowed_types.empty()) return true;
  auto type = lowercase(trim(mime.substr(0, mime.find(';'))));
  if (mime_pattern_problem(type) != "" || type.find('*') != std::string::npos) return false;
  auto major = type.substr(0, type.find('/'));
  return std::any_of(f.allowed_types.begin(), f.allowed_types.end(), [&](const std::string& p) {
    return p == type || p == "*/*" || p == major + "/*";
  });
}

bool peer_allowed(const settings& s, const std::string& domain) {
  return peer_filter{s.allow, s.deny}.allowed(domain);
}

std::vector<std::string> error_lines(const caf::error& err) {
  if (err.category() != caf::make_error(errc::invalid).category()) return {caf::to_string(err)};
  std::vector<std::string> lines;
  const auto& context = err.context();
  for (size_t i = 0; i < context.size(); ++i)
    if (context.match_element<std::string>(i)) lines.push_back(context.get_as<std::string>(i));
  if (lines.empty()) lines.push_back("config: " + to_string(static_cast<errc>(err.code())));
  return lines;
}

std::string redacted_url(const std::string& url) {
  auto start = url.find("://");
  if (start == std::string::npos) return url;
  start += 3;
  auto end = std::min(url.find_first_of("/?#", start), url.size());
  auto at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < start) return url;
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace fedrelay::config
