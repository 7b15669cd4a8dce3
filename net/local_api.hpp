// The local server's API (DESIGN.md section 8) as a route table: bearer-token checks,
// JSON in and out, each call handed to the actor that owns the answer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/discovery_actor.hpp"
#include "actors/local_bridge_actor.hpp"
#include "actors/peer_manager_actor.hpp"
#include "actors/room_manager_actor.hpp"
#include "config/peer_filter.hpp"
#include "crypto/identity.hpp"
#include "net/files_api.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/settings_api.hpp"
#include "net/websocket.hpp"

namespace fedrelay::net {

struct local_api_context {
  caf::actor_system* system = nullptr;  // REQUIRES: not null, outlives the handler
  std::string token;                    // every call needs "Authorization: Bearer <token>"
  std::string own_domain;
  std::shared_ptr<const crypto::identity> identity;  // signs users.search requests to peers
  std::function<std::string()> status_text;          // the node's current status string
  std::function<std::string()> status_reason;        // why (e.g. the Hub's answer); may be null
  actors::room_manager_actor rooms;
  actors::local_bridge_actor bridge;
  actors::discovery_actor discovery;
  actors::peer_manager_actor peers;
  http_client* client = nullptr;  // for users.search on peers; REQUIRES: outlives the handler
  std::shared_ptr<config::peer_filter> filter;  // [peers] allow/deny; null: every domain
  std::chrono::milliseconds timeout{30'000};    // bound on one actor call
  size_t max_content_bytes = 1u << 20;          // limits.max_content_bytes: 413 above it
  // The settings screen's calls (net/settings_api.hpp), token-checked like every call; when
  // set, its page is served at settings_page_path (no data in it, so without the token).
  std::vector<route> settings_routes;
  request_handler metrics;  // GET /metrics (net/metrics_api.hpp), behind the token; may be null
  std::optional<files_api_context> files;  // files.upload/get/info; none: no file calls
};

/// Every call of DESIGN.md section 8 but the WebSocket one.
request_handler make_local_handler(local_api_context ctx);

/// Whether `req` carries "Authorization: Bearer <token>" (compared in constant time).
bool bearer_ok(const http_request& req, const std::string& token);

/// The local listener's server_options::stream_body: a request with a body but without the
/// bearer token is refused with 401 from its head, before its body is read (every call
/// that takes a body needs the token, and a body read for nothing holds memory); the
/// others go on to `next` (the uploads' streamer), or are read whole when it is null.
body_stream_decider bearer_before_body(std::string token, body_stream_decider next = {});

/// GET /api/v1/events.stream?after=CURSOR as a WebSocket (bearer token as for every call):
/// each inbox event after the cursor is sent as one text message (the event's JSON, with
/// "cursor"), for as long as the connection lasts. The local server may also call the API
/// over it: a message {"call": "chat.send", "body": {...}, "ref": any} is handled as
/// POST /api/v1/chat.send (GET for the read calls) and answered with
/// {"ref", "status", "reply"}. `calls` is the handler from make_local_handler.
upgrade_decider make_local_upgrade(local_api_context ctx, request_handler calls);

}  // namespace fedrelay::net
