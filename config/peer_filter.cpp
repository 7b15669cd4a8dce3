#include "config/peer_filter.hpp"

#include <algorithm>
#include <cctype>

namespace fedrelay::config {
namespace {

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

bool domain_matches(const std::string& pattern, const std::string& name) {
  if (pattern.rfind("*.", 0) == 0) {
    auto suffix = pattern.substr(1);  // ".example.com"
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return name == pattern;
}

peer_filter::peer_filter(std::vector<std::string> allow, std::vector<std::string> deny) {
  replace(std::move(allow), std::move(deny));
}

void peer_filter::replace(std::vector<std::string> allow, std::vector<std::string> deny) {
  for (auto& p : allow) p = lower(p);
  for (auto& p : deny) p = lower(p);
  std::lock_guard<std::mutex> guard{mutex_};
  allow_ = std::move(allow);
  deny_ = std::move(deny);
}

peer_filter::verdict peer_filter::check(const std::string& domain) const {
  auto name = lower(domain);
  auto matches = [&](const std::string& p) { return domain_matches(p, name); };
  std::lock_guard<std::mutex> guard{mutex_};
  if (std::any_of(deny_.begin(), deny_.end(), matches)) return verdict::denied;
  if (!allow_.empty() && std::none_of(allow_.begin(), allow_.end(), matches))
    return verdict::not_allowed;
  return verdict::allowed;
}

bool peer_filter::note_refusal(const std::string& domain, verdict why,
                               std::chrono::seconds period) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard{mutex_};
  (why == verdict::denied ? refused_by_deny_ : refused_by_allow_) += 1;
  // Anyone may name any origin: past max_counted_domains the others share one count and
  // one line in the log, so made-up names cannot grow these maps without bound.
  const auto& counted =
      refused_per_domain_.size() < max_counted_domains || refused_per_domain_.count(domain) > 0
          ? domain
          : other_domains;
  refused_per_domain_[counted] += 1;
  auto [it, fresh] = last_logged_.try_emplace(counted, now);
  if (fresh) return true;
  if (now - it->second < period) return false;
  it->second = now;
  return true;
}

peer_filter::stats peer_filter::snapshot() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return {allow_, deny_, refused_by_deny_, refused_by_allow_, refused_per_domain_};
}

}  // namespace fedrelay::config
