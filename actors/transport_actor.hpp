// The port through which a peer actor sends a sealed transaction (implemented in net/
// as an HTTP POST with Beast): the domain core never sees sockets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"

namespace fedrelay::actors {

using send_atom = caf::atom_constant<caf::atom("send")>;

/// One HTTP request to a peer: `method` base_url + path with these headers and body.
struct outbound_request {
  std::string base_url;  // "https://chat.b.example:443"
  std::string path;      // e.g. dispatch_path, with a "?query" when it has one
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string method = "POST";  // "GET" for reads (files.get)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbound_request& x) {
  return f(caf::meta::type_name("outbound_request"), x.base_url, x.path, x.headers, x.body,
           x.method);
}

/// What the peer answered.
struct inbound_reply {
  uint16_t status = 0;
  std::string body;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inbound_reply& x) {
  return f(caf::meta::type_name("inbound_reply"), x.status, x.body);
}

/// Sends one request; replies with the peer's answer (any status), or an error when no
/// answer came: actors::errc::timed_out when the peer was reached and the exchange took
/// longer than the request's time, actors::errc::unavailable otherwise (connection refused
/// or timed out, TLS failure, a connection broken).
using transport_actor =
    caf::typed_actor<caf::replies_to<send_atom, outbound_request>::with<inbound_reply>>;

}  // namespace fedrelay::actors
