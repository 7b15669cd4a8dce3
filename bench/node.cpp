#include "bench/node.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

#include "actors/describe.hpp"
#include "bench/process.hpp"

namespace fedrelay::bench {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

net::client_options options_for(size_t connections) {
  net::client_options o;
  // The submitters' connections (or the readers' long polls) plus the calls.
  o.max_connections_per_host = connections + 2;
  return o;
}

}  // namespace

api_client::api_client(size_t connections)
    : runtime_(1), client_(runtime_, options_for(connections)) {}

void api_client::request(uint16_t port, const std::string& token, const std::string& method,
                         const std::string& target, std::string body,
                         std::chrono::milliseconds timeout, net::response_callback done,
                         const std::string& content_type) {
  net::http_request req;
  req.method = method;
  req.target = target;
  req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", content_type}};
  req.body = std::move(body);
  client_.request(net::url{"http", "127.0.0.1", port, {}}, std::move(req), timeout,
                  std::move(done));
}

caf::expected<net::http_response> api_client::call(uint16_t port, const std::string& token,
                                                   const std::string& method,
                                                   const std::string& target, std::string body,
                                                   std::chrono::milliseconds timeout,
                                                   const std::string& content_type) {
  auto result = std::make_shared<std::promise<caf::expected<net::http_response>>>();
  auto future = result->get_future();
  request(
      port, token, method, target, std::move(body), timeout,
      [result](caf::expected<net::http_response> r) { result->set_value(std::move(r)); },
      content_type);
  // The client answers every request within its timeout; the margin covers a runtime
  // that stopped answering at all.
  if (future.wait_for(timeout + 5s) != std::future_status::ready)
    throw std::runtime_error("HTTP client did not answer " + target);
  return future.get();
}

node::node(std::string domain, const std::string& root, std::string binary)
    : domain_(std::move(domain)),
      dir_(root + "/" + domain_),
      config_(dir_ + "/node.toml"),
      binary_(std::move(binary)),
      token_("bench-token-" + domain_),
      federation_port_(free_tcp_port()),
      local_port_(free_tcp_port()) {
  fs::create_directories(dir_);
  configure({});
  auto key = run_command({binary_, "keygen", "-c", config_}, 60s);
  auto begin = key.output.find("-----BEGIN PUBLIC KEY-----");
  if (key.exit_code != 0 || begin == std::string::npos)
    throw std::runtime_error("keygen failed for " + domain_ + ": " + key.output);
  public_key_pem_ = key.output.substr(begin);
}

node::~node() {
  if (pid_ > 0) kill_and_reap(pid_);
}

std::string node::log() const {
  return read_file(dir_ + "/node.log");
}

void node::configure(const std::vector<const node*>& peers, const std::string& storage) {
  std::string text = "[federation]\ndomain = \"" + domain_ + "\"\ndiscovery = \"static\"\n" +
                     "public_url = \"http://127.0.0.1:" + std::to_string(federation_port_) +
                     "\"\n" +
                     "[listen]\nfederation = \"127.0.0.1:" + std::to_string(federation_port_) +
                     "\"\n" + "local = \"127.0.0.1:" + std::to_string(local_port_) + "\"\n" +
                     "[storage]\ndir = \"data\"\n" + storage + "[local_api]\ntoken = \"" + token_ +
                     "\"\n" + "[transport]\nbackoff_initial_ms = 100\nbackoff_max_ms = 1000\n";
  for (const auto* p : peers)
    text += "\n[[peers.static]]\ndomain = \"" + p->domain_ +
            "\"\nurl = \"http://127.0.0.1:" + std::to_string(p->federation_port_) +
            "\"\npublic_key = \"\"\"" + p->public_key_pem_ + "\"\"\"\n";
  write_file(config_, text);
}

void node::start() {
  auto from = log().size();
  int fd = open((dir_ + "/node.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open the log of " + domain_);
  pid_ = spawn({binary_, "run", "-c", config_}, fd);
  close(fd);
  auto until = after(30s);
  while (steady::now() < until) {
    if (log().find("Running\n", from) != std::string::npos) return;
    if (wait_exit(pid_, steady::now())) {
      pid_ = -1;
      throw std::runtime_error(domain_ + " exited while starting:\n" + tail_of_log());
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error(domain_ + " did not start within 30 s:\n" + tail_of_log());
}

std::string node::stop() {
  if (pid_ <= 0) return {};
  ::kill(pid_, SIGTERM);
  auto status = wait_exit(pid_, after(30s));
  if (!status) kill_and_reap(pid_);
  pid_ = -1;
  if (!status) return "still running 30 s after SIGTERM, killed";
  return *status == 0 ? "" : "exit status " + std::to_string(*status);
}

void node::kill() {
  if (pid_ <= 0) return;
  kill_and_reap(pid_);
  pid_ = -1;
}

std::string node::tail_of_log(size_t lines) const {
  auto text = log();
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    auto newline = text.rfind('\n', pos - 1);
    pos = newline == std::string::npos ? 0 : newline;
  }
  return text.substr(pos);
}

json node::call(api_client& api, const std::string& method, const std::string& target,
                const json& body) const {
  return call_raw(api, method, target, method == "GET" ? "" : body.dump(), "application/json", 30s);
}

json node::call_raw(api_client& api, const std::string& method, const std::string& target,
                    std::string body, const std::string& content_type,
                    std::chrono::milliseconds timeout) const {
  auto res = api.call(local_port_, token_, method, target, std::move(body), timeout, content_type);
  if (!res)
    throw std::runtime_error(domain_ + " " + target + ": " +
                             fedrelay::actors::describe(res.error()));
  auto j = json::parse(res->body, nullptr, false);
  if (res->status / 100 != 2 || j.is_discarded())
    throw std::runtime_error(domain_ + " " + target + ": HTTP " + std::to_string(res->status) +
                             " " + res->body);
  return j;
}

}  // namespace fedrelay::bench
