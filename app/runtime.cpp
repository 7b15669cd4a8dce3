#include "app/runtime.hpp"

#include "actors/describe.hpp"
#include "actors/dns_resolver_actor.hpp"
#include "actors/peer_record.hpp"
#include "app/pool_scheduler.hpp"
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

runtime_config::runtime_config(size_t threads, net::io_runtime& io) {
  register_net_error_names();
  set("scheduler.max-threads", threads);
  // Not CAF's work stealing (its idle workers poll and nanosleep, 15-20 % of the CPU per
  // relayed event on two cores) nor its work sharing (a wake-up per queued actor, and
  // workers apart from the io threads): see app/pool_scheduler.hpp.
  use_pool_scheduler(*this, io);
  // CAF's own log and console output would interleave with ours.
  set("logger.console", caf::atom("none"));
  add_message_type<actors::peer_record>("fedrelay::peer_record");
  add_message_type<actors::dns_records>("fedrelay::dns_records");
  add_message_type<actors::dns_srv>("fedrelay::dns_srv");
}

}  // namespace fedrelay::app
