// `fedrelay hub`: runs a Hub (DESIGN.md section 5, docs/HUB.md) from the [hub] section and
// serves until SIGINT or SIGTERM; SIGHUP (`fedrelay reload`) loads its certificate again.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include <caf/scoped_actor.hpp>

#include "actors/hub_registry.hpp"
#include "app/commands.hpp"
#include "app/idle_memory_return.hpp"
#include "app/load.hpp"
#include "app/runtime.hpp"
#include "app/status_file.hpp"
#include "app/store_recovery.hpp"
#include "app/tls_reload.hpp"
#include "config/settings.hpp"
#include "net/http_server.hpp"
#include "net/http_types.hpp"
#include "net/hub_api.hpp"
#include "net/io_runtime.hpp"
#include "net/logger.hpp"
#include "net/smtp_mailer.hpp"
#include "storage/errc.hpp"
#include "storage/store.hpp"

namespace fedrelay::app {
namespace {

/// The [hub] keys that are unset, each with what it is for.
std::vector<std::string> missing_hub_keys(const config::hub_settings& h) {
  std::vector<std::string> out;
  if (h.listen.empty()) out.push_back("hub.listen (the address to serve on, \"0.0.0.0:8600\")");
  if (h.public_url.empty())
    out.push_back(
        "hub.public_url (the Hub's URL as nodes and browsers reach it; the base of "
        "the confirmation link)");
  if (h.dir.empty()) out.push_back("hub.dir (the Hub's data directory)");
  if (h.smtp_url.empty())
    out.push_back(
        "hub.smtp_url (the SMTP server that sends the confirmation mail, "
        "\"smtp://user:password@mail.example:587\")");
  if (h.mail_from.empty()) out.push_back("hub.mail_from (the sender of the confirmation mail)");
  return out;
}

caf::expected<std::unique_ptr<storage::store>> open_hub_store(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return caf::make_error(storage::errc::open_failed,
                           "cannot create " + dir + ": " + ec.message());
  // Registrations name mail addresses; nobody else needs to read them.
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  storage::store_options opts;
  opts.on_write_failure = [](const std::string& reason) {
    // Not std::cerr: this is another thread than the one that writes to it.
    net::log()->error(
        "storage: a write failed ({}); the store refuses writes until the Hub starts again "
        "from its data",
        reason);
    kill(getpid(), store_failed_signal);
  };
  auto db = storage::store::open(dir + "/db", std::move(opts));
  if (db) log_damage_at_open(**db);
  return db;
}

/// SIGHUP: the certificate and key named in the file, loaded again (a renewal); every
/// other key is read at start. A file that does not load changes nothing.
void reload_hub(const std::string& config_path, const config::tls_settings& serving,
                net::http_server& server) {
  auto fresh = load_or_report(config_path);
  if (!fresh) {
    std::cerr << "reload refused: the settings above are not valid; nothing changed\n";
    return;
  }
  if (fresh->tls.enabled() != serving.enabled()) {
    std::cerr << "reload: turning TLS on or off takes a restart of the Hub; nothing changed\n";
    return;
  }
  if (!serving.enabled()) {
    std::cerr << "reload: the Hub serves no TLS of its own, so there is nothing to load again; "
                 "its other settings are read at start only\n";
    return;
  }
  std::cerr << "reload: "
            << certificate_reload_line(reload_served_certificate(server, fresh->tls), fresh->tls)
            << '\n';
}

/// How serve_hub ended: `code` to exit with, or none when the store failed a write.
struct hub_served {
  std::optional<int> code;
  bool store_unopened = false;  // the store did not open
  bool no_space = false;        // for want of room on the disk
};

/// Serves the Hub until a stop signal (or a failed write of its store) among
/// `stop_signals`; SIGHUP loads its certificate again meanwhile.
hub_served serve_hub(const config::settings& s, const config::endpoint& listen,
                     const net::url& public_url, const std::string& config_path,
                     const sigset_t& stop_signals) {
  // Destroyed in reverse order: the server, then the runtime (its scheduler destroys the
  // handlers still queued, which hold actor handles, before the actor system waits until
  // no handle is left), the store last (the registry writes to it until it exits).
  auto db = open_hub_store(s.hub.dir);
  if (!db) {
    report(db.error());
    return {exit_error, true, storage::is_no_space(db.error())};
  }
  runtime rt;
  auto& sys = rt.system();

  net::smtp_options mail;
  mail.url = s.hub.smtp_url;
  mail.ca_file = s.tls.ca;
  mail.helo_name = public_url.host;
  auto mailer = net::spawn_smtp_mailer(sys, mail, true);
  actors::hub_registry_options reg;
  reg.public_url = s.hub.public_url;
  reg.mail_from = s.hub.mail_from;
  reg.mails_per_domain_per_day = s.hub.mails_per_domain_per_day;
  reg.mails_per_day = s.hub.mails_per_day;
  reg.mails_per_client_per_day = s.hub.mails_per_client_per_day;
  auto registry = actors::spawn_hub_registry(sys, **db, reg, mailer, true);
  // Waits for every actor, the helpers of requests in flight included, so that no answer
  // is posted to the io runtime once it stops. A mail being sent finishes first.
  auto stop_actors = [&] {
    {
      caf::scoped_actor self{sys};
      self->send_exit(registry, caf::exit_reason::user_shutdown);
      self->send_exit(mailer, caf::exit_reason::user_shutdown);
    }
    sys.await_all_actors_done();
  };

  net::hub_api_context ctx;
  ctx.system = &sys;
  ctx.registry = registry;
  ctx.clock_skew = s.limits.clock_skew;
  ctx.limits.registrations_per_minute = s.hub.registrations_per_minute;
  ctx.limits.registration_burst = s.hub.registrations_per_minute;
  ctx.limits.lookups_per_minute = s.hub.lookups_per_minute;
  ctx.limits.lookup_burst = s.hub.lookups_per_minute;
  net::server_options server_options;
  server_options.listen = listen;
  server_options.max_body_bytes = ctx.max_body_bytes;
  server_options.max_connections = s.limits.max_connections;
  server_options.read_timeout = s.limits.read_timeout;
  server_options.tls_cert_file = s.tls.cert;
  server_options.tls_key_file = s.tls.key;
  auto server = net::http_server::start(rt.io(), server_options, net::make_hub_handler(ctx));
  if (!server) {
    report(server.error());
    stop_actors();
    return {exit_error};
  }
  // Names this process to `fedrelay reload`, before the line a script waits for.
  write_status_file(s.hub.dir, config::status::running);
  std::cout << "Hub listening on " << config::endpoint{listen.host, (*server)->port()}.to_string()
            << (s.tls.enabled() ? " (https)" : "") << "; confirmation links point to "
            << s.hub.public_url << "; mail through " << config::redacted_url(mail.url) << std::endl;
  int received = 0;
  while (sigwait(&stop_signals, &received) == 0 && received == SIGHUP)
    reload_hub(config_path, s.tls, **server);
  if (received != store_failed_signal) {
    std::cerr << "stopping on signal " << received << '\n';
    remove_status_file(s.hub.dir);
  } else {
    // Said while the Hub waits to start again (rewritten in place when the disk is full).
    write_status_file(s.hub.dir, config::status::booting);
  }
  (*server)->stop();
  stop_actors();
  if (received == store_failed_signal) return {};
  return {exit_ok};
}

}  // namespace

int cmd_hub(const std::string& config_path) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  auto missing = missing_hub_keys(s->hub);
  if (!missing.empty()) {
    for (const auto& key : missing) std::cerr << "error: " << key << " is not set\n";
    return exit_not_fully_set;
  }
  auto listen = config::parse_endpoint(s->hub.listen);
  auto public_url = net::parse_url(s->hub.public_url);
  if (!listen || !public_url) {
    std::cerr << "error: hub.listen or hub.public_url cannot be used\n";
    return exit_bad_settings;
  }
  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  sigaddset(&stop_signals, store_failed_signal);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Freed memory goes back to the kernel while the Hub idles, as a node's does.
  auto memory_return = share_idle_memory_return();

