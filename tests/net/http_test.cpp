// The HTTP layer over real loopback sockets: server limits and timeouts, client pooling,
// errors and HTTPS with a CA made by the test, plus URL and query parsing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <caf/error.hpp>

#include "net/errc.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/http_types.hpp"
#include "net/io_runtime.hpp"
#include "net/local_api.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::net {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

bool has_code(const caf::error& err, errc code) {
  return err.category() == caf::atom("net") && err.code() == static_cast<uint8_t>(code);
}

server_options loopback_options() {
  server_options o;
  o.listen = config::endpoint{"127.0.0.1", 0};
  return o;
}

url origin_of(const http_server& server, const std::string& scheme = "http") {
  auto u = parse_url(scheme + "://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(u) << caf::to_string(u.error());
  return *u;
}

http_request get(std::string target) {
  http_request req;
  req.method = "GET";
  req.target = std::move(target);
  return req;
}

// Sends one request and waits for its result.
caf::expected<http_response> send(http_client& client, const url& base, http_request req,
                                  std::chrono::milliseconds timeout = 5s) {
  std::promise<caf::expected<http_response>> promise;
  auto result = promise.get_future();
  client.request(base, std::move(req), timeout,
                 [&promise](caf::expected<http_response> r) { promise.set_value(std::move(r)); });
  return result.get();
}

// A blocking POSIX socket to 127.0.0.1, for clients that misbehave on purpose.
class raw_socket {
 public:
  /// `from`: the local address to connect from (another of 127.0.0.0/8, say).
  explicit raw_socket(uint16_t port, const char* from = nullptr)
      : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (from) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, from, &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~raw_socket() { close(); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Everything until the peer closes or `timeout` passes.
  std::string read_all(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      if (!wait_readable(deadline)) break;
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_by_peer_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True when the peer closed (EOF or reset) within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout) {
    read_all(timeout);
    return closed_by_peer_;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool wait_readable(clock_type::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0))) > 0;
  }

  int fd_;
  bool connected_ = false;
  bool closed_by_peer_ = false;
};

// Echoes what it received as "key: value" lines, so tests can check the parsing.
void echo_handler(http_request&& req, responder respond) {
  http_response res;
  res.content_type = "text/plain";
  res.headers.emplace_back("X-Echo-Method", req.method);
  res.body = "path=" + req.path() + "\nq=" + req.query("q").value_or("<none>") +
             "\nx-test=" + std::string{req.header("x-TEST")} + "\nbody=" + req.body +
             "\nremote=" + req.remote_address;
  respond(std::move(res));
}

// ---- URLs and query strings --------------------------------------------------------------

TEST(HttpUrlTest, ParsesSchemesHostsPortsAndPaths) {
  auto a = parse_url("http://example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->scheme, "http");
  EXPECT_EQ(a->host, "example.com");
  EXPECT_EQ(a->port, 80);
  EXPECT_EQ(a->path, "");
  EXPECT_EQ(a->target(), "/");
  EXPECT_FALSE(a->tls());

  auto b = parse_url("HTTPS://Chat.A.Example:8443/api/v1/x?y=1#frag");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->scheme, "https");
  EXPECT_EQ(b->host, "chat.a.example");
  EXPECT_EQ(b->port, 8443);
  EXPECT_EQ(b->path, "/api/v1/x?y=1");
  EXPECT_TRUE(b->tls());
  EXPECT_EQ(b->origin(), "https://chat.a.example:8443");

  auto c = parse_url("https://127.0.0.1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 443);

  auto d = parse_url("http://[::1]:8002/x");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 8002);
  EXPECT_EQ(d->origin(), "http://[::1]:8002");
  EXPECT_EQ(d->to_string(), "http://[::1]:8002/x");

  auto e = parse_url("http://h?x=1");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "h");
  EXPECT_EQ(e->path, "/?x=1");
}

TEST(HttpUrlTest, RejectsBadUrls) {
  for (const char* text :
       {"", "example.com", "ftp://example.com", "http://", "http://:80", "http://h:0",
        "http://h:65536", "http://h:12a", "http://h:", "http://user@h", "http://h x/",
        "http://[::1", "http://::1:80/", "http://h/\n"}) {
    auto u = parse_url(text);
    ASSERT_FALSE(u) << text;
    EXPECT_TRUE(has_code(u.error(), errc::bad_url)) << caf::to_string(u.error());
  }
  auto u = parse_url("gopher://h");
  EXPECT_NE(caf::to_string(u.error()).find("gopher"), std::string::npos);
}

TEST(HttpTypesTest, DecodesQueriesAndFindsHeaders) {
  http_request req;
  req.target = "/api/v1/users.search?q=bob%40b.example&empty=&flag&plus=a+b&bad=%zz&q=second";
  req.headers = {{"Content-Type", "text/plain"}, {"X-Token", "t1"}};
  EXPECT_EQ(req.path(), "/api/v1/users.search");
  EXPECT_EQ(req.query("q"), "bob@b.example");
  EXPECT_EQ(req.query("empty"), "");
  EXPECT_EQ(req.query("flag"), "");
  EXPECT_EQ(req.query("plus"), "a b");
  EXPECT_EQ(req.query("bad"), "%zz");
  EXPECT_EQ(req.query("missing"), std::nullopt);
  EXPECT_EQ(req.header("content-type"), "text/plain");
  EXPECT_EQ(req.header("X-TOKEN"), "t1");
  EXPECT_EQ(req.header("absent"), "");

  auto target = make_target("/files.upload", {{"room_id", "r 1/a"}, {"name", "ü&=.txt"}});
  EXPECT_EQ(target, "/files.upload?room_id=r%201%2Fa&name=%C3%BC%26%3D.txt");
  http_request back;
  back.target = target;
  EXPECT_EQ(back.query("room_id"), "r 1/a");
  EXPECT_EQ(back.query("name"), "ü&=.txt");
  EXPECT_EQ(make_target("/x", {}), "/x");
  EXPECT_EQ(url_encode("a-b_c.d~e"), "a-b_c.d~e");
}

// ---- the server ----------------------------------------------------------------------------

