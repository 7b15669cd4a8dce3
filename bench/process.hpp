// relay_bench's hold on the processes it starts: spawning, waiting, killing, cleaning up on
// every exit path (Ctrl-C included), and what /proc and the disk say about a node.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fedrelay::bench {

using steady = std::chrono::steady_clock;

int64_t now_ns();
double seconds_between(int64_t from_ns, int64_t to_ns);

// count / (to - from) in events per second; 0 (shown as "-") when there is no interval.
double per_second(size_t count, int64_t from_ns, int64_t to_ns);

// Every deadline of the harness is one of these, so no loop can wait forever.
steady::time_point after(std::chrono::milliseconds d);

// A generous bound for a run of `events`: 30 s plus 5 ms per event (a relay slower than
// 200 events/s is broken).
std::chrono::milliseconds budget_for(size_t events);

// Kills every child still registered (and its process group) and removes the temp dir.
void clean_up_everything();

// Termination signals go to one thread that cleans up and exits; a std::terminate does too.
void install_signal_thread();

// A fresh directory under `parent`; removed by clean_up_everything unless `keep`.
std::string make_temp_dir(const std::string& parent, bool keep);

// Starts argv[0] in its own process group, stdout and stderr to `out_fd`; registered for
// clean-up until it is reaped.
pid_t spawn(const std::vector<std::string>& argv, int out_fd);

// The exit status (128+signal when killed), or nullopt when it is still running at `until`.
std::optional<int> wait_exit(pid_t pid, steady::time_point until);

void kill_and_reap(pid_t pid);

struct command_result {
  int exit_code = -1;
  std::string output;
};

// Runs a command to its end (killed and an exception after `limit`).
command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit);

// The full path of `name` on $PATH, or "" when it is not there.
std::string find_program(const std::string& name);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

uint16_t free_tcp_port();

// What /proc says about a process: CPU seconds (user + system) and memory.
struct proc_sample {
  double cpu_s = 0;
  double hwm_mb = 0;        // VmHWM: peak resident set
  double rss_mb = 0;        // VmRSS: resident now
  double ctx_switches = 0;  // voluntary + involuntary, summed over its live threads
};

proc_sample sample_process(pid_t pid);

// Bytes under a directory: allocated blocks as du counts them, and apparent file sizes
// (RocksDB preallocates its log files, so only the second one grows event by event).
struct disk_usage {
  uint64_t allocated = 0;
  uint64_t apparent = 0;
};

disk_usage disk_bytes(const std::string& dir);

}  // namespace fedrelay::bench
