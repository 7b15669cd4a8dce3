#!/usr/bin/env bash
# Builds fedrelay and its tests with AddressSanitizer and UndefinedBehaviorSanitizer into
# ./build-sanitize and runs the test suite there: an invalid memory access (a use after
# free, a read past a buffer) or undefined behaviour (a signed overflow, a bad shift) ends
# the process that did it, so its test fails with the sanitizer's report in its output.
# Usage: scripts/sanitize.sh [ctest args], e.g. scripts/sanitize.sh -L unit
# The build has no benchmarks and no jemalloc (the sanitizers bring their own allocator).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# -O1 keeps the frames of a report readable and the suite within its timeouts.
FEDRELAY_BUILD_DIR=build-sanitize "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS=-O1 -DFEDRELAY_SANITIZE=address,undefined -DFEDRELAY_BUILD_BENCH=OFF
# Leaks are not checked: CAF and RocksDB keep process-wide objects they never free, and a
# node killed on purpose (SIGKILL tests) never gets to free anything.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/scripts/ubsan.supp
cd "$root/build-sanitize"
ctest -j "$(nproc)" --output-on-failure --timeout 600 "$@"