TEST(HttpServerTest, AnswersOnLoopback) {
  io_runtime runtime{2};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  ASSERT_NE((*server)->port(), 0);
  http_client client{runtime};
  http_request req;
  req.method = "POST";
  req.target = "/api/v1/chat.send?q=hello%20world&other=1";
  req.headers = {{"X-Test", "yes"}, {"Content-Type", "application/json"}};
  req.body = "{\"text\":\"hi\"}";
  auto res = send(client, origin_of(**server), req);
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->content_type, "text/plain");
  EXPECT_EQ(res->header("x-echo-method"), "POST");
  EXPECT_EQ(res->header("server"), "fedrelay");
  EXPECT_NE(res->body.find("path=/api/v1/chat.send\n"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("q=hello world\n"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("x-test=yes\n"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("body={\"text\":\"hi\"}\n"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("remote=127.0.0.1:"), std::string::npos) << res->body;
}

TEST(HttpServerTest, KeepsConnectionsAlive) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  std::set<std::string> remotes;
  for (int i = 0; i < 5; ++i) {
    auto res = send(client, origin_of(**server), get("/n?q=" + std::to_string(i)));
    ASSERT_TRUE(res) << caf::to_string(res.error());
    EXPECT_NE(res->body.find("q=" + std::to_string(i)), std::string::npos);
    remotes.insert(res->body.substr(res->body.find("remote=")));
  }
  EXPECT_EQ(remotes.size(), 1u);
  EXPECT_EQ((*server)->accepted_connections(), 1u);
}

TEST(HttpServerTest, LargeBodiesAndThePipelinedRequestsBehindThemArriveWhole) {
  // A body gets more room to be read into than a request's head, given back once the
  // connection waits again: bytes of the next request read with the body must survive.
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  std::string big(1u << 20, 'b');
  auto post = [](const std::string& body) {
    return "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  raw_socket raw{(*server)->port()};
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(
      raw.send(post(big) + "GET /after?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto answers = raw.read_all(10s);
  EXPECT_NE(answers.find("body=" + big + "\n"), std::string::npos) << answers.size();
  EXPECT_NE(answers.find("path=/after\nq=1\n"), std::string::npos) << answers.size();

  // The client alike, over one kept-alive connection: large answers and small ones.
  http_client client{runtime};
  for (size_t size : {size_t{3} << 20, size_t{10}, size_t{200'000}, size_t{0}}) {
    http_request req;
    req.method = "POST";
    req.target = "/echo";
    req.body = std::string(size, 'c');
    auto res = send(client, origin_of(**server), req);
    ASSERT_TRUE(res) << caf::to_string(res.error());
    EXPECT_NE(res->body.find("body=" + req.body + "\nremote="), std::string::npos) << size;
  }
  EXPECT_EQ((*server)->accepted_connections(), 2u);
}

/// The highest descriptor this process has open.
int highest_open_descriptor() {
  int highest = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (auto* entry = readdir(dir)) highest = std::max(highest, std::atoi(entry->d_name));
    closedir(dir);
  }
  return highest;
}

// A listener out of descriptors tries its accept again every 100 ms for as long as that
// lasts, which anyone who opens enough connections decides: a line each time was ten
// lines a second.
TEST(HttpServerTest, AcceptsThatFailForWantOfDescriptorsLogAFewLinesAMinute) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto port = (*server)->port();
  // Connections from another process, which has descriptors of its own.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::this_thread::sleep_for(300ms);  // until the server's limit is set
    std::vector<int> sockets;
    for (int i = 0; i < 20; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(port);
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0)
        sockets.push_back(fd);
    }
    sleep(10);
    _exit(0);
  }
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
  spdlog::default_logger()->sinks().push_back(sink);
  rlimit before{};
  getrlimit(RLIMIT_NOFILE, &before);
  rlimit tight = before;
  tight.rlim_cur = static_cast<rlim_t>(highest_open_descriptor() + 3);
  setrlimit(RLIMIT_NOFILE, &tight);
  // Every descriptor below the limit taken: the next accept finds none.
  std::vector<int> fillers;
  for (int fd = dup(0); fd >= 0; fd = dup(0)) fillers.push_back(fd);
  std::this_thread::sleep_for(3s);
  for (int fd : fillers) close(fd);
  setrlimit(RLIMIT_NOFILE, &before);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  spdlog::default_logger()->sinks().pop_back();
  size_t logged = 0;
  std::string line;
  for (std::istringstream in{lines.str()}; std::getline(in, line);)
    if (line.find("accept on port " + std::to_string(port) + " failed") != std::string::npos)
      ++logged;
  EXPECT_EQ(logged, 10u) << lines.str();
}

// A handler that finds no memory (a limit on the process, a cgroup's) is no fault of the
// request's: 503 to try again, where it was 500.
TEST(HttpServerTest, AHandlerShortOfMemoryIsA503ToTryAgain) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(),
                                   [](http_request&&, responder) { throw std::bad_alloc{}; });
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  http_request req;
  req.target = "/api/v1/anything";
  auto res = send(client, origin_of(**server), req);
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 503u);
  EXPECT_EQ(res->header("Retry-After"), "5");
  EXPECT_NE(res->body.find("short of memory"), std::string::npos) << res->body;
}

TEST(HttpServerTest, HandlerMayAnswerLaterFromAnotherThread) {
  io_runtime runtime{1};
  std::vector<std::thread> workers;
  std::mutex mutex;
  auto server =
      http_server::start(runtime, loopback_options(), [&](http_request&& req, responder respond) {
        std::lock_guard<std::mutex> guard{mutex};
        workers.emplace_back([respond, body = req.body] {
          std::this_thread::sleep_for(100ms);
          http_response res;
          res.status = 202;
          res.body = "{\"success\":true,\"got\":\"" + body + "\"}";
          respond(res);
          respond(http_response{});  // a second call is ignored
        });
      });
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  http_request req;
  req.method = "POST";
  req.target = "/later";
  req.body = "abc";
  for (int i = 0; i < 2; ++i) {
    auto res = send(client, origin_of(**server), req);
    ASSERT_TRUE(res) << caf::to_string(res.error());
    EXPECT_EQ(res->status, 202u);
    EXPECT_EQ(res->body, "{\"success\":true,\"got\":\"abc\"}");
  }
  EXPECT_EQ((*server)->accepted_connections(), 1u);
  for (auto& t : workers) t.join();
}

TEST(HttpServerTest, RefusesOversizedBodiesWith413AndKeepsServing) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_body_bytes = 1024;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  for (size_t size : {size_t{4096}, size_t{1} << 20}) {
    http_request req;
    req.method = "POST";
    req.target = "/big";
    req.body.assign(size, 'x');
    auto res = send(client, origin_of(**server), req);
    ASSERT_TRUE(res) << size << ": " << caf::to_string(res.error());
    EXPECT_EQ(res->status, 413u);
    EXPECT_EQ(res->content_type, "application/json");
    EXPECT_EQ(res->body,
              "{\"success\":false,\"error\":\"request body too large (limit 1024 bytes)\"}");
  }
  http_request ok;
  ok.method = "POST";
  ok.target = "/small";
  ok.body.assign(1024, 'y');
  auto res = send(client, origin_of(**server), ok);
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 200u);
}

// Collects a streamed body, counting the pieces it came in.
struct collecting_sink : body_sink {
  caf::error write(std::string_view bytes) override {
    data.append(bytes);
    ++pieces;
    return {};
  }
  std::string data;
  size_t pieces = 0;
};

// Streams the bodies of POST /upload to a collecting_sink of at most `max` bytes; the
// handler answers with what the sink got.
server_options streaming_options(uint64_t max, std::atomic<int>& sinks) {
  auto o = loopback_options();
  o.max_body_bytes = 1024;  // the ordinary limit, far below the streamed one
  o.stream_body = [max, &sinks](const http_request& head) {
    body_stream d;
    if (head.path() == "/refused") {
      http_response no;
      no.status = 403;
      no.content_type = "text/plain";
      no.body = "no";
      d.refusal = std::move(no);
    }
    if (head.path() != "/upload") return d;
    ++sinks;
    d.sink = std::make_shared<collecting_sink>();
    d.max_bytes = max;
    return d;
  };
  return o;
}

