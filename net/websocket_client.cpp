// The blocking WebSocket client on Beast: every call starts an asynchronous operation on
// the client's private io_context and runs it in the calling thread until it completes
// or the call's deadline passes.
#include "net/websocket_client.hpp"

#include <optional>
#include <utility>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/errc.hpp"

namespace fedrelay::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// ws and wss are http and https as far as parse_url and the ports are concerned.
caf::expected<url> parse_ws_url(std::string_view text) {
  std::string spelled{text};
  auto scheme_end = spelled.find("://");
  if (scheme_end != std::string::npos) {
    auto scheme = spelled.substr(0, scheme_end);
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme == "ws")
      spelled.replace(0, scheme_end, "http");
    else if (scheme == "wss")
      spelled.replace(0, scheme_end, "https");
  }
  return parse_url(spelled);
}

}  // namespace

struct websocket_client::impl {
  asio::io_context ioc{1};
  std::optional<ssl::context> tls;
  std::optional<websocket::stream<beast::tcp_stream, false>> plain;  // no permessage-deflate
  std::optional<websocket::stream<beast::ssl_stream<beast::tcp_stream>, false>> secure;
  url where;
  std::string target;
  bool is_open = false;
  bool closed_cleanly = false;
  // The read in flight; it outlives a receive() that timed out.
  beast::flat_buffer buffer;
  bool reading = false;
  bool read_done = false;
  beast::error_code read_ec;
  std::string read_text;

  std::string name() const { return where.origin() + target; }

  beast::tcp_stream& socket_layer() {
    return secure ? beast::get_lowest_layer(*secure) : beast::get_lowest_layer(*plain);
  }

  template <class Fn>
  void visit(Fn&& fn) {
    if (secure)
      fn(*secure);
    else
      fn(*plain);
  }

  // Runs handlers until `done` or the deadline; false when it passed first.
  bool run_until(const bool& done, clock_type::time_point deadline) {
    while (!done) {
      if (ioc.stopped()) ioc.restart();
      if (ioc.run_one_until(deadline) == 0) return done;
    }
    return true;
  }

  // Closes the socket and runs the handlers it aborts, so none is left referring to the
  // caller's locals or waiting on a dead connection.
  void drop() {
    is_open = false;
    if (plain || secure) {
      beast::error_code ignored;
      socket_layer().socket().close(ignored);
    }
    ioc.restart();
    ioc.poll();
  }

  void start_read() {
    reading = true;
    visit([this](auto& ws) {
      ws.async_read(buffer, [this](beast::error_code ec, size_t) {
        reading = false;
        read_done = true;
        read_ec = ec;
        if (!ec) read_text = beast::buffers_to_string(buffer.data());
        buffer.consume(buffer.size());
      });
    });
  }

  std::string close_text() {
    websocket::close_reason reason;
    visit([&](auto& ws) { reason = ws.reason(); });
    auto text = "closed by the server (code " + std::to_string(static_cast<unsigned>(reason.code));
    if (!reason.reason.empty())
      text += ": " + std::string{reason.reason.data(), reason.reason.size()};
    return text + ")";
  }

  caf::error connect(const std::string& host_field, header_list headers,
                     clock_type::time_point deadline, size_t max_message_bytes);
};

caf::error websocket_client::impl::connect(const std::string& host_field, header_list headers,
                                           clock_type::time_point deadline,
                                           size_t max_message_bytes) {
  auto timed_out = [&](const char* step) {
    return caf::make_error(errc::timeout,
                           "WebSocket connect to " + name() + " timed out (" + step + ")");
  };
  bool done = false;
  beast::error_code ec;
  tcp::resolver resolver{ioc};
  tcp::resolver::results_type results;
  resolver.async_resolve(where.host, std::to_string(where.port),
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           results = std::move(r);
                           done = true;
                         });
  if (!run_until(done, deadline)) {
    resolver.cancel();
    drop();
    return timed_out("resolve");
  }
  if (ec)
    return caf::make_error(errc::connect_failed,
                           "cannot resolve " + where.host + " for " + name() + ": " + ec.message());

  if (tls)
    secure.emplace(ioc, *tls);
  else
    plain.emplace(ioc);
  done = false;
  socket_layer().async_connect(results, [&](beast::error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!run_until(done, deadline)) {
    drop();
    return timed_out("connect");
  }
  if (ec)
    return caf::make_error(errc::connect_failed,
                           "connect to " + where.origin() + " failed: " + ec.message());

  if (secure) {
    auto& stream = secure->next_layer();
    // SNI carries names only; certificates for addresses are matched by IP SAN.
    if (!is_ip_literal(where.host))
      SSL_set_tlsext_host_name(stream.native_handle(), where.host.c_str());
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(where.host));
    done = false;
    stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    if (!run_until(done, deadline)) {
      drop();
      return timed_out("TLS handshake");
    }
    if (ec) {
      std::string why = ec.message();
      auto verify = SSL_get_verify_result(stream.native_handle());
      if (verify != X509_V_OK)
        why += std::string{" ("} + X509_verify_cert_error_string(verify) + ")";
      drop();
      return caf::make_error(errc::tls_failed,
                             "TLS handshake with " + where.origin() + " failed: " + why);
    }
  }

  // The call's deadline bounds the handshake; Beast's own timeouts need the TCP one off.
  socket_layer().expires_never();
  websocket::response_type res;
  done = false;
  visit([&](auto& ws) {
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      req.set(http::field::user_agent, "fedrelay");
      for (const auto& [field, value] : headers) {
        if (field.empty() || field.find_first_of("\r\n:") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos)
          continue;
        req.set(field, value);
      }
    }));
    ws.read_message_max(max_message_bytes);
    ws.text(true);
    ws.async_handshake(res, host_field, target, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
  });
  if (!run_until(done, deadline)) {
    drop();
    return timed_out("WebSocket handshake");
  }
  if (ec == websocket::error::upgrade_declined) {
    drop();
    return caf::make_error(errc::http_status, static_cast<uint32_t>(res.result_int()),
                           std::move(res.body()));
  }
  if (ec) {
    drop();
    return caf::make_error(errc::bad_response,
                           "WebSocket handshake with " + name() + " failed: " + ec.message());
  }
  is_open = true;
  return {};
}

