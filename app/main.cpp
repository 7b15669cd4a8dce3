// The fedrelay executable: hands the command line to the app library, and tells jemalloc
// (linked into this binary only, cmake/dependencies.cmake) how to manage the memory.
#include <csignal>

#include "app/cli.hpp"
#include "app/idle_memory_return.hpp"

// jemalloc reads this at its first allocation; MALLOC_CONF in the environment still
// overrides any of it. One arena for all threads and all sizes (by default requests of
// 8 MiB and more get an arena of their own), so memory freed on one thread is reused by any
// other, and freed pages kept for reuse instead of handed back to the kernel after about
// ten seconds (jemalloc's default decay); app/idle_memory_return.hpp hands them back when
// the process idles or keeps too many. With an arena per thread and that decay, each node
// kept touching pages the kernel had to map afresh, which costs about 14 µs a fault on the
// VM the benchmarks run on: 0.5-0.7 faults per event with 4 KiB texts, 4-11 % of each
// node's CPU. With decay alone turned off, memory freed in one arena sat unused while
// another grew (a receiver passed 1 GB). With both, faults all but stopped
// (docs/PERFORMANCE.md, twenty-seventh round).
extern "C" {
const char* malloc_conf = fedrelay::app::jemalloc_options;
}

int main(int argc, char** argv) {
  // A file past the size limit (ulimit -f, systemd's LimitFSIZE=) is then a write that
  // fails with EFBIG, which the store handles as a full disk, instead of a signal that
  // kills the node and dumps its core.
  ::signal(SIGXFSZ, SIG_IGN);
  return fedrelay::app::run_cli(argc, argv);
}