void sink_handler(http_request&& req, responder respond) {
  auto sink = std::dynamic_pointer_cast<collecting_sink>(req.streamed_body);
  http_response res;
  res.content_type = "text/plain";
  res.body = sink ? "streamed " + std::to_string(sink->data.size()) + " in " +
                        std::to_string(sink->pieces) + " pieces, body '" + req.body +
                        "', ok=" + (sink->data == std::string(sink->data.size(), 'u') ? "1" : "0")
                  : "whole " + std::to_string(req.body.size());
  respond(std::move(res));
}

TEST(HttpServerTest, StreamsChosenBodiesToASinkInPieces) {
  io_runtime runtime{1};
  std::atomic<int> sinks{0};
  auto server = http_server::start(runtime, streaming_options(4u << 20, sinks), sink_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  http_request up;
  up.method = "POST";
  up.target = "/upload";
  up.body.assign(3u << 20, 'u');  // far over max_body_bytes, within the stream's limit
  auto res = send(client, origin_of(**server), up);
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body.substr(0, 16), "streamed 3145728");
  EXPECT_NE(res->body.find("body '', ok=1"), std::string::npos) << res->body;
  EXPECT_EQ(res->body.find(" in 1 pieces"), std::string::npos) << res->body;
  // Other routes keep reading whole bodies under max_body_bytes.
  http_request other;
  other.method = "POST";
  other.target = "/other";
  other.body = "abc";
  res = send(client, origin_of(**server), other);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "whole 3");
}

TEST(HttpServerTest, StreamedBodiesOverTheirLimitGet413) {
  io_runtime runtime{1};
  std::atomic<int> sinks{0};
  auto server = http_server::start(runtime, streaming_options(1u << 20, sinks), sink_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  // A Content-Length over the limit: refused before the body is read.
  raw_socket declared{(*server)->port()};
  ASSERT_TRUE(declared.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"));
  auto answer = declared.read_all(3s);
  EXPECT_NE(answer.find("HTTP/1.1 413"), std::string::npos) << answer;
  EXPECT_NE(answer.find("limit 1048576 bytes"), std::string::npos) << answer;
  // A chunked body that grows past the limit is cut off with 413 as well.
  raw_socket chunked{(*server)->port()};
  ASSERT_TRUE(
      chunked.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk(256u << 10, 'u');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 5; ++i)
    if (!chunked.send(size_line + chunk + "\r\n")) break;
  answer = chunked.read_all(3s);
  EXPECT_NE(answer.find("HTTP/1.1 413"), std::string::npos) << answer.substr(0, 200);
  // A refusal from the head alone: the body is never read.
  raw_socket refused{(*server)->port()};
  ASSERT_TRUE(refused.send("POST /refused HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"));
  answer = refused.read_all(3s);
  EXPECT_NE(answer.find("HTTP/1.1 403"), std::string::npos) << answer;
}

TEST(HttpServerTest, SendsFileBodiesAndRangesFromDisk) {
  test::temp_dir dir{"fedrelay-http"};
  std::string content;
  for (int i = 0; i < 200000; ++i) content += static_cast<char>('a' + i % 26);
  test::write_file(dir / "f", content);
  io_runtime runtime{1};
  auto server =
      http_server::start(runtime, loopback_options(), [&](http_request&& req, responder respond) {
        http_response res;
        res.content_type = "application/octet-stream";
        if (req.path() == "/part") res.status = 206;
        res.file = file_part{dir / (req.path() == "/gone" ? "missing" : "f"),
                             req.path() == "/part" ? 1000u : 0u,
                             req.path() == "/part" ? 70000u : content.size()};
        respond(std::move(res));
      });
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  auto whole = send(client, origin_of(**server), get("/whole"));
  ASSERT_TRUE(whole) << caf::to_string(whole.error());
  EXPECT_EQ(whole->status, 200u);
  EXPECT_EQ(whole->body, content);
  auto part = send(client, origin_of(**server), get("/part"));
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206u);
  EXPECT_EQ(part->body, content.substr(1000, 70000));
  auto gone = send(client, origin_of(**server), get("/gone"));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404u);
  // The connection is still good for the next request.
  EXPECT_EQ(send(client, origin_of(**server), get("/whole"))->body.size(), content.size());
  // Byte for byte: the head as any answer's, then the file's bytes.
  raw_socket raw{(*server)->port()};
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send("GET /part HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(raw.read_all(5s),
            "HTTP/1.1 206 Partial Content\r\nServer: fedrelay\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n"
            "Content-Length: 70000\r\n\r\n" +
                content.substr(1000, 70000));
  EXPECT_TRUE(raw.wait_closed(0ms));
}

TEST(HttpServerTest, RefusesOversizedHeadersWith431) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_header_bytes = 1024;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  auto req = get("/");
  req.headers.emplace_back("X-Long", std::string(4096, 'h'));
  auto res = send(client, origin_of(**server), req);
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 431u);
  EXPECT_NE(res->body.find("limit 1024 bytes"), std::string::npos);
}

TEST(HttpServerTest, AnswersMalformedRequestsWith400) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  raw_socket sock{(*server)->port()};
  ASSERT_TRUE(sock.connected());
  ASSERT_TRUE(sock.send("THIS IS NOT HTTP\r\n\r\n"));
  auto reply = sock.read_all(5s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"success\":false"), std::string::npos) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;

  http_client client{runtime};
  auto res = send(client, origin_of(**server), get("/after"));
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 200u);
}

