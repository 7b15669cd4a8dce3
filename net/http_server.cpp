// The HTTP/1.1 and HTTPS server on Beast, shaped like Beast's advanced_server: a listener
// accepts, a session per connection owns its stream and buffer and lives through
// shared_from_this, and every asynchronous step is a do_x/on_x pair.
#include "net/http_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "actors/log_budget.hpp"
#include "net/certificate.hpp"
#include "net/errc.hpp"
#include "net/http_internal.hpp"
#include "net/websocket_session.hpp"
#include "storage/errc.hpp"

namespace fedrelay::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Connections past max_connections still get a 503, up to this many at once; beyond that
// they are closed at accept, so a flood cannot exhaust file descriptors.
constexpr size_t refusal_allowance = 64;
// After an error response the client may still be sending the request it was refused for;
// reading it for a while before closing keeps the kernel from answering with a reset that
// would destroy the response before the client reads it.
constexpr std::chrono::seconds linger_time{5};
constexpr size_t linger_bytes = 64u << 20;
// An accept that fails for lack of descriptors is retried after this pause, not in a spin.
constexpr std::chrono::milliseconds accept_retry_delay{100};
// Beast reads into what its buffer has room for, between 512 bytes and 64 KiB a call. The
// head is read with room for 4 KiB, and a body kept to that took a thousand reads (each a
// system call) for a 4 MiB transaction; a body is read with room for 64 KiB, given back
// once the connection waits for its next request so idle connections stay small.
constexpr size_t head_read_bytes = 4096;
constexpr size_t body_read_bytes = 64u << 10;

std::string json_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

http_response error_response(unsigned status, std::string_view message) {
  http_response r;
  r.status = status;
  r.body = "{\"success\":false,\"error\":\"" + json_escape(message) + "\"}";
  return r;
}

/// Whether `key` is a Sec-WebSocket-Key as RFC 6455 has it: 16 bytes in base64, so 22
/// characters of the base64 alphabet and "==". Beast takes any key it is given.
bool websocket_key_ok(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
}

/// Whether a Transfer-Encoding names no coding but chunked: a body gzipped or deflated on
/// the way would otherwise reach the route as if it were the bytes sent.
bool chunked_only(std::string_view codings) {
  while (!codings.empty()) {
    auto comma = codings.find(',');
    auto coding = codings.substr(0, comma);
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
      coding.remove_prefix(1);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
      coding.remove_suffix(1);
    if (!beast::iequals(beast::string_view{coding.data(), coding.size()}, "chunked")) return false;
    if (comma == std::string_view::npos) break;
    codings.remove_prefix(comma + 1);
  }
  return true;
}

/// A route's field that may be written as it is. One that could forge a field of its own
/// (a CR or LF in it, a ':' in its name) is dropped, and so is one that frames the message
/// (Content-Length, Transfer-Encoding, Connection): that is the server's to write, and a
/// second one would let the client read the stream differently.
bool safe_field(const std::string& name, const std::string& value) {
  if (name.empty() || name.find_first_of("\r\n:") != std::string::npos ||
      value.find_first_of("\r\n") != std::string::npos)
    return false;
  for (beast::string_view framing : {"content-length", "transfer-encoding", "connection"})
    if (beast::iequals(name, framing)) return false;
  return true;
}

/// `value` without the spaces and tabs around it, as Beast stored a field's value.
std::string_view trimmed(std::string_view value) {
  auto first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return value.substr(first, value.find_last_not_of(" \t") - first + 1);
}

/// Whether a response with this status has no body (RFC 9112 section 6.3).
bool bodiless_status(unsigned status) {
  return status < 200 || status == 204 || status == 304;
}

/// The head of an answer whose body (a text, or a file's bytes) is `length` bytes: the
/// status line, Server, Content-Type, the route's fields in their order, Connection where
/// the version needs it, and Content-Length (HttpServerTest.WritesAnswersByteForByte,
/// SendsFileBodiesAndRangesFromDisk). What Beast's serializer wrote for the same answer,
/// but that a status without a body gets no Content-Length (RFC 9110 section 8.6) and
/// that a route's fields of one name are not gathered together. Written into one buffer
/// here, answers one by one cost the sender a tenth fewer instructions than Beast's
/// serializer, which built a list of fields and a chain of buffers for each
/// (docs/PERFORMANCE.md, twenty-sixth round).
std::string response_head(const http_response& res, unsigned version, bool keep_alive,
                          size_t length) {
  auto reason = http::obsolete_reason(static_cast<http::status>(res.status));
  std::string out;
  out.reserve(128 + res.content_type.size() + reason.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nServer: fedrelay\r\n";
  // A type with CR or LF would end the field and start others: such a type is not written,
  // whatever route gave it (files.get serves a peer's file type only when it is a media
  // type, net/files_api.cpp).
  if (!res.content_type.empty() && safe_field("Content-Type", res.content_type))
    out.append("Content-Type: ").append(res.content_type) += "\r\n";
  for (const auto& [name, value] : res.headers)
    if (safe_field(name, value)) out.append(name).append(": ").append(trimmed(value)) += "\r\n";
  // HTTP/1.1 connections stay open unless told, HTTP/1.0 ones close unless told.
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  if (!bodiless_status(res.status))
    out.append("Content-Length: ").append(std::to_string(length)) += "\r\n";
  out += "\r\n";
  return out;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  auto addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// A file opened for reading a response body; closed with the object.
class open_file {
 public:
  explicit open_file(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~open_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  open_file(const open_file&) = delete;
  open_file& operator=(const open_file&) = delete;
  bool ok() const { return fd_ >= 0; }
  ssize_t read_at(char* out, size_t n, uint64_t offset) {
    ssize_t r;
    do {
      r = ::pread(fd_, out, n, static_cast<off_t>(offset));
    } while (r < 0 && errno == EINTR);
    return r;
  }

 private:
  int fd_;
};

// A server context with the certificate chain and key of those files; errc::tls_failed
// naming the file that does not load (OpenSSL also refuses a key that is not the
// certificate's), or when only one of them is set.
caf::expected<std::shared_ptr<ssl::context>> load_tls(const std::string& cert_file,
                                                      const std::string& key_file) {
  if (cert_file.empty() || key_file.empty())
    return caf::make_error(errc::tls_failed, "TLS needs both a certificate file and a key file");
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec)
    return caf::make_error(errc::tls_failed,
                           "cannot load certificate " + cert_file + ": " + ec.message());
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec)
    return caf::make_error(errc::tls_failed,
                           "cannot load private key " + key_file + ": " + ec.message());
  return ctx;
}

}  // namespace

