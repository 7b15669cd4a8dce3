// A real node facing a peer that the test plays itself (x.test, with a key the test holds):
// sealed transactions, replays, forgeries, tampering, stale times, versions, sizes and
// refused domains, each answered as docs/PROTOCOL.md says, with the node still serving.
#include <atomic>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "actors/request_auth.hpp"
#include "actors/room_event.hpp"
#include "actors/transaction.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/pem.hpp"
#include "crypto/sealing.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/io_runtime.hpp"
#include "tests/app/cluster.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

class PeerProtocolTest : public testing::Test {
 protected:
  temp_dir root;
  crypto::identity x = crypto::identity::generate();
  test_node a{"a.test", root.path()};
  crypto::public_key a_key = *crypto::parse_public_key_pem(a.public_key_pem());
  crypto::box_key box = *crypto::box_key::derive(x, a_key);
  std::string room;
  // x.test's federation port: nobody answers there, unless a test serves it.
  uint16_t x_port = free_tcp_port();

  void SetUp() override {
    // x.test is a static peer whose URL nobody answers: what a sends it just waits.
    a.use_peer_settings("deny = [\"z.test\"]\n");
    configure_a("");
    a.start();
    auto r =
        a.post("/api/v1/rooms.create", {{"name", "r"}, {"type", "public"}, {"owner", "alice"}});
    ASSERT_TRUE(r.value("success", false)) << r.dump();
    room = r["room_id"];
    ASSERT_TRUE(a.post("/api/v1/rooms.invite",
                       {{"room_id", room}, {"user", "xavier@x.test"}, {"by", "alice"}})
                    .value("success", false));
  }

  /// Writes a's settings: x.test as a static peer, small limits, then `extra` TOML.
  void configure_a(const std::string& extra) {
    a.configure({},
                "[limits]\nmax_body_bytes = 65536\nmax_content_bytes = 32768\n"
                "[[peers.static]]\ndomain = \"x.test\"\nurl = \"http://127.0.0.1:" +
                    std::to_string(x_port) +
                    "\"\n"
                    "public_key = \"\"\"" +
                    crypto::public_key_pem(x.public_key()) + "\"\"\"\n" + extra);
  }

  /// federation.users.search for `q` at a, signed by x.test for `destination` (none: the
  /// form of servers before the destination was signed).
  net::http_response signed_user_search(const std::string& q,
                                        const std::string& destination = "a.test") {
    net::http_request req;
    req.method = "GET";
    req.target = std::string{actors::users_search_path} + "?q=" + q;
    req.headers = actors::signed_headers(x, "x.test", destination, "GET", req.target, "");
    req.headers.emplace_back(std::string{actors::version_header}, "1");
    auto res = net::http_request_blocking(net::url{"http", "127.0.0.1", a.federation_port(), {}},
                                          std::move(req), 30s);
    EXPECT_TRUE(res) << (res ? "" : caf::to_string(res.error()));
    return res ? *res : net::http_response{};
  }

  /// An event by `user`, signed by x.test, wrapped as a submission to the host.
  std::string submission_of(actors::event_type type, const std::string& user, json content) {
    actors::room_event e;
    e.id = actors::random_hex(8) + ":x.test";
    e.type = type;
    e.room_id = room;
    e.origin = "x.test";
    e.user = user;
    e.ts = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
    e.content = std::move(content);
    actors::sign_event(e, x);
    return actors::submit_message(e);
  }

  /// A message by `user`, signed by x.test, wrapped as a submission to the host.
  std::string submission(const std::string& user, const std::string& text) {
    return submission_of(actors::event_type::message_sent, user, {{"text", text}});
  }

  /// A request to a's local API with its bearer token.
  net::http_response local_call(net::http_request req) {
    req.headers.emplace_back("Authorization", "Bearer " + a.token());
    auto res = net::http_request_blocking(net::url{"http", "127.0.0.1", a.local_port(), {}},
                                          std::move(req), 30s);
    EXPECT_TRUE(res) << (res ? "" : caf::to_string(res.error()));
    return res ? *res : net::http_response{};
  }

