// `fedrelay resolve DOMAIN`: asks discovery as the node would, and shows the answer.
#include <iostream>

#include <caf/scoped_actor.hpp>

#include "actors/describe.hpp"
#include "actors/discovery_actor.hpp"
#include "actors/errc.hpp"
#include "actors/logger.hpp"
#include "app/commands.hpp"
#include "app/load.hpp"
#include "app/runtime.hpp"
#include "crypto/pem.hpp"
#include "crypto/raw_key.hpp"
#include "net/dns_resolver.hpp"
#include "net/http_client.hpp"
#include "net/hub_client.hpp"
#include "net/io_runtime.hpp"

namespace fedrelay::app {
namespace {

void print_record(const actors::peer_record& rec) {
  auto key = crypto::public_key_of_raw(rec.public_key);
  std::cout << "domain:      " << rec.domain << '\n'
            << "url:         " << rec.base_url << '\n'
            << "protocol:    " << rec.protocol << '\n'
            << "fingerprint: " << crypto::fingerprint(key) << '\n'
            << "ttl:         " << rec.ttl << '\n'
            << "source:      " << actors::to_string(rec.source) << '\n'
            << "public key:\n"
            << crypto::public_key_pem(key);
}

}  // namespace

int cmd_resolve(const std::string& config_path, const std::string& domain) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  // The answer, or the failure, is what this command prints; discovery's own info line
  // about it would say the same a second time.
  actors::log()->set_level(spdlog::level::warn);
  // The running node holds the store; then resolve asks without the persisted cache.
  // Declared first, so it outlives the actors that use it.
  std::unique_ptr<storage::store> db;
  runtime rt;
  net::http_client client{rt.io()};
  auto& sys = rt.system();
  if (!s->storage_dir.empty()) {
    if (auto opened = open_store(*s)) db = std::move(*opened);
  }
  actors::discovery_options options;
  options.method = s->discovery;
  options.static_peers = s->static_peers;
  options.negative_ttl = s->dns_negative_ttl;
  options.lookup_timeout = s->dns_timeout;
  actors::discovery_ports ports;
  ports.dns = net::spawn_dns_resolver(sys, s->dns_resolver, s->dns_timeout);
  if (!s->hub_url.empty())
    ports.hub = net::spawn_hub_client(sys, client, s->hub_url, s->dns_timeout);
  ports.store = db.get();
  auto discovery = actors::spawn_discovery(sys, options, ports);
  int rc = exit_ok;
  {
    caf::scoped_actor self{sys};
    self->request(discovery, caf::infinite, actors::resolve_atom::value, domain)
        .receive([](actors::peer_record& rec) { print_record(rec); },
                 [&](caf::error& err) {
                   std::cerr << "error: " << actors::describe(err) << '\n';
                   rc = exit_lookup_failed;
                 });
    for (const auto& a :
         {caf::actor_cast<caf::actor>(discovery), caf::actor_cast<caf::actor>(ports.dns),
          caf::actor_cast<caf::actor>(ports.hub)})
      if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  return rc;
}

}  // namespace fedrelay::app