// What the listener and every session share; sessions hold it, so it outlives them.
struct server_core {
  server_options options;
  request_handler handler;
  // The certificate new connections get; reload_tls() replaces it, while the sessions
  // that began with the one before keep theirs. Guarded by tls_mutex once serving.
  std::shared_ptr<ssl::context> tls;
  std::mutex tls_mutex;
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> accepted{0};
  std::atomic<size_t> open{0};                // every live session
  std::atomic<size_t> served{0};              // live sessions that are not refusals
  std::atomic<size_t> pending_body_bytes{0};  // see server_options::max_pending_body_bytes
  std::mutex mutex;                           // guards next_id and sessions
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, std::weak_ptr<session_base>> sessions;
  // What each remote address holds, for those bounded by max_connections_per_address.
  struct address_use {
    size_t connections = 0;
    size_t body_bytes = 0;  // counted in pending_body_bytes too
  };
  std::unordered_map<std::string, address_use> per_address;
  // Connections closed past that bound: logged once a minute, with the count since.
  std::chrono::steady_clock::time_point last_address_log{};
  uint64_t closed_unlogged = 0;
};

// The budget for bodies in memory of the connections of one address (all of them when
// the address is not counted: loopback, or no bound per address).
class address_budget final : public body_budget {
 public:
  address_budget(std::shared_ptr<server_core> core, std::string address)
      : core_(std::move(core)), address_(std::move(address)) {}

  bool take(size_t bytes) override {
    const auto limit = core_->options.max_pending_body_bytes;
    if (bytes > limit || !take_share(bytes)) return false;
    auto& pending = core_->pending_body_bytes;
    size_t now = pending.load();
    do {
      if (now > limit - bytes) {
        give_back_share(bytes);
        return false;
      }
    } while (!pending.compare_exchange_weak(now, now + bytes));
    return true;
  }

  void give_back(size_t bytes) override {
    core_->pending_body_bytes -= bytes;
    give_back_share(bytes);
  }

 private:
  bool counted() const {
    return !address_.empty() && core_->options.max_pending_body_bytes_per_address > 0;
  }

  bool take_share(size_t bytes) {
    if (!counted()) return true;
    auto share = core_->options.max_pending_body_bytes_per_address;
    std::lock_guard<std::mutex> guard{core_->mutex};
    auto& use = core_->per_address[address_];
    if (bytes > share || use.body_bytes > share - bytes) return false;
    use.body_bytes += bytes;
    return true;
  }

  // The address's entry goes with its last connection and its last byte held.
  void give_back_share(size_t bytes) {
    if (!counted()) return;
    std::lock_guard<std::mutex> guard{core_->mutex};
    auto i = core_->per_address.find(address_);
    if (i == core_->per_address.end()) return;
    i->second.body_bytes -= std::min(bytes, i->second.body_bytes);
    if (i->second.connections == 0 && i->second.body_bytes == 0) core_->per_address.erase(i);
  }

  std::shared_ptr<server_core> core_;
  const std::string address_;
};

// Counts a connection from accept until its last session (HTTP, then maybe WebSocket) ends.
class server_slot final : public connection_slot {
 public:
  server_slot(std::shared_ptr<server_core> core, bool refuse)
      : core_(std::move(core)),
        refuse_(refuse),
        budget_(std::make_shared<address_budget>(core_, "")) {
    ++core_->open;
    if (!refuse_) ++core_->served;
  }

  ~server_slot() override {
    --core_->open;
    if (!refuse_) --core_->served;
    std::lock_guard<std::mutex> guard{core_->mutex};
    core_->sessions.erase(id_);
    if (!address_.empty())
      if (auto i = core_->per_address.find(address_); i != core_->per_address.end() &&
                                                      --i->second.connections == 0 &&
                                                      i->second.body_bytes == 0)
        core_->per_address.erase(i);
  }

  // Called by the listener before the session runs; `address`: the remote address when
  // its connections are counted (see server_options::max_connections_per_address).
  void register_session(std::weak_ptr<session_base> session, std::string address) {
    std::lock_guard<std::mutex> guard{core_->mutex};
    id_ = ++core_->next_id;
    core_->sessions.emplace(id_, std::move(session));
    address_ = std::move(address);
    if (!address_.empty()) ++core_->per_address[address_].connections;
    budget_ = std::make_shared<address_budget>(core_, address_);
  }

