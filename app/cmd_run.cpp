// `fedrelay run`: boots the node and serves until SIGINT or SIGTERM.
#include <signal.h>

#include <iostream>

#include "app/commands.hpp"
#include "app/load.hpp"
#include "app/node.hpp"
#include "config/status.hpp"

namespace fedrelay::app {

int cmd_run(const std::string& config_path) {
  auto s = load_or_report(config_path);
  if (!s) return exit_error;
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
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::cout << config::status_text(config::status::booting) << std::endl;
  auto n = node::start(std::move(*s));
  if (!n) {
    report(n.error());
    return exit_error;
  }
  std::cout << config::status_text((*n)->status()) << std::endl;
  for (;;) {
    int received = 0;
    sigwait(&stop_signals, &received);
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
    auto changes = (*n)->reload(*fresh);
    if (changes.empty()) std::cerr << "reload: nothing that can change at run time changed\n";
    for (const auto& change : changes) std::cerr << "reload: " << change << '\n';
  }
}

}  // namespace fedrelay::app
