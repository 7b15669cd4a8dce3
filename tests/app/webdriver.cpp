#include "tests/app/webdriver.hpp"

#include <unistd.h>

#include <csignal>
#include <stdexcept>

#include "crypto/keys.hpp"
#include "net/http_client.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* chromium_path = "/usr/bin/chromium";
constexpr const char* chromedriver_path = "/usr/bin/chromedriver";
// The W3C name of the key holding an element reference.
constexpr const char* element_key = "element-6066-11e4-a52e-4f735466cecf";

}  // namespace

bool browser_available() {
  return access(chromium_path, X_OK) == 0 && access(chromedriver_path, X_OK) == 0;
}

browser::browser(int width, int height) : port_(free_tcp_port()) {
  driver_ = std::make_unique<child_process>(
      std::vector<std::string>{chromedriver_path, "--port=" + std::to_string(port_)},
      dir_ / "chromedriver.log");
  bool ready = wait_until(
      [&] {
        auto status = call("GET", "/status");
        return status.value("value", json::object()).value("ready", false);
      },
      20s);
  if (!ready)
    throw std::runtime_error("chromedriver did not start: " + read_file(dir_ / "chromedriver.log"));
  json options = {{"binary", chromium_path},
                  {"args",
                   {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--user-data-dir=" + (dir_ / "profile"),
                    "--window-size=" + std::to_string(width) + "," + std::to_string(height)}}};
  auto reply =
      call("POST", "/session",
           {{"capabilities",
             {{"alwaysMatch", {{"browserName", "chrome"}, {"goog:chromeOptions", options}}}}}});
  session_ = reply.value("value", json::object()).value("sessionId", "");
  if (session_.empty()) throw std::runtime_error("no browser session: " + reply.dump());
}

browser::~browser() {
  if (!session_.empty()) call("DELETE", "/session/" + session_);
  if (driver_) driver_->stop(SIGTERM, 10s);
}

json browser::call(const std::string& method, const std::string& path, const json& body) {
  net::http_request req;
  req.method = method;
  req.target = path;
  req.headers = {{"Content-Type", "application/json"}};
  if (method == "POST") req.body = body.dump();
  auto res =
      net::http_request_blocking(net::url{"http", "127.0.0.1", port_, {}}, std::move(req), 60s);
  if (!res) return json{{"value", {{"error", caf::to_string(res.error())}}}};
  auto j = json::parse(res->body, nullptr, false);
  return j.is_discarded() ? json{{"value", {{"error", res->body}}}} : j;
}

namespace {

/// The reply's value, or a runtime_error naming the WebDriver error.
json value_of(const json& reply, const std::string& what) {
  auto value = reply.value("value", json{});
  if (value.is_object() && value.contains("error"))
    throw std::runtime_error(what + ": " + value.dump());
  return value;
}

}  // namespace

void browser::open(const std::string& url) {
  value_of(call("POST", "/session/" + session_ + "/url", {{"url", url}}), "open " + url);
}

std::string browser::find(const std::string& css) {
  auto value = value_of(call("POST", "/session/" + session_ + "/element",
                             {{"using", "css selector"}, {"value", css}}),
                        "find " + css);
  return value.at(element_key).get<std::string>();
}

std::string browser::text(const std::string& css) {
  return value_of(call("GET", "/session/" + session_ + "/element/" + find(css) + "/text"),
                  "text of " + css)
      .get<std::string>();
}

json browser::property(const std::string& css, const std::string& name) {
  return value_of(
      call("GET", "/session/" + session_ + "/element/" + find(css) + "/property/" + name),
      name + " of " + css);
}

void browser::click(const std::string& css) {
  value_of(call("POST", "/session/" + session_ + "/element/" + find(css) + "/click"),
           "click " + css);
}

void browser::type(const std::string& css, const std::string& keys) {
  auto element = "/session/" + session_ + "/element/" + find(css);
  value_of(call("POST", element + "/clear"), "clear " + css);
  value_of(call("POST", element + "/value", {{"text", keys}}), "type into " + css);
}

json browser::execute(const std::string& script) {
  return value_of(call("POST", "/session/" + session_ + "/execute/sync",
                       {{"script", script}, {"args", json::array()}}),
                  "script");
}

std::string browser::screenshot_png() {
  // The window grows to the page's height first, so the picture holds the whole page.
  auto size = execute(
      "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight,"
      " window.outerWidth];");
  int height = size[0].get<int>() + size[1].get<int>();
  value_of(call("POST", "/session/" + session_ + "/window/rect",
                {{"width", size[2].get<int>()}, {"height", height}}),
           "resize");
  auto base64 = value_of(call("GET", "/session/" + session_ + "/screenshot"), "screenshot");
  auto png = crypto::from_base64(base64.get<std::string>());
  if (!png) throw std::runtime_error("screenshot is not base64");
  return *png;
}

}  // namespace fedrelay::test
