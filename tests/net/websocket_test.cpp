// WebSockets over real loopback sockets: upgrades accepted and refused by the decider,
// ordered pushes, closing from either side, size and queue limits, the connection cap,
// and wss with a CA made by the test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <caf/error.hpp>

#include "net/errc.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/io_runtime.hpp"
#include "net/websocket.hpp"
#include "net/websocket_client.hpp"
#include "tests/net/tls_test_support.hpp"
#include "tests/support/child_process.hpp"

namespace fedrelay::net {
namespace {

using namespace std::chrono_literals;
using connection_ptr = std::shared_ptr<websocket_connection>;

bool has_code(const caf::error& err, errc code) {
  return err.category() == caf::atom("net") && err.code() == static_cast<uint8_t>(code);
}

std::string text_of(const caf::error& err) {
  return caf::to_string(err);
}

http_response json_status(unsigned status, const std::string& error) {
  http_response r;
  r.status = status;
  r.body = "{\"success\":false,\"error\":\"" + error + "\"}";
  return r;
}

// What the server side saw, filled on io threads and awaited by the test thread.
struct probe {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<connection_ptr> connections;
  std::vector<std::string> received;
  int closes = 0;
  // Threads that decide upgrades (/async). Joined before the server and its runtime go:
  // a thread still holding its responder would otherwise drop the session after them.
  std::vector<std::thread> deciders;

  template <class F>
  void decide_on_a_thread(F f) {
    std::lock_guard<std::mutex> guard{mutex};
    deciders.emplace_back(std::move(f));
  }
  void join_deciders() {
    std::vector<std::thread> joining;
    {
      std::lock_guard<std::mutex> guard{mutex};
      joining.swap(deciders);
    }
    for (auto& t : joining) t.join();
  }

  void add(connection_ptr c) {
    std::lock_guard<std::mutex> guard{mutex};
    connections.push_back(std::move(c));
    changed.notify_all();
  }
  void got(std::string text) {
    std::lock_guard<std::mutex> guard{mutex};
    received.push_back(std::move(text));
    changed.notify_all();
  }
  void closed() {
    std::lock_guard<std::mutex> guard{mutex};
    ++closes;
    changed.notify_all();
  }
  template <class Predicate>
  bool wait(Predicate ready, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock{mutex};
    return changed.wait_for(lock, timeout, [&] { return ready(*this); });
  }
  connection_ptr connection(size_t i) {
    std::lock_guard<std::mutex> guard{mutex};
    return i < connections.size() ? connections[i] : nullptr;
  }
};

// Routes upgrades like the local API will: a bearer token first, then the path.
//   /echo  answers "echo:<text>" to every message and greets with "welcome"
//   /push  keeps the connection for the test to send on; ignores what it receives
//   /later sets no on_message (the test sets it later)
//   /pause pauses reading after each message it receives
//   /async decides on another thread
upgrade_decider make_decider(std::shared_ptr<probe> p) {
  return [p](http_request&& req, upgrade_responder respond) {
    if (req.header("Authorization") != "Bearer secret")
      return respond(json_status(401, "missing or wrong token"));
    auto path = req.path();
    if (path == "/echo" || path == "/async") {
      websocket_handler echo = [p](connection_ptr c) {
        p->add(c);
        c->on_message([p, weak = std::weak_ptr<websocket_connection>(c)](std::string text) {
          p->got(text);
          if (auto conn = weak.lock()) conn->send("echo:" + text);
        });
        c->on_close([p] { p->closed(); });
        c->send("welcome");
      };
      if (path == "/echo") return respond(std::move(echo));
      p->decide_on_a_thread([respond, echo] { respond(echo); });
      return;
    }
    if (path == "/push")
      return respond(websocket_handler{[p](connection_ptr c) {
        p->add(c);
        c->on_message([](std::string) {});
        c->on_close([p] { p->closed(); });
      }});
    if (path == "/pause")
      return respond(websocket_handler{[p](connection_ptr c) {
        p->add(c);
        // Paused before the message is counted: a test that drops the connection once it
        // has seen the message finds it paused.
        c->on_message([p, weak = std::weak_ptr<websocket_connection>(c)](std::string text) {
          if (auto conn = weak.lock()) conn->pause_reading();
          p->got(std::move(text));
        });
        c->on_close([p] { p->closed(); });
      }});
    if (path == "/later")
      return respond(websocket_handler{[p](connection_ptr c) {
        p->add(c);
        c->on_close([p] { p->closed(); });
      }});
    if (path == "/throw") throw std::runtime_error("decider failed");
    respond(json_status(404, "no such stream"));
  };
}

void plain_handler(http_request&& req, responder respond) {
  http_response res;
  res.content_type = "text/plain";
  res.body = "plain " + req.path();
  respond(std::move(res));
}

const header_list token{{"Authorization", "Bearer secret"}};

class WebsocketTest : public ::testing::Test {
 protected:
  server_options options() {
    server_options o;
    o.listen = config::endpoint{"127.0.0.1", 0};
    return o;
  }

