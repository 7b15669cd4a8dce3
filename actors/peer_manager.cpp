// The peer manager: spawns a peer per domain on the first wake, links it, and restarts it
// (after backoff_initial, so a crashing peer cannot spin) when it fails. A restarted
// peer rebuilds everything from the outbox, which is all the state that matters.
#include "actors/peer_manager_actor.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/describe.hpp"
#include "actors/logger.hpp"
#include "actors/outbox.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

struct peer_manager_state {
  peer_context ctx;
  std::map<std::string, peer_actor> peers;
  static inline const char* name = "peer_manager";
};

using peer_manager_pointer = peer_manager_actor::stateful_pointer<peer_manager_state>;

bool refused(peer_manager_pointer self, const std::string& domain) {
  const auto& allowed = self->state.ctx.allowed;
  return allowed && !allowed(domain);
}

/// Stops the peer of a refused domain and deletes its queue; returns the events dropped
/// (which may count a few the peer had sent and not yet deleted, see peer.cpp leave_queue).
uint64_t drop_queue(peer_manager_pointer self, const std::string& domain) {
  auto& st = self->state;
  if (auto i = st.peers.find(domain); i != st.peers.end()) {
    // Unlinked first: its exit must not look like a failure to restart.
    self->unlink_from(i->second);
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
    st.peers.erase(i);
  }
  outbox queue{*st.ctx.store, domain};
  auto count = queue.count();
  storage::write_batch batch;
  batch.del_range(storage::column::outbox, storage::sequenced_begin(domain),
                  storage::sequenced_end(domain));
  if (auto err = st.ctx.store->write(batch, storage::durability::synced)) {
    log()->error("cannot drop the queue of refused domain {}: {}", domain, describe(err));
    return 0;
  }
  auto dropped = count ? *count : 0;
  log()->warn("dropped {} queued events for {}: the domain is refused by [peers]", dropped, domain);
  return dropped;
}

peer_actor& peer_of(peer_manager_pointer self, const std::string& domain) {
  auto& st = self->state;
  auto i = st.peers.find(domain);
  if (i != st.peers.end()) return i->second;
  auto peer = spawn_peer(self->system(), st.ctx, domain);
  self->link_to(peer);
  return st.peers.emplace(domain, std::move(peer)).first->second;
}

/// Collects the stats of every peer; a peer that does not answer is reported as such.
struct stats_collector {
  caf::typed_response_promise<std::vector<peer_stats>> promise;
  std::vector<peer_stats> collected;
  size_t waiting = 0;

  void add(peer_stats s) {
    collected.push_back(std::move(s));
    if (--waiting > 0) return;
    std::sort(collected.begin(), collected.end(),
              [](const peer_stats& a, const peer_stats& b) { return a.domain < b.domain; });
    promise.deliver(std::move(collected));
  }
};

peer_manager_actor::behavior_type peer_manager(peer_manager_pointer self, peer_context ctx) {
  self->state.ctx = std::move(ctx);
  // A linked peer that exits is forgotten (and restarted if it failed); an exit from
  // anyone else, such as app's shutdown, ends the manager and through the links its peers.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    for (auto i = st.peers.begin(); i != st.peers.end(); ++i) {
      if (i->second.address() != msg.source) continue;
      auto domain = i->first;
      st.peers.erase(i);
      if (msg.reason && msg.reason != caf::exit_reason::normal) {
        log()->error("peer {} failed, restarting: {}", domain, describe(msg.reason));
        self->delayed_send(self, st.ctx.settings.backoff_initial, wake_atom::value, domain,
                           uint64_t{0});
      }
      return;
    }
    self->quit(msg.reason);
  });
  if (auto domains = outbox_domains(*self->state.ctx.store)) {
    for (const auto& domain : *domains) {
      if (refused(self, domain))
        drop_queue(self, domain);
      else
        peer_of(self, domain);
    }
  } else {
    log()->error("peer manager: cannot list the outboxes: {}", describe(domains.error()));
  }
  return {
      [self](wake_atom, const std::string& domain, uint64_t seq) {
        if (refused(self, domain)) {
          drop_queue(self, domain);
          return;
        }
        self->send(peer_of(self, domain), wake_atom::value, seq);
      },
      [self](forget_atom, std::vector<std::string>& allow,
             std::vector<std::string>& deny) -> uint64_t {
        // In this step, not before it: a wake between the two would drop a queue this
        // count then misses.
        if (self->state.ctx.replace_lists)
          self->state.ctx.replace_lists(std::move(allow), std::move(deny));
        uint64_t dropped = 0;
        auto domains = outbox_domains(*self->state.ctx.store);
        if (!domains) return 0;
        for (const auto& domain : *domains)
          if (refused(self, domain)) dropped += drop_queue(self, domain);
        return dropped;
      },
      [self](stats_atom) -> caf::result<std::vector<peer_stats>> {
        auto& st = self->state;
        if (st.peers.empty()) return std::vector<peer_stats>{};
        auto collector = std::make_shared<stats_collector>();
        collector->promise = self->make_response_promise<std::vector<peer_stats>>();
        collector->waiting = st.peers.size();
        for (const auto& [domain, peer] : st.peers) {
          self->request(peer, st.ctx.settings.request_timeout, stats_atom::value)
              .then([collector](peer_stats& s) { collector->add(std::move(s)); },
                    [collector, domain = domain](caf::error& err) {
                      peer_stats s;
                      s.domain = domain;
                      s.state = "unknown";
                      s.last_error = describe(err);
                      collector->add(std::move(s));
                    });
        }
        return collector->promise;
      },
  };
}

}  // namespace

peer_manager_actor spawn_peer_manager(caf::actor_system& sys, peer_context ctx) {
  return sys.spawn(peer_manager, std::move(ctx));
}

}  // namespace fedrelay::actors
