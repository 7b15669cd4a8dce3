// `fedrelay run`: boots the node and serves until SIGINT or SIGTERM; starts it again from
// the file when the settings screen changed it (SIGUSR1).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "app/commands.hpp"
#include "app/load.hpp"
#include "app/standby.hpp"
#include "config/status.hpp"

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
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // The settings screen wrote the file: this thread restarts from it (see below).
  auto apply = [] { kill(getpid(), SIGUSR1); };
  std::cout << config::status_text(config::status::booting) << std::endl;
  auto n = serving::start(std::move(*s), apply);
  if (!n) {
    report(n.error());
    return start_failure_exit_code(n.error());
  }
  std::cout << config::status_text(n->status()) << std::endl;
  for (;;) {
    int received = 0;
    sigwait(&stop_signals, &received);
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
      std::cout << config::status_text(config::status::booting) << std::endl;
      n = serving::start(std::move(*fresh), apply);
      if (!n) {
        report(n.error());
        return start_failure_exit_code(n.error());
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
  }
}

}  // namespace fedrelay::app
