// The previous keys of other domains (GET federation.keys) that a node's rooms fetched,
// kept once for all of them. A room that meets an event whose signature holds under no
// key it knows asks the origin for its previous keys; with a book per room, a host that
// shares many rooms with this node could make it ask an origin once per room. Shared,
// each origin is asked by one room at a time, and what it said serves every room.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

#include "actors/previous_keys.hpp"

namespace fedrelay::actors {

/// The keys a domain had before its current one, as its federation.keys says.
struct origin_previous_keys {
  std::vector<previous_key> keys;
  // Whether the domain said (a list signed by its key, or a 404 from a version without
  // federation.keys); if not, `why` it could not be asked, and what its keys would settle
  // waits (the room's previous_keys_unknown).
  bool known = false;
  std::string why;
  caf::actor_clock::time_point fetched;
};

/// Thread-safe: the rooms run on any thread of the node.
class previous_keys_book {
 public:
  using time_point = caf::actor_clock::time_point;

  /// Domains kept at most; past it, the one fetched longest ago goes first.
  static constexpr size_t max_domains = 4096;

  /// What asking `domain` last gave; null before any answer was recorded.
  std::shared_ptr<const origin_previous_keys> find(const std::string& domain) const;

  /// Whether the caller is to ask `domain` now, and if so notes that it does. Not while
  /// another caller's request, begun less than `wait` before `now`, has not been
  /// recorded: a request that outlived `wait` was lost (its room ended, say).
  bool begin_fetch(const std::string& domain, time_point now, caf::timespan wait);

  /// Whether someone asks `domain` now (begin_fetch, within `wait` of `now`).
  bool fetching(const std::string& domain, time_point now, caf::timespan wait) const;

  /// What asking `domain` gave; ends the request begin_fetch noted.
  void record(const std::string& domain, origin_previous_keys found);

 private:
  struct entry {
    std::shared_ptr<const origin_previous_keys> known;
    std::optional<time_point> asked_at;  // a request under way, begun then
  };

  /// Drops the entry fetched longest ago that no request is under way for, while more
  /// than max_domains are kept. REQUIRES: mutex_ held.
  void trim();

  mutable std::mutex mutex_;
  std::map<std::string, entry> by_domain_;  // GUARDED_BY(mutex_)
};

}  // namespace fedrelay::actors
