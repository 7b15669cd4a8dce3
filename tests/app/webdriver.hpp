// A headless Chromium driven through chromedriver's W3C WebDriver HTTP API, for tests that
// use a page as a person would: load it, type, click, read what it shows, take screenshots.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::test {

/// Whether Debian's chromium and chromium-driver are installed.
bool browser_available();

class browser {
 public:
  /// Starts chromedriver on a free loopback port and opens a headless Chromium session with a
  /// window of `width` x `height`. Throws std::runtime_error when either does not start.
  explicit browser(int width = 1280, int height = 1600);
  /// Closes the session (and so the browser), then stops chromedriver.
  ~browser();
  browser(const browser&) = delete;
  browser& operator=(const browser&) = delete;

  void open(const std::string& url);
  /// The element id of the first match of a CSS selector; throws when there is none.
  std::string find(const std::string& css);
  /// The rendered text of the first match.
  std::string text(const std::string& css);
  /// A DOM property of the first match ("value", "checked", ...).
  nlohmann::json property(const std::string& css, const std::string& name);
  void click(const std::string& css);
  /// Clears an input and types `keys` into it.
  void type(const std::string& css, const std::string& keys);
  /// Runs `script` in the page (its `return` value comes back).
  nlohmann::json execute(const std::string& script);
  /// The whole page as a PNG (the window is made as tall as the page).
  std::string screenshot_png();

  /// Polls until `css`'s text satisfies `ready` or `timeout` passes; returns the last text.
  template <class Predicate>
  std::string wait_for_text(const std::string& css, Predicate ready,
                            std::chrono::milliseconds timeout) {
    std::string last;
    wait_until(
        [&] {
          last = text(css);
          return ready(last);
        },
        timeout);
    return last;
  }

 private:
  nlohmann::json call(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nlohmann::json::object());
  temp_dir dir_{"fedrelay-browser"};
  uint16_t port_;
  std::unique_ptr<child_process> driver_;
  std::string session_;
};

}  // namespace fedrelay::test
