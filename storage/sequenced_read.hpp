// Reading many entries of sequenced keys at once (a room log's entries that an outbox or
// the inbox refers to): they mostly come as runs of consecutive seqs, and one iterator
// over a long run costs less than a lookup per entry; short runs and lone keys go in one
// batched lookup.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "storage/store.hpp"

namespace fedrelay::storage {

/// Reads the values of `keys` in column `c`. Keys of the form sequenced_key(prefix, seq)
/// with consecutive seqs of one prefix are read with one scan, except that among more
/// than four such runs those under 64 seqs are looked up; lone keys and other keys are
/// looked up, all lookups in one batch. Calls `found(i, value)` once for each keys[i] that is
/// stored (a key given twice is found twice), in no particular order; a key that is not stored gets
/// no call. The first read error ends the reading and is returned (as store::get and store::scan
/// give it): some keys may then be unvisited.
[[nodiscard]] caf::error read_sequenced(const store& s, column c,
                                        const std::vector<std::string_view>& keys,
                                        const std::function<void(size_t, std::string_view)>& found);

}  // namespace fedrelay::storage
