// The node's metrics probe: counters and a latency histogram that actors bump where things
// happen (plain atomics, so any actor or thread may write and GET /metrics may read
// without a message). Per-peer figures live in the peer actors (peer_stats), discovery's
// in the discovery actor; net/metrics_api.cpp renders all of them.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace fedrelay::actors {

/// A Prometheus-style histogram of durations: fixed upper bounds in seconds, counts per
/// bucket, the count and the sum. observe() and read() may run on any threads at once; a
/// read taken during an observe may miss that one observation in some of its figures.
class latency_histogram {
 public:
  /// Upper bounds, in seconds, of the buckets before +Inf: 100 µs to 2.5 s, covering a
  /// synced write on an SSD (about 1 ms) up to a disk in trouble.
  static constexpr std::array<double, 12> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

  struct snapshot {
    std::array<uint64_t, bounds.size() + 1> buckets{};  // per bucket (not cumulative), +Inf last
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  void observe(std::chrono::nanoseconds took);
  snapshot read() const;

 private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

/// Where an event came from: the local server (the local API) or a peer (a transaction).
enum class event_source { local, peer };

struct node_metrics {
  // Events the local server submitted that were written (accepted) or refused by the
  // room's rules (rejected); events in peers' transactions that the rooms took (accepted)
  // or refused (rejected, named in the receipt). Resends that were already handled count
  // once.
  std::atomic<uint64_t> accepted_local{0};
  std::atomic<uint64_t> accepted_peer{0};
  std::atomic<uint64_t> rejected_local{0};
  std::atomic<uint64_t> rejected_peer{0};
  // Room actors running: every room in use, until it idles (room_context::idle_room_after).
  std::atomic<int64_t> rooms_running{0};
  // A member's rooms: catch-up requests sent to hosts, and events of a host that came
  // more than room_context::max_ahead past a gap and were dropped (catch-up fetches them
  // again). Both climbing under load say the member falls behind its hosts.
  std::atomic<uint64_t> catchup_requests{0};
  std::atomic<uint64_t> dropped_ahead{0};
  // The journal's synced RocksDB writes (each a group commit of one or more appends).
  latency_histogram store_write;
  // When the TLS certificate the federation port serves expires (Unix seconds), as read at
  // start and at each reload that loaded it; 0 without TLS.
  std::atomic<int64_t> tls_not_after{0};

  void accepted(event_source from, uint64_t n = 1);
  void rejected(event_source from, uint64_t n = 1);
};

/// Bytes of freed pages the allocator handed back to the kernel, when the process idled or
/// kept too many (app/idle_memory_return.hpp): one count per process, however many nodes
/// it runs.
std::atomic<uint64_t>& memory_returned_bytes();

/// Times the store failed a write (a full disk, a failed fsync) since the process started:
/// one count per process, so the node started again after each keeps counting them.
std::atomic<uint64_t>& store_write_failures();

}  // namespace fedrelay::actors
