// A node's registration with its Hub (discovery = "hub", DESIGN.md sections 5 and 7): posts
// the signed {domain, url, public_key} through the transport port, retries with backoff, and
// reports the node status "[HUB Only] Registering with Hub..." -> "Running" or
// "[HUB Only] Disabled, could not register with Hub".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/transport_actor.hpp"
#include "config/status.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::actors {

/// Called from the registrar actor (a CAF thread) at start and on every change of status or
/// reason: status is hub_registering, running or hub_failed; the reason is one line for the
/// log and federation.status. Must not block.
using hub_status_callback = std::function<void(config::status, const std::string& reason)>;

struct hub_registrar_options {
  std::string hub_url;     // federation.hub_url; may carry a path prefix
  std::string domain;      // federation.domain
  std::string public_url;  // federation.public_url: what the Hub tells peers
  std::shared_ptr<const crypto::identity> identity;  // signs the registration
  transport_actor transport;                         // posts it (net/transport.hpp)
  hub_status_callback on_status;                     // may be null
  // Retry delays after a failed attempt: doubling from backoff_initial up to backoff_max,
  // each drawn in [delay/2, delay] so nodes restarted together do not retry together.
  std::chrono::milliseconds backoff_initial{2'000};
  std::chrono::milliseconds backoff_max{300'000};
  // Consecutive failed attempts (no answer, 429 or 5xx) before the status turns to
  // hub_failed; a refusal (any other 4xx) turns it at once. Retries go on either way.
  uint32_t attempts_before_failed = 3;
  // While the registration is pending, ask again this often, so the status reason learns
  // of the confirmation (the Hub does not mail again for the same registration).
  std::chrono::milliseconds pending_poll{600'000};
  // Once confirmed, register again this often, so a Hub that lost its data gets it back.
  std::chrono::milliseconds refresh{std::chrono::hours(24)};
  // Bound on one attempt (the Hub answers after its SMTP server took the mail).
  std::chrono::milliseconds request_timeout{90'000};
  uint64_t jitter_seed = 0;  // 0: seeded from the clock
};

/// Where the registration stands, for tests and the node's status page.
struct hub_registrar_report {
  config::status status = config::status::hub_registering;
  std::string reason;
  bool confirmed = false;  // the Hub serves this registration to lookups
  uint64_t attempts = 0;   // requests sent so far
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hub_registrar_report& x) {
  return f(caf::meta::type_name("hub_registrar_report"), x.status, x.reason, x.confirmed,
           x.attempts);
}

/// The registrar's answer to a status question.
using hub_registrar_actor =
    caf::typed_actor<caf::replies_to<stats_atom>::with<hub_registrar_report>>;

/// Starts registering at once. Status policy: `running` as soon as the Hub has the
/// registration, pending or confirmed (as Rocket.Chat shows Running once registered; the
/// reason says whether the confirmation mail still waits); `hub_failed` after
/// attempts_before_failed failures in a row or a refusal, while retrying in the background;
/// a transient failure of a later refresh keeps `running`. It re-arms timers forever: send
/// it an exit before the actor system goes.
/// REQUIRES: identity and transport set.
hub_registrar_actor spawn_hub_registrar(caf::actor_system& sys, hub_registrar_options options);

/// The JSON body of a registration: {"domain","url","public_key"(PEM)}.
std::string hub_registration_body(const std::string& domain, const std::string& url,
                                  const crypto::public_key& key);

}  // namespace fedrelay::actors
