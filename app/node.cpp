#include "app/node.hpp"

#include <caf/scoped_actor.hpp>

#include "app/load.hpp"
#include "app/runtime.hpp"
#include "app/status_file.hpp"
#include "net/dns_resolver.hpp"
#include "net/http_client.hpp"
#include "net/hub_client.hpp"
#include "net/io_runtime.hpp"
#include "storage/store.hpp"

namespace fedrelay::app {

struct node::impl {
  config::settings settings;
  crypto::identity identity;
  std::unique_ptr<storage::store> store;
  net::io_runtime io{2};
  net::http_client client{io};
  runtime rt;
  actors::dns_resolver_actor dns;
  actors::hub_lookup_actor hub;
  actors::discovery_actor discovery;
  config::status status = config::status::booting;

  impl(config::settings s, crypto::identity id, std::unique_ptr<storage::store> db)
      : settings(std::move(s)), identity(std::move(id)), store(std::move(db)) {}

  ~impl() {
    caf::scoped_actor self{rt.system()};
    for (const auto& a : {caf::actor_cast<caf::actor>(discovery), caf::actor_cast<caf::actor>(dns),
                          caf::actor_cast<caf::actor>(hub)})
      if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
  }
};

node::node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

node::~node() {
  remove_status_file(impl_->settings.storage_dir);
}

caf::expected<std::unique_ptr<node>> node::start(config::settings s) {
  auto db = open_store(s);
  if (!db) return db.error();
  auto id = crypto::load_or_create_identity(s.storage_dir);
  if (!id) return id.error();
  write_status_file(s.storage_dir, config::status::booting);
  auto p = std::make_unique<impl>(std::move(s), std::move(*id), std::move(*db));
  auto& sys = p->rt.system();
  const auto& cfg = p->settings;
  p->dns = net::spawn_dns_resolver(sys, cfg.dns_resolver, cfg.dns_timeout);
  if (!cfg.hub_url.empty()) p->hub = net::spawn_hub_client(sys, p->client, cfg.hub_url, cfg.dns_timeout);
  actors::discovery_options options;
  options.method = cfg.discovery;
  options.static_peers = cfg.static_peers;
  options.negative_ttl = cfg.dns_negative_ttl;
  options.lookup_timeout = cfg.dns_timeout;
  p->discovery = actors::spawn_discovery(sys, options, {p->dns, p->hub, p->store.get()});
  p->status = config::status::running;
  write_status_file(p->settings.storage_dir, p->status);
  return std::unique_ptr<node>{new node(std::move(p))};
}

config::status node::status() const {
  return impl_->status;
}

const config::settings& node::settings() const {
  return impl_->settings;
}

const crypto::identity& node::identity() const {
  return impl_->identity;
}

actors::discovery_actor node::discovery() const {
  return impl_->discovery;
}

}  // namespace fedrelay::app
