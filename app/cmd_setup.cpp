// The operator's first steps: keygen, dns-records and status.
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>
#include <vector>

#include "actors/describe.hpp"
#include "actors/previous_keys.hpp"
#include "actors/published_records.hpp"
#include "actors/request_auth.hpp"
#include "actors/wall_clock.hpp"
#include "app/commands.hpp"
#include "app/load.hpp"
#include "app/status_file.hpp"
#include "config/status.hpp"
#include "crypto/pem.hpp"

namespace fedrelay::app {

namespace {

/// Replaces the identity of `s`'s node and records the old key as previous (when `renew`),
/// and forgets the previous keys (when `forget_previous`); the identity now.
std::optional<crypto::identity> change_keys(const config::settings& s, bool renew,
                                            bool forget_previous) {
  auto db = open_store(s);
  if (!db) {
    report(db.error());
    std::cerr << "(a running node holds its store: stop it first)\n";
    return std::nullopt;
  }
  auto id = identity_or_report(s);
  if (!id) return std::nullopt;
  auto now = actors::unix_ms_now();
  if (renew) {
    // Recorded as the key the node ran with, so that it becomes the previous one even for
    // a node that never ran with this version.
    if (auto noted = actors::note_own_key(**db, id->public_key(), now); !noted) {
      report(noted.error());
      return std::nullopt;
    }
    auto fresh = crypto::identity::generate();
    if (auto err = crypto::save_identity(s.storage_dir, fresh)) {
      report(err);
      return std::nullopt;
    }
    id = std::move(fresh);
    if (auto noted = actors::note_own_key(**db, id->public_key(), now); !noted) {
      report(noted.error());
      return std::nullopt;
    }
    std::cerr << "a new identity replaced the old one, whose key peers can still verify "
                 "events with (federation.keys); publish the new key: fedrelay dns-records\n";
  }
  if (forget_previous) {
    if (auto err = actors::forget_previous_keys(**db)) {
      report(err);
      return std::nullopt;
    }
    std::cerr << "the node vouches for none of its previous keys any more\n";
  }
  return id;
}

}  // namespace

int cmd_keygen(const std::string& config_path, bool renew, bool forget_previous) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  if (s->storage_dir.empty()) {
    std::cerr << "error: " << config_path << ": storage.dir: not set (the key is kept there)\n";
    return exit_not_fully_set;
  }
  auto id =
      renew || forget_previous ? change_keys(*s, renew, forget_previous) : identity_or_report(*s);
  if (!id) return exit_error;
  std::cout << crypto::public_key_pem(id->public_key());
  return exit_ok;
}

int cmd_dns_records(const std::string& config_path) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  for (const char* key : {"federation.domain", "federation.public_url", "storage.dir"}) {
    for (const auto& missing : config::missing_keys(*s)) {
      if (missing == key) {
        std::cerr << "error: " << config_path << ": " << key
                  << ": not set (needed to know what to publish)\n";
        return exit_not_fully_set;
      }
    }
  }
  auto id = identity_or_report(*s);
  if (!id) return exit_error;
  auto records = actors::records_to_publish(*s, id->public_key());
  if (!records) {
    report(records.error());
    return exit_error;
  }
  std::cout << actors::printed_form(*records, s->domain);
  return exit_ok;
}

int cmd_status(const std::string& config_path) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  // What the running node says wins over the file, which may have been edited since.
  if (auto live = read_live_status(s->storage_dir)) {
    std::cout << *live << '\n';
    return *live == config::status_text(config::status::not_fully_set) ? exit_not_fully_set
                                                                       : exit_ok;
  }
  if (auto why = live_status_unreadable(s->storage_dir); !why.empty()) {
    std::cerr << "error: " << why << " (run fedrelay status as the account that runs it)\n";
    return exit_error;
  }
  auto initial = config::initial_status(*s);
  if (initial == config::status::not_fully_set) {
    std::cout << config::status_text(initial) << '\n';
    for (const auto& key : config::missing_keys(*s)) std::cerr << "missing: " << key << '\n';
    return exit_not_fully_set;
  }
  std::cout << config::status_text(config::status::disabled) << '\n';
  if (initial == config::status::disabled) return exit_ok;  // as the file says, and none runs
  // Enabled and fully set, but no node runs on this data directory: federation is off,
  // which a script watching the node must be able to tell from a node set to be off.
  std::cerr << "no node is running on " << s->storage_dir << " (start it with fedrelay run -c "
            << config_path << ")\n";
  return exit_not_running;
}

int cmd_reload(const std::string& config_path) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  // A node on storage.dir, a Hub on hub.dir, or both when one file sets up both.
  std::vector<std::pair<std::string, pid_t>> running;
  if (!s->storage_dir.empty())
    if (auto pid = read_live_pid(s->storage_dir)) running.emplace_back("node", *pid);
  if (!s->hub.dir.empty())
    if (auto pid = read_live_pid(s->hub.dir)) running.emplace_back("Hub", *pid);
  if (running.empty()) {
    for (const auto& dir : {s->storage_dir, s->hub.dir})
      if (auto why = live_status_unreadable(dir); !dir.empty() && !why.empty()) {
        std::cerr << "error: " << why << " (run fedrelay reload as the account that runs it)\n";
        return exit_error;
      }
    std::string where;
    if (!s->storage_dir.empty()) where = "no node is running on " + s->storage_dir;
    if (!s->hub.dir.empty())
      where += (where.empty() ? "no Hub is running on " : ", and no Hub on ") + s->hub.dir;
    std::cerr << "error: " << where << '\n';
    return exit_not_running;
  }
  for (const auto& [what, pid] : running) {
    if (kill(pid, SIGHUP) != 0) {
      std::cerr << "error: cannot signal process " << pid << ": " << std::strerror(errno) << '\n';
      return exit_error;
    }
    // The process reads the file it was started with, whichever file named its directory.
    std::cout << "asked " << what << ' ' << pid
              << " to read again the settings file it was started with\n";
  }
  return exit_ok;
}

}  // namespace fedrelay::app
