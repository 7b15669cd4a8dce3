// Internal to net/: lets an actor wait for an http_client callback without blocking.
// The callback runs on an io thread, so the result travels back as a message.
#pragma once

#include <cstdint>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>

#include "net/http_client.hpp"

namespace fedrelay::net {

using http_done_atom = caf::atom_constant<caf::atom("httpdone")>;

/// The promises of one actor's requests in flight, keyed by a local id.
class pending_http {
 public:
  /// Sends `req` with `client`; the answer arrives at `self` as
  /// (http_done_atom, id, http_response) or (http_done_atom, id, caf::error).
  uint64_t start(http_client& client, caf::actor self, const url& base, http_request req,
                 std::chrono::milliseconds timeout, caf::response_promise promise) {
    auto id = next_id_++;
    promises_.emplace(id, std::move(promise));
    client.request(base, std::move(req), timeout, [self, id](caf::expected<http_response> result) {
      if (result)
        caf::anon_send(self, http_done_atom::value, id, std::move(*result));
      else
        caf::anon_send(self, http_done_atom::value, id, std::move(result.error()));
    });
    return id;
  }

  /// Removes and returns the promise of request `id` (an invalid one if unknown).
  caf::response_promise take(uint64_t id) {
    auto i = promises_.find(id);
    if (i == promises_.end()) return {};
    auto promise = std::move(i->second);
    promises_.erase(i);
    return promise;
  }

 private:
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, caf::response_promise> promises_;
};

}  // namespace fedrelay::net

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fedrelay::net::http_response)
