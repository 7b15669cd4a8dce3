#include "storage/sequenced_read.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "storage/keys.hpp"

namespace fedrelay::storage {

caf::error read_sequenced(const store& s, column c, const std::vector<std::string_view>& keys,
                          const std::function<void(size_t, std::string_view)>& found) {
  struct wanted {
    std::string_view prefix;
    uint64_t seq;
    size_t index;
  };
  std::vector<wanted> runs;  // sorted into runs below
  runs.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto split = split_sequenced_key(keys[i])) {
      runs.push_back({split->first, split->second, i});
      continue;
    }
    auto value = s.get(c, keys[i]);
    if (!value) return value.error();
    if (*value) found(i, **value);
  }
  std::sort(runs.begin(), runs.end(), [](const wanted& a, const wanted& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : a.seq < b.seq;
  });
  for (size_t begin = 0; begin < runs.size();) {
    auto end = begin + 1;  // one past the run
    while (end < runs.size() && runs[end].prefix == runs[begin].prefix &&
           runs[end].seq - runs[end - 1].seq <= 1)
      ++end;
    if (runs[end - 1].seq == runs[begin].seq) {
      // A lone key (or the same one repeated): its bloom filter answers a miss.
      auto value = s.get(c, keys[runs[begin].index]);
      if (!value) return value.error();
      for (auto k = begin; *value && k < end; ++k) found(runs[k].index, **value);
      begin = end;
      continue;
    }
    auto next = begin;  // the first key of the run not yet matched
    auto visit = [&](std::string_view key, std::string_view value) {
      auto split = split_sequenced_key(key);
      if (!split) return true;
      while (next < end && runs[next].seq < split->second) ++next;
      for (; next < end && runs[next].seq == split->second; ++next) found(runs[next].index, value);
      return next < end;
    };
    const auto& prefix = runs[begin].prefix;
    auto to = runs[end - 1].seq == std::numeric_limits<uint64_t>::max()
                  ? sequenced_end(prefix)
                  : sequenced_key(prefix, runs[end - 1].seq + 1);
    if (auto err = s.scan(c, sequenced_key(prefix, runs[begin].seq), to, 0, visit)) return err;
    begin = end;
  }
  return {};
}

}  // namespace fedrelay::storage