  void attach(std::weak_ptr<session_base> session) override {
    std::lock_guard<std::mutex> guard{core_->mutex};
    core_->sessions[id_] = std::move(session);
  }

  std::shared_ptr<body_budget> budget() const override { return budget_; }

 private:
  std::shared_ptr<server_core> core_;
  bool refuse_;
  uint64_t id_ = 0;
  std::string address_;
  std::shared_ptr<body_budget> budget_;  // set before the session runs, fixed from then on
};

// One connection: the request/response loop shared by the plain and TLS sessions (CRTP,
// as in Beast's server-flex example). The stream is reached only through derived(), so an
// accepted WebSocket upgrade moves derived().stream() and the connection's slot into a
// websocket session (net/websocket_session.cpp) and this session ends.
template <class Derived>
class http_session : public session_base {
 public:
  http_session(std::shared_ptr<server_core> core, std::string remote, bool refuse)
      : core_(std::move(core)),
        slot_(std::make_unique<server_slot>(core_, refuse)),
        remote_(std::move(remote)),
        refuse_(refuse) {
    // Beast holds a chunked body's trailer whole in this buffer before it parses it, and
    // bounds it by nothing else: a client sent 100 MB of trailer in a second, all kept.
    // A head fails header_limit before this, and a body is moved out as it is read.
    buffer_.max_size(core_->options.max_header_bytes + body_read_bytes);
  }

  ~http_session() override { release_body(); }

  server_slot& slot() { return *slot_; }