  actors::transaction transaction_of(std::vector<std::string> events) {
    actors::transaction t;
    t.id = actors::make_transaction_id("x.test");
    t.origin = "x.test";
    t.destination = "a.test";
    t.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    t.events = std::move(events);
    return t;
  }

  net::http_response dispatch(const std::string& body, const std::string& origin = "x.test",
                              const std::string& version = "1") {
    net::http_request req;
    req.method = "POST";
    req.target = std::string{actors::dispatch_path};
    req.headers = {{std::string{actors::origin_header}, origin},
                   {std::string{actors::version_header}, version}};
    req.body = body;
    auto res = net::http_request_blocking(net::url{"http", "127.0.0.1", a.federation_port(), {}},
                                          std::move(req), 30s);
    EXPECT_TRUE(res) << (res ? "" : caf::to_string(res.error()));
    return res ? *res : net::http_response{};
  }

  size_t messages_in_inbox() {
    size_t n = 0;
    for (const auto& e : room_events(a.all_events(), room))
      n += e.value("type", "") == "message.sent";
    return n;
  }

  void expect_still_serving() {
    unsigned status = 0;
    a.get("/api/v1/federation.status", &status);
    EXPECT_EQ(status, 200u);
  }

  /// Submits, as x.test, a file.shared event of `bytes` under `name` and `mime`, and checks
  /// that the host took it.
  /// `size` stands for the bytes' size when given.
  void share_from_x(const std::string& bytes, const std::string& name, const std::string& mime,
                    std::optional<uint64_t> size = std::nullopt) {
    json file = {{"file_id", crypto::to_hex(crypto::blake2b_256(bytes))},
                 {"name", name},
                 {"mime", mime},
                 {"size", size.value_or(bytes.size())}};
    auto res = dispatch(box.seal(actors::encode_transaction(
        transaction_of({submission_of(actors::event_type::file_shared, "xavier@x.test", file)}))));
    ASSERT_EQ(res.status, 200u) << res.body;
    auto receipt = actors::decode_receipt(*box.open(res.body));
    ASSERT_TRUE(receipt);
    ASSERT_EQ(receipt->results.size(), 1u);
    EXPECT_TRUE(receipt->results[0].accepted) << receipt->results[0].reason;
  }

  /// files.get of `bytes` at a: the answer, once the content is there (or after 10 s).
  net::http_response served(const std::string& bytes) {
    net::http_response res;
    wait_until(
        [&] {
          net::http_request get;
          get.target = "/api/v1/files.get?id=" + crypto::to_hex(crypto::blake2b_256(bytes));
          res = local_call(std::move(get));
          return res.status == 200;
        },
        10s);
    return res;
  }
};

TEST_F(PeerProtocolTest, ReplayedTransactionGetsTheStoredReceiptAndIsAppliedOnce) {
  auto sealed =
      box.seal(actors::encode_transaction(transaction_of({submission("xavier@x.test", "hi")})));
  auto first = dispatch(sealed);
  ASSERT_EQ(first.status, 200u) << first.body;
  auto receipt = actors::decode_receipt(*box.open(first.body));
  ASSERT_TRUE(receipt);
  ASSERT_EQ(receipt->results.size(), 1u);
  EXPECT_TRUE(receipt->results[0].accepted) << receipt->results[0].reason;
  auto replay = dispatch(sealed);
  ASSERT_EQ(replay.status, 200u);
  auto again = actors::decode_receipt(*box.open(replay.body));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->transaction_id, receipt->transaction_id);
  EXPECT_EQ(messages_in_inbox(), 1u);
}

