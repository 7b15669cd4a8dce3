#include "app/node.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/describe.hpp"
#include "actors/files_actor.hpp"
#include "actors/hub_registrar.hpp"
#include "actors/inbound_actor.hpp"
#include "actors/journal_actor.hpp"
#include "actors/local_bridge_actor.hpp"
#include "actors/metrics.hpp"
#include "actors/peer_manager_actor.hpp"
#include "actors/previous_keys.hpp"
#include "actors/previous_keys_book.hpp"
#include "actors/request_auth.hpp"
#include "actors/room_manager_actor.hpp"
#include "actors/wall_clock.hpp"
#include "app/check_internal.hpp"
#include "app/idle_memory_return.hpp"
#include "app/load.hpp"
#include "app/runtime.hpp"
#include "app/settings_screen.hpp"
#include "app/status_file.hpp"
#include "app/tls_reload.hpp"
#include "config/errc.hpp"
#include "config/settings_changes.hpp"
#include "config/storage_domain.hpp"
#include "net/dns_resolver.hpp"
#include "net/federation_api.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/hub_client.hpp"
#include "net/io_runtime.hpp"
#include "net/local_api.hpp"
#include "net/logger.hpp"
#include "net/metrics_api.hpp"
#include "net/transport.hpp"
#include "storage/file_store.hpp"
#include "storage/store.hpp"

namespace fedrelay::app {
namespace {

net::server_options listener(const config::settings& s, const config::endpoint& where, bool tls) {
  net::server_options o;
  o.listen = where;
  o.max_body_bytes = s.limits.max_body_bytes;
  // Room for two of the largest bodies at least, whatever the operator set.
  o.max_pending_body_bytes = std::max(o.max_pending_body_bytes, 2 * s.limits.max_body_bytes);
  o.max_connections = s.limits.max_connections;
  o.read_timeout = s.limits.read_timeout;
  if (tls) {
    o.tls_cert_file = s.tls.cert;
    o.tls_key_file = s.tls.key;
  }
  return o;
}

/// Hands what the peers refused for good to the room manager, which tells the local
/// server of its own users' submissions among them. The peers are spawned before the
/// rooms (the journal between them needs the peers), so the manager comes later, in a
/// message; refusals that come before it wait in the mailbox.
caf::behavior rejection_relay(caf::event_based_actor* self) {
  self->set_default_handler(caf::skip);
  return {
      [self](actors::room_manager_actor rooms) {
        self->set_default_handler(caf::drop);
        self->become([rooms](actors::rejected_atom, std::string& domain, std::string& id,
                             std::string& reason, std::string& text) {
          caf::anon_send(rooms, actors::rejected_atom::value, std::move(domain), std::move(id),
                         std::move(reason), std::move(text));
        });
      },
  };
}

}  // namespace

// Members are declared in start-up order; they are destroyed in reverse, so listeners go
// first, then actors (explicitly, in ~impl), then the runtimes, the store last.
struct node::impl {
  config::settings settings;
  std::shared_ptr<config::peer_filter> filter;
  std::shared_ptr<const crypto::identity> identity;
  std::shared_ptr<const std::vector<actors::previous_key>> previous_keys;  // spawn_actors
  std::unique_ptr<storage::store> store;
  std::shared_ptr<actors::node_metrics> metrics = std::make_shared<actors::node_metrics>();
  std::shared_ptr<storage::file_store> file_store;
  // The threads of both the sockets and the actors (app/runtime.hpp); everything below
  // that uses them is destroyed first.
  runtime rt;
  net::http_client client;
  actors::dns_resolver_actor dns;
  actors::hub_lookup_actor hub;
  actors::discovery_actor discovery;
  actors::transport_actor transport;
  caf::actor refusals;  // rejection_relay
  actors::peer_manager_actor peers;
  actors::local_bridge_actor bridge;
  actors::journal_actor journal;
  actors::room_manager_actor rooms;
  actors::inbound_actor inbound;
  actors::hub_registrar_actor registrar;
  actors::files_actor files;
  std::unique_ptr<net::http_server> federation_server;
  std::unique_ptr<net::http_server> local_server;
  // Hands freed memory back to the kernel when the process idles (app/idle_memory_return.hpp).
  std::shared_ptr<idle_memory_return> memory_return = share_idle_memory_return();
  std::atomic<config::status> status{config::status::booting};  // read by the local API
  std::mutex status_mutex;
  std::string status_reason;    // why the status is what it is (Hub registration), if anything
  std::function<void()> apply;  // restarts from the file the screen wrote
  std::unique_ptr<settings_screen> screen;  // destroyed first: waits for a check run

