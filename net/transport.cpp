#include "net/transport.hpp"

#include <caf/event_based_actor.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "net/errc.hpp"
#include "net/http_port.hpp"

namespace fedrelay::net {
namespace {

struct transport_state {
  pending_http pending;
  std::unordered_map<std::string, url> urls;  // base URL text -> parsed, peers are few
  static inline const char* name = "transport";
};

caf::behavior transport(caf::stateful_actor<transport_state>* self, http_client* client,
                        std::chrono::milliseconds timeout) {
  return {
      [=](actors::send_atom, actors::outbound_request& out) -> caf::result<actors::inbound_reply> {
        auto& urls = self->state.urls;
        auto i = urls.find(out.base_url);
        if (i == urls.end()) {
          auto parsed = parse_url(out.base_url);
          if (!parsed)
            return caf::make_error(
                actors::errc::bad_request,
                "peer URL " + out.base_url + ": " + actors::detail_of(parsed.error()));
          i = urls.emplace(out.base_url, std::move(*parsed)).first;
        }
        http_request req;
        req.method = out.method;
        req.target = out.path;
        req.headers = std::move(out.headers);
        if (req.method == "POST")
          req.headers.emplace_back("Content-Type", "application/octet-stream");
        req.body = std::move(out.body);
        auto promise = self->make_response_promise();
        self->state.pending.start(*client, caf::actor_cast<caf::actor>(self), i->second,
                                  std::move(req), timeout, promise);
        return promise;
      },
      [=](http_done_atom, uint64_t id, http_response& res) {
        auto promise = self->state.pending.take(id);
        promise.deliver(
            actors::inbound_reply{static_cast<uint16_t>(res.status), std::move(res.body)});
      },
      [=](http_done_atom, uint64_t id, caf::error& err) {
        auto promise = self->state.pending.take(id);
        // A timeout after the connection was made says the exchange is too slow for its
        // time (a large transaction on a slow link), which a smaller one may not be.
        auto code = err == errc::timeout ? actors::errc::timed_out : actors::errc::unavailable;
        promise.deliver(caf::make_error(code, actors::detail_of(err)));
      },
  };
}

}  // namespace

actors::transport_actor spawn_transport(caf::actor_system& sys, http_client& client,
                                        std::chrono::milliseconds timeout) {
  // Dynamically typed inside (it also receives the io threads' answers), typed outside.
  return caf::actor_cast<actors::transport_actor>(sys.spawn(transport, &client, timeout));
}

}  // namespace fedrelay::net