  void start(server_options o) {
    o.websocket_upgrade = make_decider(probe_);
    auto s = http_server::start(runtime_, std::move(o), plain_handler);
    ASSERT_TRUE(s) << text_of(s.error());
    server_ = std::move(*s);
  }

  void TearDown() override {
    probe_->join_deciders();
    if (server_) server_->stop();
    server_.reset();
    // The connections the probe kept go while the runtime still runs.
    std::lock_guard<std::mutex> guard{probe_->mutex};
    probe_->connections.clear();
  }

  std::string base(const std::string& scheme = "ws") {
    return scheme + "://127.0.0.1:" + std::to_string(server_->port());
  }

  std::unique_ptr<websocket_client> connect(const std::string& target,
                                            websocket_client_options o = {}) {
    auto c = websocket_client::connect(base(), target, token, 5s, std::move(o));
    EXPECT_TRUE(c) << text_of(c.error());
    return c ? std::move(*c) : nullptr;
  }

  std::shared_ptr<probe> probe_ = std::make_shared<probe>();
  io_runtime runtime_{2};
  std::unique_ptr<http_server> server_;
};

TEST_F(WebsocketTest, EchoesBothWaysAfterAnAcceptedUpgrade) {
  start(options());
  auto client = connect("/echo?after=7");
  ASSERT_TRUE(client);
  auto hello = client->receive(5s);
  ASSERT_TRUE(hello) << text_of(hello.error());
  EXPECT_EQ(*hello, "welcome");
  for (const std::string& text :
       std::vector<std::string>{"one", "", std::string(100000, 'x'), "{\"utf8\":\"h\xc3\xa9\"}"}) {
    ASSERT_FALSE(client->send(text));
    auto back = client->receive(5s);
    ASSERT_TRUE(back) << text_of(back.error());
    EXPECT_EQ(*back, "echo:" + text);
  }
  auto conn = probe_->connection(0);
  ASSERT_TRUE(conn);
  EXPECT_TRUE(conn->open());
  EXPECT_EQ(conn->request().target, "/echo?after=7");
  EXPECT_EQ(conn->request().query("after"), "7");
  EXPECT_EQ(conn->request().header("authorization"), "Bearer secret");
  EXPECT_EQ(conn->remote_address().rfind("127.0.0.1:", 0), 0u) << conn->remote_address();
  EXPECT_EQ(server_->open_connections(), 1u);

  // Ordinary requests still reach the request handler, also on the upgrade path.
  auto res = http_get_blocking(base("http") + "/echo", 5s);
  ASSERT_TRUE(res) << text_of(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, "plain /echo");
}

TEST_F(WebsocketTest, DecidesAsynchronouslyFromAnotherThread) {
  start(options());
  auto client = connect("/async");
  ASSERT_TRUE(client);
  auto hello = client->receive(5s);
  ASSERT_TRUE(hello) << text_of(hello.error());
  EXPECT_EQ(*hello, "welcome");
}

TEST_F(WebsocketTest, PushesManyMessagesInOrderFromAnotherThread) {
  start(options());
  auto client = connect("/push");
  ASSERT_TRUE(client);
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.connections.empty(); }));
  auto conn = probe_->connection(0);
  constexpr int count = 20000;
  std::thread pusher{[conn] {
    for (int i = 0; i < count; ++i) conn->send("message " + std::to_string(i));
  }};
  for (int i = 0; i < count; ++i) {
    auto m = client->receive(10s);
    ASSERT_TRUE(m) << i << ": " << text_of(m.error());
    ASSERT_EQ(*m, "message " + std::to_string(i));
  }
  pusher.join();
  EXPECT_TRUE(conn->open());
  EXPECT_TRUE(test::wait_until([&] { return conn->pending_bytes() == 0; }, 5s));
}

