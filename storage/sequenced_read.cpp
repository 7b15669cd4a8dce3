#include "storage/sequenced_read.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "storage/keys.hpp"

namespace fedrelay::storage {
namespace {

// In a read of more than `few_runs` runs, those of fewer seqs than `min_scanned_run` are
// read by one batched lookup (RocksDB's MultiGet) with the lone keys instead of a scan
// each: a scan's seek positions an iterator in every table file that may hold the key,
// and with many rooms a read's runs are many and short (a transaction over 100 rooms
// holds about 20 events of each). A few runs, or long ones, are cheaper to scan.
constexpr size_t few_runs = 4;
constexpr uint64_t min_scanned_run = 64;

}  // namespace

caf::error read_sequenced(const store& s, column c, const std::vector<std::string_view>& keys,
                          const std::function<void(size_t, std::string_view)>& found) {
  struct wanted {
    std::string_view prefix;
    uint64_t seq;
    size_t index;
  };
  std::vector<wanted> runs;  // sorted into runs below
  runs.reserve(keys.size());
  std::vector<size_t> looked_up;  // the keys read by one batched lookup
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto split = split_sequenced_key(keys[i]))
      runs.push_back({split->first, split->second, i});
    else
      looked_up.push_back(i);
  }
  std::sort(runs.begin(), runs.end(), [](const wanted& a, const wanted& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : a.seq < b.seq;
  });
  std::vector<std::pair<size_t, size_t>> bounds;  // each run's [begin, end) in `runs`
  for (size_t begin = 0; begin < runs.size();) {
    auto end = begin + 1;
    while (end < runs.size() && runs[end].prefix == runs[begin].prefix &&
           runs[end].seq - runs[end - 1].seq <= 1)
      ++end;
    bounds.emplace_back(begin, end);
    begin = end;
  }
  const bool many = bounds.size() > few_runs;
  for (auto [begin, end] : bounds) {
    auto span = runs[end - 1].seq - runs[begin].seq + 1;
    if (span == 1 || (many && span < min_scanned_run)) {
      // A lone key (its bloom filter answers a miss), or a short run among many: looked
      // up with the others, below.
      for (auto k = begin; k < end; ++k) looked_up.push_back(runs[k].index);
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
  }
  std::vector<std::string_view> batched;
  batched.reserve(looked_up.size());
  for (auto i : looked_up) batched.push_back(keys[i]);
  return s.get_many(c, batched,
                    [&](size_t k, std::string_view value) { found(looked_up[k], value); });
}

}  // namespace fedrelay::storage
