// The peer actor owns one remote domain's outbound queue (DESIGN.md sections 2 and 4):
// batches from the outbox, sealed transactions with a bounded window in flight, receipts,
// retries with exponential backoff and jitter, and the metrics of that link.
#pragma once

#include <functional>

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/discovery_actor.hpp"
#include "actors/transaction.hpp"
#include "actors/transport_actor.hpp"
#include "config/settings.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

/// What `fedrelay status` and the metrics show about one peer.
struct peer_stats {
  std::string domain;
  std::string state;               // "resolving", "connected" or "backing_off"
  uint64_t queue_depth = 0;        // events queued and not yet acknowledged
  int64_t oldest_age_ms = 0;       // age of the oldest queued event; 0 when empty
  uint64_t transactions_sent = 0;  // transactions the peer answered with a valid receipt
  uint64_t failures = 0;           // failed attempts: no reply, error status, discovery
  int64_t backoff_ms = 0;          // the current backoff ceiling; 0 after a success
  std::string last_error;          // the last failure, for people; empty if none
  uint64_t events_relayed = 0;     // queued entries the peer's receipts accepted
  uint64_t events_refused = 0;     // queued entries the peer's receipts rejected (final)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_stats& x) {
  return f(caf::meta::type_name("peer_stats"), x.domain, x.state, x.queue_depth, x.oldest_age_ms,
           x.transactions_sent, x.failures, x.backoff_ms, x.last_error, x.events_relayed,
           x.events_refused);
}

/// Everything a peer needs from the node; the peer manager hands the same to each peer.
struct peer_context {
  std::string own_domain;                            // the origin of our transactions
  std::shared_ptr<const crypto::identity> identity;  // REQUIRES: not null
  config::transport_settings settings;
  storage::store* store = nullptr;  // REQUIRES: not null, outlives every peer
  discovery_actor discovery;        // REQUIRES: valid
  transport_actor transport;        // REQUIRES: valid
  /// Receives (rejected_atom, domain, event_id, reason, message JSON text) for every
  /// event a peer refused for good; may be null.
  caf::actor rejection_sink;
  /// [peers] allow/deny: the queue of a refused domain is dropped, never sent. Null:
  /// every domain.
  std::function<bool(const std::string&)> allowed;
  /// Puts new [peers] allow and deny lists in force (a reload); the manager calls it in the
  /// same step that drops the queues they refuse, so that its count is all they dropped.
  /// May be null.
  std::function<void(std::vector<std::string>, std::vector<std::string>)> replace_lists;
  /// Seeds the backoff jitter; 0 seeds from std::random_device (tests fix it).
  uint64_t rng_seed = 0;
  /// Events in flight at most past the first of the oldest unacknowledged transaction,
  /// whatever window × batch_max_events comes to (tests lower it).
  size_t max_span = member_holds_ahead;
};

using peer_actor = caf::typed_actor<
    // The outbox of this domain holds entries up to `seq`: send what is new. No reply.
    caf::reacts_to<wake_atom, uint64_t>,
    // Replies with this peer's metrics.
    caf::replies_to<stats_atom>::with<peer_stats>>;

/// Spawns the peer of `domain`: it reads the domain's outbox from the store (so what a
/// previous run queued is sent again), resolves the domain and starts sending.
peer_actor spawn_peer(caf::actor_system& sys, peer_context ctx, std::string domain);

}  // namespace fedrelay::actors
