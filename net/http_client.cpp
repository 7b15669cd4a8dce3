// The HTTP/1.1 and HTTPS client on Beast: one client_op per request walks resolve,
// connect, handshake, write and read as do_x/on_x pairs, borrowing a pooled connection.
#include "net/http_client.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/errc.hpp"
#include "net/http_internal.hpp"
#include "net/ip_scope.hpp"

namespace fedrelay::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using strand_type = asio::strand<asio::io_context::executor_type>;

namespace {

constexpr std::uint32_t response_header_limit = 64u << 10;
// Interim answers (1xx) taken before the answer to one request, at most.
constexpr int max_interim_answers = 8;
// Beast reads into what the buffer has room for, at least 512 bytes and at most 64 KiB a
// call: an empty buffer read a 4 MiB response 512 bytes (one system call) at a time. The
// room is given back with the response, so a pooled idle connection holds none.
constexpr size_t response_read_bytes = 64u << 10;

// The errors by which a reused keep-alive connection shows that the server had closed it.
bool is_stale_connection_error(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
         ec == ssl::error::stream_truncated;
}

}  // namespace

// One pooled connection: a plain or a TLS stream on the client's strand, with the buffer
// that may hold bytes read past a response.
struct connection {
  // The CAs this connection was verified with; declared before the stream, so that it
  // outlives it when reload_ca() has put another context in the core.
  std::shared_ptr<ssl::context> tls_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  beast::tcp_stream& socket_layer() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  template <class Fn>
  void visit(Fn&& fn) {
    if (secure)
      fn(*secure);
    else
      fn(*plain);
  }
};

class client_op;

// The connections of one origin. `open` counts every connection that exists or is being
// made (idle, busy, connecting); it never exceeds max_connections_per_host.
struct host_pool {
  std::vector<std::unique_ptr<connection>> idle;
  size_t open = 0;
  std::deque<std::weak_ptr<client_op>> waiting;
};

// Shared by the client and its requests in flight; every member is used on `strand` only,
// except the constants set at construction.
struct http_client::core {
  core(asio::io_context& ioc, client_options opts)
      : ioc(ioc), options(std::move(opts)), strand(asio::make_strand(ioc)) {}

  asio::io_context& ioc;
  client_options options;
  strand_type strand;
  // The CAs new https connections are verified with; reload_ca() replaces it.
  std::shared_ptr<ssl::context> tls;
  caf::error tls_error;  // why `tls` could not be set up; fails https requests
  std::map<std::string, host_pool> pools;
  bool closed = false;

  // Closes the idle connections (their slots free again); busy ones are not touched.
  void close_idle() {
    for (auto& [key, pool] : pools) {
      pool.open -= pool.idle.size();
      pool.idle.clear();
    }
  }

  // Gives a slot (and, when reusable, its connection) back: to the first request still
  // waiting for this origin, else to the idle list, else closes it.
  void release(const std::string& key, std::unique_ptr<connection> conn, bool reusable);
};

// One request from call to callback. Exactly one asynchronous step is pending at any time
// (or the op is queued for a slot), so whichever handler runs after a deadline gives the
// slot back.
class client_op : public std::enable_shared_from_this<client_op> {
 public:
  client_op(std::shared_ptr<http_client::core> core, url base, http_request req,
            std::chrono::milliseconds timeout, response_callback done)
      : core_(std::move(core)),
        base_(std::move(base)),
        key_(base_.origin()),
        timeout_(timeout),
        done_(std::move(done)),
        timer_(core_->strand),
        resolver_(core_->strand) {
    build_request(req);
  }

  ~client_op() {
    // Only reached unfinished when the runtime stopped and dropped the pending handler.
    if (!finished_ && done_)
      done_(caf::make_error(errc::timeout,
                            "request to " + where() + " abandoned: the io runtime stopped"));
  }

  void start() {
    if (base_.tls() && core_->tls_error) return finish(core_->tls_error);
    timer_.expires_after(timeout_);
    timer_.async_wait(beast::bind_front_handler(&client_op::on_deadline, shared_from_this()));
    do_acquire();
  }

  // A connection (or, when null, the right to open one) handed over by release().
  void on_slot(std::unique_ptr<connection> conn) {
    if (finished_) {
      bool reusable = conn != nullptr;
      return core_->release(key_, std::move(conn), reusable);
    }
    has_slot_ = true;
    if (conn) {
      conn_ = std::move(conn);
      reused_ = true;
      return do_write();
    }
    do_resolve();
  }

  bool finished() const { return finished_; }

 private:
  std::string where() const { return base_.origin() + std::string{req_.target()}; }