TEST_F(WebsocketTest, RefusedUpgradesShowTheHttpStatus) {
  start(options());
  auto status_of = [](const caf::error& err) -> uint32_t {
    if (!has_code(err, errc::http_status)) return 0;
    auto ctx = err.context();
    return ctx.match_element<uint32_t>(0) ? ctx.get_as<uint32_t>(0) : 0;
  };
  auto no_token = websocket_client::connect(base(), "/echo", {}, 5s);
  ASSERT_FALSE(no_token);
  EXPECT_EQ(status_of(no_token.error()), 401u) << text_of(no_token.error());
  EXPECT_NE(text_of(no_token.error()).find("wrong token"), std::string::npos)
      << text_of(no_token.error());

  auto unknown = websocket_client::connect(base(), "/nowhere", token, 5s);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(status_of(unknown.error()), 404u) << text_of(unknown.error());

  auto thrown = websocket_client::connect(base(), "/throw", token, 5s);
  ASSERT_FALSE(thrown);
  EXPECT_EQ(status_of(thrown.error()), 500u) << text_of(thrown.error());

  // Nothing was accepted; the refused connections are gone or idle keep-alives.
  EXPECT_EQ(probe_->connection(0), nullptr);
  auto ok = connect("/echo");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->receive(5s));
}

TEST_F(WebsocketTest, ClientCloseRunsOnClose) {
  start(options());
  auto client = connect("/echo");
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->receive(5s));
  auto conn = probe_->connection(0);
  ASSERT_FALSE(client->close("done"));
  EXPECT_FALSE(client->open());
  EXPECT_FALSE(client->close());  // idempotent
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
  EXPECT_FALSE(conn->open());
  conn->send("into the void");  // ignored
  EXPECT_TRUE(test::wait_until([&] { return server_->open_connections() == 0; }, 5s));
  // on_close set after the end runs at once.
  std::atomic<bool> late{false};
  conn->on_close([&late] { late = true; });
  EXPECT_TRUE(test::wait_until([&] { return late.load(); }, 5s));
}

TEST_F(WebsocketTest, ServerCloseReachesTheClientAfterQueuedMessages) {
  start(options());
  auto client = connect("/push");
  ASSERT_TRUE(client);
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.connections.empty(); }));
  auto conn = probe_->connection(0);
  conn->send("last words");
  conn->close("going away now");
  EXPECT_FALSE(conn->open());
  conn->send("too late");  // ignored after close()
  auto m = client->receive(5s);
  ASSERT_TRUE(m) << text_of(m.error());
  EXPECT_EQ(*m, "last words");
  auto end = client->receive(5s);
  ASSERT_FALSE(end);
  EXPECT_TRUE(has_code(end.error(), errc::connect_failed)) << text_of(end.error());
  EXPECT_NE(text_of(end.error()).find("1000"), std::string::npos) << text_of(end.error());
  EXPECT_NE(text_of(end.error()).find("going away now"), std::string::npos) << text_of(end.error());
  EXPECT_FALSE(client->open());
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
  EXPECT_TRUE(test::wait_until([&] { return server_->open_connections() == 0; }, 5s));
}

TEST_F(WebsocketTest, ReceiveTimeoutKeepsTheConnectionUsable) {
  start(options());
  auto client = connect("/push");
  ASSERT_TRUE(client);
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.connections.empty(); }));
  auto quiet = client->receive(100ms);
  ASSERT_FALSE(quiet);
  EXPECT_TRUE(has_code(quiet.error(), errc::timeout)) << text_of(quiet.error());
  probe_->connection(0)->send("later");
  auto m = client->receive(5s);
  ASSERT_TRUE(m) << text_of(m.error());
  EXPECT_EQ(*m, "later");
  EXPECT_FALSE(client->send("still here"));
}

TEST_F(WebsocketTest, HoldsMessagesUntilOnMessageIsSet) {
  start(options());
  auto client = connect("/later");
  ASSERT_TRUE(client);
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.connections.empty(); }));
  for (const char* text : {"a", "b", "c"}) ASSERT_FALSE(client->send(text));
  std::this_thread::sleep_for(200ms);
  auto conn = probe_->connection(0);
  auto p = probe_;
  conn->on_message([p](std::string text) { p->got(std::move(text)); });
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.received.size() == 3; }));
  EXPECT_EQ(probe_->received, (std::vector<std::string>{"a", "b", "c"}));
}

