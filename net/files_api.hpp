// Shared files over HTTP: the local server's files.upload (a streamed body), files.get and
// files.info (DESIGN.md section 8), and the body of the peers' federation.files.get
// (section 4). Bytes go to and come from the storage::file_store in pieces, never whole.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/files_actor.hpp"
#include "config/settings.hpp"
#include "net/api_support.hpp"
#include "net/http_server.hpp"
#include "storage/file_store.hpp"

namespace fedrelay::net {

struct files_api_context {
  caf::actor_system* system = nullptr;  // REQUIRES: not null, outlives the handlers
  actors::files_actor files;
  std::shared_ptr<storage::file_store> store;  // REQUIRES: not null
  config::file_settings settings;              // max_bytes and allowed_types of uploads
  std::string token;                           // the local API's bearer token
  std::string own_domain;
  std::chrono::milliseconds timeout{30'000};  // bound on one actor call
};

/// The local listener's server_options::stream_body: a POST files.upload with the bearer
/// token, room_id, user and name, an allowed Content-Type and a Content-Length within
/// files.max_bytes streams its body to a temporary file, hashed as it arrives. Refusals
/// come before the body is read: 401, 400, 415 (type not allowed), 413 (too large).
body_stream_decider make_upload_streamer(files_api_context ctx);

/// POST files.upload, GET files.get and GET files.info, for the local API's route table
/// (which checks the bearer token).
std::vector<route> local_file_routes(files_api_context ctx);

/// Answers a peer's federation.files.get once its signature was checked: the content `id`
/// (or the `range` of it, an HTTP Range header value) when `origin` has a member in a room
/// that shares it here; 403 when it has none, 404 when the content is not here, 416 for a
/// range outside it.
void serve_peer_file(const files_api_context& ctx, const std::string& origin, const std::string& id,
                     const std::string& range, responder respond);

}  // namespace fedrelay::net
