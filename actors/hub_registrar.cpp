// The registrar: one attempt in flight at a time, the next one always scheduled with
// delayed_send, so the whole life of the registration is driven by the actor clock.
#include "actors/hub_registrar.hpp"

#include <algorithm>
#include <random>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/hub_registry.hpp"
#include "actors/json_parse.hpp"
#include "actors/logger.hpp"
#include "actors/request_auth.hpp"
#include "actors/transaction.hpp"
#include "crypto/pem.hpp"

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

struct hub_registrar_state {
  hub_registrar_options options;
  hub_registrar_report report;
  uint32_t failures = 0;  // consecutive failed attempts
  std::chrono::milliseconds backoff{0};
  std::minstd_rand rng;
  static inline const char* name = "hub_registrar";
};

using registrar_pointer = caf::stateful_actor<hub_registrar_state>*;

// The path part of hub_url ("" or "/prefix"), so a Hub behind a path works.
std::string path_prefix(const std::string& hub_url) {
  auto scheme = hub_url.find("://");
  auto slash = hub_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return {};
  auto prefix = hub_url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

// The "error" of a {"success":false,"error":...} answer, or the start of the body.
std::string error_text(const std::string& body) {
  // Bounded: it goes into the status reason and the log.
  return string_member(parse_json(body), "error", body).substr(0, 200);
}

void set_status(registrar_pointer self, config::status status, std::string reason) {
  auto& r = self->state.report;
  if (r.status == status && r.reason == reason) return;
  r.status = status;
  r.reason = std::move(reason);
  log()->info("hub registration: {} ({})", config::status_text(status), r.reason);
  if (self->state.options.on_status) self->state.options.on_status(r.status, r.reason);
}

void schedule(registrar_pointer self, std::chrono::milliseconds delay) {
  self->delayed_send(self, delay, retry_atom::value);
}

// Equal jitter: half the delay fixed, half random.
std::chrono::milliseconds jittered(registrar_pointer self, std::chrono::milliseconds delay) {
  auto half = delay.count() / 2;
  auto spread = static_cast<uint64_t>(delay.count() - half) + 1;
  return std::chrono::milliseconds{half + static_cast<int64_t>(self->state.rng() % spread)};
}

void succeeded(registrar_pointer self, bool confirmed, const std::string& mail_to) {
  auto& st = self->state;
  st.failures = 0;
  st.backoff = st.options.backoff_initial;
  st.report.confirmed = confirmed;
  auto where = "registered with the Hub at " + st.options.hub_url;
  if (confirmed) {
    set_status(self, config::status::running, where + "; confirmed");
    schedule(self, st.options.refresh);
  } else {
    auto to = mail_to.empty() ? "webmaster@" + st.options.domain : mail_to;
    set_status(self, config::status::running,
               where + "; waiting for " + to + " to open the confirmation link the Hub mailed");
    schedule(self, st.options.pending_poll);
  }
}

// `refused`: the Hub answered and said no, which waiting alone will not change.
void failed(registrar_pointer self, bool refused, const std::string& why,
            std::chrono::milliseconds at_least = 0ms) {
  auto& st = self->state;
  ++st.failures;
  auto delay = std::max(jittered(self, st.backoff), at_least);
  st.backoff = std::min(st.backoff * 2, st.options.backoff_max);
  log()->warn("hub registration attempt {} failed: {}; next attempt in {} ms", st.report.attempts,
              why, delay.count());
  if (refused) {
    set_status(self, config::status::hub_failed, why);
  } else if (st.report.status == config::status::running) {
    // The Hub still has the registration it took earlier; only this refresh failed.
    set_status(self, config::status::running,
               "registered with the Hub at " + st.options.hub_url +
                   (st.report.confirmed ? "; confirmed" : "; confirmation pending") +
                   "; the last refresh failed: " + why);
  } else if (st.failures >= st.options.attempts_before_failed) {
    set_status(self, config::status::hub_failed, why);
  }
  schedule(self, delay);
}

void on_reply(registrar_pointer self, const inbound_reply& reply) {
  const auto& hub = self->state.options.hub_url;
  auto http = "HTTP " + std::to_string(reply.status);
  if (reply.status == 200) {
    auto j = parse_json(reply.body);
    auto state = string_member(j, "status");
    if (bool_member(j, "success", false) && (state == "pending" || state == "confirmed")) {
      succeeded(self, state == "confirmed", string_member(j, "mail_to"));
      return;
    }
    failed(self, true, "the Hub at " + hub + " gave an answer that is not a registration");
    return;
  }
  if (reply.status == 429 || reply.status >= 500) {
    std::chrono::milliseconds at_least{0};
    // As long as the Hub asks, but no longer than the longest backoff: a Hub that asked
    // for years would leave the node unregistered for good.
    if (auto wait = unsigned_member(parse_json(reply.body), "retry_after"))
      at_least = std::min<std::chrono::milliseconds>(
          std::chrono::seconds{std::min<uint64_t>(*wait, UINT32_MAX)},
          self->state.options.backoff_max);
    failed(self, false,
           "the Hub at " + hub + " could not take the registration now (" + http + ": " +
               error_text(reply.body) + ")",
           at_least);
    return;
  }
  failed(self, true,
         "the Hub at " + hub + " refused the registration (" + http + ": " +
             error_text(reply.body) + ")");
}

void attempt(registrar_pointer self) {
  auto& st = self->state;
  const auto& o = st.options;
  auto body = hub_registration_body(o.domain, o.public_url, o.identity->public_key());
  outbound_request req;
  req.base_url = o.hub_url;
  req.path = path_prefix(o.hub_url) + std::string{hub_register_path};
  // The signature covers the API path, not the prefix: a reverse proxy that strips the
  // prefix does not break it.
  // The Hub has no domain of its own to name: its registrations are signed without one.
  req.headers = signed_headers(*o.identity, o.domain, "", "POST", hub_register_path, body);
  req.body = std::move(body);
  ++st.report.attempts;
  self->request(o.transport, o.request_timeout, send_atom::value, std::move(req))
      .then([self](inbound_reply& reply) { on_reply(self, reply); },
            [self](caf::error& err) {
              failed(self, false,
                     "the Hub at " + self->state.options.hub_url +
                         " cannot be reached: " + detail_of(err));
            });
}

caf::behavior hub_registrar(registrar_pointer self, hub_registrar_options options) {
  auto& st = self->state;
  st.options = std::move(options);
  st.backoff = st.options.backoff_initial;
  auto seed =
      st.options.jitter_seed != 0
          ? st.options.jitter_seed
          : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  st.rng.seed(static_cast<std::minstd_rand::result_type>(seed % 2147483646u + 1));
  st.report.status = config::status::booting;  // so the first set_status reports
  set_status(self, config::status::hub_registering,
             "registering with the Hub at " + st.options.hub_url);
  self->send(self, retry_atom::value);
  return {
      [self](retry_atom) { attempt(self); },
      [self](stats_atom) { return self->state.report; },
  };
}

}  // namespace

std::string hub_registration_body(const std::string& domain, const std::string& url,
                                  const crypto::public_key& key) {
  return nlohmann::json{
      {"domain", domain}, {"url", url}, {"public_key", crypto::public_key_pem(key)}}
      .dump();
}

hub_registrar_actor spawn_hub_registrar(caf::actor_system& sys, hub_registrar_options options) {
  // Dynamically typed inside (it also gets its own timer messages), typed outside.
  return caf::actor_cast<hub_registrar_actor>(sys.spawn(hub_registrar, std::move(options)));
}

}  // namespace fedrelay::actors
