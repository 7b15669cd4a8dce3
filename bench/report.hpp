// relay_bench's output: one row per scenario, printed as it finishes, then a Markdown table
// and a PNG plot (gnuplot) of throughput and latency percentiles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedrelay::bench {

struct row {
  std::string name;
  size_t events = 0;
  size_t size = 0;
  size_t batch = 1;             // messages per submit request (1: chat.send)
  std::string offered = "max";  // "max" (closed loop) or events/s
  double e2e_per_s = 0;         // events seen at B / (last seen - first submitted)
  double accepted_per_s = 0;    // events accepted at A / (last accepted - first submitted)
  double p50 = 0, p99 = 0, p999 = 0, max_ms = 0;  // submit -> seen at B
  double a_hwm_mb = 0, b_hwm_mb = 0;
  double a_cpu_per_100k = 0, b_cpu_per_100k = 0;
  double client_cpu_per_100k = 0;  // this process: submitting, reading and parsing
  double a_switches_per_event = 0, b_switches_per_event = 0;
  std::string note;
};

std::string fixed(double v, int digits);

// A measured value, or "-" for one the scenario does not measure (such as latency while the
// receiving node is down): a real rate or latency is never exactly 0.
std::string measured_or_dash(double v, int digits);

// Sorts the latencies and fills p50, p99, p99.9 and max (nearest rank).
void fill_latencies(row& r, std::vector<int64_t> latencies_ns);

double per_event(double total, size_t events);
double per_100k(double cpu_s, size_t events);

void print_row(const row& r);
std::string markdown_table(const std::vector<row>& rows);

// Cores, RAM and load average, for the report header.
std::string machine_summary();

// The PNG next to a Markdown file: FILE.md -> FILE.png (otherwise FILE.png appended).
std::string plot_path_for(const std::string& markdown_path);

// Plots throughput per scenario and the latency percentiles of the latency runs with
// gnuplot into `png`, using `work_dir` for its script. "" on success, else why not.
std::string write_plot(const std::vector<row>& rows, const std::string& title,
                       const std::string& png, const std::string& work_dir);

}  // namespace fedrelay::bench