  void close_from_server() override {
    auto self = derived().shared_from_this();
    asio::post(executor_, [self] {
      self->closing_ = true;
      // A stop() that raced with the hand-over found this session in the list; the stream
      // now belongs to the websocket session.
      if (self->successor_) return self->successor_->close_from_server();
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream()).socket().close(ignored);
    });
  }

 protected:
  using executor_type = beast::tcp_stream::executor_type;

  Derived& derived() { return static_cast<Derived&>(*this); }
  auto& stream() { return derived().stream(); }
  beast::tcp_stream& socket_layer() { return beast::get_lowest_layer(stream()); }

  // Between requests: the first one must start within read_timeout of the accept, the
  // next ones within idle_timeout of the previous response.
  void do_wait_request() {
    if (closing_) return;
    if (first_request_ || buffer_.size() > 0) return do_read_header();
    if (buffer_.capacity() > head_read_bytes) buffer_.shrink_to_fit();
    socket_layer().expires_after(core_->options.idle_timeout);
    stream().async_read_some(
        buffer_.prepare(head_read_bytes),
        beast::bind_front_handler(&http_session::on_first_bytes, derived().shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (ec || closing_) return;  // idle timeout, or the client closed: nothing to answer
    buffer_.commit(n);
    do_read_header();
  }

  // The whole request (headers and body) shares one deadline, so a client trickling bytes
  // cannot hold the connection past read_timeout. The head is read on its own, so a route
  // may take the body as a stream (server_options::stream_body) before any of it is read.
  void do_read_header() {
    // An answer to a request whose head cannot be read (400, 431) is not one to a HEAD,
    // whatever the request before it was.
    head_request_ = false;
    socket_layer().expires_after(core_->options.read_timeout);
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(core_->options.max_header_bytes));
    // Checked once the body's reader is chosen. Not boost::none: Beast 1.74 compares a
    // Content-Length with an empty limit as if the limit were below every length.
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(
        stream(), buffer_, *header_parser_,
        beast::bind_front_handler(&http_session::on_read_header, derived().shared_from_this()));
  }

  void on_read_header(beast::error_code ec, size_t) {
    if (ec || closing_) return on_read_error(ec);
    auto& head = header_parser_->get();
    // What a refusal of this request's body (413, or a route's) is answered with.
    keep_alive_ = head.keep_alive();
    version_ = head.version();
    head_request_ = head.method() == http::verb::head;
    bool expect_continue =
        !header_parser_->is_done() && beast::iequals(head[http::field::expect], "100-continue");
    auto codings = head[http::field::transfer_encoding];
    if (!codings.empty() && !chunked_only({codings.data(), codings.size()}))
      return do_write(error_response(501, "no transfer coding but chunked is taken"), true);
    auto declared = header_parser_->content_length();
    body_limit_ = core_->options.max_body_bytes;
    sink_.reset();
    if (core_->options.stream_body && !refuse_ && !header_parser_->is_done()) {
      auto decision = core_->options.stream_body(head_of(head));
      if (decision.refusal) return do_write(std::move(*decision.refusal), true);
      if (decision.sink) {
        sink_ = std::move(decision.sink);
        body_limit_ = decision.max_bytes;
      }
    }
    if (declared && *declared > body_limit_) return on_read_error(http::error::body_limit);
    // Past the connection limit: refused before the body is read, which would hold memory.
    if (refuse_) return do_write(too_many_connections(), true);
    bool body_unread = !header_parser_->is_done() && (!declared || *declared > buffer_.size());
    if (body_unread && buffer_.capacity() < body_read_bytes) buffer_.reserve(body_read_bytes);
    chunk_refusal_.clear();
    extension_bytes_ = 0;
    chunks_ = 0;
    if (sink_) {
      stream_parser_.emplace(std::move(*header_parser_));
      stream_parser_->body_limit(body_limit_);
      stream_parser_->on_chunk_header(on_chunk_header_);
    } else {
      parser_.emplace(std::move(*header_parser_));
      parser_->body_limit(body_limit_);
      parser_->on_chunk_header(on_chunk_header_);
    }
    header_parser_.reset();
    if (expect_continue) return do_continue();
    do_read_body();
  }

  // curl and others wait for "100 Continue" before sending a large body.
  void do_continue() {
    static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(
        stream(), asio::buffer(interim.data(), interim.size()),
        beast::bind_front_handler(&http_session::on_continue, derived().shared_from_this()));
  }

  void on_continue(beast::error_code ec, size_t) {
    if (ec || closing_) return;
    do_read_body();
  }

  // Read a piece at a time, each counted against max_pending_body_bytes as it arrives:
  // counted from the head's Content-Length instead, a few heads announcing large bodies
  // and sending nothing held the whole budget, and every peer's transaction got 503.
  void do_read_body() {
    if (sink_) return do_read_piece();
    if (parser_->is_done()) return on_read({}, 0);
    http::async_read_some(
        stream(), buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_read_body_piece, derived().shared_from_this()));
  }

  void on_read_body_piece(beast::error_code ec, size_t) {
    if (ec || closing_) return on_read(ec, 0);
    // A chunked body grows its string as it comes, to up to twice what it holds.
    const auto& body = parser_->get().body();
    auto held = parser_->chunked() ? body.capacity() : body.size();
    if (!hold_body(held)) {
      if (held > core_->options.max_pending_body_bytes)  // would never fit: no use trying again
        return do_write(
            error_response(413, "request body too large (limit " +
                                    std::to_string(core_->options.max_pending_body_bytes) +
                                    " bytes)"),
            true);
      return do_write(bodies_pending(), true);
    }
    do_read_body();
  }

  // A streamed body: each piece goes to the sink as it arrives; the deadline is per piece.
  void do_read_piece() {
    auto& msg = stream_parser_->get();
    if (stream_parser_->is_done()) return on_streamed();
    piece_.resize(64u << 10);
    msg.body().data = piece_.data();
    msg.body().size = piece_.size();
    socket_layer().expires_after(core_->options.read_timeout);
    http::async_read(
        stream(), buffer_, *stream_parser_,
        beast::bind_front_handler(&http_session::on_read_piece, derived().shared_from_this()));
  }

  void on_read_piece(beast::error_code ec, size_t) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec || closing_) return on_read_error(ec);
    auto n = piece_.size() - stream_parser_->get().body().size;
    if (n > 0) {
      if (auto err = sink_->write({piece_.data(), n})) {
        spdlog::error("http_server: storing the body from {} failed: {}", remote_,
                      caf::to_string(err));
        return do_write(storage::is_no_space(err)
                            ? error_response(507, no_room_for_body)
                            : error_response(500, "cannot store the request body"),
                        true);
      }
    }
    do_read_piece();
  }

  void on_streamed() {
    auto msg = stream_parser_->release();
    stream_parser_.reset();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_request_ = false;
    auto req = head_of(msg);
    req.streamed_body = std::move(sink_);
    socket_layer().expires_never();
    dispatch(std::move(req));
  }

  template <class Message>
  http_request head_of(const Message& msg) const {
    http_request req;
    req.method = std::string{msg.method_string()};
    req.target = std::string{msg.target()};
    for (const auto& field : msg)
      req.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
    req.remote_address = remote_;
    return req;
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec || closing_) return on_read_error(ec);
    auto msg = parser_->release();
    parser_.reset();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_request_ = msg.method() == http::verb::head;
    if (refuse_) return do_write(too_many_connections(), true);
    bool upgrade = core_->options.websocket_upgrade && beast::websocket::is_upgrade(msg);
    auto key = msg[http::field::sec_websocket_key];
    if (upgrade && !websocket_key_ok({key.data(), key.size()}))
      return do_write(
          error_response(400, "Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455)"), true);
    // What Beast's accept would refuse with a plain-text answer, refused here in JSON as
    // every other refusal is.
    if (upgrade && msg[http::field::host].empty())
      return do_write(error_response(400, "a WebSocket handshake needs a Host header (RFC 6455)"),
                      true);
    if (upgrade && msg[http::field::sec_websocket_version] != "13") {
      auto res = error_response(426, "Sec-WebSocket-Version must be 13 (RFC 6455)");
      res.headers.emplace_back("Sec-WebSocket-Version", "13");
      return do_write(std::move(res), true);
    }
    auto req = head_of(msg);
    req.body = std::move(msg.body());
    // The handler may take as long as it likes (long-polls); no timer runs meanwhile.
    socket_layer().expires_never();
    if (upgrade) return do_decide_upgrade(std::move(msg), std::move(req));
    dispatch(std::move(req));
  }

  void dispatch(http_request&& req) {
    auto self = derived().shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    responder respond = [self, answered](http_response res) {
      if (answered->exchange(true)) return;
      asio::post(self->executor_,
                 [self, res = std::move(res)]() mutable { self->do_write(std::move(res), false); });
    };
    try {
      core_->handler(std::move(req), respond);
    } catch (const std::bad_alloc&) {
      // Short of memory (a limit on the process, a cgroup's): not the request's fault, and
      // worth another try once what holds the memory is done. Logged a few times a minute.
      static actors::shared_log_budgets lines{10, std::chrono::seconds(60)};
      uint64_t held_back = 0;
      if (lines.take("bad_alloc", std::chrono::steady_clock::now(), held_back))
        spdlog::error("http_server: no memory to answer {}; answered 503{}", remote_,
                      actors::not_logged(held_back));
      auto res = error_response(503, "the node is short of memory; try again later");
      res.headers.emplace_back("Retry-After", "5");
      respond(std::move(res));
    } catch (const std::exception& e) {
      spdlog::error("http_server: handler threw for {}: {}", remote_, e.what());
      respond(error_response(500, "internal error"));
    } catch (...) {
      respond(error_response(500, "internal error"));
    }
  }

  // The decider answers like a request handler: later, from any thread, exactly once.
  void do_decide_upgrade(http::request<http::string_body>&& msg, http_request&& req) {
    upgrade_msg_.emplace(std::move(msg));
    upgrade_req_.emplace(req);
    auto self = derived().shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    upgrade_responder respond = [self, answered](upgrade_decision decision) {
      if (answered->exchange(true)) return;
      asio::post(self->executor_, [self, decision = std::move(decision)]() mutable {
        self->on_upgrade_decided(std::move(decision));
      });
    };
    try {
      core_->options.websocket_upgrade(std::move(req), respond);
    } catch (const std::exception& e) {
      spdlog::error("http_server: upgrade decider threw for {}: {}", remote_, e.what());
      respond(error_response(500, "internal error"));
    } catch (...) {
      respond(error_response(500, "internal error"));
    }
  }

  void on_upgrade_decided(upgrade_decision decision) {
    if (closing_ || core_->stopped) return;
    auto* handler = std::get_if<websocket_handler>(&decision);
    if (handler && !*handler) decision = error_response(500, "no handler for the upgrade");
    if (auto* refusal = std::get_if<http_response>(&decision)) {
      upgrade_msg_.reset();
      upgrade_req_.reset();
      return do_write(std::move(*refusal), false);
    }
    websocket_limits limits;
    limits.max_message_bytes = core_->options.max_body_bytes;
    limits.max_queue_bytes = core_->options.max_websocket_queue_bytes;
    limits.close_timeout = core_->options.read_timeout;
    limits.message_timeout = core_->options.read_timeout;
    // A large frame arriving over a slow link takes a read per TCP segment or TLS record.
    limits.max_message_pieces = std::max<size_t>(65'536, core_->options.max_body_bytes / 256);
    successor_ = start_websocket_session(std::move(stream()), std::move(*upgrade_msg_),
                                         std::move(*upgrade_req_), std::move(*handler), limits,
                                         std::move(slot_));
    upgrade_msg_.reset();
    upgrade_req_.reset();
  }

  void on_read_error(beast::error_code ec) {
    if (closing_) return;
    const auto& o = core_->options;
    if (!chunk_refusal_.empty()) return do_write(error_response(431, chunk_refusal_), true);
    if (ec == http::error::body_limit)
      return do_write(error_response(413, "request body too large (limit " +
                                              std::to_string(body_limit_) + " bytes)"),
                      true);
    if (ec == http::error::header_limit)
      return do_write(error_response(431, "request header too large (limit " +
                                              std::to_string(o.max_header_bytes) + " bytes)"),
                      true);
    if (ec == http::error::buffer_overflow)
      return do_write(error_response(431, "request trailer or chunk header too large (limit " +
                                              std::to_string(buffer_.max_size()) + " bytes)"),
                      true);
    // end_of_stream and partial_message are a client going away, not a bad request.
    if (is_http_parse_error(ec) && ec != http::error::end_of_stream &&
        ec != http::error::partial_message)
      return do_write(error_response(400, "bad request: " + ec.message()), true);
    // Timeouts (Beast has closed the socket already), resets, EOF: nothing to answer.
    derived().do_eof();
  }

  /// 503 for what passes once the server has room again: the client tries again in 1 s.
  static http_response busy(const std::string& why) {
    auto res = error_response(503, why);
    res.headers.emplace_back("Retry-After", "1");
    return res;
  }

  http_response too_many_connections() const {
    return busy("too many connections (limit " + std::to_string(core_->options.max_connections) +
                ")");
  }

  http_response bodies_pending() const {
    return busy("too many request bodies in memory (limit " +
                std::to_string(core_->options.max_pending_body_bytes) + " bytes); try again");
  }

  /// Counts this request's body as `total` bytes held (never fewer than counted already)
  /// against max_pending_body_bytes; false (nothing more counted) when that passes it.
  bool hold_body(size_t total) {
    if (!body_hold_) body_hold_.emplace(slot_->budget());
    return body_hold_->grow_to(total);
  }

  void release_body() {
    if (body_hold_) body_hold_->release();
  }

  /// Beast calls this at each chunk's header: chunk extensions, which no body limit
  /// counts, are bounded as a head is.
  /// Chunks are bounded too: each costs a parse of a few µs, and a body of 1-byte chunks
  /// took half a minute of a core before any route saw it.
  void on_chunk_header(std::uint64_t, beast::string_view extensions, beast::error_code& ec) {
    extension_bytes_ += extensions.size();
    if (extension_bytes_ > core_->options.max_header_bytes) {
      chunk_refusal_ = "chunk extensions too large (limit " +
                       std::to_string(core_->options.max_header_bytes) + " bytes)";
      ec = http::error::bad_chunk_extension;
    } else if (++chunks_ > max_chunks()) {
      chunk_refusal_ = "too many chunks (limit " + std::to_string(max_chunks()) + ")";
      ec = http::error::bad_chunk;
    }
  }

  size_t max_chunks() const { return std::max<size_t>(65'536, body_limit_ / 256); }

  /// Whether the connection stays open after this answer; records what on_write does next.
  bool settle_connection(bool error_close) {
    close_after_write_ = !(keep_alive_ && !error_close);
    error_close_ = error_close;
    return !close_after_write_;
  }

  void do_write(http_response res, bool error_close) {
    if (closing_) return;
    if (res.status < 100 || res.status > 999) res = error_response(500, "bad response status");
    if (res.file && !head_request_) return do_write_file(std::move(res));
    auto keep_alive = settle_connection(error_close);
    // A status that has no body gets none, even when the route gave one (Beast's
    // prepare_payload threw std::invalid_argument, and the answer was never written).
    if (bodiless_status(res.status)) res.body.clear();
    // A file here is the answer to a HEAD (the others went to do_write_file).
    auto length = res.file ? res.file->length : res.body.size();
    out_head_ = response_head(res, version_, keep_alive, length);
    if (!head_request_) out_body_ = std::move(res.body);
    socket_layer().expires_after(core_->options.read_timeout);
    std::array<asio::const_buffer, 2> pieces{asio::buffer(out_head_), asio::buffer(out_body_)};
    asio::async_write(
        stream(), pieces,
        beast::bind_front_handler(&http_session::on_write, derived().shared_from_this()));
  }

  // A file body, a piece at a time after the head, so a large download is never held in
  // memory; the deadline is per piece.
  void do_write_file(http_response res) {
    file_ = std::make_unique<open_file>(res.file->path);
    if (!file_->ok()) {
      file_.reset();
      return do_write(error_response(404, "the file is no longer there"), false);
    }
    file_offset_ = res.file->offset;
    file_left_ = res.file->length;
    out_head_ = response_head(res, version_, settle_connection(false), file_left_);
    socket_layer().expires_after(core_->options.read_timeout);
    asio::async_write(
        stream(), asio::buffer(out_head_),
        beast::bind_front_handler(&http_session::on_write_file, derived().shared_from_this()));
  }

  void on_write_file(beast::error_code ec, size_t) {
    if (ec || closing_) return end_file();
    if (file_left_ == 0) {
      end_file();
      return on_write({}, 0);
    }
    piece_.resize(static_cast<size_t>(std::min<uint64_t>(file_left_, 256u << 10)));
    auto n = file_->read_at(piece_.data(), piece_.size(), file_offset_);
    if (n <= 0) {
      spdlog::error("http_server: the file sent to {} ended early", remote_);
      end_file();
      beast::error_code ignored;
      socket_layer().socket().close(ignored);
      return;
    }
    file_offset_ += static_cast<uint64_t>(n);
    file_left_ -= static_cast<uint64_t>(n);
    socket_layer().expires_after(core_->options.read_timeout);
    asio::async_write(
        stream(), asio::buffer(piece_.data(), static_cast<size_t>(n)),
        beast::bind_front_handler(&http_session::on_write_file, derived().shared_from_this()));
  }

  void end_file() { file_.reset(); }

  void on_write(beast::error_code ec, size_t) {
    release_body();  // the answer is out: the request's body is no longer held
    out_head_.clear();
    out_body_ = std::string{};   // a large answer's memory is not kept for the next one
    if (ec || closing_) return;  // the client is gone; the session ends with this handler
    if (error_close_) return derived().do_linger();
    if (close_after_write_) return derived().do_eof();
    first_request_ = false;
    do_wait_request();
  }

  std::shared_ptr<server_core> core_;
  std::unique_ptr<server_slot> slot_;  // moves to the websocket session on an upgrade
  executor_type executor_;             // set by the derived class from its stream
  std::string remote_;
  bool refuse_;
  std::optional<http::request<http::string_body>> upgrade_msg_;  // while the decider runs
  std::optional<http_request> upgrade_req_;
  std::shared_ptr<session_base> successor_;  // the websocket session, after the hand-over
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> stream_parser_;
  std::shared_ptr<body_sink> sink_;     // while a streamed body is read
  uint64_t body_limit_ = 0;             // of the request being read
  std::optional<body_hold> body_hold_;  // the request's body, counted while in memory
  std::string chunk_refusal_;           // why on_chunk_header stopped the read
  size_t extension_bytes_ = 0;          // of the request being read
  size_t chunks_ = 0;                   // of the request being read
  // Beast keeps a reference to it, not a copy, so it lives as long as the parsers.
  std::function<void(std::uint64_t, beast::string_view, beast::error_code&)> on_chunk_header_ =
      [this](std::uint64_t size, beast::string_view extensions, beast::error_code& ec) {
        on_chunk_header(size, extensions, ec);
      };
  std::vector<char> piece_;  // one piece of a streamed body or of a file response
  std::string out_head_;     // the answer being written: its head, then its body
  std::string out_body_;
  std::unique_ptr<open_file> file_;
  uint64_t file_offset_ = 0;
  uint64_t file_left_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_request_ = false;
  bool first_request_ = true;
  bool close_after_write_ = false;
  bool error_close_ = false;
  bool closing_ = false;
};

class plain_session : public http_session<plain_session>,
                      public std::enable_shared_from_this<plain_session> {
 public:
  plain_session(tcp::socket&& socket, std::shared_ptr<server_core> core, std::string remote,
                bool refuse)
      : http_session(std::move(core), std::move(remote), refuse), stream_(std::move(socket)) {
    executor_ = stream_.get_executor();
  }

  beast::tcp_stream& stream() { return stream_; }
  using std::enable_shared_from_this<plain_session>::shared_from_this;

  void run() {
    asio::dispatch(executor_, [self = shared_from_this()] { self->do_wait_request(); });
  }

  void do_eof() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Half-close, then read and drop what the client still sends, until it closes too or
  // the linger time or byte budget runs out.
  void do_linger() {
    do_eof();
    stream_.expires_after(linger_time);
    do_drain();
  }

 private:
  void do_drain() {
    stream_.async_read_some(
        drain_.prepare(16384),
        beast::bind_front_handler(&plain_session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, size_t n) {
    drained_ += n;
    if (ec || closing_ || drained_ > linger_bytes) return;
    do_drain();
  }

  friend class http_session<plain_session>;
  beast::tcp_stream stream_;
  beast::flat_buffer drain_;
  size_t drained_ = 0;
};

class tls_session : public http_session<tls_session>,
                    public std::enable_shared_from_this<tls_session> {
 public:
  tls_session(tcp::socket&& socket, std::shared_ptr<server_core> core,
              std::shared_ptr<ssl::context> tls, std::string remote, bool refuse)
      : http_session(core, std::move(remote), refuse),
        tls_(std::move(tls)),
        stream_(std::move(socket), *tls_) {
    executor_ = stream_.get_executor();
  }

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  using std::enable_shared_from_this<tls_session>::shared_from_this;

  void run() {
    asio::dispatch(executor_, [self = shared_from_this()] { self->do_handshake(); });
  }

  // close_notify, bounded by the linger time; the socket closes with the session.
  void do_eof() {
    socket_layer().expires_after(linger_time);
    stream_.async_shutdown(
        beast::bind_front_handler(&tls_session::on_shutdown, shared_from_this()));
  }

  void do_linger() { do_eof(); }

 private:
  void do_handshake() {
    socket_layer().expires_after(core_->options.read_timeout);
    stream_.async_handshake(
        ssl::stream_base::server,
        beast::bind_front_handler(&tls_session::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec || closing_) return;  // not TLS, a failed handshake or a timeout: just close
    do_wait_request();
  }

  void on_shutdown(beast::error_code) {}

  friend class http_session<tls_session>;
  // Before the stream, which uses it: the certificate this connection began with.
  std::shared_ptr<ssl::context> tls_;
  beast::ssl_stream<beast::tcp_stream> stream_;
};

// Accepts connections on its own strand and starts a session for each.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(asio::io_context& ioc, std::shared_ptr<server_core> core)
      : ioc_(ioc),
        acceptor_(asio::make_strand(ioc)),
        retry_(acceptor_.get_executor()),
        core_(std::move(core)) {}

  [[nodiscard]] caf::error open() {
    const auto& ep_cfg = core_->options.listen;
    std::string host = ep_cfg.host.empty() ? "0.0.0.0" : ep_cfg.host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    auto where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                 std::to_string(ep_cfg.port);
    auto fail = [&](const std::string& what, const beast::error_code& ec) {
      return caf::make_error(errc::bind_failed,
                             "cannot listen on " + where + ": " + what + ec.message());
    };
    beast::error_code ec;
    tcp::endpoint ep;
    auto addr = asio::ip::make_address(host, ec);
    if (!ec) {
      ep = tcp::endpoint{addr, ep_cfg.port};
    } else {
      tcp::resolver resolver{ioc_};
      auto results =
          resolver.resolve(host, std::to_string(ep_cfg.port), tcp::resolver::passive, ec);
      if (ec || results.empty()) return fail("cannot resolve the host: ", ec);
      ep = results.begin()->endpoint();
    }
    acceptor_.open(ep.protocol(), ec);
    if (ec) return fail("", ec);
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("", ec);
    acceptor_.bind(ep, ec);
    if (ec) return fail("", ec);
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("", ec);
    port_ = acceptor_.local_endpoint(ec).port();
    return {};
  }

  uint16_t port() const { return port_; }

  void run() { do_accept(); }

  // Called on the acceptor's strand.
  void close() {
    beast::error_code ignored;
    retry_.cancel();
    acceptor_.close(ignored);
  }

  auto executor() { return acceptor_.get_executor(); }

 private:
  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (core_->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      uint64_t held_back = 0;
      if (accept_failure_lines_.take(std::chrono::steady_clock::now(), held_back))
        spdlog::warn("http_server: accept on port {} failed: {}{}", port_, ec.message(),
                     actors::not_logged(held_back));
      retry_.expires_after(accept_retry_delay);
      retry_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && !self->core_->stopped) self->do_accept();
      });
      return;
    }
    ++core_->accepted;
    if (core_->open >= core_->options.max_connections + refusal_allowance) {
      beast::error_code ignored;
      socket.close(ignored);
      return do_accept();
    }
    bool refuse = core_->served >= core_->options.max_connections;
    beast::error_code remote_ec;
    auto endpoint = socket.remote_endpoint(remote_ec);
    auto remote = endpoint_text(endpoint);
    auto counted = counted_address(endpoint);
    if (!counted.empty() && over_address_bound(counted)) {
      beast::error_code ignored;
      socket.close(ignored);
      return do_accept();
    }
    if (auto tls = current_tls())
      start_session(
          std::make_shared<tls_session>(std::move(socket), core_, std::move(tls), remote, refuse),
          counted);
    else
      start_session(std::make_shared<plain_session>(std::move(socket), core_, remote, refuse),
                    counted);
    do_accept();
  }

  /// The address whose connections count against max_connections_per_address (an IPv6
  /// address by its /64); empty when there is no bound or the address is loopback.
  std::string counted_address(const tcp::endpoint& endpoint) const {
    const auto& o = core_->options;
    if (o.max_connections_per_address == 0) return {};
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
      address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    if (address.is_loopback() && !o.bound_loopback) return {};
    if (address.is_v4()) return address.to_string();
    auto bytes = address.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6{bytes}.to_string() + "/64";
  }

  /// Whether `address` has its bound of connections open already (then logged, at most
  /// once a minute).
  bool over_address_bound(const std::string& address) {
    std::lock_guard<std::mutex> guard{core_->mutex};
    auto i = core_->per_address.find(address);
    if (i == core_->per_address.end() ||
        i->second.connections < core_->options.max_connections_per_address)
      return false;
    auto now = std::chrono::steady_clock::now();
    if (now - core_->last_address_log < std::chrono::minutes(1)) {
      ++core_->closed_unlogged;
      return true;
    }
    spdlog::warn(
        "http_server: {} has {} connections open on port {}, the most one address may; further "
        "ones are closed at once{}",
        address, i->second.connections, port_,
        core_->closed_unlogged > 0
            ? " (" + std::to_string(core_->closed_unlogged) + " closed so since the last line)"
            : "");
    core_->last_address_log = now;
    core_->closed_unlogged = 0;
    return true;
  }

  std::shared_ptr<ssl::context> current_tls() {
    std::lock_guard<std::mutex> guard{core_->tls_mutex};
    return core_->tls;
  }

  template <class Session>
  void start_session(std::shared_ptr<Session> session, std::string counted_address) {
    session->slot().register_session(session, std::move(counted_address));
    session->run();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<server_core> core_;
  uint16_t port_ = 0;
  // Failed accepts (no descriptor left, say) are tried again every accept_retry_delay for
  // as long as they fail, which anyone who opens enough connections can make last.
  actors::log_budget accept_failure_lines_{10, std::chrono::seconds(60)};
};

struct http_server::state {
  asio::io_context& ioc;
  std::shared_ptr<server_core> core;
  std::shared_ptr<listener> accept_loop;
};

caf::expected<std::unique_ptr<http_server>> http_server::start(io_runtime& runtime,
                                                               server_options options,
                                                               request_handler handler) {
  auto core = std::make_shared<server_core>();
  core->options = std::move(options);
  core->handler = std::move(handler);
  const auto& o = core->options;
  if (o.max_connections == 0) core->options.max_connections = 1;
  if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
    auto tls = load_tls(o.tls_cert_file, o.tls_key_file);
    if (!tls) return tls.error();
    core->tls = std::move(*tls);
  }
  auto& ioc = io_context_of(runtime);
  auto accept_loop = std::make_shared<listener>(ioc, core);
  if (auto err = accept_loop->open()) return err;
  asio::dispatch(accept_loop->executor(), [accept_loop] { accept_loop->run(); });
  auto st = std::make_shared<state>(state{ioc, std::move(core), std::move(accept_loop)});
  return std::unique_ptr<http_server>{new http_server(std::move(st))};
}