TEST_F(PeerProtocolTest, AServerMaySpeakOnlyForItsOwnUsers) {
  auto sealed =
      box.seal(actors::encode_transaction(transaction_of({submission("carol@c.test", "forged")})));
  auto res = dispatch(sealed);
  ASSERT_EQ(res.status, 200u);
  // Delivered (the receipt takes it), but the host refuses it as a room event: nothing is
  // applied, and the refusal travels back to x.test as a "rejected" message.
  auto receipt = actors::decode_receipt(*box.open(res.body));
  ASSERT_TRUE(receipt);
  ASSERT_EQ(receipt->results.size(), 1u);
  EXPECT_EQ(messages_in_inbox(), 0u);
  auto honest = dispatch(
      box.seal(actors::encode_transaction(transaction_of({submission("xavier@x.test", "mine")}))));
  ASSERT_EQ(honest.status, 200u);
  EXPECT_EQ(messages_in_inbox(), 1u);
}

TEST_F(PeerProtocolTest, MalformedRoomMessagesAreRefusedOneByOne) {
  std::string their_room = std::string(32, 'c') + ":x.test";
  json sequenced = {{"id", "e1:x.test"},       {"type", "message.sent"},
                    {"room_id", their_room},   {"origin", "x.test"},
                    {"user", "xavier@x.test"}, {"ts", 1},
                    {"sig", "AAAA"},           {"seq", 1},
                    {"content", {{"text", 5}}}};
  std::vector<std::string> events = {
      json{{"id", "m1"}, {"kind", 5}}.dump(),
      json{{"id", "m2"}, {"kind", "event"}, {"event", {{"room_id", 7}}}}.dump(),
      json{{"id", "m3"}, {"kind", "event"}, {"event", sequenced}}.dump(),
      json{{"id", "m4"}, {"kind", {{"nested", true}}}, {"event", sequenced}}.dump(),
      json{{"id", "m5"}, {"kind", "event"}, {"event", "not an object"}}.dump(),
  };
  auto res = dispatch(box.seal(actors::encode_transaction(transaction_of(events))));
  ASSERT_EQ(res.status, 200u) << res.body;
  auto receipt = actors::decode_receipt(*box.open(res.body));
  ASSERT_TRUE(receipt);
  ASSERT_EQ(receipt->results.size(), events.size());
  for (const auto& r : receipt->results) EXPECT_FALSE(r.accepted) << r.id;
  expect_still_serving();
  auto honest = dispatch(
      box.seal(actors::encode_transaction(transaction_of({submission("xavier@x.test", "fine")}))));
  ASSERT_EQ(honest.status, 200u) << honest.body;
  EXPECT_EQ(messages_in_inbox(), 1u);
}

TEST_F(PeerProtocolTest, ForgedOriginIsRefusedWith401) {
  auto mallory = crypto::identity::generate();
  auto forged = crypto::box_key::derive(mallory, a_key)
                    ->seal(actors::encode_transaction(
                        transaction_of({submission("xavier@x.test", "forged")})));
  auto res = dispatch(forged);
  EXPECT_EQ(res.status, 401u) << res.body;
  EXPECT_EQ(messages_in_inbox(), 0u);
  expect_still_serving();
}

TEST_F(PeerProtocolTest, TamperedBodyIsRefusedWith401) {
  auto sealed =
      box.seal(actors::encode_transaction(transaction_of({submission("xavier@x.test", "x")})));
  sealed[sealed.size() / 2] ^= 0x01;
  EXPECT_EQ(dispatch(sealed).status, 401u);
  EXPECT_EQ(dispatch("not even a box").status, 401u);
  expect_still_serving();
}

TEST_F(PeerProtocolTest, StaleTransactionIsRefusedWith422) {
  auto t = transaction_of({submission("xavier@x.test", "old")});
  t.created_ms -= 3'600'000;
  auto res = dispatch(box.seal(actors::encode_transaction(t)));
  EXPECT_EQ(res.status, 422u) << res.body;
  EXPECT_EQ(messages_in_inbox(), 0u);
}

