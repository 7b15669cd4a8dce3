#!/usr/bin/env python3
"""Sets the slowest 1 % of a latency run's events against what RocksDB did meanwhile.

Reads the file `relay_bench --trace FILE` wrote (one line per event: scenario, sent in
Unix ms, latency to B's local server in ms, wait for A's answer in ms) and the RocksDB
LOG files of the nodes in DIR (`relay_bench --keep` keeps them: DIR/<node>/data/db/LOG).
Prints the run's percentiles, the 100 ms windows with the most events at or above the
p99, each with the flushes and compactions of either node under way then, and how many
of those slow events fell in a window with one.

Usage: scripts/slowest-events.py TRACE DIR [SCENARIO]   (SCENARIO: e.g. latency_50pct;
default: the first in TRACE)
"""
import collections
import glob
import json
import os
import re
import sys


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def background_jobs(directory):
    """(start ms, end ms, "node flush|compaction column") for every job in the LOGs."""
    jobs = []
    for log in sorted(glob.glob(os.path.join(directory, "*", "data", "db", "LOG"))):
        node = os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(log))))
        started = {}
        with open(log, errors="replace") as f:
            for line in f:
                m = re.search(r"EVENT_LOG_v1 (\{.*\})", line)
                if not m:
                    continue
                d = json.loads(m.group(1))
                kind, _, phase = d.get("event", "").partition("_")
                if kind not in ("flush", "compaction"):
                    continue
                key = (kind, d.get("job"))
                if phase == "started":
                    started[key] = (d["time_micros"] / 1000, d.get("cf_name", ""))
                elif phase == "finished" and key in started:
                    start, column = started.pop(key)
                    jobs.append((start, d["time_micros"] / 1000,
                                 f"{node} {kind} {d.get('cf_name', column)}"))
    return sorted(jobs)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    trace, directory = sys.argv[1], sys.argv[2]
    rows = [line.split() for line in open(trace) if line.strip()]
    scenario = sys.argv[3] if len(sys.argv) == 4 else rows[0][0]
    events = sorted((float(r[1]), float(r[2]), float(r[3])) for r in rows if r[0] == scenario)
    if not events:
        sys.exit(f"no events of {scenario} in {trace}")
    latencies = sorted(e[1] for e in events)
    p99 = percentile(latencies, 0.99)
    print(f"{scenario}: {len(events)} events, p50 {percentile(latencies, 0.5):.2f} ms, "
          f"p99 {p99:.2f} ms, p99.9 {percentile(latencies, 0.999):.2f} ms, "
          f"max {latencies[-1]:.2f} ms")
    start = events[0][0]
    jobs = background_jobs(directory)
    slow = collections.Counter()
    worst = collections.defaultdict(float)
    for sent, latency, _ in events:
        if latency >= p99:
            window = int((sent - start) // 100)
            slow[window] += 1
            worst[window] = max(worst[window], latency)

    def jobs_near(window):
        # A job that ends up to 50 ms before a window still holds back the events sent in it.
        lo, hi = start + window * 100 - 50, start + window * 100 + 100
        return [f"{what} {s - start:.0f}+{e - s:.0f} ms" for s, e, what in jobs
                if s <= hi and e >= lo]

    print(f"events at or above the p99: {sum(slow.values())} in {len(slow)} windows of 100 ms")
    for window, count in slow.most_common(12):
        near = jobs_near(window)
        print(f"  {window * 100:7d} ms: {count:4d}, worst {worst[window]:.1f} ms; "
              f"{'; '.join(near) if near else 'no flush or compaction'}")
    with_job = sum(count for window, count in slow.items() if jobs_near(window))
    print(f"in a window with a flush or compaction of either node: {with_job} of "
          f"{sum(slow.values())}")
    print("jobs during the run: " +
          ("; ".join(f"{what} {s - start:.0f}+{e - s:.0f} ms" for s, e, what in jobs
                     if start <= e and s <= events[-1][0]) or "none"))


if __name__ == "__main__":
    main()
