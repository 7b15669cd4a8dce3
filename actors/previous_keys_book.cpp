#include "actors/previous_keys_book.hpp"

#include <utility>

namespace fedrelay::actors {

std::shared_ptr<const origin_previous_keys> previous_keys_book::find(
    const std::string& domain) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto i = by_domain_.find(domain);
  return i == by_domain_.end() ? nullptr : i->second.known;
}

bool previous_keys_book::begin_fetch(const std::string& domain, time_point now,
                                     caf::timespan wait) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto& e = by_domain_[domain];
  if (e.asked_at && now - *e.asked_at < wait) return false;
  e.asked_at = now;
  trim();
  return true;
}

bool previous_keys_book::fetching(const std::string& domain, time_point now,
                                  caf::timespan wait) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto i = by_domain_.find(domain);
  return i != by_domain_.end() && i->second.asked_at && now - *i->second.asked_at < wait;
}

void previous_keys_book::record(const std::string& domain, origin_previous_keys found) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto& e = by_domain_[domain];
  e.known = std::make_shared<const origin_previous_keys>(std::move(found));
  e.asked_at.reset();
  trim();
}

void previous_keys_book::trim() {
  while (by_domain_.size() > max_domains) {
    auto oldest = by_domain_.end();
    for (auto i = by_domain_.begin(); i != by_domain_.end(); ++i) {
      if (i->second.asked_at) continue;
      if (oldest == by_domain_.end() || !i->second.known ||
          (oldest->second.known && i->second.known->fetched < oldest->second.known->fetched))
        oldest = i;
    }
    if (oldest == by_domain_.end()) return;  // every one is being asked
    by_domain_.erase(oldest);
  }
}

}  // namespace fedrelay::actors
