// relay_bench's command line.
#pragma once

#include <string>
#include <vector>

namespace fedrelay::bench {

struct options {
  size_t events = 20000;                  // events per throughput, recovery and kill run
  size_t connections = 16;                // concurrent submit requests at A's local API
  size_t batch = 1;                       // messages per request; > 1 uses chat.sendBatch
  std::vector<size_t> sizes{256, 4096};   // text sizes of the throughput runs, bytes
  std::vector<double> rates{10, 50, 90};  // latency runs: percent of the max 256 B rate
  double latency_seconds = 5;             // length of one latency run (events = rate * seconds)
  double max_rate = 0;                    // what --rates are percent of, ev/s; 0: measured
  size_t latency_size = 256;              // text size of the latency, fanout, recovery, kill runs
  size_t fanout_servers = 10;             // member servers of the fanout room besides A
  size_t room_members = 0;                // more members of the bench room, invited on B
  size_t rooms = 1;                       // rooms the bench events are spread over, in turn
  size_t fanout_events = 0;               // events of the fanout run; 0: --events
  size_t file_mib = 64;                   // size of the file of the files scenario, MiB
  std::string scenarios = "throughput,latency,fanout,recovery,kill,files";
  std::string out;               // Markdown table goes here when set, the plot next to it
  std::string parent_dir;        // where the temp dir is made; $TMPDIR or /tmp
  std::string binary;            // the fedrelay binary
  bool keep = false;             // keep the temp dir (node logs and data) for a look after
  std::string trace;             // latency runs write each event's times here when set
  std::string sync = "always";   // the nodes' storage.sync: "always" or "periodic"
  size_t sync_period_ms = 1000;  // their storage.sync_period_ms, with "periodic"
};

// Throws std::runtime_error with a message for the user on a bad command line; prints the
// usage and exits 0 on --help.
options parse_options(int argc, char** argv, const std::string& default_binary);

bool wanted(const options& o, const std::string& scenario);

}  // namespace fedrelay::bench
