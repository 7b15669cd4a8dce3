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

peer_filter::refusal_note peer_filter::note_refusal(const std::string& domain, verdict why,
                                                    std::chrono::seconds period,
                                                    std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> guard{mutex_};
  (why == verdict::denied ? refused_by_deny_ : refused_by_allow_) += 1;
  // Anyone may name any origin: past max_counted_domains the others share one count and
  // one line in the log, so made-up names cannot grow the map without bound.
  auto named = [&] {
    return refused_per_domain_.size() - refused_per_domain_.count(other_domains);
  };
  bool known = refused_per_domain_.count(domain) > 0;
  // At most once a period, so that a flood of new names does not walk the map each time.
  if (!known && named() >= max_counted_domains &&
      (!last_forgetting_ || now - *last_forgetting_ >= period))
    forget_quiet_domains(now);
  bool alone = known || named() < max_counted_domains;
  auto [it, fresh] = refused_per_domain_.try_emplace(alone ? domain : other_domains);
  auto& entry = it->second;
  entry.count += 1;
  entry.last_refused = now;
  refusal_note note{fresh || now - entry.last_logged >= period, !alone};
  if (note.log) entry.last_logged = now;
  return note;
}

void peer_filter::forget_quiet_domains(std::chrono::steady_clock::time_point now) {
  last_forgetting_ = now;
  uint64_t forgotten = 0;
  for (auto i = refused_per_domain_.begin(); i != refused_per_domain_.end();) {
    if (i->first != other_domains && now - i->second.last_refused >= forget_after) {
      forgotten += i->second.count;
      i = refused_per_domain_.erase(i);
    } else {
      ++i;
    }
  }
  if (forgotten == 0) return;
  auto& others = refused_per_domain_[other_domains];
  others.count += forgotten;
  others.last_refused = now;
}

peer_filter::stats peer_filter::snapshot() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::map<std::string, uint64_t> counts;
  for (const auto& [name, entry] : refused_per_domain_) counts.emplace(name, entry.count);
  return {allow_, deny_, refused_by_deny_, refused_by_allow_, std::move(counts)};
}

}  // namespace fedrelay::config