TEST_F(PeerProtocolTest, UnknownVersionIsAnsweredWithTheVersionsSpoken) {
  auto res = dispatch(box.seal(actors::encode_transaction(transaction_of({}))), "x.test", "9");
  EXPECT_EQ(res.status, 400u);
  auto j = json::parse(res.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << res.body;
  EXPECT_EQ(j["versions"], json::array({1}));
}

TEST_F(PeerProtocolTest, OversizedBodyIsRefusedWith413) {
  auto res = dispatch(std::string(200'000, 'x'));
  EXPECT_EQ(res.status, 413u);
  expect_still_serving();
}

/// How many times `text` occurs in `log`.
size_t occurrences(const std::string& log, const std::string& text) {
  size_t n = 0;
  for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1)) ++n;
  return n;
}

TEST_F(PeerProtocolTest, DeniedDomainIsRefusedWith403BeforeAnyWork) {
  auto res = dispatch("anything", "z.test");
  EXPECT_EQ(res.status, 403u);
  EXPECT_NE(res.body.find("domain not allowed: z.test"), std::string::npos) << res.body;
  for (int i = 0; i < 5; ++i) dispatch("anything", "z.test");
  // Logged once for the domain, not once per request.
  EXPECT_EQ(occurrences(a.log(), "refusing federation requests from z.test"), 1u) << a.log();
}

TEST_F(PeerProtocolTest, RequestsFromMadeUpDomainsLeaveABoundedNumberOfLogLines) {
  // Anyone can name any domain: each request below is a lookup that fails (503), and each
  // used to leave two lines in the log.
  for (int i = 0; i < 40; ++i) {
    auto res = dispatch("anything", "made-up-" + std::to_string(i) + ".test");
    EXPECT_EQ(res.status, 503u) << res.body;
  }
  expect_still_serving();
  auto log = a.log();
  EXPECT_EQ(occurrences(log, "cannot resolve it"), 10u) << log;
  EXPECT_EQ(occurrences(log, "discovery of made-up-"), 10u) << log;
}

TEST_F(PeerProtocolTest, ARequestNamingTheNodesOwnDomainIsRefusedWith403) {
  for (const char* origin : {"a.test", "A.Test"}) {
    auto res = dispatch("anything", origin);
    EXPECT_EQ(res.status, 403u) << res.body;
    EXPECT_NE(res.body.find("is this node's own domain"), std::string::npos) << res.body;
  }
  expect_still_serving();
}

// A peer searches users by the start of their names; an empty start, which would list
// them all, is refused.
TEST_F(PeerProtocolTest, AUserSearchOfAPeerNeedsTheStartOfAName) {
  ASSERT_TRUE(a.post("/api/v1/users.register", {{"username", "alice"}}).value("success", false));
  auto found = signed_user_search("al");
  EXPECT_EQ(found.status, 200u) << found.body;
  EXPECT_NE(found.body.find("\"username\":\"alice\""), std::string::npos) << found.body;
  auto all = signed_user_search("");
  EXPECT_EQ(all.status, 400u) << all.body;
  EXPECT_EQ(all.body.find("alice"), std::string::npos) << all.body;
  // A chat server asking for all users of a peer is told so by its own node.
  unsigned status = 0;
  auto local = a.get("/api/v1/users.search?q=@x.test", &status);
  EXPECT_EQ(status, 400u) << local.dump();
  EXPECT_NE(local.value("error", "").find("the start of a user name before @x.test"),
            std::string::npos)
      << local.dump();
}

// A signed read names the server it is for: one that received it cannot ask another the
// same in the caller's name. Reads signed in the form of servers before, without a
// destination, are still answered.
TEST_F(PeerProtocolTest, ASignedReadForAnotherServerIsRefusedWith401) {
  ASSERT_TRUE(a.post("/api/v1/users.register", {{"username", "alice"}}).value("success", false));
  auto elsewhere = signed_user_search("al", "c.test");
  EXPECT_EQ(elsewhere.status, 401u) << elsewhere.body;
  EXPECT_NE(elsewhere.body.find("request signed for c.test, not for a.test"), std::string::npos)
      << elsewhere.body;
  EXPECT_EQ(elsewhere.body.find("alice"), std::string::npos) << elsewhere.body;
  auto here = signed_user_search("al", "a.test");
  EXPECT_EQ(here.status, 200u) << here.body;
  EXPECT_NE(here.body.find("\"username\":\"alice\""), std::string::npos) << here.body;
  auto older_form = signed_user_search("al", "");
  EXPECT_EQ(older_form.status, 200u) << older_form.body;
}

// What a node asks a peer in a signed read names that peer, under its signature.
TEST_F(PeerProtocolTest, ANodesSignedReadsNameThePeerTheyAreFor) {
  std::mutex m;
  std::vector<net::http_request> asked;
  net::io_runtime io{1};
  net::server_options options;
  options.listen = config::endpoint{"127.0.0.1", x_port};
  auto x_server =
      net::http_server::start(io, options, [&](net::http_request&& req, net::responder respond) {
        // a also sends x.test the room's events (xavier's invitation); only the search counts.
        if (req.target.rfind(actors::users_search_path, 0) == 0) {
          std::lock_guard<std::mutex> lock{m};
          asked.push_back(std::move(req));
        }
        net::http_response res;
        res.body = R"({"success":true,"users":[]})";
        respond(std::move(res));
      });
  ASSERT_TRUE(x_server) << caf::to_string(x_server.error());
  unsigned status = 0;
  auto found = a.get("/api/v1/users.search?q=xa@x.test", &status);
  ASSERT_EQ(status, 200u) << found.dump();
  std::lock_guard<std::mutex> lock{m};
  ASSERT_EQ(asked.size(), 1u);
  const auto& req = asked.front();
  EXPECT_EQ(req.header(actors::destination_header), "x.test");
  std::string key(a_key.begin(), a_key.end());
  auto check_at = [&](const std::string& own_domain) {
    return actors::verify_request(key, req.method, req.target, req.header(actors::time_header),
                                  req.body, req.header(actors::signature_header), 300s,
                                  req.header(actors::destination_header), own_domain);
  };
  EXPECT_EQ(check_at("x.test"), caf::none);
  EXPECT_NE(check_at("c.test"), caf::none);
}

// What a peer answers is passed on only as far as it is what a node answers: at most as
// many users, each a name of that peer's domain.
TEST_F(PeerProtocolTest, APeersSearchAnswerIsPassedOnOnlyAsFarAsItIsWellFormed) {
  net::io_runtime io{1};
  net::server_options options;
  options.listen = config::endpoint{"127.0.0.1", x_port};
  auto x_server =
      net::http_server::start(io, options, [&](net::http_request&&, net::responder respond) {
        json users = json::array({json{{"username", "evil@c.test"}},
                                  json{{"username", std::string{"a b\0", 4}}},
                                  json{{"username", "xavier"}, {"name", "Xavier"}}});
        for (int i = 0; i < 100; ++i) users.push_back({{"username", "x" + std::to_string(i)}});
        net::http_response res;
        res.body = json{{"success", true}, {"users", users}}.dump();
        respond(std::move(res));
      });
  ASSERT_TRUE(x_server) << caf::to_string(x_server.error());
  unsigned status = 0;
  auto found = a.get("/api/v1/users.search?q=x@x.test", &status);
  ASSERT_EQ(status, 200u) << found.dump();
  ASSERT_EQ(found["users"].size(), 50u) << found.dump();
  EXPECT_EQ(found["users"][0], (json{{"username", "xavier@x.test"}, {"name", "Xavier"}}));
  for (const auto& u : found["users"])
    EXPECT_EQ(u["username"].get<std::string>().find("@x.test"),
              u["username"].get<std::string>().size() - 7)
        << u;
}

// A peer's answer is quoted in its queue's last error and the log as one line of bounded
// length, whatever bytes it holds: federation.status still answers.
TEST_F(PeerProtocolTest, APeersAnswerIsQuotedAsOneBoundedLine) {
  const std::string forged = "\n[2099-01-01 00:00:00.000] [net] [error] FORGED LOG LINE\n";
  net::io_runtime io{1};
  net::server_options options;
  options.listen = config::endpoint{"127.0.0.1", x_port};
  auto x_server =
      net::http_server::start(io, options, [&](net::http_request&&, net::responder respond) {
        net::http_response res;
        res.status = 400;
        res.body = "\xff\xfe" + forged + std::string(5000, 'y');
        respond(std::move(res));
      });
  ASSERT_TRUE(x_server) << caf::to_string(x_server.error());
  std::string last_error;
  ASSERT_TRUE(wait_until(
      [&] {
        unsigned status = 0;
        auto s = a.get("/api/v1/federation.status", &status);
        EXPECT_EQ(status, 200u) << s.dump();
        for (const auto& p : s["peers"])
          if (p.value("domain", "") == "x.test") last_error = p.value("last_error", "");
        // An error from before the test server listened may come first.
        return last_error.rfind("HTTP 400", 0) == 0;
      },
      20s))
      << a.log();
  EXPECT_EQ(last_error.rfind("HTTP 400: \xEF\xBF\xBD\xEF\xBF\xBD\\n[2099-01-01", 0), 0u)
      << last_error;
  EXPECT_LE(last_error.size(), 1100u);
  EXPECT_EQ(a.log().find("\n[2099-01-01"), std::string::npos) << a.log();
}

TEST_F(PeerProtocolTest, MissingOriginIsABadRequest) {
  auto res = dispatch("anything", "");
  EXPECT_EQ(res.status, 400u);
}

// An origin that is no domain name is refused before it is counted, logged or looked up:
// kilobytes of anything, under a new name each time, would otherwise be kept for each.

// Servers of older versions shared files of any Content-Type, so a peer's file.shared
// event is applied whatever its type; what is written into a Content-Type is checked when
// the file is served. A type with CR and LF would otherwise forge fields of the answer.
TEST_F(PeerProtocolTest, APeersFileTypeThatIsNoMediaTypeIsServedAsBytes) {
  // x.test serves the bytes when a fetches them from it.
  net::io_runtime io{1};
  net::server_options options;
  options.listen = config::endpoint{"127.0.0.1", x_port};
  auto origin =
      net::http_server::start(io, options, [](net::http_request&&, net::responder respond) {
        net::http_response res;
        res.content_type = "application/octet-stream";
        res.body = "hello";
        respond(std::move(res));
      });
  ASSERT_TRUE(origin) << caf::to_string(origin.error());
  share_from_x("hello", "h.html", "text/html\r\nX-Injected: 1");
  auto res = served("hello");
  ASSERT_EQ(res.status, 200u) << res.body << a.log();
  EXPECT_EQ(res.body, "hello");
  EXPECT_EQ(res.content_type, "application/octet-stream");
  EXPECT_EQ(res.header("X-Injected"), "");
}

// An origin that answers a fetch with 401 (one of an earlier version, which does not take
// the destination this node signs) is asked again for as long as it takes, without using up
// the attempts a refusal has: the file is fetched once the origin takes the reads.
TEST_F(PeerProtocolTest, AFetchAnswered401IsAskedAgainWithoutUsingUpItsAttempts) {
  ASSERT_TRUE(a.stop());
  // The test nodes' backoff runs from 100 ms to 1 s.
  configure_a("[files]\nfetch_attempts = 1\n");
  a.start();
  std::atomic<int> asked{0};
  std::atomic<bool> takes_reads{false};
  net::io_runtime io{1};
  net::server_options options;
  options.listen = config::endpoint{"127.0.0.1", x_port};
  auto x_server =
      net::http_server::start(io, options, [&](net::http_request&& req, net::responder respond) {
        net::http_response res;
        if (req.target.rfind(actors::files_get_path, 0) == 0) {
          ++asked;
          if (!takes_reads) {
            res.status = 401;
            res.body = R"({"success":false,"error":"signature does not verify"})";
            return respond(std::move(res));
          }
          res.content_type = "application/octet-stream";
          res.body = "hello";
        }
        respond(std::move(res));
      });
  ASSERT_TRUE(x_server) << caf::to_string(x_server.error());
  share_from_x("hello", "h.txt", "text/plain");
  ASSERT_TRUE(wait_until([&] { return asked >= 4; }, 20s)) << asked << a.log();
  net::http_request info;
  info.target = "/api/v1/files.info?id=" + crypto::to_hex(crypto::blake2b_256("hello"));
  auto fetching = local_call(std::move(info));
  EXPECT_NE(fetching.body.find("\"state\":\"fetching\""), std::string::npos) << fetching.body;
  takes_reads = true;
  auto res = served("hello");
  EXPECT_EQ(res.status, 200u) << res.body << a.log();
  EXPECT_EQ(res.body, "hello");
}

// A content is served with the type and name of its first share: a peer that shares bytes
// held here already (a local upload's) does not change how they are served.
TEST_F(PeerProtocolTest, APeersShareOfBytesHeldHereLeavesTheirTypeAndName) {
  net::http_request up;
  up.method = "POST";
  up.target = "/api/v1/files.upload?room_id=" + room + "&user=alice&name=h.txt";
  up.headers = {{"Content-Type", "text/plain"}};
  up.body = "hello";
  auto uploaded = local_call(std::move(up));
  ASSERT_EQ(uploaded.status, 200u) << uploaded.body;
  std::string id = json::parse(uploaded.body)["file_id"];
  auto available = [&] {
    std::vector<json> found;
    for (const auto& e : a.all_events())
      if (e.value("type", "") == "file.available" && e.value("file_id", "") == id)
        found.push_back(e);
    return found;
  };
  share_from_x("hello", "setup.exe", "application/x-msdownload");
  // The share is applied, and the local server is told of the bytes under its name.
  EXPECT_TRUE(wait_until([&] { return available().size() == 1; }, 10s));
  // Again, declaring another size: the bytes here are those of the id all the same.
  share_from_x("hello", "big.exe", "application/x-msdownload", 999);
  EXPECT_TRUE(wait_until([&] { return available().size() == 2; }, 10s));
  auto told = available();
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[0]["name"], "setup.exe");
  EXPECT_EQ(told[0]["origin"], "x.test");
  EXPECT_EQ(told[1]["size"], 5);
  auto res = served("hello");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "text/plain");
  auto info = a.get("/api/v1/files.info?id=" + id);
  EXPECT_EQ(info["file"]["state"], "ready") << info.dump();
  EXPECT_EQ(info["file"]["name"], "h.txt") << info.dump();
  EXPECT_EQ(info["file"]["origin"], "a.test") << info.dump();
}

