// The calls behind the settings screen. A change is validated by the same code and named
// by the same lines as on the command line (config::parse_settings / error_lines on the
// file as it would be written), and the file is replaced only when it is valid.
#include "net/settings_api.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/json_parse.hpp"
#include "actors/published_records.hpp"
#include "config/settings_file.hpp"
#include "config/status.hpp"
#include "config/storage_domain.hpp"

namespace fedrelay::net {
namespace {

using nlohmann::json;

struct shared_context : settings_api_context {
  std::mutex file_mutex;  // one change at a time: read, edit, validate, replace
  std::string instance;   // changes with every start, so the page sees the restart end
};
using ctx_ptr = std::shared_ptr<shared_context>;

// The keys the screen may change, all in [federation], and whether each is a boolean.
const std::pair<const char*, bool> editable_keys[] = {{"enabled", true},
                                                      {"domain", false},
                                                      {"discovery", false},
                                                      {"hub_url", false},
                                                      {"public_url", false}};

/// {"success":false,"error":first line,"errors":[every line]}: the problems as the command
/// line prints them (after "error: ").
http_response problems_reply(unsigned status, const std::vector<std::string>& lines) {
  http_response res;
  res.status = status;
  res.body =
      json{{"success", false}, {"error", lines.empty() ? "" : lines.front()}, {"errors", lines}}
          .dump();
  return res;
}

http_response problems_reply(unsigned status, const caf::error& err) {
  return problems_reply(status, config::error_lines(err));
}

json settings_json(const config::settings& s) {
  return {{"enabled", s.enabled},
          {"domain", s.domain},
          {"discovery", config::to_string(s.discovery)},
          {"hub_url", s.hub_url},
          {"public_url", s.public_url}};
}

/// The body's changes, or nullopt after answering 400.
std::optional<std::vector<config::setting_change>> changes_of(const http_request& req,
                                                              const responder& respond) {
  auto body = actors::parse_json(req.body);
  if (body.is_discarded() || !body.is_object()) {
    respond(error_reply(400, "the body must be a JSON object of settings to change"));
    return std::nullopt;
  }
  // Which of two values was meant cannot be told; the file is not written on a guess.
  if (auto twice = actors::repeated_member(req.body)) {
    respond(error_reply(400, "setting \"" + *twice + "\" is given twice"));
    return std::nullopt;
  }
  std::vector<config::setting_change> changes;
  for (auto& [key, value] : body.items()) {
    auto known = std::find_if(std::begin(editable_keys), std::end(editable_keys),
                              [&](const auto& k) { return key == k.first; });
    if (known == std::end(editable_keys)) {
      respond(error_reply(400, "unknown setting \"" + key +
                                   "\" (the screen changes enabled, domain, discovery, "
                                   "hub_url and public_url)"));
      return std::nullopt;
    }
    if (known->second ? !value.is_boolean() : !value.is_string()) {
      respond(error_reply(
          400, "setting \"" + key + "\" must be a " + (known->second ? "boolean" : "string")));
      return std::nullopt;
    }
    auto name = "federation." + key;
    if (value.is_boolean())
      changes.push_back({name, value.get<bool>()});
    else
      changes.push_back({name, value.get<std::string>()});
  }
  return changes;
}

void get_settings(const ctx_ptr& ctx, responder respond) {
  auto s = config::load_settings(ctx->config_path);
  if (!s) {
    respond(problems_reply(409, s.error()));
    return;
  }
  respond(success_reply(json{
      {"settings", settings_json(*s)},
      {"missing", config::missing_keys(*s)},
      {"file", ctx->config_path},
      {"instance",
       ctx->instance}}.dump()));
}

void post_settings(const ctx_ptr& ctx, http_request&& req, responder respond) {
  auto changes = changes_of(req, respond);
  if (!changes) return;
  std::unique_lock<std::mutex> guard{ctx->file_mutex};
  auto text = config::read_text_file(ctx->config_path);
  if (!text) {
    respond(problems_reply(500, text.error()));
    return;
  }
  auto candidate = config::edit_settings_text(*text, ctx->config_path, *changes);
  if (!candidate) {
    // A file that is not TOML is named as the command line names it.
    auto current = config::parse_settings(*text, ctx->config_path);
    respond(problems_reply(409, current ? candidate.error() : current.error()));
    return;
  }
  auto s = config::parse_settings(*candidate, ctx->config_path);
  if (!s) {
    respond(problems_reply(400, s.error()));
    return;
  }
  // The screen is served by the node with this token from this directory: without them
  // there would be no node left to show it.
  for (const auto& key : config::missing_keys(*s)) {
    if (key == "storage.dir" || key == "local_api.token") {
      respond(problems_reply(409, {ctx->config_path + ": " + key +
                                   ": not set (the node serving this screen needs it)"}));
      return;
    }
  }
  // A node whose data is another domain's would not start again: refused before the file
  // is written, while the node serving this screen still runs.
  if (auto err = config::storage_fits_domain(s->storage_dir, s->domain)) {
    respond(
        problems_reply(409, {ctx->config_path + ": federation.domain: " + actors::detail_of(err)}));
    return;
  }
  bool changed = *candidate != *text;
  if (changed) {
    if (auto err = config::replace_file(ctx->config_path, *candidate)) {
      respond(problems_reply(500, err));
      return;
    }
  }
  guard.unlock();
  bool applying = changed && ctx->apply != nullptr;
  respond(success_reply(json{{"changed", changed},
                             {"applying", applying},
                             {"instance", ctx->instance},
                             {"settings", settings_json(*s)},
                             {"missing", config::missing_keys(*s)},
                             {"expected_status", config::status_text(config::initial_status(*s))}}
                            .dump()));
  if (applying) ctx->apply();
}

void get_dns_records(const ctx_ptr& ctx, responder respond) {
  auto s = config::load_settings(ctx->config_path);
  if (!s) {
    respond(problems_reply(409, s.error()));
    return;
  }
  for (const char* key : {"federation.domain", "federation.public_url"}) {
    for (const auto& missing : config::missing_keys(*s)) {
      if (missing == key) {
        respond(problems_reply(
            409, {ctx->config_path + ": " + key + ": not set (needed to know what to publish)"}));
        return;
      }
    }
  }
  auto records = actors::records_to_publish(*s, ctx->identity->public_key());
  if (!records) {
    respond(error_reply(409, actors::detail_of(records.error())));
    return;
  }
  respond(success_reply(json{{"records", actors::printed_form(*records, s->domain)}}.dump()));
}

void get_checks(const ctx_ptr& ctx, responder respond) {
  if (!ctx->run_checks) {
    respond(error_reply(503, "checks unavailable: this node has no check runner"));
    return;
  }
  auto started = ctx->run_checks([respond](std::string result) {
    http_response res;
    res.body = std::move(result);
    respond(std::move(res));
  });
  if (!started) respond(error_reply(503, "checks are already running; try again when they end"));
}

std::string new_instance() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

}  // namespace

std::vector<route> settings_routes(settings_api_context context) {
  auto ctx = std::make_shared<shared_context>();
  static_cast<settings_api_context&>(*ctx) = std::move(context);
  ctx->instance = new_instance();
  return {
      {"GET", "/api/v1/federation.settings",
       [ctx](http_request&&, responder respond) { get_settings(ctx, std::move(respond)); }},
      {"POST", "/api/v1/federation.settings",
       [ctx](http_request&& req, responder respond) {
         post_settings(ctx, std::move(req), std::move(respond));
       }},
      {"GET", "/api/v1/federation.dnsRecords",
       [ctx](http_request&&, responder respond) { get_dns_records(ctx, std::move(respond)); }},
      {"GET", "/api/v1/federation.checks",
       [ctx](http_request&&, responder respond) { get_checks(ctx, std::move(respond)); }},
  };
}

}  // namespace fedrelay::net
