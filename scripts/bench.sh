#!/usr/bin/env bash
# Builds (scripts/build.sh), then runs the relay benchmark and the Google Benchmark binaries,
# writing their output to bench/results/ (ignored by git; docs/PERFORMANCE.md keeps the
# numbers that were committed): relay.md (the table), relay.png (the plot), relay.txt,
# machine.txt, crypto_bench.txt, storage_bench.txt.
# Usage: scripts/bench.sh [relay_bench args], e.g.
#   scripts/bench.sh --events 1000000 --fanout-events 100000 --latency-seconds 30
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
# The plot needs gnuplot; only the benchmark does, so CI (scripts/install-deps.sh) does
# not install it. Without it the table is still written.
if ! command -v gnuplot >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox; } ||
    echo "bench.sh: could not install gnuplot-nox; the table is written without a plot" >&2
fi
results="$root/bench/results"
mkdir -p "$results"
cd "$root"
{ echo "nproc: $(nproc)"; free -h; uptime; } | tee "$results/machine.txt"
build/bench/relay_bench --out "$results/relay.md" "$@" | tee "$results/relay.txt"
for b in crypto_bench storage_bench; do
  if [[ -x build/bench/$b ]]; then
    build/bench/$b --benchmark_min_time=0.2 | tee "$results/$b.txt"
  fi
done
echo "results in $results (relay.md, relay.png)"