// A consumer that took all the work it will pauses reading: the peer's next messages wait
// (in TCP) and come in order once it resumes, while writes go on.
TEST_F(WebsocketTest, PausedReadingHoldsTheNextMessagesUntilResumed) {
  start(options());
  auto client = connect("/pause");
  ASSERT_TRUE(client);
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.connections.empty(); }));
  auto conn = probe_->connection(0);
  for (const char* text : {"a", "b", "c"}) ASSERT_FALSE(client->send(text));
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.received.size() == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(probe_->received, (std::vector<std::string>{"a"}));
  conn->send("writes go on");
  auto written = client->receive(5s);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, "writes go on");
  conn->resume_reading();
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.received.size() == 2; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(probe_->received.size(), 2u);
  std::thread other{[conn] { conn->resume_reading(); }};
  other.join();
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.received.size() == 3; }));
  EXPECT_EQ(probe_->received, (std::vector<std::string>{"a", "b", "c"}));

  // Paused with nobody left to resume it, the connection ends.
  conn->resume_reading();
  ASSERT_FALSE(client->send("d"));
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.received.size() == 4; }));
  {
    std::lock_guard<std::mutex> guard{probe_->mutex};
    probe_->connections.clear();
  }
  conn.reset();
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
  EXPECT_FALSE(client->receive(5s));
}

TEST_F(WebsocketTest, MessageOverTheSizeLimitClosesTheConnection) {
  auto o = options();
  o.max_body_bytes = 1024;
  start(o);
  auto client = connect("/echo");
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->receive(5s));
  ASSERT_FALSE(client->send(std::string(1024, 'a')));  // at the limit: fine
  auto back = client->receive(5s);
  ASSERT_TRUE(back) << text_of(back.error());
  EXPECT_EQ(back->size(), 5u + 1024u);
  (void)client->send(std::string(1025, 'b'));
  auto end = client->receive(5s);
  ASSERT_FALSE(end);
  EXPECT_NE(text_of(end.error()).find("1009"), std::string::npos) << text_of(end.error());
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
  EXPECT_EQ(probe_->received.size(), 1u);

  auto next = connect("/echo");
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->receive(5s));
}

TEST_F(WebsocketTest, SlowConsumerIsDroppedAndOthersAreServed) {
  auto o = options();
  o.max_websocket_queue_bytes = 1u << 20;
  start(o);
  auto slow = connect("/push");  // never reads
  ASSERT_TRUE(slow);
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.connections.empty(); }));
  auto conn = probe_->connection(0);
  auto fast = connect("/echo");
  ASSERT_TRUE(fast);
  ASSERT_TRUE(fast->receive(5s));

  const std::string chunk(64u << 10, 'z');
  size_t sent = 0;
  // Socket buffers take some megabytes; past them the queue grows to its limit.
  for (int i = 0; i < 4096 && conn->open(); ++i) {
    conn->send(chunk);
    sent += chunk.size();
    EXPECT_LE(conn->pending_bytes(), o.max_websocket_queue_bytes);
    if (i % 64 == 63) std::this_thread::sleep_for(1ms);
  }
  EXPECT_FALSE(conn->open()) << sent << " bytes sent and still open";
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
  // The message being written when it was dropped is let go once its write is aborted.
  EXPECT_TRUE(test::wait_until([&] { return conn->pending_bytes() == 0; }, 5s));

  ASSERT_FALSE(fast->send("still served"));
  auto back = fast->receive(5s);
  ASSERT_TRUE(back) << text_of(back.error());
  EXPECT_EQ(*back, "echo:still served");
  EXPECT_TRUE(test::wait_until([&] { return server_->open_connections() == 1; }, 5s));
}