  if (auto err = refuse_tls_key_anyone_reads(s->tls)) {
    report(err);
    return exit_bad_settings;
  }
  recovery_waits waits;
  for (bool first = true;; first = false) {
    auto served = serve_hub(*s, *listen, *public_url, config_path, stop_signals);
    clear_output_errors();
    if (served.code) {
      // A store that does not open at the first start is the operator's to look at, but for
      // a full disk; after a failure it is most likely the disk still full (see cmd_run).
      if (!served.store_unopened || (first && !served.no_space)) return *served.code;
      if (first) waits.store_failed();
    } else {
      std::cerr << "the store failed a write: starting the Hub again from its data\n";
      waits.store_failed();
    }
    auto wait = waits.next();
    std::cerr << "waiting " << wait.count() << " s before starting again\n";
    if (int stop = wait_for_stop(stop_signals, wait)) {
      clear_output_errors();
      remove_status_file(s->hub.dir);
      std::cerr << "stopping on signal " << stop << '\n';
      return exit_ok;
    }
    clear_output_errors();
    // From the file as it is now (a renewed certificate, say); one that does not load, or
    // names no usable address, changes nothing.
    if (auto fresh = load_or_report(config_path)) {
      auto fresh_listen = config::parse_endpoint(fresh->hub.listen);
      auto fresh_url = net::parse_url(fresh->hub.public_url);
      if (fresh_listen && fresh_url && missing_hub_keys(fresh->hub).empty()) {
        *s = std::move(*fresh);
        listen = std::move(fresh_listen);
        public_url = std::move(fresh_url);
      }
    }
  }
}

}  // namespace fedrelay::app
