#include "bench/report.hpp"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "bench/process.hpp"

namespace fedrelay::bench {

using namespace std::chrono_literals;

namespace {

double percentile_ms(const std::vector<int64_t>& sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[std::max<size_t>(rank, 1) - 1]) / 1e6;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Names go into gnuplot strings: keep them plain.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? '_' : c;
  return out + "\"";
}

}  // namespace

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string measured_or_dash(double v, int digits) {
  return v == 0 ? "-" : fixed(v, digits);
}

void fill_latencies(row& r, std::vector<int64_t> latencies) {
  std::sort(latencies.begin(), latencies.end());
  r.p50 = percentile_ms(latencies, 0.50);
  r.p99 = percentile_ms(latencies, 0.99);
  r.p999 = percentile_ms(latencies, 0.999);
  r.max_ms = latencies.empty() ? 0 : static_cast<double>(latencies.back()) / 1e6;
}

double per_event(double total, size_t events) {
  return events == 0 ? 0 : total / static_cast<double>(events);
}

double per_100k(double cpu_s, size_t events) {
  return per_event(cpu_s, events) * 100000.0;
}

void print_row(const row& r) {
  std::printf(
      "%-16s : %9s ev/s e2e; %9s accepted/s; p50 %8s ms p99 %8s ms p99.9 %8s ms; "
      "RSS A %6s MB B %6s MB; cpu/100k A %6s s B %6s s client %5s s; ctx sw/event A %5s B %5s "
      "(%zu x %zu B, batch %zu, offered %s)%s%s\n",
      r.name.c_str(), measured_or_dash(r.e2e_per_s, 0).c_str(),
      measured_or_dash(r.accepted_per_s, 0).c_str(), measured_or_dash(r.p50, 2).c_str(),
      measured_or_dash(r.p99, 2).c_str(), measured_or_dash(r.p999, 2).c_str(),
      measured_or_dash(r.a_hwm_mb, 1).c_str(), measured_or_dash(r.b_hwm_mb, 1).c_str(),
      measured_or_dash(r.a_cpu_per_100k, 2).c_str(), measured_or_dash(r.b_cpu_per_100k, 2).c_str(),
      measured_or_dash(r.client_cpu_per_100k, 2).c_str(),
      measured_or_dash(r.a_switches_per_event, 1).c_str(),
      measured_or_dash(r.b_switches_per_event, 1).c_str(), r.events, r.size, r.batch,
      r.offered.c_str(), r.note.empty() ? "" : "; ", r.note.c_str());
  std::fflush(stdout);
}

std::string markdown_table(const std::vector<row>& rows) {
  std::string t =
      "| scenario | events | text B | batch | offered ev/s | e2e ev/s | accepted ev/s | p50 ms "
      "| p99 ms | p99.9 ms | max ms | A peak RSS MB | B peak RSS MB | A cpu s/100k "
      "| B cpu s/100k | client cpu s/100k | A ctx sw/event | B ctx sw/event | notes |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      "---|\n";
  for (const auto& r : rows)
    t += "| " + r.name + " | " + std::to_string(r.events) + " | " + std::to_string(r.size) + " | " +
         std::to_string(r.batch) + " | " + r.offered + " | " + measured_or_dash(r.e2e_per_s, 0) +
         " | " + measured_or_dash(r.accepted_per_s, 0) + " | " + measured_or_dash(r.p50, 2) +
         " | " + measured_or_dash(r.p99, 2) + " | " + measured_or_dash(r.p999, 2) + " | " +
         measured_or_dash(r.max_ms, 2) + " | " + measured_or_dash(r.a_hwm_mb, 1) + " | " +
         measured_or_dash(r.b_hwm_mb, 1) + " | " + measured_or_dash(r.a_cpu_per_100k, 2) + " | " +
         measured_or_dash(r.b_cpu_per_100k, 2) + " | " +
         measured_or_dash(r.client_cpu_per_100k, 2) + " | " +
         measured_or_dash(r.a_switches_per_event, 1) + " | " +
         measured_or_dash(r.b_switches_per_event, 1) + " | " + r.note + " |\n";
  return t;
}

