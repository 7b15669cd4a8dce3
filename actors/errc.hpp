// The error codes of fedrelay::actors, registered as a CAF error category ("actors") so they
// travel between actors; the human-readable detail rides in the error's context.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace fedrelay::actors {

enum class errc : uint8_t {
  not_found = 1,       // no such room, user, event or peer
  no_srv_record,       // discovery: the domain publishes no _rocketchat._tcp SRV record
  no_key_record,       // discovery: no rocketchat-public-key TXT record
  bad_key_record,      // discovery: the key record is not a valid PEM public key
  bad_protocol,        // discovery: rocketchat-protocol TXT is neither http nor https
  nxdomain,            // discovery: the domain does not exist
  resolver_timeout,    // discovery: the DNS server did not answer in time
  resolver_failed,     // discovery: any other DNS, Hub or static-table failure
  domain_not_allowed,  // the domain is refused by [peers] allow/deny
  rejected,            // an event was refused (context: the reason)
  unavailable,         // a peer or port is unreachable right now
  bad_request,         // malformed input from a peer or the local server
  storage_failed,      // a write to the store failed
  timed_out,           // a peer was reached but did not answer within the request's time
};

/// Returns the name of an error code, e.g. "invalid".
std::string to_string(errc code);

/// Whether `err` says a request took longer than its time: errc::timed_out from the
/// transport, or CAF's own timeout of a request between actors.
bool is_timeout(const caf::error& err);

}  // namespace fedrelay::actors

CAF_ERROR_CODE_ENUM(fedrelay::actors::errc, "actors")