caf::expected<std::unique_ptr<websocket_client>> websocket_client::connect(
    std::string_view base_url, std::string target, header_list headers,
    std::chrono::milliseconds timeout, websocket_client_options options) {
  auto deadline = clock_type::now() + timeout;
  auto where = parse_ws_url(base_url);
  if (!where) return where.error();
  auto st = std::make_unique<impl>();
  st->where = *where;
  st->target = target.empty() ? where->target() : std::move(target);
  if (where->tls()) {
    auto& ctx = st->tls.emplace(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (options.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
      if (ec)
        return caf::make_error(errc::tls_failed,
                               "cannot load the system CA paths: " + ec.message());
    } else {
      ctx.load_verify_file(options.ca_file, ec);
      if (ec)
        return caf::make_error(errc::tls_failed,
                               "cannot load CA file " + options.ca_file + ": " + ec.message());
    }
  }
  if (auto err =
          st->connect(host_header(*where), std::move(headers), deadline, options.max_message_bytes))
    return err;
  return std::unique_ptr<websocket_client>{new websocket_client(std::move(st))};
}

websocket_client::websocket_client(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

websocket_client::~websocket_client() {
  impl_->drop();
}

bool websocket_client::open() const {
  return impl_->is_open;
}

caf::error websocket_client::send(std::string_view text, std::chrono::milliseconds timeout) {
  auto& st = *impl_;
  if (!st.is_open)
    return caf::make_error(errc::connect_failed, "WebSocket " + st.name() + " is closed");
  auto deadline = clock_type::now() + timeout;
  bool done = false;
  beast::error_code ec;
  st.visit([&](auto& ws) {
    ws.async_write(asio::buffer(text.data(), text.size()), [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
  });
  if (!st.run_until(done, deadline)) {
    st.drop();
    return caf::make_error(errc::timeout, "WebSocket send to " + st.name() + " timed out after " +
                                              std::to_string(timeout.count()) + " ms");
  }
  if (ec) {
    std::string why = ec == websocket::error::closed ? st.close_text() : ec.message();
    st.drop();
    return caf::make_error(errc::connect_failed, "WebSocket send to " + st.name() + ": " + why);
  }
  return {};
}

caf::expected<std::string> websocket_client::receive(std::chrono::milliseconds timeout) {
  auto& st = *impl_;
  if (!st.reading && !st.read_done) {
    if (!st.is_open)
      return caf::make_error(errc::connect_failed, "WebSocket " + st.name() + " is closed");
    st.start_read();
  }
  if (!st.run_until(st.read_done, clock_type::now() + timeout))
    return caf::make_error(errc::timeout, "no WebSocket message from " + st.name() + " within " +
                                              std::to_string(timeout.count()) + " ms");
  st.read_done = false;
  auto ec = st.read_ec;
  if (!ec) return std::move(st.read_text);
  std::string why = ec == websocket::error::closed ? st.close_text() : ec.message();
  st.drop();
  if (ec == websocket::error::message_too_big)
    return caf::make_error(errc::bad_response,
                           "WebSocket message from " + st.name() + " over the size limit");
  return caf::make_error(errc::connect_failed, "WebSocket " + st.name() + ": " + why);
}

caf::error websocket_client::close(std::string reason, std::chrono::milliseconds timeout) {
  auto& st = *impl_;
  if (!st.is_open) {
    if (st.closed_cleanly) return {};
    return caf::make_error(errc::connect_failed, "WebSocket " + st.name() + " is closed");
  }
  if (reason.size() > 123) reason.resize(123);
  auto deadline = clock_type::now() + timeout;
  bool done = false;
  beast::error_code ec;
  st.visit([&](auto& ws) {
    ws.async_close(websocket::close_reason{websocket::close_code::normal, reason},
                   [&](beast::error_code e) {
                     ec = e;
                     done = true;
                   });
  });
  bool finished = st.run_until(done, deadline);
  // A read left by a timed-out receive() ends with the close; what it got is dropped.
  st.drop();
  st.read_done = false;
  if (!finished)
    return caf::make_error(errc::timeout, "WebSocket close of " + st.name() + " timed out");
  if (ec)
    return caf::make_error(errc::connect_failed,
                           "WebSocket close of " + st.name() + ": " + ec.message());
  st.closed_cleanly = true;
  return {};
}

}  // namespace fedrelay::net