// when_drained runs its callback once the queue is down to the mark: soon when it is, once
// the reader has read when it is not, and never when the connection ends first.
TEST_F(WebsocketTest, WhenDrainedWaitsForTheReaderAndLetsGoWhenTheConnectionEnds) {
  auto o = options();
  o.max_websocket_queue_bytes = 64u << 20;
  start(o);
  auto client = connect("/push");
  ASSERT_TRUE(client);
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.connections.empty(); }));
  auto conn = probe_->connection(0);
  EXPECT_EQ(conn->queue_limit(), o.max_websocket_queue_bytes);
  std::atomic<int> at_once{0};
  conn->when_drained(0, [&at_once] { ++at_once; });
  EXPECT_TRUE(test::wait_until([&] { return at_once == 1; }, 5s));

  // Past what the socket buffers take, the queue grows while nobody reads.
  const std::string chunk(64u << 10, 'z');
  auto fill = [&] {
    int sent = 0;
    for (; sent < 2048 && conn->pending_bytes() < (4u << 20); ++sent) {
      conn->send(chunk);
      if (sent % 64 == 63) std::this_thread::sleep_for(1ms);
    }
    return sent;
  };
  int sent = fill();
  ASSERT_GE(conn->pending_bytes(), 4u << 20);
  auto drained = std::make_shared<std::atomic<bool>>(false);
  conn->when_drained(1u << 20, [drained] { *drained = true; });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(*drained);
  for (int i = 0; i < sent; ++i) ASSERT_TRUE(client->receive(5s)) << i << " of " << sent;
  EXPECT_TRUE(test::wait_until([&] { return drained->load(); }, 5s));

  fill();
  ASSERT_GE(conn->pending_bytes(), 4u << 20);
  auto ran = std::make_shared<std::atomic<bool>>(false);
  std::weak_ptr<std::atomic<bool>> held = ran;
  conn->when_drained(0, [ran] { *ran = true; });
  client.reset();
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
  EXPECT_FALSE(*ran);
  ran.reset();
  EXPECT_TRUE(test::wait_until([&] { return held.expired(); }, 5s));
}

TEST_F(WebsocketTest, CountsWebSocketsAgainstTheConnectionCap) {
  auto o = options();
  o.max_connections = 1;
  start(o);
  auto client = connect("/echo");
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->receive(5s));
  EXPECT_EQ(server_->open_connections(), 1u);
  auto refused = http_get_blocking(base("http") + "/", 5s);
  ASSERT_TRUE(refused) << text_of(refused.error());
  EXPECT_EQ(refused->status, 503u);
  ASSERT_FALSE(client->close());
  ASSERT_TRUE(test::wait_until([&] { return server_->open_connections() == 0; }, 5s));
  auto served = http_get_blocking(base("http") + "/", 5s);
  ASSERT_TRUE(served) << text_of(served.error());
  EXPECT_EQ(served->status, 200u);
}

TEST_F(WebsocketTest, StopClosesOpenWebSockets) {
  start(options());
  auto client = connect("/echo");
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->receive(5s));
  // The client reads, as a chat server does, while the server stops: it is told why.
  auto reading = std::async(std::launch::async, [&] { return client->receive(5s); });
  server_->stop();
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
  auto end = reading.get();
  ASSERT_FALSE(end);
  EXPECT_TRUE(has_code(end.error(), errc::connect_failed)) << text_of(end.error());
  EXPECT_NE(text_of(end.error()).find("1001"), std::string::npos) << text_of(end.error());
  EXPECT_NE(text_of(end.error()).find("the node is stopping"), std::string::npos)
      << text_of(end.error());
  EXPECT_EQ(server_->open_connections(), 0u);
}

// A hand-made client for what websocket_client never sends: a binary frame.
/// What arrives on `fd` within `timeout`: one read's bytes, or "" (nothing, or closed).
std::string read_some(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  std::string out;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return out;
  char buf[4096];
  auto n = ::recv(fd, buf, sizeof buf, 0);
  if (n > 0) out.assign(buf, static_cast<size_t>(n));
  return out;
}

/// A socket connected to 127.0.0.1:`port` that sent an upgrade request to /push with
/// `key`, `version` and (unless `host` is empty) a Host header; the answer's head (and
/// whatever came with it) in `head`. -1 if it failed.
int raw_upgrade(uint16_t port, const std::string& key, std::string& head,
                const std::string& version = "13", const std::string& host = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string upgrade = "GET /push HTTP/1.1\r\n" + (host.empty() ? "" : "Host: " + host + "\r\n") +
                        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                        "\r\nSec-WebSocket-Version: " + version +
                        "\r\nAuthorization: Bearer secret\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(fd, upgrade.data(), upgrade.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(upgrade.size())) {
    ::close(fd);
    return -1;
  }
  head.clear();
  while (head.find("\r\n\r\n") == std::string::npos) {
    auto more = read_some(fd, 5s);
    if (more.empty()) break;
    head += more;
  }
  return fd;
}