  void set_status(config::status s, std::string reason = {}) {
    std::lock_guard<std::mutex> guard{status_mutex};
    status = s;
    status_reason = std::move(reason);
    write_status_file(settings.storage_dir, s);
  }

  impl(config::settings s, crypto::identity id, std::unique_ptr<storage::store> db)
      : settings(std::move(s)),
        filter(std::make_shared<config::peer_filter>(settings.allow, settings.deny)),
        identity(std::make_shared<const crypto::identity>(std::move(id))),
        store(std::move(db)),
        client(rt.io(), client_options(settings)) {}

  static net::client_options client_options(const config::settings& s) {
    net::client_options o;
    o.ca_file = s.tls.ca;
    o.max_response_body_bytes = s.limits.max_body_bytes;
    // Where DNS and Hub records send the node is checked against peers.addresses; where
    // the operator sends it is not.
    o.reach = s.peer_addresses;
    for (const auto& peer : s.static_peers)
      if (auto u = net::parse_url(peer.url)) o.trusted_origins.push_back(u->origin());
    if (auto u = net::parse_url(s.hub_url); u && !s.hub_url.empty())
      o.trusted_origins.push_back(u->origin());
    return o;
  }

  ~impl() {
    if (local_server) local_server->stop();
    if (federation_server) federation_server->stop();
    {
      caf::scoped_actor self{rt.system()};
      for (const auto& a :
           {caf::actor_cast<caf::actor>(files), caf::actor_cast<caf::actor>(registrar),
            caf::actor_cast<caf::actor>(inbound), caf::actor_cast<caf::actor>(rooms),
            caf::actor_cast<caf::actor>(journal), caf::actor_cast<caf::actor>(bridge),
            caf::actor_cast<caf::actor>(peers), caf::actor_cast<caf::actor>(transport),
            caf::actor_cast<caf::actor>(discovery), caf::actor_cast<caf::actor>(dns),
            caf::actor_cast<caf::actor>(hub), refusals})
        if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
    }
    // Every actor ends while the io threads still run: a call in flight that answers its
    // HTTP request as its target stops posts to a live io_context (not to one already
    // destroyed, which crashed a node stopped under load), and the client's pending
    // requests complete.
    rt.system().await_all_actors_done();
  }

  std::function<bool(const std::string&)> allowed() const {
    return [f = filter](const std::string& domain) { return f->allowed(domain); };
  }

