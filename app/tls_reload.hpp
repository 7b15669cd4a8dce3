// Loading a served certificate again (a renewal) without a restart, shared by the node's
// and the Hub's reload.
#pragma once

#include <string>

#include <caf/error.hpp>

#include "config/settings.hpp"
#include "net/http_server.hpp"

namespace fedrelay::app {

/// A TLS key that every account of the machine may read is refused, as `fedrelay check`
/// calls it an error and the node refuses such a node.key. A key that cannot be stat'ed is
/// left to the listener, which names the OS's reason.
[[nodiscard]] caf::error refuse_tls_key_anyone_reads(const config::tls_settings& tls);

/// Loads `tls`'s certificate and key again into `server` for the connections it accepts
/// from now on. On error the server keeps serving the certificate it had.
[[nodiscard]] caf::error reload_served_certificate(net::http_server& server,
                                                   const config::tls_settings& tls);

/// The line a reload logs for reload_served_certificate()'s result `err`.
std::string certificate_reload_line(const caf::error& err, const config::tls_settings& tls);

}  // namespace fedrelay::app