std::string machine_summary() {
  struct sysinfo si {};
  sysinfo(&si);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  char buf[200];
  std::snprintf(buf, sizeof buf, "%ld cores online, %.1f GiB RAM, load average %.2f %.2f %.2f",
                sysconf(_SC_NPROCESSORS_ONLN),
                static_cast<double>(si.totalram) * si.mem_unit / (1024.0 * 1024 * 1024), load[0],
                load[1], load[2]);
  return buf;
}

std::string plot_path_for(const std::string& markdown_path) {
  if (ends_with(markdown_path, ".md"))
    return markdown_path.substr(0, markdown_path.size() - 3) + ".png";
  return markdown_path + ".png";
}

std::string write_plot(const std::vector<row>& rows, const std::string& title,
                       const std::string& png, const std::string& work_dir) {
  auto gnuplot = find_program("gnuplot");
  if (gnuplot.empty()) return "gnuplot is not installed (scripts/bench.sh installs gnuplot-nox)";
  // Left: every row with a rate; right: the percentiles of the rows that measured latency
  // of live traffic (the drain row's latency includes the time B was down).
  std::string rates, latencies;
  for (const auto& r : rows) {
    auto label = quoted(r.name + (r.batch > 1 ? " batch " + std::to_string(r.batch) : ""));
    if (r.e2e_per_s > 0 || r.accepted_per_s > 0)
      rates += label + " " + fixed(r.e2e_per_s, 0) + " " + fixed(r.accepted_per_s, 0) + "\n";
    if (r.p50 > 0 && r.name.rfind("recovery", 0) != 0 && r.name.rfind("kill", 0) != 0)
      latencies +=
          label + " " + fixed(r.p50, 3) + " " + fixed(r.p99, 3) + " " + fixed(r.p999, 3) + "\n";
  }
  if (rates.empty()) return "nothing to plot";
  int panels = latencies.empty() ? 1 : 2;
  std::string script = "$rates << EOD\n" + rates + "EOD\n";
  if (!latencies.empty()) script += "$latencies << EOD\n" + latencies + "EOD\n";
  script += "set terminal pngcairo noenhanced size " + std::to_string(700 * panels) +
            ",560 font \"sans,10\"\n"
            "set output " +
            quoted(png) +
            "\n"
            "set multiplot layout 1," +
            std::to_string(panels) + " title " + quoted(title) +
            "\n"
            "set style data histograms\n"
            "set style histogram clustered gap 1\n"
            "set style fill solid 0.85 border -1\n"
            "set boxwidth 0.9\n"
            "set grid ytics\n"
            "set key below horizontal\n"
            "set xtics rotate by 30 right nomirror\n"
            "set yrange [0:*]\n"
            "set title \"Throughput\"\n"
            "set ylabel \"events/s\"\n"
            "plot $rates using 2:xtic(1) title \"e2e (seen at every receiver)\", "
            "'' using 3 title \"accepted at A\"\n";
  if (!latencies.empty())
    script +=
        "set title \"Latency, submit at A to seen at the receiver\"\n"
        "set ylabel \"ms (log scale)\"\n"
        "set logscale y\n"
        "set yrange [*:*]\n"
        "plot $latencies using 2:xtic(1) title \"p50\", '' using 3 title \"p99\", "
        "'' using 4 title \"p99.9\"\n";
  script += "unset multiplot\n";
  auto script_path = work_dir + "/plot.gp";
  write_file(script_path, script);
  auto result = run_command({gnuplot, script_path}, 60s);
  if (result.exit_code != 0) return "gnuplot failed: " + result.output;
  return {};
}

}  // namespace fedrelay::bench
