// The federation settings screen on the local listener (docs/LOCAL_API.md, "The settings
// screen"): the page itself, and the calls behind it that read and change the TOML file,
// show the DNS records to publish and run the checks.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity.hpp"
#include "net/api_support.hpp"

namespace fedrelay::net {

/// Runs the checks off the io threads and hands their JSON ({"success":true,"ok":..,
/// "checks":[..]}) to `done`, from any thread. Returns false, without calling `done`, when
/// a run is already under way.
using checks_runner = std::function<bool(std::function<void(std::string json)> done)>;

struct settings_api_context {
  std::string config_path;  // the node's TOML file, absolute, as errors name it
  std::shared_ptr<const crypto::identity> identity;  // the key the DNS records publish
  // Called once a changed file was written; restarts the federation part from the file
  // and must not block (the reply is still to be sent). Null: changes apply at next start.
  std::function<void()> apply;
  checks_runner run_checks;  // null: the screen shows "checks unavailable"
};

/// The page's path; it holds no data, so it is served without the token.
inline constexpr const char* settings_page_path = "/admin";

/// GET /admin: the page (HTML with inline CSS and script, nothing loaded from elsewhere).
http_response settings_page();

/// GET and POST federation.settings, GET federation.dnsRecords and GET federation.checks.
/// REQUIRES: the caller puts the bearer-token check in front of each, as for every call.
std::vector<route> settings_routes(settings_api_context ctx);

}  // namespace fedrelay::net