TEST_F(WebsocketTest, AnUpgradeWithoutAKeyOf16BytesInBase64IsABadRequest) {
  start(options());
  for (const std::string key : {"", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=!",
                                "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub2*jZQ=="}) {
    std::string head;
    int fd = raw_upgrade(server_->port(), key, head);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(head.rfind("HTTP/1.1 400", 0), 0u) << "key '" << key << "': " << head;
    EXPECT_NE(head.find("Sec-WebSocket-Key must be 16 bytes in base64"), std::string::npos) << head;
    ::close(fd);
  }
  std::string head;
  int fd = raw_upgrade(server_->port(), "dGhlIHNhbXBsZSBub25jZQ==", head);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  ::close(fd);
}

// The other handshakes RFC 6455 refuses are answered as every refusal is, in JSON: a
// version other than 13 with 426 and the version spoken, no Host with 400.
TEST_F(WebsocketTest, AnUpgradeOfAnotherVersionOrWithoutHostIsRefusedInJson) {
  start(options());
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string head;
  int fd = raw_upgrade(server_->port(), key, head, "8");
  ASSERT_GE(fd, 0);
  EXPECT_EQ(head.rfind("HTTP/1.1 426", 0), 0u) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Version must be 13"), std::string::npos) << head;
  ::close(fd);
  fd = raw_upgrade(server_->port(), key, head, "13", "");
  ASSERT_GE(fd, 0);
  EXPECT_EQ(head.rfind("HTTP/1.1 400", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos) << head;
  ::close(fd);
}

/// The head of a masked client frame (mask zero, so the payload goes as written) of
/// `opcode`, final or not, announcing `size` bytes of payload.
std::string client_frame_head(unsigned char opcode, bool fin, uint64_t size) {
  std::string out{static_cast<char>((fin ? 0x80 : 0) | opcode)};
  if (size < 126) {
    out += static_cast<char>(0x80 | size);
  } else {
    int bytes = size < 65'536 ? 2 : 8;
    out += static_cast<char>(0x80 | (bytes == 2 ? 126 : 127));
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((size >> (8 * i)) & 0xff);
  }
  out.append(4, '\0');
  return out;
}

std::string client_frame(unsigned char opcode, bool fin, const std::string& payload) {
  return client_frame_head(opcode, fin, payload.size()) + payload;
}

bool send_all(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

/// The code of the close frame the server sent first after the upgrade answered in `head`
/// (-1 when its first frame is no close frame or none comes within 10 s).
int first_close_code(int fd, const std::string& head) {
  auto reply = head.substr(head.find("\r\n\r\n") + 4);
  while (reply.size() < 4) {
    auto more = read_some(fd, 10s);
    if (more.empty()) return -1;
    reply += more;
  }
  if (static_cast<unsigned char>(reply[0]) != 0x88) return -1;  // FIN + close
  return (static_cast<unsigned char>(reply[2]) << 8) | static_cast<unsigned char>(reply[3]);
}

TEST_F(WebsocketTest, BinaryFrameClosesWithPolicyError) {
  start(options());
  std::string head;
  int fd = raw_upgrade(server_->port(), "dGhlIHNhbXBsZSBub25jZQ==", head);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  auto frame = client_frame(0x2, true, "\x01\x02\x03");  // binary
  ASSERT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(frame.size()));
  EXPECT_EQ(first_close_code(fd, head), 1008);
  ::close(fd);
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
}

// A message trickled a fragment at a time, each resetting the idle timer, held its bytes
// for as long as the client liked: it must be whole within read_timeout of its start.
TEST_F(WebsocketTest, AMessageNotWholeWithinTheReadTimeoutClosesTheConnection) {
  auto o = options();
  o.read_timeout = 1s;
  start(o);
  std::string head;
  int fd = raw_upgrade(server_->port(), "dGhlIHNhbXBsZSBub25jZQ==", head);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  auto start_time = std::chrono::steady_clock::now();
  auto first = client_frame(0x1, false, "abc");
  ASSERT_EQ(::send(fd, first.data(), first.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(first.size()));
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {  // a fragment every 250 ms, 5 s at most
    auto more = client_frame(0x0, false, "x");
    if (::send(fd, more.data(), more.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(more.size()))
      closed = true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 250) > 0) {
      char buf[256];
      closed = ::recv(fd, buf, sizeof buf, 0) <= 0;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, 4s);
  ::close(fd);
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
}

// Each fragment costs a read of a few µs: a message of more than 65,536 pieces is closed
// with a policy error (1008), and one of a few fragments is taken.
TEST_F(WebsocketTest, AMessageInTooManyPiecesClosesWithPolicyError) {
  start(options());
  std::string head;
  int fd = raw_upgrade(server_->port(), "dGhlIHNhbXBsZSBub25jZQ==", head);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  auto few =
      client_frame(0x1, false, "a") + client_frame(0x0, false, "b") + client_frame(0x0, true, "c");
  ASSERT_EQ(::send(fd, few.data(), few.size(), MSG_NOSIGNAL), static_cast<ssize_t>(few.size()));
  EXPECT_TRUE(read_some(fd, 500ms).empty());  // taken: no close frame
  std::string many = client_frame(0x1, false, "a");
  for (int i = 0; i < 70'000; ++i) many += client_frame(0x0, false, "b");
  (void)::send(fd, many.data(), many.size(), MSG_NOSIGNAL);
  EXPECT_EQ(first_close_code(fd, head), 1008);
  ::close(fd);
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 1; }));
}

