// The [peers] allow and deny lists in force, shared by every path that reaches or is
// reached by a domain, replaceable at run time (`fedrelay reload`, SIGHUP), with counts of
// what they refused. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fedrelay::config {

/// "*.example.com" matches every name below example.com (at any depth), not example.com
/// itself; any other pattern matches the name exactly. Both in lower case.
bool domain_matches(const std::string& pattern, const std::string& name);

class peer_filter {
 public:
  enum class verdict { allowed, denied, not_allowed };  // not_allowed: missing from `allow`

  peer_filter(std::vector<std::string> allow, std::vector<std::string> deny);

  /// Puts new lists in force (a reload); counts are kept.
  void replace(std::vector<std::string> allow, std::vector<std::string> deny);

  /// Deny always wins; an empty allow list allows every domain not denied.
  verdict check(const std::string& domain) const;
  bool allowed(const std::string& domain) const { return check(domain) == verdict::allowed; }

  /// What note_refusal asks of its caller.
  struct refusal_note {
    bool log = false;           // the first refusal of the name within the period
    bool among_others = false;  // counted under other_domains, not under its own name
    explicit operator bool() const { return log; }
  };

  /// Counts one refused request of `domain`; asks for a log line on its first refusal
  /// within `period`, so callers log once per domain and period, not per request.
  refusal_note note_refusal(
      const std::string& domain, verdict why,
      std::chrono::seconds period = std::chrono::seconds(60),
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  /// Domains whose refusals are counted, and logged, each on its own; the refusals of any
  /// further domain are counted (and logged once a period) under other_domains. A domain
  /// not refused for forget_after gives its place up (its count goes to other_domains), so
  /// a flood of made-up names that has passed does not hide a domain refused later.
  static constexpr size_t max_counted_domains = 1000;
  static constexpr std::chrono::minutes forget_after{60};
  static inline const std::string other_domains = "(other domains)";

  struct stats {
    std::vector<std::string> allow;
    std::vector<std::string> deny;
    uint64_t refused_by_deny = 0;   // requests of denied domains
    uint64_t refused_by_allow = 0;  // requests of domains missing from a non-empty allow list
    std::map<std::string, uint64_t> refused_per_domain;
  };
  stats snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> allow_;
  std::vector<std::string> deny_;
  uint64_t refused_by_deny_ = 0;
  uint64_t refused_by_allow_ = 0;
  struct refusals {
    uint64_t count = 0;
    std::chrono::steady_clock::time_point last_refused;
    std::chrono::steady_clock::time_point last_logged;
  };
  /// Folds the counts of domains not refused for forget_after into other_domains.
  void forget_quiet_domains(std::chrono::steady_clock::time_point now);

  std::map<std::string, refusals> refused_per_domain_;
  std::optional<std::chrono::steady_clock::time_point> last_forgetting_;
};

}  // namespace fedrelay::config