http_server::http_server(std::shared_ptr<state> st) : state_(std::move(st)) {}

std::optional<int64_t> http_server::certificate_expiry() const {
  auto& core = *state_->core;
  std::lock_guard<std::mutex> guard{core.tls_mutex};
  if (!core.tls) return std::nullopt;
  return net::certificate_expiry(SSL_CTX_get0_certificate(core.tls->native_handle()));
}

caf::error http_server::reload_tls(const std::string& cert_file, const std::string& key_file) {
  auto& core = *state_->core;
  {
    std::lock_guard<std::mutex> guard{core.tls_mutex};
    if (!core.tls)
      return caf::make_error(errc::tls_failed,
                             "this port was started without TLS; a restart turns it on");
  }
  auto tls = load_tls(cert_file, key_file);
  if (!tls) return tls.error();
  std::lock_guard<std::mutex> guard{core.tls_mutex};
  core.tls = std::move(*tls);
  return caf::none;
}

http_server::~http_server() {
  stop();
}

uint16_t http_server::port() const {
  return state_->accept_loop->port();
}

uint64_t http_server::accepted_connections() const {
  return state_->core->accepted;
}

size_t http_server::open_connections() const {
  return state_->core->open;
}

size_t http_server::pending_body_bytes() const {
  return state_->core->pending_body_bytes;
}

void http_server::stop() {
  auto core = state_->core;
  if (core->stopped.exchange(true)) return;
  auto accept_loop = state_->accept_loop;
  auto done = std::make_shared<std::promise<void>>();
  auto close_all = [core, accept_loop, done] {
    accept_loop->close();
    std::vector<std::shared_ptr<session_base>> live;
    {
      std::lock_guard<std::mutex> guard{core->mutex};
      for (auto& [id, weak] : core->sessions)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->close_from_server();
    done->set_value();
  };
  auto& ioc = state_->ioc;
  if (ioc.stopped()) {
    // No io thread runs, so nothing races with closing the acceptor here; the sessions'
    // sockets close when the runtime destroys their pending handlers.
    accept_loop->close();
    return;
  }
  auto finished = done->get_future();
  asio::post(accept_loop->executor(), close_all);
  if (ioc.get_executor().running_in_this_thread()) return;
  finished.wait_for(std::chrono::seconds(5));
}

}  // namespace fedrelay::net
