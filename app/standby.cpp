#include "app/standby.hpp"

#include "app/runtime.hpp"
#include "app/settings_screen.hpp"
#include "app/status_file.hpp"
#include "net/api_support.hpp"
#include "net/http_server.hpp"
#include "net/io_runtime.hpp"
#include "net/local_api.hpp"
#include "net/metrics_api.hpp"

namespace fedrelay::app {
namespace {

/// Lets through the calls a stand-by answers; the others get 503 naming the status. The
/// metrics stay, so that a scrape shows the status instead of failing.
net::request_handler only_screen_calls(net::request_handler calls, config::status status) {
  return [calls = std::move(calls), status](net::http_request&& req, net::responder respond) {
    auto path = req.path();
    bool screen = path == net::settings_page_path || path == "/metrics" ||
                  path.rfind("/api/v1/federation.", 0) == 0;  // status, settings, records, checks
    if (!screen) {
      respond(net::error_reply(
          503, "federation is not running: " + std::string{config::status_text(status)}));
      return;
    }
    calls(std::move(req), std::move(respond));
  };
}

}  // namespace

// Destroyed in reverse: the screen's check thread and the listener before the runtime's
// threads (see node.cpp).
struct standby::impl {
  config::settings settings;
  config::status status;
  runtime rt{1};
  std::unique_ptr<net::http_server> local_server;
  std::unique_ptr<settings_screen> screen;

  ~impl() {
    if (local_server) local_server->stop();
    screen.reset();
    rt.system().await_all_actors_done();  // calls in flight end before the threads do
  }
};

standby::standby(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

standby::~standby() {
  remove_status_file(impl_->settings.storage_dir);
}

caf::expected<std::unique_ptr<standby>> standby::start(config::settings s,
                                                       std::function<void()> apply) {
  auto id = crypto::load_or_create_identity(s.storage_dir);
  if (!id) return id.error();
  auto identity = std::make_shared<const crypto::identity>(std::move(*id));
  auto p = std::make_unique<impl>();
  p->settings = std::move(s);
  p->status = config::initial_status(p->settings);
  p->screen = std::make_unique<settings_screen>(p->settings, identity, std::move(apply));
  net::local_api_context local;
  local.system = &p->rt.system();
  local.token = p->settings.local_api_token;
  local.max_content_bytes = p->settings.limits.max_content_bytes;
  local.own_domain = p->settings.domain;
  local.identity = identity;
  auto status = p->status;
  local.status_text = [status] { return std::string{config::status_text(status)}; };
  local.settings_routes = p->screen->routes();
  net::metrics_context metrics;
  metrics.system = &p->rt.system();
  metrics.own_domain = p->settings.domain;
  metrics.status_text = local.status_text;
  local.metrics = net::make_metrics_handler(std::move(metrics));
  net::server_options options;
  options.listen = p->settings.listen_local;
  options.max_body_bytes = p->settings.limits.max_body_bytes;
  options.read_timeout = p->settings.limits.read_timeout;
  options.stream_body = net::bearer_before_body(p->settings.local_api_token);
  auto server = net::http_server::start(
      p->rt.io(), options, only_screen_calls(net::make_local_handler(std::move(local)), status));
  if (!server) return server.error();
  p->local_server = std::move(*server);
  write_status_file(p->settings.storage_dir, status);
  return std::unique_ptr<standby>{new standby(std::move(p))};
}

config::status standby::status() const {
  return impl_->status;
}

caf::expected<serving> serving::start(config::settings s, std::function<void()> apply,
                                      std::function<void(const std::string&)> store_failed) {
  serving out;
  if (config::initial_status(s) == config::status::booting) {
    auto n = node::start(std::move(s), std::move(apply), std::move(store_failed));
    if (!n) return n.error();
    out.node_ = std::move(*n);
  } else {
    auto idle = standby::start(std::move(s), std::move(apply));
    if (!idle) return idle.error();
    out.standby_ = std::move(*idle);
  }
  return out;
}

config::status serving::status() const {
  return node_ ? node_->status() : standby_->status();
}

std::vector<std::string> serving::reload(const config::settings& fresh) {
  if (node_) return node_->reload(fresh);
  return {};
}

void serving::stop(bool keep_status_file) {
  if (node_ && keep_status_file) node_->keep_status_file();
  node_.reset();
  standby_.reset();
}

}  // namespace fedrelay::app
