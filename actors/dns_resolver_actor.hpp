// The port through which discovery asks DNS (implemented in net/ with ldns): one actor
// that answers the three federation records of a domain at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"

namespace fedrelay::actors {

/// One SRV record of _rocketchat._tcp.<domain>.
struct dns_srv {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // host name without the trailing dot
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dns_srv& x) {
  return f(caf::meta::type_name("dns_srv"), x.priority, x.weight, x.port, x.target);
}

/// The federation records of one domain as DNS published them. A record that does not
/// exist is empty (no SRV) or has `has_*` false; the TTL of the whole answer is the
/// smallest TTL among the records found.
struct dns_records {
  std::vector<dns_srv> srv;              // _rocketchat._tcp.<domain>
  bool has_key = false;                  // rocketchat-public-key.<domain> exists
  std::vector<std::string> key_strings;  // its character-strings, in order
  bool has_protocol = false;             // rocketchat-protocol.<domain> exists
  std::string protocol;                  // its joined character-strings
  uint32_t ttl = 0;
  bool nxdomain = false;  // the SRV name does not exist (NXDOMAIN)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dns_records& x) {
  return f(caf::meta::type_name("dns_records"), x.srv, x.has_key, x.key_strings, x.has_protocol,
           x.protocol, x.ttl, x.nxdomain);
}

/// Answers (lookup_atom, domain) with the domain's dns_records; errors:
/// actors::errc::resolver_timeout when the server does not answer within the bound,
/// actors::errc::resolver_failed for any other DNS failure (SERVFAIL, REFUSED, network).
using dns_resolver_actor =
    caf::typed_actor<caf::replies_to<lookup_atom, std::string>::with<dns_records>>;

}  // namespace fedrelay::actors
