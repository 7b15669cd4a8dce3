#include "app/settings_screen.hpp"

#include <mutex>
#include <thread>

#include "app/check.hpp"
#include "net/settings_api.hpp"

namespace fedrelay::app {

/// Runs one job at a time on a thread of its own; closed by the screen's destructor.
struct settings_screen::check_thread {
  std::mutex mutex;
  std::thread thread;
  bool busy = false;
  bool closed = false;

  bool start(std::function<void()> job) {
    std::lock_guard<std::mutex> guard{mutex};
    if (busy || closed) return false;
    if (thread.joinable()) thread.join();  // the last run has ended: busy is false
    busy = true;
    thread = std::thread([this, job = std::move(job)] {
      job();
      std::lock_guard<std::mutex> done{mutex};
      busy = false;
    });
    return true;
  }

  void close() {
    std::thread last;
    {
      std::lock_guard<std::mutex> guard{mutex};
      closed = true;
      last = std::move(thread);
    }
    if (last.joinable()) last.join();
  }
};

settings_screen::settings_screen(const config::settings& s,
                                 std::shared_ptr<const crypto::identity> identity,
                                 std::function<void()> apply)
    : config_path_(s.source_path),
      identity_(std::move(identity)),
      apply_(std::move(apply)),
      checks_(std::make_shared<check_thread>()) {}

settings_screen::~settings_screen() {
  checks_->close();
}

std::vector<net::route> settings_screen::routes() const {
  // Settings made in memory (the demo) have no file for the screen to show and change.
  if (config_path_.empty()) return {};
  net::settings_api_context ctx;
  ctx.config_path = config_path_;
  ctx.identity = identity_;
  ctx.apply = apply_;
  // The checks look at the file as it is now, as `fedrelay check` does, with this node
  // running.
  ctx.run_checks = [checks = checks_, path = config_path_](std::function<void(std::string)> done) {
    return checks->start([path, done = std::move(done)] {
      // An exception must not leave this thread, which would end the node: the page asks
      // for the checks by itself, and they read what other servers answer.
      std::vector<check_result> results;
      try {
        results = check_file(path, true);
      } catch (const std::exception& e) {
        results = {{"checks", "error", std::string{"the checks stopped: "} + e.what(),
                    "run fedrelay check -c " + path + " and report what it prints"}};
      }
      done(to_json(results));
    });
  };
  return net::settings_routes(std::move(ctx));
}

}  // namespace fedrelay::app