// A share that names an empty file has nothing to fetch: it fails at once.
TEST_F(PeerProtocolTest, AShareOfAnEmptyFileFailsWithoutAFetch) {
  share_from_x("never sent", "empty.txt", "text/plain", 0);
  auto id = crypto::to_hex(crypto::blake2b_256("never sent"));
  json info;
  EXPECT_TRUE(wait_until(
      [&] {
        info = a.get("/api/v1/files.info?id=" + id).value("file", json::object());
        return info.value("state", "") == "failed";
      },
      10s))
      << info.dump();
  EXPECT_EQ(info.value("error", ""), "the share names an empty file") << info.dump();
}

TEST_F(PeerProtocolTest, AnOriginThatIsNoDomainNameIsABadRequest) {
  for (const std::string& origin :
       {std::string(4000, 'x') + ".test", std::string{"not a domain"}, std::string{"a.test/x"},
        std::string{"-"} + std::string(300, 'a')}) {
    auto res = dispatch("anything", origin);
    EXPECT_EQ(res.status, 400u) << res.body;
    EXPECT_NE(res.body.find("is not a domain name"), std::string::npos) << res.body;
  }
  EXPECT_EQ(a.log().find("refusing federation requests from"), std::string::npos) << a.log();
  expect_still_serving();
}

}  // namespace
}  // namespace fedrelay::test
