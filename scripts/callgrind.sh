#!/usr/bin/env bash
# Counts the instructions each node runs per relayed event, with Valgrind's callgrind:
# relay_bench's throughput run twice, both nodes under callgrind (about 50 times slower),
# the second run with EVENTS more events than the first, so that starting, setting up the
# room and stopping cancel out. Prints the instructions per event of node A (the sender)
# and node B (the receiver), split into parts: the handlers of each actor behaviour,
# RocksDB's background work, HTTP parsing and routing, and the rest.
# Instruction counts do not move with the machine's load, as times do; they count user
# space only, and Valgrind's CPU has no AVX-512 and counts each step of a rep-prefixed
# copy or fill as an instruction (docs/PERFORMANCE.md, "Counting instructions").
# Usage: scripts/callgrind.sh [SIZE [BATCH [EVENTS]]]   (defaults 256 100 20000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-256}
batch=${2:-100}
events=${3:-20000}
base=2000
for n in "$size" "$batch" "$events"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "callgrind.sh: '$n' is not a positive number" >&2; exit 2; }
done
node_bin="$root/build/app/fedrelay"
bench_bin="$root/build/bench/relay_bench"
for b in "$node_bin" "$bench_bin"; do
  [ -x "$b" ] || { echo "callgrind.sh: $b is missing; run scripts/build.sh first" >&2; exit 1; }
done
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq --no-install-recommends valgrind ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends valgrind; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fedrelay-callgrind.XXXXXX")
trap 'rm -rf "$work"' EXIT
# relay_bench runs `--binary` for every node command; only `run` goes under callgrind, so
# keygen and the others print what the harness reads.
cat >"$work/fedrelay" <<EOF
#!/usr/bin/env bash
if [ "\$1" = run ]; then
  exec valgrind -q --tool=callgrind --callgrind-out-file="$work/out/%p.out" "$node_bin" "\$@"
fi
exec "$node_bin" "\$@"
EOF
chmod +x "$work/fedrelay"

# run N: one throughput run of N events; leaves $work/{a,b}.N.out
run() {
  local n=$1
  rm -rf "$work/out"
  mkdir "$work/out"
  if ! "$bench_bin" --binary "$work/fedrelay" --dir "$work" --sizes "$size" --batch "$batch" \
    --scenarios throughput --events "$n" >"$work/bench.$n.txt" 2>&1; then
    cat "$work/bench.$n.txt" >&2
    exit 1
  fi
  local f
  for f in "$work"/out/*.out; do
    [ -e "$f" ] || continue
    if grep -q "a.test/node.toml" "$f"; then cp "$f" "$work/a.$n.out"; else cp "$f" "$work/b.$n.out"; fi
  done
  # A node that was killed, not stopped, leaves no profile.
  for f in "$work/a.$n.out" "$work/b.$n.out"; do
    [ -s "$f" ] || { echo "callgrind.sh: no profile $(basename "$f") from the run of $n events" >&2; exit 1; }
  done
}

# parts FILE: "count name" for the whole program; the handlers of each actor behaviour,
# named by the function that defines it (a peer's show as `connected` and `send`);
# RocksDB's flushes and compactions; Beast's parsing of HTTP requests and answers; the
# routing of requests and the handing on of answers. Inclusive counts; a part only in
# the longer run counts from 0.
parts() {
  echo "$(sed -n 's/^totals: //p' "$1") total"
  callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$1" |
    sed -n -E \
      -e 's/^ *([0-9,]+) .*caf::trivial_match_case<fedrelay::[a-z]+::(\(anonymous namespace\)::)?([a-z_]+)\(.*/\1 handlers of \3/p' \
      -e 's/^ *([0-9,]+) .*rocksdb::DBImpl::BackgroundCall(Flush|Compaction)\(.*/\1 RocksDB \2/p' \
      -e 's/^ *([0-9,]+) .*boost::beast::http::basic_parser<true>::put\(.*/\1 HTTP requests parsed/p' \
      -e 's/^ *([0-9,]+) .*boost::beast::http::basic_parser<false>::put\(.*/\1 HTTP answers parsed/p' \
      -e 's/^ *([0-9,]+) .*fedrelay::net::http_session<.*>::on_read\(.*/\1 HTTP requests routed/p' \
      -e 's/^ *([0-9,]+) .*fedrelay::net::client_op::on_read\(.*/\1 HTTP answers handed on/p' |
    tr -d ',' | awk '{n = $1; $1 = ""; sum[$0] += n} END {for (k in sum) print sum[k], substr(k, 2)}'
}

echo "callgrind.sh: ${size} B texts, batches of ${batch}, runs of ${base} and $((base + events)) events" >&2
run "$base"
run "$((base + events))"
for node in a b; do
  # Into files first: a failure inside a process substitution would not stop the script.
  for n in "$base" "$((base + events))"; do
    parts "$work/$node.$n.out" | sed 's/ /|/' | sort -t '|' -k 2 >"$work/$node.$n.parts"
  done
  echo "node ${node^^} ($([ $node = a ] && echo sender || echo receiver)), instructions per event:"
  join -t '|' -j 2 -a 2 -e 0 -o 0,1.1,2.1 "$work/$node.$base.parts" \
    "$work/$node.$((base + events)).parts" |
    awk -F'|' -v n="$events" '
      { d = ($3 - $2) / n; if ($1 == "total") total = d; else if (d >= 500) part[$1] = d }
      END {
        printf "%10.0f  total\n", total
        for (k in part) { printf "%10.0f  %s\n", part[k], k; sum += part[k] }
        # The parts hardly nest (handlers run one at a time, flushes on their own thread);
        # the rest is CAF, Asio and Beast between them, allocation, and the smaller parts.
        printf "%10.0f  the rest\n", total - sum
      }' | sort -k1,1 -rn
done
