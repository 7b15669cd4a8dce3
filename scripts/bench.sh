#!/usr/bin/env bash
# Builds (scripts/build.sh), then runs the relay benchmark and the Google Benchmark binaries,
# writing their output to bench/results/*.tmp (gitignored; docs/PERFORMANCE.md keeps the
# numbers that were committed). Usage: scripts/bench.sh [relay_bench args], e.g.
#   scripts/bench.sh --events 1000000 --sizes 256 --latency-seconds 30
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
results="$root/bench/results"
mkdir -p "$results"
cd "$root"
{ echo "nproc: $(nproc)"; free -h; uptime; } | tee "$results/machine.txt.tmp"
build/bench/relay_bench --out "$results/relay.md.tmp" "$@" | tee "$results/relay.txt.tmp"
for b in crypto_bench storage_bench; do
  if [[ -x build/bench/$b ]]; then
    build/bench/$b --benchmark_min_time=0.2 | tee "$results/$b.txt.tmp"
  fi
done
echo "results in $results"
