// The error codes of fedrelay::net, registered as a CAF error category ("net") so they
// travel between actors; the human-readable detail rides in the error's context.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace fedrelay::net {

enum class errc : uint8_t {
  connect_failed = 1,  // TCP or TLS connection to a peer failed
  timeout,             // a request or stream timed out
  bad_response,        // a peer answered with something that is not HTTP or not expected
  bad_url,             // a URL that cannot be parsed
  bind_failed,         // a listen address could not be bound
  http_status,         // a peer answered with an error status (context: status, body)
  tls_failed,          // TLS setup or certificate verification failed
};

/// Returns the name of an error code, e.g. "invalid".
std::string to_string(errc code);

}  // namespace fedrelay::net

CAF_ERROR_CODE_ENUM(fedrelay::net::errc, "net")