// A message being read holds its bytes like a request's body, against the listener's
// budget for bodies in memory: 30 sockets each holding back the last bytes of a 16 MiB
// message held 537 MB. Past the budget a message's connection is closed with 1013 (try
// again later); a message's bytes are given back when it is read whole, or cut off.
TEST_F(WebsocketTest, AMessageBeingReadCountsAgainstTheBudgetForBodies) {
  auto o = options();
  o.max_body_bytes = 4u << 20;
  o.max_pending_body_bytes = 1u << 20;
  start(o);
  auto upgrade = [&] {
    std::string head;
    int fd = raw_upgrade(server_->port(), "dGhlIHNhbXBsZSBub25jZQ==", head);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
    return std::make_pair(fd, head);
  };
  auto held_at_least = [&](size_t bytes) {
    for (int i = 0; i < 500 && server_->pending_body_bytes() < bytes; ++i)
      std::this_thread::sleep_for(10ms);
    return server_->pending_body_bytes() >= bytes;
  };
  auto held_none = [&] {
    for (int i = 0; i < 500 && server_->pending_body_bytes() > 0; ++i)
      std::this_thread::sleep_for(10ms);
    return server_->pending_body_bytes() == 0;
  };
  // A message holds what its buffer took: up to twice what came, and 64 KiB more. So the
  // first holds at most 864 KiB, and the second's mebibyte cannot fit beside it.
  const std::string part(400u << 10, 'a');
  auto [first, first_head] = upgrade();
  ASSERT_GE(first, 0);
  ASSERT_TRUE(send_all(first, client_frame_head(0x1, true, 3u << 20) + part));
  ASSERT_TRUE(held_at_least(part.size())) << server_->pending_body_bytes();
  auto [second, second_head] = upgrade();
  ASSERT_GE(second, 0);
  (void)send_all(second, client_frame_head(0x1, true, 3u << 20) + std::string(1u << 20, 'a'));
  EXPECT_EQ(first_close_code(second, second_head), 1013);
  ::close(second);
  // The first holds its share still; cut off, it gives it back.
  EXPECT_TRUE(held_at_least(part.size()));
  ::close(first);
  EXPECT_TRUE(held_none()) << server_->pending_body_bytes();
  // A message read whole is taken, and its bytes given back.
  auto client = connect("/echo");
  ASSERT_TRUE(client);
  ASSERT_FALSE(client->send(std::string(400u << 10, 'b')));
  ASSERT_TRUE(probe_->wait([](probe& p) { return !p.received.empty(); }));
  EXPECT_EQ(probe_->received.back().size(), 400u << 10);
  EXPECT_TRUE(held_none()) << server_->pending_body_bytes();
}

