// GET /metrics on the local listener: the node's figures in the Prometheus text format
// (version 0.0.4), gathered from the peer actors, discovery and the metrics probe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/discovery_actor.hpp"
#include "actors/metrics.hpp"
#include "actors/peer_manager_actor.hpp"
#include "net/http_server.hpp"

namespace fedrelay::net {

struct metrics_context {
  caf::actor_system* system = nullptr;  // REQUIRES: not null, outlives the handler
  std::string own_domain;
  std::function<std::string()> status_text;             // the node's status string; may be null
  actors::peer_manager_actor peers;                     // none while federation is not running
  actors::discovery_actor discovery;                    // none while federation is not running
  std::string discovery_method;                         // "dns", "hub" or "static"
  std::shared_ptr<const actors::node_metrics> metrics;  // may be null
  std::chrono::milliseconds timeout{5'000};             // bound on each actor's answer
};

/// Everything one scrape shows; a part whose actor did not answer is absent.
struct metrics_sample {
  std::string own_domain;
  std::string status;
  std::optional<std::vector<actors::peer_stats>> peers;
  std::optional<std::pair<uint64_t, uint64_t>> discovery;  // lookups, cache hits
  std::string discovery_method;
  const actors::node_metrics* metrics = nullptr;  // may be null
};

/// The sample as Prometheus text: a HELP and a TYPE line per family, names fedrelay_*,
/// per-peer series labelled peer="domain" (docs/OPERATIONS.md lists them).
std::string render_metrics(const metrics_sample& sample);

/// Answers 200 with render_metrics() of a fresh sample, Content-Type
/// "text/plain; version=0.0.4; charset=utf-8". The local API puts its bearer-token check
/// in front.
request_handler make_metrics_handler(metrics_context ctx);

}  // namespace fedrelay::net
