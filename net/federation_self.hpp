// GET federation.self: the node signs the caller's nonce, so `fedrelay check` can tell
// that its public URL (and any proxy in front) reaches this very node.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "crypto/identity.hpp"
#include "net/http_server.hpp"

namespace fedrelay::net {

/// Answers only requests signed (actors/request_auth.hpp) with this node's own key and
/// with `own_domain` as origin: 400 for a missing or malformed nonce or origin, 403 for
/// another origin, 401 for a missing, stale or bad signature; otherwise 200
/// {"success":true,"domain", "signature"} (actors/self_check.hpp). REQUIRES: `identity` not null.
request_handler make_self_check_handler(std::string own_domain,
                                        std::shared_ptr<const crypto::identity> identity,
                                        std::chrono::milliseconds clock_skew);

}  // namespace fedrelay::net