  [[nodiscard]] caf::error spawn_actors() {
    auto& sys = rt.system();
    const auto& cfg = settings;
    dns = net::spawn_dns_resolver(sys, cfg.dns_resolver, cfg.dns_timeout);
    if (!cfg.hub_url.empty())
      hub = net::spawn_hub_client(sys, client, cfg.hub_url, cfg.dns_timeout);
    actors::discovery_options options;
    options.method = cfg.discovery;
    options.static_peers = cfg.static_peers;
    options.negative_ttl = cfg.dns_negative_ttl;
    options.lookup_timeout = cfg.dns_timeout;
    options.allowed = allowed();
    discovery = actors::spawn_discovery(sys, options, {dns, hub, store.get()});
    transport = net::spawn_transport(sys, client, cfg.transport.request_timeout);
    actors::peer_context peer_ctx;
    peer_ctx.own_domain = cfg.domain;
    peer_ctx.identity = identity;
    peer_ctx.settings = cfg.transport;
    peer_ctx.store = store.get();
    peer_ctx.discovery = discovery;
    peer_ctx.transport = transport;
    peer_ctx.allowed = allowed();
    peer_ctx.replace_lists = [f = filter](std::vector<std::string> allow,
                                          std::vector<std::string> deny) {
      f->replace(std::move(allow), std::move(deny));
    };
    refusals = sys.spawn(rejection_relay);
    peer_ctx.rejection_sink = refusals;
    peers = actors::spawn_peer_manager(sys, peer_ctx);
    bridge = actors::spawn_local_bridge(sys, *store, cfg.domain);
    // The journal blocks on fsync: it gets a thread of its own.
    journal = actors::spawn_journal(sys, *store, peers, caf::actor_cast<caf::actor>(bridge), true,
                                    metrics, cfg.transport.batch_max_events);
    // The keys the node had before, for its rooms and for federation.keys.
    auto previous = actors::note_own_key(*store, identity->public_key(), actors::unix_ms_now());
    if (!previous) return previous.error();
    if (!previous->empty())
      net::log()->info("federation.keys names {} previous key(s) of this node", previous->size());
    previous_keys = std::make_shared<const std::vector<actors::previous_key>>(std::move(*previous));
    actors::room_context room_ctx;
    room_ctx.own_domain = cfg.domain;
    room_ctx.identity = identity;
    room_ctx.own_previous_keys = previous_keys;
    room_ctx.previous_keys = std::make_shared<actors::previous_keys_book>();
    room_ctx.settings = cfg.transport;
    room_ctx.store = store.get();
    room_ctx.journal = journal;
    room_ctx.discovery = discovery;
    room_ctx.transport = transport;
    room_ctx.allowed = allowed();
    room_ctx.metrics = metrics;
    // A catch-up answer fits what our client takes in a response, its envelope aside.
    room_ctx.catchup_max_bytes = cfg.limits.max_body_bytes - config::event_overhead_bytes;
    rooms = actors::spawn_room_manager(sys, room_ctx);
    caf::anon_send(refusals, rooms);
    actors::inbound_options in_opts;
    in_opts.own_domain = cfg.domain;
    in_opts.identity = identity;
    in_opts.clock_skew = cfg.limits.clock_skew;
    in_opts.allowed = allowed();
    actors::inbound_ports in_ports;
    in_ports.store = store.get();
    in_ports.discovery = discovery;
    in_ports.rooms = rooms;
    inbound = actors::spawn_inbound(sys, in_opts, in_ports);
    auto opened = storage::file_store::open(cfg.storage_dir + "/files");
    if (!opened) return opened.error();
    file_store = std::move(*opened);
    actors::files_context files_ctx;
    files_ctx.own_domain = cfg.domain;
    files_ctx.identity = identity;
    files_ctx.settings = cfg.files;
    // A range must fit in one response the client accepts.
    files_ctx.settings.fetch_chunk_bytes =
        std::min<uint64_t>(cfg.files.fetch_chunk_bytes, cfg.limits.max_body_bytes);
    files_ctx.transport_settings = cfg.transport;
    files_ctx.store = store.get();
    files_ctx.files = file_store;
    files_ctx.rooms = rooms;
    files_ctx.bridge = bridge;
    files_ctx.journal = journal;
    files_ctx.discovery = discovery;
    files_ctx.transport = transport;
    // Hashing and appending block: a thread of its own.
    files = actors::spawn_files(sys, std::move(files_ctx), true);
    return caf::none;
  }

  /// Shows in the metrics when the certificate the federation port serves expires: the one
  /// it loaded, not the file, which a renewal may have changed again since.
  void note_certificate_expiry() {
    if (auto expiry = federation_server ? federation_server->certificate_expiry() : std::nullopt)
      metrics->tls_not_after.store(*expiry, std::memory_order_relaxed);
  }

  /// With discovery = hub the node registers with the Hub; the status follows it.
  void register_with_hub() {
    if (settings.discovery != config::discovery_method::hub) {
      set_status(config::status::running);
      return;
    }
    actors::hub_registrar_options o;
    o.hub_url = settings.hub_url;
    o.domain = settings.domain;
    o.public_url = settings.public_url;
    o.identity = identity;
    o.transport = transport;
    // The registrar logs each change itself.
    o.on_status = [this](config::status s, const std::string& reason) { set_status(s, reason); };
    set_status(config::status::hub_registering);
    registrar = actors::spawn_hub_registrar(rt.system(), std::move(o));
  }

  net::files_api_context files_api() {
    net::files_api_context f;
    f.system = &rt.system();
    f.files = files;
    f.store = file_store;
    f.settings = settings.files;
    f.token = settings.local_api_token;
    f.own_domain = settings.domain;
    return f;
  }