// What the application holds for a connection's call (hold_memory) counts against the same
// budget until the handle is dropped.
TEST_F(WebsocketTest, WhatTheApplicationHoldsForAConnectionCountsUntilDropped) {
  auto o = options();
  o.max_pending_body_bytes = 1u << 20;
  start(o);
  auto client = connect("/push");
  ASSERT_TRUE(client);
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.connections.size() == 1; }));
  auto conn = probe_->connection(0);
  auto held = conn->hold_memory(600u << 10);
  ASSERT_TRUE(held);
  EXPECT_EQ(server_->pending_body_bytes(), 600u << 10);
  EXPECT_FALSE(conn->hold_memory(600u << 10));
  EXPECT_EQ(server_->pending_body_bytes(), 600u << 10);
  held.reset();
  EXPECT_EQ(server_->pending_body_bytes(), 0u);
  EXPECT_TRUE(conn->hold_memory(1u << 20));
  EXPECT_EQ(server_->pending_body_bytes(), 0u);  // dropped at once
}

// ---- wss ---------------------------------------------------------------------------------

class WebsocketTlsTest : public WebsocketTest {
 protected:
  static void SetUpTestSuite() { ca_ = new test::test_ca; }
  static void TearDownTestSuite() {
    delete ca_;
    ca_ = nullptr;
  }
  server_options tls_options() {
    auto o = options();
    o.tls_cert_file = ca_->cert_file();
    o.tls_key_file = ca_->key_file();
    return o;
  }
  static test::test_ca* ca_;
};

test::test_ca* WebsocketTlsTest::ca_ = nullptr;

TEST_F(WebsocketTlsTest, RoundTripOverWssVerifiedAgainstTheTestCa) {
  ASSERT_TRUE(ca_->ok());
  start(tls_options());
  websocket_client_options o;
  o.ca_file = ca_->ca_file();
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto url = std::string{"wss://"} + host + ":" + std::to_string(server_->port());
    auto client = websocket_client::connect(url, "/echo", token, 5s, o);
    ASSERT_TRUE(client) << host << ": " << text_of(client.error());
    auto hello = (*client)->receive(5s);
    ASSERT_TRUE(hello) << text_of(hello.error());
    EXPECT_EQ(*hello, "welcome");
    ASSERT_FALSE((*client)->send("sealed"));
    auto back = (*client)->receive(5s);
    ASSERT_TRUE(back) << text_of(back.error());
    EXPECT_EQ(*back, "echo:sealed");
    EXPECT_FALSE((*client)->close());
  }
  ASSERT_TRUE(probe_->wait([](probe& p) { return p.closes == 2; }));

  auto refused = websocket_client::connect(base("wss"), "/echo", {}, 5s, o);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(has_code(refused.error(), errc::http_status)) << text_of(refused.error());
}

TEST_F(WebsocketTlsTest, WrongCaOrPlainClientFails) {
  ASSERT_TRUE(ca_->ok());
  start(tls_options());
  websocket_client_options o;
  o.ca_file = ca_->other_ca_file();
  auto wrong = websocket_client::connect(base("wss"), "/echo", token, 5s, o);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(has_code(wrong.error(), errc::tls_failed)) << text_of(wrong.error());

  o.ca_file = ca_->ca_file() + ".missing";
  auto missing = websocket_client::connect(base("wss"), "/echo", token, 5s, o);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(has_code(missing.error(), errc::tls_failed)) << text_of(missing.error());

  auto plain = websocket_client::connect(base("ws"), "/echo", token, 3s);
  EXPECT_FALSE(plain);
}

TEST(WebsocketClientTest, ReportsBadUrlsAndClosedPorts) {
  auto bad = websocket_client::connect("ftp://example.com", "/", {}, 1s);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has_code(bad.error(), errc::bad_url)) << text_of(bad.error());
  io_runtime runtime{1};
  server_options o;
  o.listen = config::endpoint{"127.0.0.1", 0};
  auto server = http_server::start(runtime, o, plain_handler);
  ASSERT_TRUE(server);
  auto port = (*server)->port();
  server->reset();
  auto closed = websocket_client::connect("ws://127.0.0.1:" + std::to_string(port), "/", {}, 2s);
  ASSERT_FALSE(closed);
  EXPECT_TRUE(has_code(closed.error(), errc::connect_failed)) << text_of(closed.error());
}

}  // namespace
}  // namespace fedrelay::net
