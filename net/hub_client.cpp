#include "net/hub_client.hpp"

#include <algorithm>
#include <cstdint>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "actors/printable.hpp"
#include "crypto/pem.hpp"
#include "net/http_port.hpp"

namespace fedrelay::net {
namespace {

struct hub_client_state {
  pending_http pending;
  std::unordered_map<uint64_t, std::string> domains;  // request id -> domain asked
  static inline const char* name = "hub_client";
};

}  // namespace

caf::expected<actors::peer_record> hub_record_from_reply(const std::string& domain,
                                                         const http_response& res) {
  if (res.status == 404)
    return caf::make_error(actors::errc::not_found, domain + ": the Hub has no confirmed record");
  if (res.status != 200)
    return caf::make_error(actors::errc::unavailable,
                           "the Hub answered HTTP " + std::to_string(res.status));
  auto j = actors::parse_json(res.body);
  auto url = actors::string_member(j, "url");
  auto pem = actors::string_member(j, "public_key");
  if (!actors::bool_member(j, "success", false) || url.empty() || pem.empty())
    return caf::make_error(actors::errc::unavailable,
                           "the Hub's answer for " + domain + " is malformed");
  // What the node will send this domain's traffic to: an http(s) URL, or nothing.
  if (auto parsed = parse_url(url); !parsed)
    return caf::make_error(actors::errc::unavailable, domain + ": the Hub's URL \"" +
                                                          actors::printable_excerpt(url, 200) +
                                                          "\" is not an http(s) URL");
  auto key = crypto::parse_public_key_pem(pem);
  if (!key)
    return caf::make_error(actors::errc::bad_key_record, domain + ": the Hub's key is not valid: " +
                                                             actors::detail_of(key.error()));
  actors::peer_record rec;
  rec.domain = domain;
  rec.base_url = std::move(url);
  while (!rec.base_url.empty() && rec.base_url.back() == '/') rec.base_url.pop_back();
  rec.protocol = rec.base_url.rfind("https://", 0) == 0 ? "https" : "http";
  rec.public_key.assign(reinterpret_cast<const char*>(key->data()), key->size());
  // Discovery caps the TTL at its max_ttl; one past 32 bits is taken as the largest.
  rec.ttl = static_cast<uint32_t>(
      std::min<uint64_t>(actors::unsigned_member(j, "ttl").value_or(300), UINT32_MAX));
  rec.source = actors::record_source::hub;
  return rec;
}

namespace {

caf::behavior hub_client(caf::stateful_actor<hub_client_state>* self, http_client* client, url hub,
                         std::chrono::milliseconds timeout) {
  return {
      [=](actors::lookup_atom, const std::string& domain) -> caf::result<actors::peer_record> {
        http_request req;
        req.method = "GET";
        auto prefix = hub.path == "/" ? std::string{} : hub.path;
        req.target = make_target(prefix + hub_lookup_path, {{"domain", domain}});
        auto promise = self->make_response_promise();
        auto id = self->state.pending.start(*client, caf::actor_cast<caf::actor>(self), hub,
                                            std::move(req), timeout, promise);
        self->state.domains.emplace(id, domain);
        return promise;
      },
      [=](http_done_atom, uint64_t id, http_response& res) {
        auto promise = self->state.pending.take(id);
        auto domain = std::move(self->state.domains[id]);
        self->state.domains.erase(id);
        auto rec = hub_record_from_reply(domain, res);
        if (rec)
          promise.deliver(std::move(*rec));
        else
          promise.deliver(std::move(rec.error()));
      },
      [=](http_done_atom, uint64_t id, caf::error& err) {
        auto promise = self->state.pending.take(id);
        self->state.domains.erase(id);
        promise.deliver(caf::make_error(actors::errc::unavailable,
                                        "the Hub cannot be reached: " + actors::detail_of(err)));
      },
  };
}

}  // namespace

actors::hub_lookup_actor spawn_hub_client(caf::actor_system& sys, http_client& client,
                                          std::string hub_url, std::chrono::milliseconds timeout) {
  auto hub = parse_url(hub_url);
  // The config layer validated hub_url; a bad one here is a bug, answered per lookup.
  if (!hub) hub = url{"https", "invalid.invalid", 443, {}};
  return caf::actor_cast<actors::hub_lookup_actor>(sys.spawn(hub_client, &client, *hub, timeout));
}

}  // namespace fedrelay::net
