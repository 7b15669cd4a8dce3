// `fedrelay run`: boots the node and serves until SIGINT or SIGTERM; starts it again from
// the file when the settings screen changed it (SIGUSR1), and from its data when its store
// failed a write (SIGUSR2).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "app/commands.hpp"
#include "app/load.hpp"
#include "app/standby.hpp"
#include "app/status_file.hpp"
#include "app/store_recovery.hpp"
#include "config/status.hpp"
#include "storage/errc.hpp"

namespace fedrelay::app {

int cmd_run(const std::string& config_path) {
  auto s = load_or_report(config_path);
  if (!s) return exit_bad_settings;
  switch (config::initial_status(*s)) {
    case config::status::disabled:
      std::cout << config::status_text(config::status::disabled) << std::endl;
      return exit_ok;
    case config::status::not_fully_set:
      report_if_not_fully_set(*s);
      return exit_not_fully_set;
    default:
      break;
  }
  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  sigaddset(&stop_signals, SIGUSR1);
  sigaddset(&stop_signals, store_failed_signal);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // The settings screen wrote the file: this thread restarts from it (see below).
  auto apply = [] { kill(getpid(), SIGUSR1); };
  // The store failed a write: this thread starts the node again from its data.
  auto store_failed = [](const std::string&) { kill(getpid(), store_failed_signal); };
  auto settings = *s;  // what the node runs with, for a start after a failure
  recovery_waits waits;
  std::cout << config::status_text(config::status::booting) << std::endl;
  auto n = serving::start(std::move(*s), apply, store_failed);
  // After the store failed (or had no room to open): starts the node again from its data
  // after a wait, as often as it takes (see docs/OPERATIONS.md, "A full disk"); the exit
  // code when a stop signal or the settings end the tries.
  auto start_after_waits = [&]() -> std::optional<int> {
    waits.store_failed();
    for (;;) {
      clear_output_errors();
      write_status_file(settings.storage_dir, config::status::booting);
      auto wait = waits.next();
      std::cerr << "waiting " << wait.count() << " s before starting again\n";
      if (int stop = wait_for_stop(stop_signals, wait)) {
        remove_status_file(settings.storage_dir);
        std::cerr << "stopping on signal " << stop << '\n';
        return exit_ok;
      }
      clear_output_errors();
      // From the file as it is now: a reload or the settings screen's restart asked for
      // meanwhile, or before the failure, takes effect (one that does not load: as before).
      if (auto fresh = load_or_report(config_path)) settings = std::move(*fresh);
      std::cout << config::status_text(config::status::booting) << std::endl;
      n = serving::start(settings, apply, store_failed);
      if (n) {
        std::cout << config::status_text(n->status()) << std::endl;
        return std::nullopt;
      }
      report(n.error());
      if (auto code = start_failure_exit_code(n.error()); code == exit_bad_settings) return code;
    }
  };
  if (n) {
    std::cout << config::status_text(n->status()) << std::endl;
  } else {
    report(n.error());
    // A disk with no room for the store to open on (a node started with it full) is
    // waited for as after a failed write; any other failure is the operator's.
    if (!storage::is_no_space(n.error())) return start_failure_exit_code(n.error());
    if (auto code = start_after_waits()) return *code;
  }
  for (;;) {
    int received = 0;
    sigwait(&stop_signals, &received);
    clear_output_errors();
    if (received == store_failed_signal) {
      // Everything accepted is in the store's log, which RocksDB reads back at the next
      // open, as after a crash; the actors reload what they keep in memory. While the
      // store cannot open (a disk still full), it is tried again, ever less often.
      std::cerr << "the store failed a write: starting the node again from its data\n";
      // The status file says so meanwhile (rewritten in place when the disk is full).
      write_status_file(settings.storage_dir, config::status::booting);
      n->stop(true);
      if (auto code = start_after_waits()) return *code;
      continue;
    }
    if (received == SIGUSR1) {
      // Restart from the file; one that does not load changes nothing and says why.
      auto fresh = load_or_report(config_path);
      if (!fresh) {
        std::cerr << "restart refused: the settings above are not valid; nothing changed\n";
        continue;
      }
      std::cerr << "restarting from " << config_path << '\n';
      // The screen's reply is on its way out of the listener about to close.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      n->stop();
      settings = *fresh;
      std::cout << config::status_text(config::status::booting) << std::endl;
      n = serving::start(std::move(*fresh), apply, store_failed);
      if (!n) {
        report(n.error());
        if (!storage::is_no_space(n.error())) return start_failure_exit_code(n.error());
        if (auto code = start_after_waits()) return *code;
        continue;
      }
      std::cout << config::status_text(n->status()) << std::endl;
      continue;
    }
    if (received != SIGHUP) {
      std::cerr << "stopping on signal " << received << '\n';
      return exit_ok;
    }
    // SIGHUP: re-read the file; a broken file changes nothing and says why.
    auto fresh = load_or_report(config_path);
    if (!fresh) {
      std::cerr << "reload refused: the settings above are not valid; nothing changed\n";
      continue;
    }
    auto changes = n->reload(*fresh);
    if (changes.empty()) std::cerr << "reload: nothing changed in the file\n";
    for (const auto& change : changes) std::cerr << "reload: " << change << '\n';
    settings.allow = fresh->allow;
    settings.deny = fresh->deny;
  }
}

}  // namespace fedrelay::app
