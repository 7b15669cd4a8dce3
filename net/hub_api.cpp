// The Hub API's handlers: checks and rate limits on the io threads, the registry actor for
// everything that touches the store or the mail.
#include "net/hub_api.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>
#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "actors/request_auth.hpp"
#include "actors/transaction.hpp"
#include "crypto/pem.hpp"
#include "crypto/raw_key.hpp"
#include "net/actor_call.hpp"
#include "net/api_support.hpp"
#include "net/hub_client.hpp"
#include "net/ip_scope.hpp"
#include "net/logger.hpp"

namespace fedrelay::net {
namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

/// Token buckets keyed by client address. Shared by the io threads, hence the mutex; the
/// work under it is a hash lookup and some arithmetic.
class rate_limiter {
 public:
  rate_limiter(double per_minute, double burst, size_t max_clients)
      : per_second_(per_minute / 60.0), burst_(std::max(burst, 1.0)), max_clients_(max_clients) {}

  /// 0 when the client may go on (a token was taken), else the seconds until it may.
  uint32_t take(const std::string& client) {
    auto now = steady::now();
    std::lock_guard<std::mutex> guard{mutex_};
    if (buckets_.size() >= max_clients_ && buckets_.find(client) == buckets_.end()) prune(now);
    auto [it, fresh] = buckets_.try_emplace(client, bucket{burst_, now});
    auto& b = it->second;
    if (!fresh) {
      std::chrono::duration<double> elapsed = now - b.last;
      b.tokens = std::min(burst_, b.tokens + elapsed.count() * per_second_);
      b.last = now;
    }
    if (b.tokens >= 1.0) {
      b.tokens -= 1.0;
      return 0;
    }
    return static_cast<uint32_t>(std::ceil((1.0 - b.tokens) / per_second_));
  }

 private:
  struct bucket {
    double tokens;
    steady::time_point last;
  };

  // A bucket that has refilled is the same as no bucket; forget those. If every client is
  // busy (a flood of addresses), start over rather than grow without bound.
  void prune(steady::time_point now) {
    for (auto i = buckets_.begin(); i != buckets_.end();) {
      std::chrono::duration<double> idle = now - i->second.last;
      if (i->second.tokens + idle.count() * per_second_ >= burst_)
        i = buckets_.erase(i);
      else
        ++i;
    }
    if (buckets_.size() >= max_clients_) buckets_.clear();
  }

