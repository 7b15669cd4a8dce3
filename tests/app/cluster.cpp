#include "tests/app/cluster.hpp"

#include <sys/stat.h>

#include <csignal>
#include <stdexcept>

#include "crypto/pem.hpp"
#include "net/http_client.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {

using namespace std::chrono_literals;

test_node::test_node(std::string domain, const std::string& root)
    : domain_(std::move(domain)),
      dir_(root + "/" + domain_),
      config_path_(dir_ + "/node.toml"),
      federation_port_(free_tcp_port()),
      local_port_(free_tcp_port()) {
  run_command({"mkdir", "-p", dir_});
  configure({});
  auto key = run_command({FEDRELAY_BINARY, "keygen", "-c", config_path_});
  auto begin = key.output.find("-----BEGIN PUBLIC KEY-----");
  if (key.exit_code != 0 || begin == std::string::npos)
    throw std::runtime_error("keygen failed for " + domain_ + ": " + key.output);
  public_key_pem_ = key.output.substr(begin);
}

test_node::~test_node() {
  if (process_) process_->stop(SIGTERM, 10s);
}

std::string test_node::log() const {
  return read_file(dir_ + "/node.log");
}

void test_node::use_tls(std::string cert, std::string key, std::string ca) {
  scheme_ = "https";
  tls_section_ = "[tls]\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\nca = \"" + ca + "\"\n";
}

void test_node::use_dns(uint16_t port) {
  discovery_ = "dns";
  // Generous: a timed-out lookup is cached for the negative TTL (60 s), longer than the
  // tests wait, and a loaded machine can stall one for a second.
  dns_section_ =
      "[dns]\nresolver = \"127.0.0.1:" + std::to_string(port) + "\"\ntimeout_ms = 5000\n";
}

void test_node::use_hub(std::string url) {
  discovery_ = "hub";
  hub_url_ = std::move(url);
}

void test_node::use_storage_settings(std::string lines) {
  storage_lines_ = std::move(lines);
}

void test_node::use_peer_settings(std::string lines) {
  peer_lines_ = std::move(lines);
}

void test_node::configure(const std::vector<const test_node*>& peers, const std::string& extra) {
  std::string text =
      "[federation]\ndomain = \"" + domain_ + "\"\ndiscovery = \"" + discovery_ + "\"\n" +
      (hub_url_.empty() ? "" : "hub_url = \"" + hub_url_ + "\"\n") + "public_url = \"" + scheme_ +
      "://127.0.0.1:" + std::to_string(federation_port_) +
      "\"\n[listen]\nfederation = \"127.0.0.1:" + std::to_string(federation_port_) +
      "\"\nlocal = \"127.0.0.1:" + std::to_string(local_port_) + "\"\n[storage]\ndir = \"data\"\n" +
      storage_lines_ + "[local_api]\ntoken = \"" + token() + "\"\n" +
      "[transport]\nbackoff_initial_ms = 100\nbackoff_max_ms = 1000\n" + tls_section_ +
      dns_section_ + "[peers]\n" + peer_lines_ + extra;
  for (const auto* p : peers)
    text += "\n[[peers.static]]\ndomain = \"" + p->domain() + "\"\nurl = \"" + p->scheme() +
            "://127.0.0.1:" + std::to_string(p->federation_port()) + "\"\npublic_key = \"\"\"" +
            p->public_key_pem() + "\"\"\"\n";
  write_file(config_path_, text);
  // As an operator keeps it: it holds the token.
  ::chmod(config_path_.c_str(), 0600);
}

void test_node::start() {
  // The log is appended to across restarts: only what this start writes counts.
  auto from = log().size();
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{FEDRELAY_BINARY, "run", "-c", config_path_}, dir_ + "/node.log");
  auto up = wait_until(
      [&] {
        // With discovery = "hub" the node is up once it registers; Running comes later.
        auto text = log();
        return text.find("Running\n", from) != std::string::npos ||
               text.find("[HUB Only] Registering with Hub...\n", from) != std::string::npos ||
               !process_->running();
      },
      20s);
  if (!up || !process_->running()) throw std::runtime_error(domain_ + " did not start: " + log());
}

