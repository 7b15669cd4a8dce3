#!/usr/bin/env bash
# Builds fedrelay and its tests with AddressSanitizer and UndefinedBehaviorSanitizer into
# ./build-sanitize and runs the test suite there: any invalid memory access, leak-free
# use after free, overflow or other undefined behaviour ends the process that did it,
# so the test fails with the sanitizer's report in its output.
# Usage: scripts/sanitize.sh [ctest args], e.g. scripts/sanitize.sh -L unit
# The build has no benchmarks and no jemalloc (the sanitizers bring their own allocator).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1: about twice the speed of -O0 under the sanitizers, and frames still readable.
cmake -S . -B build-sanitize -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS=-O1 -DFEDRELAY_SANITIZE=address,undefined -DFEDRELAY_BUILD_BENCH=OFF \
  >/dev/null
cmake --build build-sanitize -j "$(nproc)"
# Leaks are not checked: CAF and RocksDB keep process-wide objects they never free, and a
# node killed on purpose (SIGKILL tests) never gets to free anything.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-sanitize
ctest -j "$(nproc)" --output-on-failure --timeout 600 "$@"
