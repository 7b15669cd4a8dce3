#include "net/federation_api.hpp"

#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/previous_keys.hpp"
#include "actors/request_auth.hpp"
#include "actors/room_event.hpp"
#include "actors/self_check.hpp"
#include "actors/transaction.hpp"
#include "net/actor_call.hpp"
#include "net/api_support.hpp"
#include "net/federation_self.hpp"
#include "net/logger.hpp"

namespace fedrelay::net {
namespace {

using namespace std::string_literals;

/// Answers 403 for a refused origin and 400 for a missing one; returns the origin or "".
std::string admitted_origin(const federation_api_context& ctx, const http_request& req,
                            const responder& respond) {
  std::string origin{req.header(actors::origin_header)};
  if (origin.empty()) {
    respond(error_reply(400, "missing header "s + std::string{actors::origin_header}));
    return {};
  }
  // Checked before anything keeps or looks up the name: a header of 16 KiB of anything
  // would otherwise go into the refusal counts, the logs and a DNS query.
  if (!actors::valid_domain(origin)) {
    respond(error_reply(400,
                        "header "s + std::string{actors::origin_header} + " is not a domain name"));
    return {};
  }
  // Nothing of a node's comes to it over federation: such a request is forged, or another
  // node runs under this domain, which its operator needs to hear rather than a failed
  // lookup of the own name.
  if (actors::same_domain(origin, ctx.own_domain)) {
    respond(error_reply(403, "origin " + origin + " is this node's own domain"));
    return {};
  }
  if (ctx.filter) {
    auto verdict = ctx.filter->check(origin);
    if (verdict != config::peer_filter::verdict::allowed) {
      auto why = verdict == config::peer_filter::verdict::denied ? "denied" : "not allowed";
      auto note = ctx.filter->note_refusal(origin, verdict);
      if (note && note.among_others)
        log()->warn(
            "refusing federation requests from {} ({} by [peers]) and other domains past the "
            "{} counted by name; further refusals of any of them are counted together as {}, "
            "not logged, for a minute",
            origin, why, config::peer_filter::max_counted_domains,
            config::peer_filter::other_domains);
      else if (note)
        log()->warn(
            "refusing federation requests from {} ({} by [peers]); further refusals "
            "of it are counted, not logged, for a minute",
            origin, why);
      respond(error_reply(403, "domain not allowed: " + origin));
      return {};
    }
  }
  return origin;
}

http_response from_inbound(actors::inbound_reply& reply) {
  http_response res;
  res.status = reply.status;
  // 200 carries a sealed receipt; errors carry JSON.
  res.content_type = reply.status == 200 ? "application/octet-stream" : "application/json";
  res.body = std::move(reply.body);
  return res;
}

template <class Atom>
request_handler sealed_route(federation_api_context ctx, Atom atom) {
  return [ctx, atom](http_request&& req, responder respond) {
    auto origin = admitted_origin(ctx, req, respond);
    if (origin.empty()) return;
    std::string version{req.header(actors::version_header)};
    ask<actors::inbound_reply>(
        *ctx.system, ctx.inbound, ctx.timeout,
        [respond](actors::inbound_reply& reply) { respond(from_inbound(reply)); },
        [respond](caf::error& err) { respond(error_reply(503, actors::detail_of(err))); }, atom,
        origin, version, std::move(req.body));
  };
}

/// A signed read: resolve the origin's key, check the signature, then `then(origin)`.
void with_signed_origin(const federation_api_context& ctx, http_request&& req, responder respond,
                        std::function<void(const std::string&, responder)> then) {
  auto origin = admitted_origin(ctx, req, respond);
  if (origin.empty()) return;
  auto shared = std::make_shared<http_request>(std::move(req));
  ask<actors::peer_record>(
      *ctx.system, ctx.discovery, ctx.timeout,
      [ctx, shared, respond, then, origin](actors::peer_record& rec) {
        auto err = actors::verify_request(
            rec.public_key, shared->method, shared->target, shared->header(actors::time_header),
            shared->body, shared->header(actors::signature_header), ctx.clock_skew,
            shared->header(actors::destination_header), ctx.own_domain);
        if (err) {
          respond(error_reply(401, actors::detail_of(err)));
          return;
        }
        then(origin, respond);
      },
      [respond](caf::error& err) { respond(error_reply(503, actors::detail_of(err))); },
      actors::resolve_atom::value, origin);
}

}  // namespace

request_handler make_federation_handler(federation_api_context ctx) {
  std::vector<route> routes;
  routes.push_back({"POST", std::string{actors::dispatch_path},
                    sealed_route(ctx, actors::dispatch_atom::value)});
  routes.push_back(
      {"POST", std::string{actors::since_path}, sealed_route(ctx, actors::since_atom::value)});
  routes.push_back(
      {"GET", std::string{actors::users_search_path}, [ctx](http_request&& req, responder respond) {
         auto query = req.query("q").value_or("");
         // An empty prefix would list the registered users to any signed peer.
         if (query.empty())
           return respond(error_reply(400, "query parameter q must hold the start of a user name"));
         with_signed_origin(ctx, std::move(req), std::move(respond),
                            [ctx, query](const std::string&, responder respond) {
                              ask<std::string>(
                                  *ctx.system, ctx.bridge, ctx.timeout,
                                  [respond](std::string& users) {
                                    respond(success_reply(R"({"users":)" + users + "}"));
                                  },
                                  fail_with(respond), actors::search_atom::value, query);
                            });
       }});
  if (ctx.previous_keys)
    routes.push_back({"GET", std::string{actors::previous_keys_path},
                      [body = ctx.previous_keys](http_request&&, responder respond) {
                        respond(success_reply(*body));
                      }});
  if (ctx.identity)
    routes.push_back({"GET", std::string{actors::self_path},
                      make_self_check_handler(ctx.own_domain, ctx.identity, ctx.clock_skew)});
  if (ctx.files)
    routes.push_back(
        {"GET", std::string{actors::files_get_path}, [ctx](http_request&& req, responder respond) {
           auto id = req.query("id").value_or("");
           std::string range{req.header("Range")};
           with_signed_origin(ctx, std::move(req), std::move(respond),
                              [ctx, id, range](const std::string& origin, responder respond) {
                                serve_peer_file(*ctx.files, origin, id, range, std::move(respond));
                              });
         }});
  return route_table(std::move(routes));
}

}  // namespace fedrelay::net