bool test_node::stop() {
  if (!process_) return true;
  auto status = process_->stop(SIGTERM, 10s);
  process_.reset();
  return status && *status == 0;
}

void test_node::kill_hard() {
  if (process_) process_->kill_hard();
  process_.reset();
}

bool test_node::running() {
  return process_ && process_->running();
}

json test_node::call(const std::string& method, const std::string& path, const json& body,
                     unsigned* status, const std::string& token) const {
  net::http_request req;
  req.method = method;
  req.target = path;
  req.headers = {{"Authorization", "Bearer " + (token.empty() ? this->token() : token)},
                 {"Content-Type", "application/json"}};
  if (method != "GET") req.body = body.dump();
  net::url base{"http", "127.0.0.1", local_port_, {}};
  auto res = net::http_request_blocking(base, std::move(req), 70s);
  if (!res) return json{{"success", false}, {"http_error", caf::to_string(res.error())}};
  if (status) *status = res->status;
  auto j = json::parse(res->body, nullptr, false);
  return j.is_discarded() ? json{{"success", false}, {"body", res->body}} : j;
}

std::vector<json> test_node::all_events() const {
  std::vector<json> out;
  uint64_t after = 0;
  for (int page = 0; page < 1000; ++page) {
    auto reply = get("/api/v1/events?after=" + std::to_string(after) + "&limit=1000");
    if (!reply.value("success", false) || reply["events"].empty()) break;
    for (auto& e : reply["events"]) out.push_back(e);
    after = reply["next"].get<uint64_t>();
  }
  return out;
}

std::string public_key_line(const test_node& n) {
  return crypto::public_key_pem_line(*crypto::parse_public_key_pem(n.public_key_pem()));
}

void publish_records(dns_server& dns, const test_node& n, const std::string& target,
                     std::string key_line) {
  if (key_line.empty()) key_line = public_key_line(n);
  dns.add_srv("_rocketchat._tcp." + n.domain(), target, n.federation_port());
  dns.add_txt("rocketchat-public-key." + n.domain(), {key_line.substr(0, 60), key_line.substr(60)});
  dns.add_txt("rocketchat-protocol." + n.domain(), {n.scheme()});
}

json peer_status(const test_node& n, const std::string& domain) {
  auto status = n.get("/api/v1/federation.status");  // alive while its peers are looked at
  for (const auto& p : status.value("peers", json::array()))
    if (p.value("domain", "") == domain) return p;
  return json::object();
}

std::vector<json> room_events(const std::vector<json>& events, const std::string& room_id) {
  std::vector<json> out;
  for (auto e : events) {
    if (e.value("room_id", "") != room_id) continue;
    e.erase("cursor");
    out.push_back(e);
  }
  return out;
}

std::vector<json> test_node::wait_for_room_events(const std::string& room_id, size_t count,
                                                  std::chrono::milliseconds timeout) const {
  std::vector<json> found;
  wait_until(
      [&] {
        found = room_events(all_events(), room_id);
        return found.size() >= count;
      },
      timeout);
  return found;
}

cluster::cluster(const std::vector<std::string>& domains, const std::string& extra,
                 const std::string& storage) {
  for (const auto& d : domains) nodes_.push_back(std::make_unique<test_node>(d, root_.path()));
  for (auto& n : nodes_) n->use_storage_settings(storage);
  for (auto& n : nodes_) {
    std::vector<const test_node*> others;
    for (auto& m : nodes_)
      if (m != n) others.push_back(m.get());
    n->configure(others, extra);
  }
}

void cluster::start_all() {
  for (auto& n : nodes_) n->start();
}

}  // namespace fedrelay::test