  [[nodiscard]] caf::error start_listeners() {
    auto files = files_api();
    net::federation_api_context fed;
    fed.files = files;
    fed.system = &rt.system();
    fed.inbound = inbound;
    fed.discovery = discovery;
    fed.bridge = bridge;
    fed.filter = filter;
    fed.clock_skew = settings.limits.clock_skew;
    fed.own_domain = settings.domain;
    fed.identity = identity;
    // A key the node ran with before stays verifiable for peers: federation.keys.
    fed.previous_keys = std::make_shared<const std::string>(
        actors::previous_keys_body(*identity, settings.domain, *previous_keys));
    auto federation_options =
        listener(settings, settings.listen_federation, settings.tls.enabled());
    // An eighth of the places for any one address (a peer's pool uses a few), so that one
    // client cannot hold them all. The local listener serves the chat server, which may
    // come from one address on many connections.
    federation_options.max_connections_per_address =
        std::max<size_t>(8, settings.limits.max_connections / 8);
    // And a quarter of the bodies held in memory (one of the largest at least), so that a
    // few connections of one client cannot fill them all.
    federation_options.max_pending_body_bytes_per_address =
        std::max(federation_options.max_pending_body_bytes / 4, settings.limits.max_body_bytes);
    auto server = net::http_server::start(rt.io(), std::move(federation_options),
                                          net::make_federation_handler(std::move(fed)));
    if (!server) return server.error();
    federation_server = std::move(*server);
    note_certificate_expiry();
    net::local_api_context local;
    local.system = &rt.system();
    local.token = settings.local_api_token;
    local.max_content_bytes = settings.limits.max_content_bytes;
    local.own_domain = settings.domain;
    local.identity = identity;
    local.status_text = [this] { return std::string{config::status_text(status)}; };
    local.status_reason = [this] {
      std::lock_guard<std::mutex> guard{status_mutex};
      return status_reason;
    };
    local.rooms = rooms;
    local.bridge = bridge;
    local.discovery = discovery;
    local.peers = peers;
    local.client = &client;
    local.filter = filter;
    screen = std::make_unique<settings_screen>(settings, identity, apply);
    local.settings_routes = screen->routes();
    net::metrics_context probe;
    probe.system = &rt.system();
    probe.own_domain = settings.domain;
    probe.status_text = local.status_text;
    probe.peers = peers;
    probe.discovery = discovery;
    probe.discovery_method = config::to_string(settings.discovery);
    probe.metrics = metrics;
    local.metrics = net::make_metrics_handler(std::move(probe));
    local.files = files;
    auto calls = net::make_local_handler(local);
    auto local_options = listener(settings, settings.listen_local, false);
    local_options.stream_body =
        net::bearer_before_body(settings.local_api_token, net::make_upload_streamer(files));
    local_options.websocket_upgrade = net::make_local_upgrade(std::move(local), calls);
    auto local_listener =
        net::http_server::start(rt.io(), std::move(local_options), std::move(calls));
    if (!local_listener) return local_listener.error();
    local_server = std::move(*local_listener);
    return caf::none;
  }
};

node::node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

node::~node() {
  if (!keep_status_file_) remove_status_file(impl_->settings.storage_dir);
}

caf::expected<std::unique_ptr<node>> node::start(
    config::settings s, std::function<void()> apply,
    std::function<void(const std::string& reason)> store_failed) {
  if (auto err = refuse_tls_key_anyone_reads(s.tls)) return err;
  auto db = open_store(s, [store_failed = std::move(store_failed)](const std::string& reason) {
    ++actors::store_write_failures();
    net::log()->error(
        "storage: a write failed ({}); the store refuses writes until the node "
        "starts again from its data, and every call that writes gets 503",
        reason);
    if (store_failed) store_failed(reason);
  });
  if (!db) return db.error();
  log_damage_at_open(**db);
  // Under the store's lock: no other node records another domain meanwhile.
  if (auto err = config::claim_storage_dir(s.storage_dir, s.domain)) return err;
  net::log()->info("storage: RocksDB's checksums run on {}",
                   storage::store::checksums_use_cpu_instruction() ? "the CPU's crc32 instruction"
                                                                   : "RocksDB's own tables");
  if (auto period = (*db)->wal_sync_period(); period.count() > 0)
    net::log()->warn(
        "storage: sync = \"periodic\": events are accepted before they are on disk, and the "
        "log is synced every {} ms and before anything leaves the node; an OS crash or power "
        "failure can lose what was accepted since the last sync (a crash of fedrelay itself "
        "loses nothing)",
        period.count());
  else
    net::log()->info("storage: every accepted event is synced to disk before it is answered");
  bool created = false;
  auto id = crypto::load_or_create_identity(s.storage_dir, &created);
  if (!id) return id.error();
  if (created) net::log()->warn("{}", new_identity_notice(s));
  if (s.local_api_token == check_detail::example_token)
    net::log()->warn(
        "local_api.token is examples/node.toml's value, which anyone can read there: set a "
        "secret of your own (openssl rand -hex 32)");
  write_status_file(s.storage_dir, config::status::booting);
  auto p = std::make_unique<impl>(std::move(s), std::move(*id), std::move(*db));
  p->apply = std::move(apply);
  if (auto err = p->spawn_actors()) return err;
  if (auto err = p->start_listeners()) return err;
  p->register_with_hub();
  return std::unique_ptr<node>{new node(std::move(p))};
}

std::vector<std::string> node::reload(const config::settings& fresh) {
  std::vector<std::string> changes;
  auto& current = impl_->settings;
  if (fresh.allow != current.allow || fresh.deny != current.deny) {
    current.allow = fresh.allow;
    current.deny = fresh.deny;
    changes.push_back("peers.allow and peers.deny replaced (" + std::to_string(fresh.allow.size()) +
                      " allowed, " + std::to_string(fresh.deny.size()) + " denied)");
    // The queues of domains refused from now on are dropped, never retried, and their
    // users leave the rooms hosted here (the other members see the removal). The peer
    // manager puts the lists in force in the step that drops the queues, so that its
    // count is the whole backlog; the removals the rooms then queue for refused domains
    // are dropped as they arrive.
    caf::scoped_actor self{impl_->rt.system()};
    constexpr auto wait = std::chrono::seconds(30);
    self->request(impl_->peers, wait, actors::forget_atom::value, fresh.allow, fresh.deny)
        .receive(
            [&](uint64_t n) {
              changes.push_back(std::to_string(n) +
                                " queued events of domains now refused dropped");
            },
            [&](caf::error& err) {
              impl_->filter->replace(fresh.allow, fresh.deny);  // in force all the same
              changes.push_back("queues not checked: " + caf::to_string(err));
            });
    self->request(impl_->rooms, wait, actors::forget_atom::value)
        .receive(
            [&](uint32_t n) {
              changes.push_back(std::to_string(n) +
                                " members of refused domains removed from rooms hosted here");
            },
            [&](caf::error& err) {
              changes.push_back("rooms not checked: " + caf::to_string(err));
            });
  }
  // A renewed certificate is written over the files the node read: load them again
  // whether or not their names changed, for the connections accepted from now on.
  const bool tls_reload_tried =
      fresh.tls.enabled() && current.tls.enabled() && impl_->federation_server;
  if (tls_reload_tried) {
    auto err = reload_served_certificate(*impl_->federation_server, fresh.tls);
    changes.push_back(certificate_reload_line(err, fresh.tls));
    if (!err) {
      current.tls.cert = fresh.tls.cert;
      current.tls.key = fresh.tls.key;
      impl_->note_certificate_expiry();
    }
  }
  // The CAs peers are verified against, loaded again for the same reason: a bundle is
  // rewritten in place. Without a bundle before or now (the system's CAs) nothing is
  // loaded again, and the connections kept to peers stay.
  if (!fresh.tls.ca.empty() || !current.tls.ca.empty()) {
    if (auto err = impl_->client.reload_ca(fresh.tls.ca)) {
      changes.push_back(
          "tls.ca not loaded again, peers are still verified against the CAs loaded before: " +
          actors::describe(err));
    } else {
      changes.push_back(
          "peers verified against " +
          (fresh.tls.ca.empty() ? std::string{"the system's CAs"} : "the CAs of " + fresh.tls.ca) +
          " from their next connection");
      current.tls.ca = fresh.tls.ca;
    }
  }
  // The rest is read only at start; saying so beats "nothing changed" for a key the
  // operator just edited.
  std::string at_start;
  for (const auto& key : config::changed_keys(current, fresh))
    if (key != "peers.allow" && key != "peers.deny" && key != "tls.ca" &&
        !(tls_reload_tried && (key == "tls.cert" || key == "tls.key")))
      at_start += (at_start.empty() ? "" : ", ") + key;
  if (!at_start.empty())
    changes.push_back("read only at start, not applied: " + at_start +
                      " (restart the node to apply: kill -USR1 " + std::to_string(::getpid()) +
                      " restarts it from the file)");
  return changes;
}

config::status node::status() const {
  return impl_->status;
}

const config::settings& node::settings() const {
  return impl_->settings;
}

const crypto::identity& node::identity() const {
  return *impl_->identity;
}

actors::discovery_actor node::discovery() const {
  return impl_->discovery;
}

}  // namespace fedrelay::app
