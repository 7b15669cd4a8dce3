// A dispatcher actor in front of detached workers that each run blocking dns_client
// lookups, so discovery never waits on ldns and one slow domain does not stall others.
#include "net/dns_resolver.hpp"

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "net/dns_client.hpp"

namespace fedrelay::net {
namespace {

using actors::dns_records;
using actors::dns_resolver_actor;
using actors::lookup_atom;
using promise_type = caf::typed_response_promise<dns_records>;

/// A worker answers one lookup at a time; the client keeps no state between lookups, so
/// all workers share it.
dns_resolver_actor::behavior_type dns_worker(dns_resolver_actor::pointer,
                                             std::shared_ptr<const dns_client> client) {
  return {
      [client](lookup_atom, const std::string& domain) -> caf::result<dns_records> {
        return client->lookup(domain);
      },
  };
}

struct dns_resolver_state {
  std::vector<dns_resolver_actor> idle;
  std::deque<std::pair<std::string, promise_type>> waiting;
  static inline const char* name = "dns_resolver";
};

using resolver_pointer = dns_resolver_actor::stateful_pointer<dns_resolver_state>;

void dispatch(resolver_pointer self);

void release(resolver_pointer self, dns_resolver_actor worker) {
  self->state.idle.push_back(std::move(worker));
  dispatch(self);
}

// Only idle workers get work: a worker busy with a dead server for the whole timeout
// would otherwise hold the requests queued behind it in its mailbox.
void dispatch(resolver_pointer self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.waiting.empty()) {
    auto worker = std::move(st.idle.back());
    st.idle.pop_back();
    auto [domain, promise] = std::move(st.waiting.front());
    st.waiting.pop_front();
    // No request timeout: the worker bounds each lookup itself, and a worker that dies
    // answers with an error.
    self->request(worker, caf::infinite, lookup_atom::value, std::move(domain))
        .then(
            [self, worker, promise](dns_records& records) mutable {
              promise.deliver(std::move(records));
              release(self, worker);
            },
            [self, worker, promise](caf::error& err) mutable {
              promise.deliver(std::move(err));
              release(self, worker);
            });
  }
}

dns_resolver_actor::behavior_type dns_resolver(resolver_pointer self,
                                               std::shared_ptr<const dns_client> client,
                                               bool detached) {
  for (size_t i = 0; i < dns_resolver_workers; ++i) {
    auto worker = detached ? self->spawn<caf::detached + caf::linked>(dns_worker, client)
                           : self->spawn<caf::linked>(dns_worker, client);
    self->state.idle.push_back(std::move(worker));
  }
  return {
      [self](lookup_atom, std::string& domain) -> promise_type {
        auto promise = self->make_response_promise<dns_records>();
        self->state.waiting.emplace_back(std::move(domain), promise);
        dispatch(self);
        return promise;
      },
  };
}

}  // namespace

actors::dns_resolver_actor spawn_dns_resolver(caf::actor_system& sys,
                                              std::optional<config::endpoint> server,
                                              std::chrono::milliseconds timeout, bool detached) {
  auto client = std::make_shared<const dns_client>(std::move(server), timeout);
  return sys.spawn(dns_resolver, std::move(client), detached);
}

}  // namespace fedrelay::net
