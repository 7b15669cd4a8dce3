#include "bench/options.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace fedrelay::bench {

namespace {

const char* const known_scenarios[] = {"throughput", "latency", "fanout",
                                       "recovery",   "kill",    "files"};

// The nodes keep the default [files] max_bytes, so a larger upload would get HTTP 413.
constexpr size_t max_file_mib = 100;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

double positive_number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(v > 0))
    throw std::runtime_error(flag + ": not a positive number: " + text);
  return v;
}

void usage() {
  std::printf(
      "usage: relay_bench [--events N] [--connections K] [--batch N] [--sizes 256,4096]\n"
      "                   [--rates 10,50,90] [--latency-seconds S] [--latency-size B]\n"
      "                   [--max-rate EV_PER_S]\n"
      "                   [--fanout-servers M] [--fanout-events N] [--file-mib M]\n"
      "                   [--room-members N] [--rooms N]\n"
      "                   [--scenarios throughput,latency,fanout,recovery,kill,files]\n"
      "                   [--out FILE.md] [--dir PARENT] [--binary PATH] [--keep]\n"
      "                   [--sync always|periodic] [--sync-period-ms MS] [--trace FILE]\n"
      "--out FILE.md also writes FILE.png (gnuplot) next to it.\n"
      "--max-rate EV_PER_S: the latency runs offer their --rates percentages of this rate\n"
      "instead of the rate a throughput run measured (so runs of different builds or at\n"
      "different hours offer the same load).\n"
      "--room-members N invites N more users of B to the room of the throughput, latency,\n"
      "recovery and kill runs before they start (a large room: every event still goes to\n"
      "B once).\n"
      "--rooms N spreads the events of those runs over N rooms (event i to room i mod N),\n"
      "each hosted on A with bob of B and the --room-members in it.\n"
      "--sync periodic runs the nodes with storage.sync = \"periodic\": events are answered\n"
      "before the fsync (a row's notes say so); the default is every event synced.\n"
      "--trace FILE writes a line per event of each latency run: the scenario, when it was\n"
      "sent (Unix time, ms, as the nodes' RocksDB LOG files stamp theirs), its latency to\n"
      "B's local server and its wait for A's answer (ms), to set the slowest against what\n"
      "the nodes did then (--keep keeps their data dirs).\n");
}

}  // namespace

options parse_options(int argc, char** argv, const std::string& default_binary) {
  options o;
  o.binary = default_binary;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    auto number = [&] { return positive_number(arg, value()); };
    auto count = [&] { return static_cast<size_t>(number()); };
    if (arg == "--events") {
      o.events = count();
    } else if (arg == "--connections") {
      o.connections = count();
    } else if (arg == "--batch") {
      o.batch = count();
    } else if (arg == "--sizes" || arg == "--rates") {
      auto list = split(value(), ',');
      if (list.empty()) throw std::runtime_error(arg + " needs a list");
      if (arg == "--sizes")
        o.sizes.clear();
      else
        o.rates.clear();
      for (auto& item : list) {
        double v = positive_number(arg, item);
        if (arg == "--sizes")
          o.sizes.push_back(static_cast<size_t>(v));
        else
          o.rates.push_back(v);
      }
    } else if (arg == "--latency-seconds") {
      o.latency_seconds = number();
    } else if (arg == "--max-rate") {
      o.max_rate = number();
    } else if (arg == "--latency-size") {
      o.latency_size = count();
    } else if (arg == "--fanout-servers") {
      o.fanout_servers = count();
    } else if (arg == "--rooms") {
      o.rooms = count();
    } else if (arg == "--room-members") {
      o.room_members = count();
    } else if (arg == "--fanout-events") {
      o.fanout_events = count();
    } else if (arg == "--file-mib") {
      o.file_mib = count();
    } else if (arg == "--scenarios") {
      o.scenarios = value();
    } else if (arg == "--out") {
      o.out = value();
    } else if (arg == "--dir") {
      o.parent_dir = value();
    } else if (arg == "--binary") {
      o.binary = value();
    } else if (arg == "--keep") {
      o.keep = true;
    } else if (arg == "--trace") {
      o.trace = value();
    } else if (arg == "--sync") {
      o.sync = value();
      if (o.sync != "always" && o.sync != "periodic")
        throw std::runtime_error("--sync: \"always\" or \"periodic\", not \"" + o.sync + "\"");
    } else if (arg == "--sync-period-ms") {
      o.sync_period_ms = count();
    } else if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    } else {
      usage();
      throw std::runtime_error("unknown argument " + arg);
    }
  }
  if (o.parent_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o.parent_dir = tmp && *tmp ? tmp : "/tmp";
  }
  for (auto size : o.sizes)
    if (size < 64) throw std::runtime_error("--sizes: at least 64 bytes (the tag needs room)");
  if (o.latency_size < 64) throw std::runtime_error("--latency-size: at least 64 bytes");
  if (o.batch > 1000) throw std::runtime_error("--batch: at most 1000 messages per request");
  if (o.fanout_servers > 50) throw std::runtime_error("--fanout-servers: at most 50");
  if (o.room_members > 100000) throw std::runtime_error("--room-members: at most 100000");
  if (o.rooms < 1 || o.rooms > 10000) throw std::runtime_error("--rooms: from 1 to 10000");
  if (o.fanout_events == 0) o.fanout_events = o.events;
  if (o.file_mib < 1 || o.file_mib > max_file_mib)
    throw std::runtime_error("--file-mib: from 1 to " + std::to_string(max_file_mib) +
                             " (the nodes' files.max_bytes)");
  for (const auto& s : split(o.scenarios, ',')) {
    bool known = false;
    for (const char* k : known_scenarios) known = known || s == k;
    if (!known) throw std::runtime_error("--scenarios: unknown scenario " + s);
  }
  return o;
}

bool wanted(const options& o, const std::string& scenario) {
  for (auto& s : split(o.scenarios, ','))
    if (s == scenario) return true;
  return false;
}

}  // namespace fedrelay::bench
