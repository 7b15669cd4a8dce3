// The machine's wall clock as the node stamps and compares times: Unix time, which peers
// and stored values share (a steady clock would not survive a restart or cross machines).
#pragma once

#include <cstdint>

namespace fedrelay::actors {

/// Unix milliseconds now.
int64_t unix_ms_now();

/// Unix seconds now.
int64_t unix_seconds_now();

}  // namespace fedrelay::actors
