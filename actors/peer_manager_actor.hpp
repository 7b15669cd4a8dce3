// The peer manager owns the set of peer actors: one per remote domain with queued events,
// spawned on demand (and at start for every non-empty outbox), restarted when one fails.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/peer_actor.hpp"

namespace fedrelay::actors {

using peer_manager_actor = caf::typed_actor<
    // The journal wrote `domain`'s outbox up to `seq`; spawns that peer if needed and
    // wakes it. No reply.
    caf::reacts_to<wake_atom, std::string, uint64_t>,
    // Replies with the metrics of every peer, ordered by domain.
    caf::replies_to<stats_atom>::with<std::vector<peer_stats>>,
    // New [peers] allow and deny lists: puts them in force (peer_context::replace_lists),
    // stops the peers of domains now refused and drops their queues (never retried).
    // Replies with the number of events dropped.
    caf::replies_to<forget_atom, std::vector<std::string>,
                    std::vector<std::string>>::with<uint64_t>>;

/// Spawns the manager; it scans the outbox column and starts a peer for every domain
/// that has queued events (replay after a restart), dropping the queues of refused ones. Its peers
/// are linked to it: stopping the manager stops them.
peer_manager_actor spawn_peer_manager(caf::actor_system& sys, peer_context ctx);

}  // namespace fedrelay::actors
