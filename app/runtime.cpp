#include "app/runtime.hpp"

#include "actors/describe.hpp"
#include "actors/dns_resolver_actor.hpp"
#include "actors/peer_record.hpp"
#include "app/quiet_clock.hpp"
#include "net/errc.hpp"

namespace fedrelay::app {

void register_net_error_names() {
  static const bool named = [] {
    actors::register_error_names(caf::atom("net"), [](uint8_t code) {
      return net::to_string(static_cast<net::errc>(code));
    });
    return true;
  }();
  (void)named;
}

runtime_config::runtime_config(size_t threads) {
  register_net_error_names();
  set("scheduler.max-threads", threads);
  // One shared queue with a condition variable instead of work stealing: stealing workers
  // poll and nanosleep between messages, which cost 15-20 % of the CPU per relayed event
  // on two cores (docs/PERFORMANCE.md); the relay's actors hand work along a pipeline, so
  // there is little locality for stealing to keep.
  set("scheduler.policy", caf::atom("sharing"));
  use_quiet_clock(*this);
  // CAF's own log and console output would interleave with ours.
  set("logger.console", caf::atom("none"));
  add_message_type<actors::peer_record>("fedrelay::peer_record");
  add_message_type<actors::dns_records>("fedrelay::dns_records");
  add_message_type<actors::dns_srv>("fedrelay::dns_srv");
}

}  // namespace fedrelay::app
