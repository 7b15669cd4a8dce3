#include "net/metrics_api.hpp"

#include <cstdio>

#include <caf/event_based_actor.hpp>

#include "actors/atoms.hpp"

namespace fedrelay::net {
namespace {

/// Label values escape '\', '"' and newlines (the text format's rule).
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

std::string number(uint64_t value) {
  return std::to_string(value);
}

/// Writes families: a HELP and TYPE header, then its samples.
class exposition {
 public:
  void family(const std::string& name, const char* type, const char* help) {
    name_ = name;
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  /// One sample of the current family; `suffix` for histogram parts ("_bucket").
  template <class T>
  void sample(const std::vector<std::pair<std::string, std::string>>& labels, T value,
              const char* suffix = "") {
    out_ += name_ + suffix;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i)
        out_ += (i ? "," : "") + labels[i].first + "=\"" + label_value(labels[i].second) + '"';
      out_ += '}';
    }
    out_ += ' ' + number(value) + '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string name_;
  std::string out_;
};

void render_peers(exposition& x, const std::vector<actors::peer_stats>& peers) {
  using stat = actors::peer_stats;
  auto per_peer = [&](const char* name, const char* type, const char* help, auto value_of) {
    x.family(name, type, help);
    for (const stat& p : peers) x.sample({{"peer", p.domain}}, value_of(p));
  };
  per_peer("fedrelay_peer_queue_depth", "gauge",
           "Events queued for the peer and not yet acknowledged.",
           [](const stat& p) { return p.queue_depth; });
  per_peer("fedrelay_peer_oldest_queued_age_seconds", "gauge",
           "Age of the oldest event queued for the peer; 0 when the queue is empty.",
           [](const stat& p) { return static_cast<double>(p.oldest_age_ms) / 1000.0; });
  per_peer("fedrelay_peer_transactions_sent_total", "counter",
           "Transactions the peer answered with a valid receipt.",
           [](const stat& p) { return p.transactions_sent; });
  per_peer("fedrelay_peer_failures_total", "counter",
           "Failed attempts to reach the peer: no reply, an error status, discovery.",
           [](const stat& p) { return p.failures; });
  per_peer("fedrelay_peer_backoff_seconds", "gauge",
           "The peer's current backoff ceiling; 0 after a success.",
           [](const stat& p) { return static_cast<double>(p.backoff_ms) / 1000.0; });
  per_peer("fedrelay_events_relayed_total", "counter",
           "Queued events (and room states) the peer's receipts accepted.",
           [](const stat& p) { return p.events_relayed; });
  per_peer("fedrelay_events_refused_by_peer_total", "counter",
           "Queued events the peer's receipts rejected for good.",
           [](const stat& p) { return p.events_refused; });
  x.family("fedrelay_peer_state", "gauge", "1 for the state the peer's link is in, else 0.");
  for (const stat& p : peers)
    for (const char* state : {"resolving", "connected", "backing_off"})
      x.sample({{"peer", p.domain}, {"state", state}}, uint64_t{p.state == state ? 1u : 0u});
}

void render_probe(exposition& x, const actors::node_metrics& m) {
  auto load = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  x.family("fedrelay_events_accepted_total", "counter",
           "Events the rooms accepted: source=local from the local server, source=peer from "
           "peers.");
  x.sample({{"source", "local"}}, load(m.accepted_local));
  x.sample({{"source", "peer"}}, load(m.accepted_peer));
  x.family("fedrelay_events_rejected_total", "counter",
           "Events the rooms refused by their rules: source=local from the local server, "
           "source=peer from peers.");
  x.sample({{"source", "local"}}, load(m.rejected_local));
  x.sample({{"source", "peer"}}, load(m.rejected_peer));
  x.family("fedrelay_rooms_running", "gauge",
           "Room actors running: the rooms in use, until they idle for 10 minutes.");
  auto rooms = m.rooms_running.load(std::memory_order_relaxed);
  x.sample({}, static_cast<uint64_t>(rooms > 0 ? rooms : 0));
  x.family("fedrelay_room_catchup_requests_total", "counter",
           "Catch-up requests this node's rooms sent to their hosts.");
  x.sample({}, load(m.catchup_requests));
  x.family("fedrelay_room_events_dropped_ahead_total", "counter",
           "Host events that came too far past a gap and were dropped, to be fetched again by "
           "catch-up.");
  x.sample({}, load(m.dropped_ahead));
  x.family("fedrelay_memory_returned_bytes_total", "counter",
           "Bytes of freed memory the process handed back to the kernel: when it idled, or "
           "when it kept more than 128 MiB freed (it keeps what it frees for reuse).");
  x.sample({}, load(actors::memory_returned_bytes()));
  x.family("fedrelay_store_write_failures_total", "counter",
           "Times the store failed a write (a full disk, a failed fsync) since the process "
           "started; after each the node started again from its data.");
  x.sample({}, load(actors::store_write_failures()));
  if (auto not_after = m.tls_not_after.load(std::memory_order_relaxed); not_after > 0) {
    x.family("fedrelay_tls_certificate_expiry_timestamp_seconds", "gauge",
             "When the TLS certificate the federation port serves expires (Unix time); "
             "fedrelay reload loads a renewed one.");
    x.sample({}, static_cast<uint64_t>(not_after));
  }
  auto h = m.store_write.read();
  x.family("fedrelay_store_write_seconds", "histogram",
           "Latency of the journal's synced RocksDB writes (one group commit each).");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < actors::latency_histogram::bounds.size(); ++i) {
    cumulative += h.buckets[i];
    x.sample({{"le", number(actors::latency_histogram::bounds[i])}}, cumulative, "_bucket");
  }
  x.sample({{"le", "+Inf"}}, h.count, "_bucket");
  x.sample({}, h.sum_seconds, "_sum");
  x.sample({}, h.count, "_count");
}

}  // namespace