// A body coded other than chunked (gzip) would reach the route as if it were the bytes
// sent: refused with 501 (RFC 9112 6.1), as a server that does not decode it should.
TEST(HttpServerTest, AnswersTransferCodingsOtherThanChunkedWith501) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  for (const char* coding : {"gzip, chunked", "deflate,chunked", "x-unknown, chunked"}) {
    raw_socket sock{(*server)->port()};
    ASSERT_TRUE(sock.connected());
    ASSERT_TRUE(sock.send(std::string{"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "} +
                          coding + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    auto reply = sock.read_all(5s);
    EXPECT_EQ(reply.rfind("HTTP/1.1 501", 0), 0u) << coding << ": " << reply;
  }
  raw_socket plain{(*server)->port()};
  ASSERT_TRUE(plain.send(
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n"));
  auto reply = plain.read_all(5s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("hello"), std::string::npos) << reply;
}

// Trailer fields of a chunked body, as many as fill this many bytes.
std::string trailer_of(size_t bytes) {
  std::string out;
  for (size_t i = 0; out.size() < bytes; ++i)
    out += "X-Trailer-" + std::to_string(i) + ": " + std::string(90, 't') + "\r\n";
  return out;
}

// Beast holds a chunked body's trailer whole before parsing it and bounds it by nothing of
// its own: 100 MB of trailer were kept in memory. A trailer past the head's room is 431,
// and a small one still passes.
TEST(HttpServerTest, RefusesATrailerPastItsRoomWith431) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_header_bytes = 1024;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  const std::string head = "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  raw_socket large{(*server)->port()};
  ASSERT_TRUE(large.connected());
  large.send(head + "5\r\nhello\r\n0\r\n" + trailer_of(200u << 10) + "\r\n");
  auto reply = large.read_all(5s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 300);
  EXPECT_NE(reply.find("trailer"), std::string::npos) << reply.substr(0, 300);
  EXPECT_EQ(reply.find("body=hello"), std::string::npos) << reply.substr(0, 300);

  raw_socket small{(*server)->port()};
  ASSERT_TRUE(small.send(head + "5\r\nhello\r\n0\r\n" + trailer_of(500) + "\r\n"));
  reply = small.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 300);
  EXPECT_NE(reply.find("body=hello"), std::string::npos) << reply.substr(0, 300);
}

// Bodies are read before a route can tell who sent them: a hundred connections announcing
// 16 MiB each and sending all but the last byte held 1.7 GB. Over every connection, the
// bodies' bytes are counted as they arrive, until their answers are written; a request
// whose bytes pass the bound gets 503 and its connection closes. Heads that announce
// bodies and send nothing hold nothing, and a body cut off gives its bytes back.
TEST(HttpServerTest, BodiesHeldInMemoryAreBoundedOverAllConnections) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_pending_body_bytes = 1u << 20;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto port = (*server)->port();
  auto post_head = [](size_t length) {
    return "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
  };
  // Twenty heads announcing 1 MB each, with no body: nothing held.
  std::vector<std::unique_ptr<raw_socket>> idle;
  for (int i = 0; i < 20; ++i) {
    idle.push_back(std::make_unique<raw_socket>(port));
    ASSERT_TRUE(idle.back()->send(post_head(1'000'000)));
  }
  std::string reply;
  {
    raw_socket whole{port};
    ASSERT_TRUE(whole.send(post_head(900'000) + std::string(900'000, 'w')));
    reply = whole.read_all(1s);
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
  }
  idle.clear();
  // Bodies cut off halfway give their bytes back.
  for (int i = 0; i < 10; ++i) {
    raw_socket cut{port};
    ASSERT_TRUE(cut.send(post_head(900'000) + std::string(500'000, 'c')));
  }
  ASSERT_TRUE(test::wait_until([&] { return (*server)->open_connections() == 0; }, 5s));
  // 800 KB held until its answer: a body past what is left is refused.
  raw_socket holder{port};
  ASSERT_TRUE(holder.send(post_head(800'000) + std::string(799'999, 'b')));
  ASSERT_TRUE(test::wait_until([&] { return (*server)->pending_body_bytes() == 799'999; }, 5s));
  raw_socket over{port};
  over.send(post_head(400'000) + std::string(400'000, 'o'));
  auto refused = over.read_all(2s);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused.substr(0, 300);
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  EXPECT_NE(refused.find("too many request bodies in memory (limit 1048576 bytes)"),
            std::string::npos)
      << refused;
  // A chunked body counts alike.
  raw_socket chunked{port};
  chunked.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n61a80\r\n" +
               std::string(400'000, 'k'));
  refused = chunked.read_all(2s);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused.substr(0, 300);
  // A small body still fits beside it.
  raw_socket small{port};
  ASSERT_TRUE(small.send(post_head(5) + "hello"));
  reply = small.read_all(1s);
  EXPECT_NE(reply.find("body=hello"), std::string::npos) << reply;
  // Once the held body is answered, its room is free again.
  ASSERT_TRUE(holder.send("b"));
  reply = holder.read_all(1s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
  raw_socket after{port};
  ASSERT_TRUE(after.send(post_head(900'000) + std::string(900'000, 'a')));
  reply = after.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
  // One body larger than all the room there is could never pass: 413.
  raw_socket huge{port};
  huge.send(post_head(2'000'000) + std::string(1'100'000, 'h'));
  reply = huge.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
}

// The local listener asks for the token from a request's head: a body without it is not
// read (50 connections announcing 16 MiB each held 860 MB before the route said 401).
TEST(HttpServerTest, ALocalBodyWithoutTheTokenIsRefusedFromItsHead) {
  io_runtime runtime{1};
  auto options = loopback_options();
  const std::string token = "a-token-of-thirty-two-characters";
  options.stream_body = bearer_before_body(token);
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  raw_socket stranger{(*server)->port()};
  ASSERT_TRUE(stranger.send(
      "POST /api/v1/chat.send HTTP/1.1\r\nHost: x\r\nContent-Length: 16000000\r\n\r\n"));
  auto reply = stranger.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << reply;
  EXPECT_NE(reply.find("missing or wrong bearer token"), std::string::npos) << reply;
  raw_socket wrong{(*server)->port()};
  ASSERT_TRUE(wrong.send("POST /x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                         "x\r\nContent-Length: 16000000\r\n\r\n"));
  reply = wrong.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << reply;
  raw_socket known{(*server)->port()};
  ASSERT_TRUE(known.send("POST /x HTTP/1.1\r\nHost: x\r\nAuthorization: bearer " + token +
                         "\r\nContent-Length: 5\r\n\r\nhello"));
  reply = known.read_all(1s);
  EXPECT_NE(reply.find("body=hello"), std::string::npos) << reply;
  // A request without a body is the route's to judge (the settings screen's page).
  raw_socket page{(*server)->port()};
  ASSERT_TRUE(page.send("GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"));
  reply = page.read_all(1s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

// Chunk extensions count against no body limit: a client sent 1.9 GB of them for a body of
// 28 bytes. Over a request they are bounded as its head is (431).
TEST(HttpServerTest, ChunkExtensionsAreBoundedLikeTheHead) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_header_bytes = 1024;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  std::string body;
  for (int i = 0; i < 20; ++i) body += "1;ext=" + std::string(100, 'e') + "\r\nx\r\n";
  raw_socket sock{(*server)->port()};
  ASSERT_TRUE(sock.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
                        "0\r\n\r\n"));
  auto reply = sock.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply;
  EXPECT_NE(reply.find("chunk extensions too large (limit 1024 bytes)"), std::string::npos)
      << reply;
  // Each chunk costs a parse: a body of more than 65,536 chunks (one per 256 bytes of a
  // larger body limit) is refused the same way.
  std::string tiny;
  for (int i = 0; i < 70'000; ++i) tiny += "1\r\nx\r\n";
  raw_socket many{(*server)->port()};
  many.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + tiny +
            "0\r\n\r\n");
  reply = many.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 300);
  EXPECT_NE(reply.find("too many chunks (limit 65536)"), std::string::npos) << reply.substr(0, 300);
  // A few short ones pass.
  raw_socket few{(*server)->port()};
  ASSERT_TRUE(
      few.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "2;a=b\r\nhi\r\n0\r\n\r\n"));
  reply = few.read_all(1s);
  EXPECT_NE(reply.find("body=hi"), std::string::npos) << reply;
}

// The bytes of an answer: the status line, the server's fields, the route's fields (any
// that could forge a field of its own or that frames the message dropped, values trimmed),
// the framing, and the body. A HEAD gets the head alone, a 204 no body even when the route
// gave one; HTTP/1.0 asks to be kept alive and HTTP/1.1 to be closed.
TEST(HttpServerTest, WritesAnswersByteForByte) {
  io_runtime runtime{1};
  auto handler = [](http_request&& req, responder respond) {
    http_response res;
    if (req.path() == "/text") {
      res.content_type = "text/plain";
      res.headers = {{"X-One", " 1\t"},
                     {"Bad\r\nName", "x"},
                     {"X-Two", "v\r\nForged: y"},
                     {":", "x"},
                     {"", "x"},
                     {"Content-Length", "99"},
                     {"transfer-encoding", "chunked"},
                     {"Connection", "keep-alive"},
                     {"Retry-After", "30"}};
      res.body = "hi";
    } else if (req.path() == "/nothing") {
      res.status = 204;
      res.body = "a body a 204 must not have";
    } else {
      res.status = 404;
      res.content_type.clear();
    }
    respond(std::move(res));
  };
  auto server = http_server::start(runtime, loopback_options(), handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  const std::string text_head =
      "Server: fedrelay\r\nContent-Type: text/plain\r\nX-One: 1\r\nRetry-After: 30\r\n";

  raw_socket kept{(*server)->port()};
  ASSERT_TRUE(kept.connected());
  ASSERT_TRUE(
      kept.send("GET /text HTTP/1.1\r\nHost: x\r\n\r\n"
                "HEAD /text HTTP/1.1\r\nHost: x\r\n\r\n"
                "DELETE /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  // No body and no Content-Length for the 204 (RFC 9110 section 8.6): the answer after it
  // on the same connection must start right after its head.
  EXPECT_EQ(kept.read_all(5s),
            "HTTP/1.1 200 OK\r\n" + text_head + "Content-Length: 2\r\n\r\nhi" +
                "HTTP/1.1 200 OK\r\n" + text_head + "Content-Length: 2\r\n\r\n" +
                "HTTP/1.1 204 No Content\r\nServer: fedrelay\r\n"
                "Content-Type: application/json\r\n\r\n"
                "HTTP/1.1 404 Not Found\r\nServer: fedrelay\r\nConnection: close\r\n"
                "Content-Length: 0\r\n\r\n");
  EXPECT_TRUE(kept.wait_closed(0ms));

  raw_socket old{(*server)->port()};
  ASSERT_TRUE(old.connected());
  ASSERT_TRUE(
      old.send("GET /text HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
               "GET /text HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(old.read_all(5s), "HTTP/1.0 200 OK\r\n" + text_head +
                                  "Connection: keep-alive\r\nContent-Length: 2\r\n\r\nhi" +
                                  "HTTP/1.0 200 OK\r\n" + text_head +
                                  "Content-Length: 2\r\n\r\nhi");
  EXPECT_TRUE(old.wait_closed(0ms));

  // A request that cannot be read, after a HEAD: its 400 carries its body.
  raw_socket after_head{(*server)->port()};
  ASSERT_TRUE(after_head.connected());
  ASSERT_TRUE(after_head.send("HEAD /text HTTP/1.1\r\nHost: x\r\n\r\nTHIS IS NOT HTTP\r\n\r\n"));
  auto answers = after_head.read_all(5s);
  auto second = answers.find("HTTP/1.1 400 Bad Request\r\n");
  ASSERT_NE(second, std::string::npos) << answers;
  EXPECT_EQ(answers.substr(0, second),
            "HTTP/1.1 200 OK\r\n" + text_head + "Content-Length: 2\r\n\r\n");
  EXPECT_NE(answers.find("\"success\":false", second), std::string::npos) << answers;
}

// A Content-Type with CR or LF (a file's type a peer gave, stored before types were
// checked) is not written: it would end the field and start others of the peer's choosing.
TEST(HttpServerTest, AContentTypeThatWouldForgeFieldsIsNotWritten) {
  io_runtime runtime{1};
  auto handler = [](http_request&&, responder respond) {
    http_response res;
    res.content_type = "text/html\r\nX-Forged: 1\r\n\r\n<script>";
    res.body = "hi";
    respond(std::move(res));
  };
  auto server = http_server::start(runtime, loopback_options(), handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  raw_socket sock{(*server)->port()};
  ASSERT_TRUE(sock.connected());
  ASSERT_TRUE(sock.send("GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(sock.read_all(5s),
            "HTTP/1.1 200 OK\r\nServer: fedrelay\r\nConnection: close\r\n"
            "Content-Length: 2\r\n\r\nhi");
}

TEST(HttpServerTest, SendsContinueBeforeTheBody) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  raw_socket sock{(*server)->port()};
  ASSERT_TRUE(sock.connected());
  ASSERT_TRUE(
      sock.send("POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                "Expect: 100-continue\r\nConnection: close\r\n\r\n"));
  auto interim = sock.read_all(500ms);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(sock.send("hello"));
  auto reply = sock.read_all(5s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("body=hello"), std::string::npos) << reply;
}

TEST(HttpServerTest, CutsOffSlowClientsAndKeepsServing) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.read_timeout = 1s;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  raw_socket sock{(*server)->port()};
  ASSERT_TRUE(sock.connected());
  std::string request = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Padding: ";
  request.append(200, 'p');
  auto start = clock_type::now();
  bool cut_off = false;
  // One byte every 50 ms: each read makes progress, only the request deadline stops it.
  for (size_t i = 0; i < request.size() && clock_type::now() - start < 5s; ++i) {
    if (!sock.send(request.substr(i, 1)) || sock.wait_closed(50ms)) {
      cut_off = true;
      break;
    }
  }
  auto elapsed = clock_type::now() - start;
  EXPECT_TRUE(cut_off);
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);

  http_client client{runtime};
  auto res = send(client, origin_of(**server), get("/after"));
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 200u);
}

TEST(HttpServerTest, ClosesIdleKeepAliveConnections) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.idle_timeout = 1s;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  raw_socket sock{(*server)->port()};
  ASSERT_TRUE(sock.connected());
  ASSERT_TRUE(sock.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto start = clock_type::now();
  EXPECT_TRUE(sock.wait_closed(5s));
  auto elapsed = clock_type::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(HttpServerTest, CapsConcurrentConnectionsWith503) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_connections = 2;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto& srv = **server;
  auto idle1 = std::make_unique<raw_socket>(srv.port());
  raw_socket idle2{srv.port()};
  ASSERT_TRUE(idle1->connected() && idle2.connected());
  ASSERT_TRUE(test::wait_until([&] { return srv.open_connections() == 2; }, 5s));

  http_client client{runtime};
  auto res = send(client, origin_of(srv), get("/third"));
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 503u);
  EXPECT_EQ(res->header("retry-after"), "1");
  EXPECT_NE(res->body.find("too many connections (limit 2)"), std::string::npos) << res->body;
  // Refused from its head: a body it announces is not waited for (nor held).
  raw_socket over{srv.port()};
  ASSERT_TRUE(over.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"));
  auto refused = over.read_all(2s);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;

  idle1.reset();
  ASSERT_TRUE(test::wait_until([&] { return srv.open_connections() == 1; }, 5s));
  res = send(client, origin_of(srv), get("/fourth"));
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_EQ(res->status, 200u);
}

// One client on a thousand connections, each sending a byte a second, held every place for
// read_timeout, again and again: one address holds max_connections_per_address at most,
// past which a connection is closed at once. (Loopback is bounded here for the test, as
// other addresses are; a node does not bound it.)
TEST(HttpServerTest, BoundsTheConnectionsOfOneAddress) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_connections_per_address = 2;
  options.bound_loopback = true;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto& srv = **server;
  auto first = std::make_unique<raw_socket>(srv.port(), "127.0.0.2");
  raw_socket second{srv.port(), "127.0.0.2"};
  ASSERT_TRUE(first->connected() && second.connected());
  ASSERT_TRUE(test::wait_until([&] { return srv.open_connections() == 2; }, 5s));
  raw_socket third{srv.port(), "127.0.0.2"};
  EXPECT_TRUE(third.wait_closed(2s));
  raw_socket other{srv.port(), "127.0.0.3"};
  ASSERT_TRUE(other.send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(other.read_all(1s).find("path=/other"), std::string::npos);
  // Once one of the address's connections is gone, it may open another.
  first.reset();
  ASSERT_TRUE(test::wait_until([&] { return srv.open_connections() == 2; }, 5s));
  raw_socket again{srv.port(), "127.0.0.2"};
  ASSERT_TRUE(again.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(again.read_all(1s).find("path=/again"), std::string::npos);

  // As a node runs it, loopback (where a reverse proxy connects from) is not bounded.
  options.bound_loopback = false;
  auto unbounded = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(unbounded) << caf::to_string(unbounded.error());
  std::vector<std::unique_ptr<raw_socket>> proxied;
  for (int i = 0; i < 4; ++i) {
    proxied.push_back(std::make_unique<raw_socket>((*unbounded)->port(), "127.0.0.4"));
    ASSERT_TRUE(proxied.back()->send("GET /proxied HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  for (auto& sock : proxied) EXPECT_NE(sock->read_all(1s).find("path=/proxied"), std::string::npos);
}

// Sixteen connections of one client filled the bodies' budget, and every peer got 503: one
// address holds its share of it at most, and others still have theirs.
TEST(HttpServerTest, OneAddressHoldsItsShareOfTheBodiesAtMost) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.max_connections_per_address = 100;
  options.bound_loopback = true;
  options.max_pending_body_bytes = 1u << 20;
  options.max_pending_body_bytes_per_address = 512u << 10;
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto port = (*server)->port();
  auto post = [](size_t length, size_t sent) {
    return "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n" +
           std::string(sent, 'b');
  };
  raw_socket holder{port, "127.0.0.2"};
  ASSERT_TRUE(holder.send(post(400'000, 399'999)));
  ASSERT_TRUE(test::wait_until([&] { return (*server)->pending_body_bytes() == 399'999; }, 5s));
  raw_socket over{port, "127.0.0.2"};
  over.send(post(200'000, 200'000));
  auto reply = over.read_all(2s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << reply.substr(0, 200);
  raw_socket other{port, "127.0.0.3"};
  ASSERT_TRUE(other.send(post(400'000, 400'000)));
  reply = other.read_all(1s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
  // The holder's answer gives its share back.
  ASSERT_TRUE(holder.send("b"));
  reply = holder.read_all(1s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
  raw_socket again{port, "127.0.0.2"};
  ASSERT_TRUE(again.send(post(450'000, 450'000)));
  reply = again.read_all(1s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
}

TEST(HttpServerTest, ReportsBindFailureWithAddressAndReason) {
  io_runtime runtime{1};
  auto first = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(first) << caf::to_string(first.error());
  auto options = loopback_options();
  options.listen.port = (*first)->port();
  auto second = http_server::start(runtime, options, echo_handler);
  ASSERT_FALSE(second);
  EXPECT_TRUE(has_code(second.error(), errc::bind_failed));
  auto text = caf::to_string(second.error());
  EXPECT_NE(text.find("127.0.0.1:" + std::to_string((*first)->port())), std::string::npos) << text;
  EXPECT_NE(text.find("in use"), std::string::npos) << text;
}

TEST(HttpServerTest, StopClosesTheListenerAndOpenConnections) {
  io_runtime runtime{1};
  std::vector<responder> parked;  // keeps the sessions waiting for an answer
  std::mutex mutex;
  auto server =
      http_server::start(runtime, loopback_options(), [&](http_request&&, responder respond) {
        std::lock_guard<std::mutex> guard{mutex};
        parked.push_back(std::move(respond));
      });
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto port = (*server)->port();
  raw_socket waiting{port};
  ASSERT_TRUE(waiting.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(test::wait_until([&] { return (*server)->open_connections() == 1; }, 5s));
  (*server)->stop();
  EXPECT_TRUE(waiting.wait_closed(2s));
  raw_socket late{port};
  EXPECT_FALSE(late.connected());
}

// ---- the client ----------------------------------------------------------------------------

TEST(HttpClientTest, FailsFastOnAClosedPort) {
  io_runtime runtime{1};
  http_client client{runtime};
  auto port = test::free_tcp_port();
  auto base = parse_url("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(base);
  auto start = clock_type::now();
  auto res = send(client, *base, get("/"), 10s);
  ASSERT_FALSE(res);
  EXPECT_TRUE(has_code(res.error(), errc::connect_failed)) << caf::to_string(res.error());
  EXPECT_NE(caf::to_string(res.error()).find("127.0.0.1:" + std::to_string(port)),
            std::string::npos);
  EXPECT_LT(clock_type::now() - start, 2s);
}

TEST(HttpClientTest, TimesOutWhenTheServerNeverAnswers) {
  io_runtime runtime{1};
  std::vector<responder> parked;
  std::mutex mutex;
  auto server =
      http_server::start(runtime, loopback_options(), [&](http_request&&, responder respond) {
        std::lock_guard<std::mutex> guard{mutex};
        parked.push_back(std::move(respond));
      });
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  auto start = clock_type::now();
  auto res = send(client, origin_of(**server), get("/never"), 300ms);
  auto elapsed = clock_type::now() - start;
  ASSERT_FALSE(res);
  EXPECT_TRUE(has_code(res.error(), errc::timeout)) << caf::to_string(res.error());
  EXPECT_NE(caf::to_string(res.error()).find("/never"), std::string::npos);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
  (*server)->stop();
  std::lock_guard<std::mutex> guard{mutex};
  parked.clear();
}

// A peer on 127.0.0.1 that gives answers no real server would: `serve` gets each accepted
// connection in turn (on the peer's thread) and the connection closes when it returns.
class raw_peer {
 public:
  explicit raw_peer(std::function<void(int fd)> serve) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 4) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return;
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this, serve = std::move(serve)] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int conn = ::accept(fd_, nullptr, nullptr);
        if (conn < 0) continue;
        serve(conn);
        ::close(conn);
      }
    }};
  }
  ~raw_peer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  url origin() const { return *parse_url("http://127.0.0.1:" + std::to_string(port_)); }

  // Reads one request head (the client's requests here have no body); false at EOF.
  static bool read_head(int fd) {
    std::string head;
    char c;
    while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
      if (::recv(fd, &c, 1, 0) != 1) return false;
      head.push_back(c);
    }
    return true;
  }
  static bool write(int fd, std::string_view data) {
    return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

 private:
  int fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A peer answering with a chunked body and an endless trailer, or endless chunk
// extensions: the client gives up at its bound (the response head's limit and one read)
// instead of keeping what comes, or parsing it, until the request's deadline.
TEST(HttpClientTest, RefusesAResponseTrailerOrChunkExtensionsPastTheirBound) {
  for (bool trailer : {true, false}) {
    std::atomic<size_t> sent{0};
    raw_peer peer{[&](int fd) {
      if (!raw_peer::read_head(fd)) return;
      raw_peer::write(fd, std::string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"} +
                              (trailer ? "2\r\nok\r\n0\r\n" : ""));
      // 8 MB at most, until the client closes.
      auto piece =
          trailer ? trailer_of(64u << 10) : "1;" + std::string(64u << 10, 'e') + "\r\nx\r\n";
      while (sent < (8u << 20) && raw_peer::write(fd, piece)) sent += piece.size();
    }};
    io_runtime runtime{1};
    {
      http_client client{runtime};
      auto res = send(client, peer.origin(), get("/"), 10s);
      ASSERT_FALSE(res) << res->status;
      EXPECT_TRUE(has_code(res.error(), errc::bad_response)) << caf::to_string(res.error());
      EXPECT_NE(caf::to_string(res.error())
                    .find(trailer ? "trailer or chunk header over 131072 bytes"
                                  : "chunk extensions over 65536 bytes"),
                std::string::npos)
          << caf::to_string(res.error());
    }
    EXPECT_LT(sent.load(), 8u << 20) << (trailer ? "trailer" : "chunk extensions");
  }
}

// An answer followed by bytes that answer nothing asked: the connection is not kept, so
// the next request gets its own answer, not those bytes.
TEST(HttpClientTest, AConnectionWithBytesPastTheAnswerIsNotKept) {
  std::atomic<int> connections{0};
  raw_peer peer{[&](int fd) {
    auto n = ++connections;
    while (raw_peer::read_head(fd)) {
      raw_peer::write(fd, n == 1 ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                                   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"
                                 : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    }
  }};
  io_runtime runtime{1};
  http_client client{runtime};
  auto first = send(client, peer.origin(), get("/1"));
  ASSERT_TRUE(first) << caf::to_string(first.error());
  EXPECT_EQ(first->body, "first");
  auto second = send(client, peer.origin(), get("/2"));
  ASSERT_TRUE(second) << caf::to_string(second.error());
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(connections.load(), 2);
}

// Interim answers (1xx) come before the answer: the client reads past them, and the next
// request on the kept connection gets its own answer, not the one before's.
TEST(HttpClientTest, ReadsPastInterimAnswers) {
  raw_peer peer{[](int fd) {
    if (!raw_peer::read_head(fd)) return;
    raw_peer::write(fd,
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
    if (!raw_peer::read_head(fd)) return;
    raw_peer::write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    if (!raw_peer::read_head(fd)) return;
    for (int i = 0; i < 20; ++i) raw_peer::write(fd, "HTTP/1.1 100 Continue\r\n\r\n");
  }};
  io_runtime runtime{1};
  http_client client{runtime};
  auto first = send(client, peer.origin(), get("/1"));
  ASSERT_TRUE(first) << caf::to_string(first.error());
  EXPECT_EQ(first->status, 200u);
  EXPECT_EQ(first->body, "first");
  auto second = send(client, peer.origin(), get("/2"));
  ASSERT_TRUE(second) << caf::to_string(second.error());
  EXPECT_EQ(second->body, "second");
  auto endless = send(client, peer.origin(), get("/3"));
  ASSERT_FALSE(endless);
  EXPECT_NE(caf::to_string(endless.error()).find("answered HTTP 100 again and again"),
            std::string::npos)
      << caf::to_string(endless.error());
}

TEST(HttpClientTest, RetriesAStalePooledConnectionOnce) {
  io_runtime runtime{1};
  auto options = loopback_options();
  options.idle_timeout = 1s;  // the server drops the pooled connection before its reuse
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime};
  auto http_post = [] {
    http_request req;
    req.method = "POST";
    req.target = "/tx";
    req.body = "payload";
    return req;
  };
  auto first = send(client, origin_of(**server), http_post());
  ASSERT_TRUE(first) << caf::to_string(first.error());
  ASSERT_TRUE(test::wait_until([&] { return (*server)->open_connections() == 0; }, 5s));
  auto second = send(client, origin_of(**server), http_post());
  ASSERT_TRUE(second) << caf::to_string(second.error());
  EXPECT_EQ(second->status, 200u);
  EXPECT_NE(second->body.find("body=payload"), std::string::npos);
  EXPECT_EQ((*server)->accepted_connections(), 2u);
}

TEST(HttpClientTest, QueuesRequestsPastTheConnectionLimitPerHost) {
  io_runtime runtime{2};
  std::vector<std::thread> workers;
  std::mutex mutex;
  auto server =
      http_server::start(runtime, loopback_options(), [&](http_request&& req, responder respond) {
        std::lock_guard<std::mutex> guard{mutex};
        workers.emplace_back([respond, t = req.target] {
          std::this_thread::sleep_for(50ms);
          http_response res;
          res.body = t;
          respond(res);
        });
      });
  ASSERT_TRUE(server) << caf::to_string(server.error());
  client_options copts;
  copts.max_connections_per_host = 1;
  http_client client{runtime, copts};
  std::vector<std::future<caf::expected<http_response>>> results;
  std::vector<std::shared_ptr<std::promise<caf::expected<http_response>>>> promises;
  for (int i = 0; i < 4; ++i) {
    auto p = std::make_shared<std::promise<caf::expected<http_response>>>();
    results.push_back(p->get_future());
    client.request(origin_of(**server), get("/r" + std::to_string(i)), 5s,
                   [p](caf::expected<http_response> r) { p->set_value(std::move(r)); });
    promises.push_back(p);
  }
  for (int i = 0; i < 4; ++i) {
    auto res = results[i].get();
    ASSERT_TRUE(res) << caf::to_string(res.error());
    EXPECT_EQ(res->body, "/r" + std::to_string(i));
  }
  EXPECT_EQ((*server)->accepted_connections(), 1u);
  std::lock_guard<std::mutex> guard{mutex};
  for (auto& t : workers) t.join();
}

TEST(HttpClientTest, GetsBlockingForTheCommandLine) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto url_text = origin_of(**server).to_string() + "/api/v1/federation.status?q=s";
  auto res = http_get_blocking(url_text, 5s, {{"X-Test", "cli"}});
  ASSERT_TRUE(res) << caf::to_string(res.error());
  EXPECT_NE(res->body.find("q=s\n"), std::string::npos);
  EXPECT_NE(res->body.find("x-test=cli\n"), std::string::npos);
  auto bad = http_get_blocking("nope://x", 1s);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has_code(bad.error(), errc::bad_url));
}

// peers.addresses: a host whose addresses the setting refuses is not connected to, and
// says why; an address it allows, or a host the operator named, is.
TEST(HttpClientTest, ConnectsOnlyToAddressesTheReachAllows) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, loopback_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  auto base = origin_of(**server);
  http_request req;
  req.target = "/x";
  for (auto reach : {config::address_reach::private_networks, config::address_reach::public_only}) {
    client_options o;
    o.reach = reach;
    auto refused = http_request_blocking(base, req, 5s, o);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(has_code(refused.error(), errc::connect_failed));
    auto why = caf::to_string(refused.error());  // its quotes escaped
    EXPECT_NE(why.find("127.0.0.1 is at 127.0.0.1, which peers.addresses = "), std::string::npos)
        << why;
    EXPECT_NE(why.find(config::to_string(reach) + "\\\" refuses"), std::string::npos) << why;
    // Trusted is the origin the operator named, not every port of its host.
    auto other_port = base;
    other_port.port = static_cast<uint16_t>(base.port == 65535 ? 1 : base.port + 1);
    o.trusted_origins = {other_port.origin()};
    EXPECT_FALSE(http_request_blocking(base, req, 5s, o));
    o.trusted_origins = {base.origin()};
    auto trusted = http_request_blocking(base, req, 5s, o);
    EXPECT_TRUE(trusted) << caf::to_string(trusted.error());
  }
  client_options any;
  any.reach = config::address_reach::any;
  auto allowed = http_request_blocking(base, req, 5s, any);
  EXPECT_TRUE(allowed) << caf::to_string(allowed.error());
}

// ---- HTTPS ---------------------------------------------------------------------------------

// A CA and a server certificate for 127.0.0.1 and localhost, plus an unrelated CA, made
// once for the suite with the openssl command.
class HttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::temp_dir{"fedrelay-https"};
    auto run = [](std::vector<std::string> argv) {
      auto r = test::run_command(argv, 30s);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    };
    auto ec_key = std::vector<std::string>{"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
      a.insert(a.begin() + 2, b.begin(), b.end());
      return a;
    };
    auto& d = *dir_;
    for (const char* ca : {"ca", "other-ca"})
      run(with({"openssl", "req", "-x509", "-keyout", d / (std::string{ca} + ".key"), "-out",
                d / (std::string{ca} + ".pem"), "-days", "2", "-subj", "/CN=fedrelay test CA"},
               ec_key));
    run(with({"openssl", "req", "-keyout", d / "server.key", "-out", d / "server.csr", "-subj",
              "/CN=127.0.0.1"},
             ec_key));
    test::write_file(d / "ext.cnf",
                     "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                     "extendedKeyUsage=serverAuth\n");
    run({"openssl", "x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.pem", "-CAkey",
         d / "ca.key", "-CAcreateserial", "-out", d / "server.pem", "-days", "2", "-extfile",
         d / "ext.cnf"});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  server_options tls_options() {
    auto o = loopback_options();
    o.tls_cert_file = *dir_ / "server.pem";
    o.tls_key_file = *dir_ / "server.key";
    return o;
  }

  /// A client that verifies servers against the CAs of `ca_file` in the test's directory.
  static client_options trusting(const char* ca_file) {
    client_options o;
    o.ca_file = *dir_ / ca_file;
    return o;
  }

  static test::temp_dir* dir_;
};

test::temp_dir* HttpsTest::dir_ = nullptr;

TEST_F(HttpsTest, RoundTripVerifiedAgainstTheTestCa) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, tls_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime, trusting("ca.pem")};
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto base = parse_url(std::string{"https://"} + host + ":" + std::to_string((*server)->port()));
    ASSERT_TRUE(base);
    for (int i = 0; i < 2; ++i) {
      http_request req;
      req.method = "POST";
      req.target = "/secure?q=" + std::to_string(i);
      req.body = "sealed";
      auto res = send(client, *base, req);
      ASSERT_TRUE(res) << host << ": " << caf::to_string(res.error());
      EXPECT_EQ(res->status, 200u);
      EXPECT_NE(res->body.find("body=sealed"), std::string::npos);
      EXPECT_NE(res->body.find("q=" + std::to_string(i)), std::string::npos);
    }
  }
  EXPECT_EQ((*server)->accepted_connections(), 2u);  // one per origin, reused
}

TEST_F(HttpsTest, WrongCaFailsWithTlsFailed) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, tls_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime, trusting("other-ca.pem")};
  auto res = send(client, origin_of(**server, "https"), get("/"));
  ASSERT_FALSE(res);
  EXPECT_TRUE(has_code(res.error(), errc::tls_failed)) << caf::to_string(res.error());
  EXPECT_NE(caf::to_string(res.error()).find("certificate"), std::string::npos)
      << caf::to_string(res.error());

  // Plain HTTP to the TLS-only port is not answered as HTTP.
  http_client plain{runtime};
  auto res2 = send(plain, origin_of(**server), get("/"), 3s);
  EXPECT_FALSE(res2);
}

// Other CAs loaded by reload_ca() verify from the next request on, the connection kept
// from before included: it is not used again. A bundle that does not load changes nothing.
TEST_F(HttpsTest, ReloadedCasVerifyTheNextRequestEvenOnAKeptConnection) {
  io_runtime runtime{1};
  auto server = http_server::start(runtime, tls_options(), echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime, trusting("ca.pem")};
  auto base = origin_of(**server, "https");
  ASSERT_TRUE(send(client, base, get("/")));
  ASSERT_TRUE(send(client, base, get("/")));
  EXPECT_EQ((*server)->accepted_connections(), 1u);  // kept and used again

  auto broken = client.reload_ca(*dir_ / "server.key");
  EXPECT_TRUE(has_code(broken, errc::tls_failed)) << caf::to_string(broken);
  ASSERT_TRUE(send(client, base, get("/")));
  EXPECT_EQ((*server)->accepted_connections(), 1u);  // nothing changed

  ASSERT_FALSE(client.reload_ca(*dir_ / "other-ca.pem"));
  auto refused = send(client, base, get("/"));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(has_code(refused.error(), errc::tls_failed)) << caf::to_string(refused.error());
  EXPECT_EQ((*server)->accepted_connections(), 2u);  // a new connection, refused

  ASSERT_FALSE(client.reload_ca(*dir_ / "ca.pem"));
  EXPECT_TRUE(send(client, base, get("/")));
}

TEST_F(HttpsTest, RejectsAHostNameTheCertificateDoesNotName) {
  io_runtime runtime{1};
  auto options = tls_options();
  options.listen.host = "127.0.0.2";
  auto server = http_server::start(runtime, options, echo_handler);
  ASSERT_TRUE(server) << caf::to_string(server.error());
  http_client client{runtime, trusting("ca.pem")};
  auto base = parse_url("https://127.0.0.2:" + std::to_string((*server)->port()));
  ASSERT_TRUE(base);
  auto res = send(client, *base, get("/"));
  ASSERT_FALSE(res);
  EXPECT_TRUE(has_code(res.error(), errc::tls_failed)) << caf::to_string(res.error());
}

TEST_F(HttpsTest, ReportsUnloadableCertificates) {
  io_runtime runtime{1};
  auto options = tls_options();
  options.tls_key_file.clear();
  auto only_cert = http_server::start(runtime, options, echo_handler);
  ASSERT_FALSE(only_cert);
  EXPECT_TRUE(has_code(only_cert.error(), errc::tls_failed));
  options.tls_key_file = *dir_ / "missing.key";
  auto missing = http_server::start(runtime, options, echo_handler);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(has_code(missing.error(), errc::tls_failed));
  EXPECT_NE(caf::to_string(missing.error()).find("missing.key"), std::string::npos);

  client_options copts;
  copts.ca_file = *dir_ / "no-such-ca.pem";
  http_client client{runtime, copts};
  auto res = send(client, *parse_url("https://127.0.0.1:1"), get("/"));
  ASSERT_FALSE(res);
  EXPECT_TRUE(has_code(res.error(), errc::tls_failed));
}

}  // namespace
}  // namespace fedrelay::net
