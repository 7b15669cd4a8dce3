// The [peers] allow and deny lists in force, shared by every path that reaches or is
// reached by a domain, replaceable at run time (`fedrelay reload`, SIGHUP), with counts of
// what they refused. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
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

  /// Counts one refused request of `domain`; returns true when it is the first refusal of
  /// that domain within `period`, so callers log once per domain and period, not per request.
  bool note_refusal(const std::string& domain, verdict why,
                    std::chrono::seconds period = std::chrono::seconds(60));

  /// Domains whose refusals are counted, and logged, each on its own; the refusals of any
  /// further domain are counted (and logged once a period) under other_domains.
  static constexpr size_t max_counted_domains = 1000;
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
  std::map<std::string, uint64_t> refused_per_domain_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_logged_;
};

}  // namespace fedrelay::config