  double per_second_;
  double burst_;
  size_t max_clients_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

/// "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1".
std::string address_part(const std::string& remote) {
  if (!remote.empty() && remote.front() == '[') {
    auto close = remote.find(']');
    return remote.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  auto colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

http_response too_many(uint32_t retry_after, const std::string& what) {
  http_response res;
  res.status = 429;
  res.body = json{{"success", false},
                  {"error", what + "; retry in " + std::to_string(retry_after) + " s"},
                  {"retry_after", retry_after}}
                 .dump();
  res.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return res;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/// The confirmation link is opened by a person in a browser: a page, not JSON, with
/// `title`, `text` and, when given, a button that posts `token` to confirm it.
http_response page(unsigned status, const std::string& title, const std::string& text,
                   const std::string& token = {}) {
  http_response res;
  res.status = status;
  res.content_type = "text/html; charset=utf-8";
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");  // the token is in the URL
  res.headers.emplace_back("X-Frame-Options", "DENY");         // no click under another page
  res.body = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
             "</title></head>\n<body><h1>" + html_escape(title) + "</h1>\n<p>" + html_escape(text) +
             "</p>\n";
  if (!token.empty())  // relative: the Hub may be served below a path prefix
    res.body +=
        "<form method=\"post\" action=\"hub.confirm\"><input type=\"hidden\" "
        "name=\"token\" value=\"" +
        html_escape(token) + "\"><button type=\"submit\">Confirm</button></form>\n";
  res.body += "</body></html>\n";
  return res;
}

bool is_code(const caf::error& err, actors::errc code) {
  return err.category() == caf::atom("actors") && err.code() == static_cast<uint8_t>(code);
}

http_response registry_failure(const caf::error& err) {
  if (is_code(err, actors::errc::bad_request)) return error_reply(400, actors::detail_of(err));
  if (err == caf::sec::request_timeout) return error_reply(504, "the Hub took too long");
  return error_reply(503, actors::detail_of(err));
}

// A registration's fields, checked; the error reply otherwise.
struct checked_registration {
  actors::hub_registration reg;
  std::optional<http_response> problem;
};

checked_registration check_registration(const hub_api_context& ctx, const http_request& req) {
  checked_registration out;
  auto fail = [&](unsigned status, const std::string& why) {
    out.problem = error_reply(status, why);
    return out;
  };
  if (req.body.size() > ctx.max_body_bytes) return fail(413, "the registration is too large");
  auto j = actors::parse_json(req.body);
  if (j.is_discarded() || !j.is_object()) return fail(400, "the body is not a JSON object");
  for (const char* field : {"domain", "url", "public_key"})
    if (!j.contains(field) || !j[field].is_string())
      return fail(400, std::string{"missing string field \""} + field + "\"");
  auto domain = j["domain"].get<std::string>();
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (!actors::valid_hub_domain(domain))
    return fail(400, "\"" + domain + "\" is not a domain name");
  std::string origin{req.header(actors::origin_header)};
  std::transform(origin.begin(), origin.end(), origin.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (origin != domain)
    return fail(400, std::string{actors::origin_header} + " must name the domain registered");
  auto url_text = j["url"].get<std::string>();
  auto parsed = parse_url(url_text);
  if (!parsed) return fail(400, "url: " + actors::detail_of(parsed.error()));
  if (!parsed->path.empty() && parsed->path != "/")
    return fail(400, "url: a node's public URL has no path");
  // It goes into the mail as it is: a fragment would be text of the registrant's choosing
  // there ("#Visit-https://..."), and the host must be a name or an address.
  if (url_text.find('#') != std::string::npos)
    return fail(400, "url: a node's public URL has no fragment");
  auto host_char = [](unsigned char ch) {
    return std::isalnum(ch) || ch == '.' || ch == '-' || ch == ':';  // ':' in IPv6 addresses
  };
  if (!std::all_of(parsed->host.begin(), parsed->host.end(), host_char))
    return fail(400, "url: the host is not a domain name or an address");
  while (!url_text.empty() && url_text.back() == '/') url_text.pop_back();
  auto key = crypto::parse_public_key_pem(j["public_key"].get<std::string>());
  if (!key) return fail(400, "public_key: " + actors::detail_of(key.error()));
  std::string raw_key{reinterpret_cast<const char*>(key->data()), key->size()};
  // The key in the body signs the request: whoever registers holds it. Domain ownership is
  // proven later, by the mail.
  if (auto err = actors::verify_request(raw_key, "POST", actors::hub_register_path,
                                        req.header(actors::time_header), req.body,
                                        req.header(actors::signature_header), ctx.clock_skew)) {
    return fail(is_code(err, actors::errc::bad_request) ? 400 : 401, actors::detail_of(err));
  }
  out.reg = actors::hub_registration{domain, url_text, std::move(raw_key), {}};
  return out;
}

request_handler register_route(hub_api_context ctx, std::shared_ptr<rate_limiter> limiter) {
  return [ctx, limiter](http_request&& req, responder respond) {
    auto client = rate_limit_client(req.remote_address);
    if (auto wait = limiter->take(client))
      return respond(too_many(wait, "too many registrations from this address"));
    auto checked = check_registration(ctx, req);
    if (checked.problem) return respond(std::move(*checked.problem));
    // The registry's per-client mail budgets count clients as the rate limits do.
    checked.reg.client = std::move(client);
    ask<actors::hub_register_outcome>(
        *ctx.system, ctx.registry, ctx.timeout,
        [respond](actors::hub_register_outcome& out) {
          if (out.state == actors::hub_registration_state::throttled)
            return respond(too_many(out.retry_after_s, out.reason));
          json body{{"status", to_string(out.state)}, {"mailed", out.mailed}};
          if (!out.mail_to.empty()) body["mail_to"] = out.mail_to;
          if (out.expires_ms > 0) body["expires_at"] = out.expires_ms / 1000;
          respond(success_reply(body.dump()));
        },
        [respond](caf::error& err) { respond(registry_failure(err)); },
        actors::hub_register_atom::value, std::move(checked.reg));
  };
}

/// The answer to a link whose token the registry refused (unknown, used, expired).
http_response refused_link(const caf::error& err) {
  if (is_code(err, actors::errc::not_found))
    return page(404, "Unknown link", actors::detail_of(err));
  if (is_code(err, actors::errc::rejected))
    return page(410, "Link no longer valid", actors::detail_of(err));
  return page(503, "Try again later", "The Hub could not look at the link right now.");
}

/// The link's token: in the query of the link, or in the form its page posts (a form body
/// is written as a query is).
std::optional<std::string> token_of(const http_request& req) {
  if (req.method != "POST") return req.query("token");
  http_request form;
  form.target = "/?" + req.body;
  return form.query("token");
}

/// GET: the page the mailed link opens shows what it would confirm and a button; POST (the
/// button) confirms. A GET confirms nothing, since mail gateways fetch every link in a
/// mail to scan it, and a link they opened would otherwise confirm an impostor's
/// registration of the domain without anyone's click.
request_handler confirm_route(hub_api_context ctx, std::shared_ptr<rate_limiter> limiter) {
  return [ctx, limiter](http_request&& req, responder respond) {
    if (auto wait = limiter->take(rate_limit_client(req.remote_address))) {
      auto res = page(429, "Too many requests",
                      "Please try again in " + std::to_string(wait) + " seconds.");
      res.headers.emplace_back("Retry-After", std::to_string(wait));
      return respond(std::move(res));
    }
    auto token = token_of(req);
    if (!token || token->empty())
      return respond(page(400, "No confirmation token",
                          "The link lacks its token; copy the "
                          "whole link from the mail."));
    if (req.method == "POST")
      return ask<std::string>(
          *ctx.system, ctx.registry, ctx.timeout,
          [respond](std::string& domain) {
            respond(page(200, "Confirmed",
                         domain + " is confirmed: peers that look it up on this Hub now find it."));
          },
          [respond](caf::error& err) { respond(refused_link(err)); },
          actors::hub_confirm_atom::value, std::move(*token));
    ask<actors::hub_registration>(
        *ctx.system, ctx.registry, ctx.timeout,
        [respond, shown = *token](actors::hub_registration& reg) {
          respond(page(200, "Confirm " + reg.domain,
                       "Confirm that peers finding " + reg.domain + " on this Hub reach it at " +
                           reg.url + " and trust the key " +
                           crypto::fingerprint(crypto::public_key_of_raw(reg.public_key)) +
                           ", as the mail said. Confirm only if you asked for it.",
                       shown));
        },
        // Not moved: the capture above copies it, in an order of arguments C++ leaves open.
        [respond](caf::error& err) { respond(refused_link(err)); }, actors::hub_peek_atom::value,
        *token);
  };
}

request_handler lookup_route(hub_api_context ctx, std::shared_ptr<rate_limiter> limiter) {
  return [ctx, limiter](http_request&& req, responder respond) {
    if (auto wait = limiter->take(rate_limit_client(req.remote_address)))
      return respond(too_many(wait, "too many lookups from this address"));
    auto domain = req.query("domain");
    if (!domain || domain->empty())
      return respond(error_reply(400, "missing query parameter domain"));
    ask<actors::hub_record>(
        *ctx.system, ctx.registry, ctx.timeout,
        [respond](actors::hub_record& rec) {
          json body{
              {"domain", rec.domain},
              {"url", rec.url},
              {"public_key", crypto::public_key_pem(crypto::public_key_of_raw(rec.public_key))},
              {"ttl", rec.ttl}};
          respond(success_reply(body.dump()));
        },
        [respond](caf::error& err) {
          // One answer for unknown, unconfirmed and malformed names alike: the Hub must
          // not tell which domains it has heard of.
          if (is_code(err, actors::errc::not_found))
            return respond(error_reply(404, "no confirmed record for this domain"));
          respond(registry_failure(err));
        },
        actors::lookup_atom::value, std::move(*domain));
  };
}

}  // namespace

std::string rate_limit_client(const std::string& remote_address) {
  auto text = address_part(remote_address);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(text, ec);
  if (ec || address.is_v4()) return text;
  if (auto v4 = ipv4_inside(text)) return *v4;
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

request_handler make_hub_handler(hub_api_context ctx) {
  auto registrations = std::make_shared<rate_limiter>(
      ctx.limits.registrations_per_minute, ctx.limits.registration_burst, ctx.limits.max_clients);
  auto lookups = std::make_shared<rate_limiter>(ctx.limits.lookups_per_minute,
                                                ctx.limits.lookup_burst, ctx.limits.max_clients);
  return route_table({
      {"POST", std::string{actors::hub_register_path}, register_route(ctx, registrations)},
      {"GET", std::string{actors::hub_confirm_path}, confirm_route(ctx, lookups)},
      {"POST", std::string{actors::hub_confirm_path}, confirm_route(ctx, lookups)},
      {"GET", hub_lookup_path, lookup_route(ctx, lookups)},
  });
}

}  // namespace fedrelay::net