  void build_request(http_request& in) {
    auto verb = http::string_to_verb(in.method);
    if (verb == http::verb::unknown)
      req_.method_string(in.method);
    else
      req_.method(verb);
    req_.target(in.target.empty() ? "/" : in.target);
    req_.version(11);
    req_.set(http::field::host, host_header(base_));
    req_.set(http::field::user_agent, "fedrelay");
    for (const auto& [name, value] : in.headers) {
      if (name.empty() || name.find_first_of("\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos)
        continue;
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding"))
        continue;
      req_.set(name, value);
    }
    req_.body() = std::move(in.body);
    req_.prepare_payload();
    head_ = verb == http::verb::head;
  }

  void do_acquire() {
    auto& pool = core_->pools[key_];
    auto now = std::chrono::steady_clock::now();
    while (!pool.idle.empty()) {
      auto conn = std::move(pool.idle.back());
      pool.idle.pop_back();
      if (now - conn->idle_since < core_->options.idle_timeout) {
        has_slot_ = true;
        conn_ = std::move(conn);
        reused_ = true;
        return do_write();
      }
      --pool.open;
    }
    if (pool.open < std::max<size_t>(core_->options.max_connections_per_host, 1)) {
      ++pool.open;
      has_slot_ = true;
      return do_resolve();
    }
    pool.waiting.push_back(weak_from_this());
  }

  void on_deadline(beast::error_code ec) {
    if (ec || finished_) return;
    finish(caf::make_error(errc::timeout, "request to " + where() + " timed out after " +
                                              std::to_string(timeout_.count()) + " ms"));
    // Abort the step in flight; its handler sees finished_ and gives the slot back.
    resolver_.cancel();
    if (conn_) {
      beast::error_code ignored;
      conn_->socket_layer().socket().close(ignored);
    }
  }

  void do_resolve() {
    resolver_.async_resolve(base_.host, std::to_string(base_.port),
                            beast::bind_front_handler(&client_op::on_resolve, shared_from_this()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (finished_) return drop_slot();
    if (ec)
      return fail(errc::connect_failed,
                  "cannot resolve " + base_.host + " for " + where() + ": " + ec.message());
    // What was resolved is what is connected to, so a name that resolves to a public
    // address when checked and to an inner one when used gains nothing.
    const auto& o = core_->options;
    bool trusted = std::find(o.trusted_origins.begin(), o.trusted_origins.end(), key_) !=
                   o.trusted_origins.end();
    endpoints_.clear();
    std::string refused;
    // Read at each new connection: a machine's addresses change (DHCP, a new interface).
    std::vector<std::string> machine;
    if (!trusted && o.reach != config::address_reach::any) machine = machine_addresses();
    for (const auto& entry : results) {
      auto address = entry.endpoint().address().to_string();
      auto verdict = trusted ? reach_verdict::allowed : judge(address, o.reach, machine);
      if (verdict == reach_verdict::allowed)
        endpoints_.push_back(entry.endpoint());
      else
        refused += (refused.empty() ? "" : ", ") + address +
                   (verdict == reach_verdict::refused_as_this_machine ? " (this machine)" : "");
    }
    if (endpoints_.empty())
      return fail(errc::connect_failed,
                  base_.host + " is at " + refused + ", which peers.addresses = \"" +
                      config::to_string(o.reach) + "\" refuses (" + where() + ")");
    conn_ = std::make_unique<connection>();
    if (base_.tls()) {
      conn_->tls_context = core_->tls;
      conn_->secure.emplace(core_->strand, *conn_->tls_context);
    } else
      conn_->plain.emplace(core_->strand);
    conn_->socket_layer().expires_after(core_->options.connect_timeout);
    conn_->socket_layer().async_connect(
        endpoints_, beast::bind_front_handler(&client_op::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (finished_) return drop_slot();
    if (ec == beast::error::timeout)
      return fail(errc::connect_failed, "connect to " + base_.origin() + " timed out after " +
                                            std::to_string(core_->options.connect_timeout.count()) +
                                            " ms");
    if (ec)
      return fail(errc::connect_failed,
                  "connect to " + base_.origin() + " failed: " + ec.message());
    // The request's own deadline timer bounds everything from here on.
    conn_->socket_layer().expires_never();
    if (!base_.tls()) return do_write();
    do_handshake();
  }

  void do_handshake() {
    auto& stream = *conn_->secure;
    // SNI carries names only; certificates for addresses are matched by IP SAN.
    if (!is_ip_literal(base_.host))
      SSL_set_tlsext_host_name(stream.native_handle(), base_.host.c_str());
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(base_.host));
    stream.async_handshake(ssl::stream_base::client,
                           beast::bind_front_handler(&client_op::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (finished_) return drop_slot();
    if (ec) {
      std::string why = ec.message();
      auto verify = SSL_get_verify_result(conn_->secure->native_handle());
      if (verify != X509_V_OK)
        why += std::string{" ("} + X509_verify_cert_error_string(verify) + ")";
      return fail(errc::tls_failed, "TLS handshake with " + base_.origin() + " failed: " + why);
    }
    do_write();
  }

  void do_write() {
    conn_->visit([this](auto& stream) {
      http::async_write(stream, req_,
                        beast::bind_front_handler(&client_op::on_write, shared_from_this()));
    });
  }

  void on_write(beast::error_code ec, size_t) {
    if (finished_) return drop_slot();
    if (ec) {
      if (reused_ && !retried_ && is_stale_connection_error(ec)) return retry_fresh();
      return fail(errc::connect_failed, "connection to " + base_.origin() +
                                            " broke while sending " + where() + ": " +
                                            ec.message());
    }
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(response_header_limit);
    parser_->body_limit(core_->options.max_response_body_bytes);
    parser_->on_chunk_header(on_chunk_header_);
    if (head_) parser_->skip(true);
    conn_->buffer.reserve(response_read_bytes);
    // Beast keeps a chunked response's trailer whole in the buffer before parsing it, bound
    // by nothing else: a peer could fill our memory with one until the request's deadline.
    conn_->buffer.max_size(response_header_limit + response_read_bytes);
    conn_->visit([this](auto& stream) {
      http::async_read(stream, conn_->buffer, *parser_,
                       beast::bind_front_handler(&client_op::on_read, shared_from_this()));
    });
  }

  void on_read(beast::error_code ec, size_t) {
    if (finished_) return drop_slot();
    if (ec) {
      // Not after an interim answer: the peer has the request then.
      if (reused_ && !retried_ && interim_answers_ == 0 && !parser_->got_some() &&
          is_stale_connection_error(ec))
        return retry_fresh();
      if (ec == http::error::body_limit)
        return fail(errc::bad_response, where() + ": response body over " +
                                            std::to_string(core_->options.max_response_body_bytes) +
                                            " bytes");
      if (ec == http::error::header_limit)
        return fail(errc::bad_response, where() + ": response head over " +
                                            std::to_string(response_header_limit) + " bytes");
      if (ec == http::error::buffer_overflow)
        return fail(errc::bad_response,
                    where() + ": response trailer or chunk header over " +
                        std::to_string(response_header_limit + response_read_bytes) + " bytes");
      if (extension_bytes_ > response_header_limit)
        return fail(errc::bad_response, where() + ": response chunk extensions over " +
                                            std::to_string(response_header_limit) + " bytes");
      if (is_stale_connection_error(ec) || ec == http::error::partial_message)
        return fail(
            errc::bad_response,
            where() + ": connection closed before a complete response (" + ec.message() + ")");
      return fail(errc::bad_response, where() + ": bad response: " + ec.message());
    }
    auto msg = parser_->release();
    // An interim answer (100 Continue, 103 Early Hints) comes before the answer: taken as
    // the answer, it left the real one in the pooled connection for the next request.
    if (msg.result_int() >= 100 && msg.result_int() < 200) {
      if (msg.result_int() == 101 || ++interim_answers_ > max_interim_answers)
        return fail(errc::bad_response, where() + ": answered HTTP " +
                                            std::to_string(msg.result_int()) +
                                            (msg.result_int() == 101 ? "" : " again and again") +
                                            " instead of an answer");
      return do_read();
    }
    http_response res;
    res.status = msg.result_int();
    res.content_type = std::string{msg[http::field::content_type]};
    for (const auto& field : msg)
      res.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
    res.body = std::move(msg.body());
    // Bytes past the answer are no answer to anything we asked: a connection holding them
    // would hand them to the next request as its answer.
    bool in_step = conn_->buffer.size() == 0;
    if (in_step) conn_->buffer.shrink_to_fit();
    has_slot_ = false;
    core_->release(key_, std::move(conn_), msg.keep_alive() && in_step);
    finish(std::move(res));
  }

  // The pooled connection was stale: keep the slot, open a fresh connection, send again.
  void retry_fresh() {
    retried_ = true;
    reused_ = false;
    conn_.reset();
    do_resolve();
  }

  void fail(errc code, std::string what) {
    drop_slot();
    finish(caf::make_error(code, std::move(what)));
  }

  void drop_slot() {
    if (!has_slot_) return;
    has_slot_ = false;
    core_->release(key_, std::move(conn_), false);
  }

  void finish(caf::expected<http_response> result) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  std::shared_ptr<http_client::core> core_;
  url base_;
  std::string key_;
  std::chrono::milliseconds timeout_;
  response_callback done_;
  asio::steady_timer timer_;
  tcp::resolver resolver_;
  std::vector<tcp::endpoint> endpoints_;  // the resolved ones that options.reach allows
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  // The chunk extensions of the answer, which no body limit counts, bounded as its head is.
  size_t extension_bytes_ = 0;
  std::function<void(std::uint64_t, beast::string_view, beast::error_code&)> on_chunk_header_ =
      [this](std::uint64_t, beast::string_view extensions, beast::error_code& ec) {
        extension_bytes_ += extensions.size();
        if (extension_bytes_ > response_header_limit) ec = http::error::bad_chunk_extension;
      };
  int interim_answers_ = 0;
  std::unique_ptr<connection> conn_;
  bool head_ = false;
  bool has_slot_ = false;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
};

void http_client::core::release(const std::string& key, std::unique_ptr<connection> conn,
                                bool reusable) {
  auto& pool = pools[key];
  // A connection verified against CAs that reload_ca() has since replaced is not reused.
  if (conn && conn->tls_context && conn->tls_context != tls) reusable = false;
  if (!reusable || closed) {
    conn.reset();
    --pool.open;
  }
  while (!pool.waiting.empty()) {
    auto next = pool.waiting.front().lock();
    pool.waiting.pop_front();
    if (!next || next->finished()) continue;
    if (!conn) ++pool.open;
    // Posted, not called: the releasing op is still on the stack.
    asio::post(strand,
               [next, conn = std::move(conn)]() mutable { next->on_slot(std::move(conn)); });
    return;
  }
  if (conn) {
    conn->idle_since = std::chrono::steady_clock::now();
    pool.idle.push_back(std::move(conn));
  }
}

namespace {

/// A client context that verifies peers against `ca_file`, or the system's CAs when it is
/// empty.
caf::expected<std::shared_ptr<ssl::context>> load_client_tls(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec)
      return caf::make_error(errc::tls_failed, "cannot load the system CA paths: " + ec.message());
  } else {
    ctx->load_verify_file(ca_file, ec);
    if (ec)
      return caf::make_error(errc::tls_failed,
                             "cannot load CA file " + ca_file + ": " + ec.message());
  }
  return ctx;
}

}  // namespace

http_client::http_client(io_runtime& runtime, client_options options)
    : core_(std::make_shared<core>(io_context_of(runtime), std::move(options))) {
  if (auto tls = load_client_tls(core_->options.ca_file))
    core_->tls = std::move(*tls);
  else
    core_->tls_error = std::move(tls.error());
}

caf::error http_client::reload_ca(const std::string& ca_file) {
  auto tls = load_client_tls(ca_file);
  if (!tls) return std::move(tls.error());
  auto c = core_;
  asio::post(c->strand, [c, ca_file, tls = std::move(*tls)]() mutable {
    c->tls = std::move(tls);
    c->tls_error = caf::none;
    c->options.ca_file = ca_file;
    // Idle connections were verified against the CAs just replaced (perhaps removed for a
    // reason): the next request to their origin connects anew. Busy ones finish their
    // request and close instead of going back to the pool.
    c->close_idle();
  });
  return caf::none;
}

http_client::~http_client() {
  auto c = core_;
  auto close_idle = [c] {
    c->closed = true;
    c->close_idle();
  };
  if (c->ioc.stopped())
    close_idle();
  else
    asio::post(c->strand, close_idle);
}

void http_client::request(const url& base, http_request req, std::chrono::milliseconds timeout,
                          response_callback done) {
  auto op = std::make_shared<client_op>(core_, base, std::move(req), timeout, std::move(done));
  asio::dispatch(core_->strand, [op] { op->start(); });
}

caf::expected<http_response> http_request_blocking(const url& base, http_request req,
                                                   std::chrono::milliseconds timeout,
                                                   client_options options) {
  // Shared with the callback, so the io thread never touches a promise already gone.
  auto promise = std::make_shared<std::promise<caf::expected<http_response>>>();
  auto result = promise->get_future();
  io_runtime runtime{1};
  http_client client{runtime, std::move(options)};
  client.request(base, std::move(req), timeout,
                 [promise](caf::expected<http_response> r) { promise->set_value(std::move(r)); });
  return result.get();
}

caf::expected<http_response> http_get_blocking(std::string_view url_text,
                                               std::chrono::milliseconds timeout,
                                               header_list headers, client_options options) {
  auto u = parse_url(url_text);
  if (!u) return u.error();
  http_request req;
  req.method = "GET";
  req.target = u->target();
  req.headers = std::move(headers);
  return http_request_blocking(*u, std::move(req), timeout, std::move(options));
}

}  // namespace fedrelay::net