std::string render_metrics(const metrics_sample& s) {
  exposition x;
  x.family("fedrelay_node_info", "gauge", "Always 1; the labels name the node and its status.");
  x.sample({{"domain", s.own_domain}, {"status", s.status}}, uint64_t{1});
  if (s.peers) render_peers(x, *s.peers);
  if (s.metrics) render_probe(x, *s.metrics);
  if (s.discovery) {
    x.family("fedrelay_discovery_lookups_total", "counter",
             "Lookups discovery asked of DNS (method=dns) or the Hub (method=hub).");
    x.sample({{"method", s.discovery_method}}, s.discovery->first);
    x.family("fedrelay_discovery_cache_hits_total", "counter",
             "Lookups discovery answered from its cache (positive or negative).");
    x.sample({}, s.discovery->second);
  }
  return x.take();
}

request_handler make_metrics_handler(metrics_context ctx) {
  auto shared = std::make_shared<const metrics_context>(std::move(ctx));
  return [shared](http_request&&, responder respond) {
    // One short-lived actor asks the peers, then discovery, and answers; a part that does
    // not answer in time is left out rather than shown as zero.
    shared->system->spawn([shared, respond](caf::event_based_actor* self) {
      auto sample = std::make_shared<metrics_sample>();
      sample->own_domain = shared->own_domain;
      sample->status = shared->status_text ? shared->status_text() : std::string{};
      sample->discovery_method = shared->discovery_method;
      sample->metrics = shared->metrics.get();
      auto finish = [self, shared, sample, respond] {
        http_response res;
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        res.body = render_metrics(*sample);
        respond(std::move(res));
        self->quit();
      };
      auto ask_discovery = [self, shared, sample, finish] {
        if (!shared->discovery) return finish();
        self->request(shared->discovery, shared->timeout, actors::stats_atom::value)
            .then(
                [sample, finish](uint64_t lookups, uint64_t hits) {
                  sample->discovery = std::make_pair(lookups, hits);
                  finish();
                },
                [finish](caf::error&) { finish(); });
      };
      if (!shared->peers) return ask_discovery();
      self->request(shared->peers, shared->timeout, actors::stats_atom::value)
          .then(
              [sample, ask_discovery](std::vector<actors::peer_stats>& peers) {
                sample->peers = std::move(peers);
                ask_discovery();
              },
              [ask_discovery](caf::error&) { ask_discovery(); });
    });
  };
}

}  // namespace fedrelay::net
