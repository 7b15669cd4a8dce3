// The checks of `fedrelay check` that ask the world about this node: DNS (through
// dns.resolver), the Hub, and the public URL itself (a signed self-check).
#include <algorithm>
#include <cctype>
#include <random>

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "actors/request_auth.hpp"
#include "actors/self_check.hpp"
#include "actors/transaction.hpp"
#include "app/check_internal.hpp"
#include "crypto/pem.hpp"
#include "crypto/raw_key.hpp"
#include "net/dns_client.hpp"
#include "net/errc.hpp"
#include "net/http_client.hpp"
#include "net/hub_client.hpp"

namespace fedrelay::app::check_detail {
namespace {

constexpr std::chrono::seconds http_timeout{10};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return text;
}

net::client_options client_options(const config::settings& s) {
  net::client_options o;
  o.ca_file = s.tls.ca;
  return o;
}

void check_srv(const context& c, report& r, const actors::dns_records& dns, bool required,
               const std::string& peers_note) {
  const auto& want = *c.expected;
  // As dns-records warns: the record to publish names an address, which many DNS servers
  // and resolvers refuse as a target.
  std::string name_it;
  if (config::is_ip_address(want.srv_target))
    name_it = "; but an SRV record's target must be a host name (RFC 2782): give " +
              want.srv_target + " a name (an A or AAAA record such as relay." + c.s.domain +
              ") and use that name in public_url";
  auto add = "add: " + actors::srv_zone_line(want) + name_it;
  if (dns.srv.empty()) {
    r.problem(required, "dns.srv",
              "no SRV record " + want.srv_name + (dns.nxdomain ? " (NXDOMAIN)" : "") + peers_note,
              add);
    return;
  }
  std::string wrong;
  for (const auto& srv : dns.srv) {
    if (lower(srv.target) == lower(want.srv_target) && srv.port == want.srv_port) continue;
    wrong += (wrong.empty() ? "" : ", ") + srv.target + ":" + std::to_string(srv.port);
  }
  auto wanted = want.srv_target + ":" + std::to_string(want.srv_port);
  if (!wrong.empty()) {
    r.error("dns.srv",
            want.srv_name + " points to " + wrong + ", but public_url " + c.s.public_url +
                " means " + wanted,
            "replace it with: " + actors::srv_zone_line(want) + name_it);
    return;
  }
  r.ok("dns.srv", want.srv_name + " points to " + wanted + ", as public_url says");
}

void check_key(const context& c, report& r, const actors::dns_records& dns, bool required,
               const std::string& peers_note) {
  const auto& want = *c.expected;
  if (!c.identity) {
    r.warning("dns.key", "not compared: this node's key is not usable", c.fix_key_first());
    return;
  }
  auto publish = actors::key_zone_line(want);
  if (!dns.has_key) {
    r.problem(required, "dns.key", "no TXT record " + want.key_name + peers_note,
              "add: " + publish);
    return;
  }
  std::string joined;
  for (const auto& s : dns.key_strings) joined += s;
  std::string expected_text;
  for (const auto& s : want.key_strings) expected_text += s;
  auto key = crypto::parse_public_key_pem(joined);
  auto strings =
      std::to_string(dns.key_strings.size()) + " string" + (dns.key_strings.size() == 1 ? "" : "s");
  if (!key) {
    bool truncated = joined.size() < expected_text.size() &&
                     expected_text.compare(0, joined.size(), joined) == 0;
    r.error("dns.key",
            want.key_name +
                (truncated ? " is truncated: its " + strings +
                                 (dns.key_strings.size() == 1 ? " joins into " : " join into ") +
                                 std::to_string(joined.size()) + " of the key's " +
                                 std::to_string(expected_text.size()) + " characters"
                           : " does not join into a public key (" + strings +
                                 "): " + actors::detail_of(key.error())),
            "publish the whole key (every string, in order): " + publish);
    return;
  }
  auto mine = crypto::fingerprint(c.identity->public_key());
  if (*key != c.identity->public_key()) {
    r.error("dns.key",
            want.key_name + " holds another key (" + crypto::fingerprint(*key) +
                "), not this node's (" + mine + ")",
            "replace it with: " + publish);
    return;
  }
  r.ok("dns.key", want.key_name + " joins into this node's key (" + mine + ", " + strings + ")");
}

void check_protocol(const context& c, report& r, const actors::dns_records& dns, bool required,
                    const std::string& peers_note) {
  const auto& want = *c.expected;
  auto publish = actors::protocol_zone_line(want);
  if (dns.has_protocol && dns.protocol != "http" && dns.protocol != "https") {
    r.error("dns.protocol",
            want.protocol_name + " is \"" + dns.protocol + "\" (peers accept http or https)",
            "replace it with: " + publish);
    return;
  }
  auto published = dns.has_protocol ? dns.protocol : std::string{"https"};
  auto said = dns.has_protocol ? want.protocol_name + " says " + published
                               : want.protocol_name + " is absent, so peers use https";
  if (published != want.protocol) {
    // An absent record is a missing one (a warning unless peers find us by DNS); a
    // published wrong one misleads every DNS peer.
    r.problem(required || dns.has_protocol, "dns.protocol",
              said + ", but public_url is " + want.protocol + (dns.has_protocol ? "" : peers_note),
              (dns.has_protocol ? "replace it with: " : "add: ") + publish);
    return;
  }
  if (published == "http" && c.s.tls.enabled()) {
    r.error("dns.protocol", said + ", but [tls] is set, so listen.federation speaks HTTPS",
            "set federation.public_url to https://... in " + c.config_path +
                ", then publish: " + actors::protocol_zone_line([&] {
                  auto https = want;
                  https.protocol = "https";
                  return https;
                }()));
    return;
  }
  r.ok("dns.protocol", said + (published == "https" && !c.s.tls.enabled()
                                   ? ", as public_url (TLS ends in front of the node)"
                                   : ", as public_url and [tls] say"));
}

std::string random_nonce() {
  std::random_device rd;
  std::string raw(16, '\0');
  for (auto& ch : raw) ch = static_cast<char>(rd() & 0xff);
  return crypto::to_hex(raw);
}

}  // namespace

void check_dns(const context& c, report& r) {
  if (!c.expected) return;  // public_url is validated by the settings
  // DNS is how peers that use DNS discovery find this node: absent records are errors
  // with discovery = dns, warnings otherwise; wrong records are errors always.
  bool required = c.s.discovery == config::discovery_method::dns;
  auto peers_note =
      required ? std::string{}
               : std::string{" (peers that use DNS discovery cannot find "} + c.s.domain + ")";
  net::dns_client client{c.s.dns_resolver, c.s.dns_timeout};
  auto dns = client.lookup(c.s.domain);
  if (!dns) {
    auto dig = c.s.dns_resolver ? "dig @" + c.s.dns_resolver->host + " -p " +
                                      std::to_string(c.s.dns_resolver->port) + " "
                                : std::string{"dig "};
    r.problem(required, "dns",
              "cannot ask " + client.server_name() + ": " + actors::describe(dns.error()),
              "make dns.resolver in " + c.config_path + " a server that answers (try: " + dig +
                  "SRV " + c.expected->srv_name + "; dig is in Debian's bind9-dnsutils)");
    return;
  }
  check_srv(c, r, *dns, required, peers_note);
  check_key(c, r, *dns, required, peers_note);
  check_protocol(c, r, *dns, required, peers_note);
}

void check_hub(const context& c, report& r) {
  auto target =
      c.s.hub_url + net::hub_lookup_path + "?" + net::make_query({{"domain", c.s.domain}});
  auto res = net::http_get_blocking(target, http_timeout, {}, client_options(c.s));
  auto confirm = "run the node (fedrelay run -c " + c.config_path +
                 "): it registers at start; then open the link the Hub mails to webmaster@" +
                 c.s.domain + " and press Confirm";
  if (!res) {
    r.error("hub",
            "the Hub at " + c.s.hub_url + " cannot be reached: " + actors::describe(res.error()),
            "check federation.hub_url in " + c.config_path + " and the network");
    return;
  }
  auto rec = net::hub_record_from_reply(c.s.domain, *res);
  if (!rec) {
    bool absent = rec.error() == actors::errc::not_found;
    r.error("hub",
            absent ? "the Hub has no confirmed record for " + c.s.domain
                   : actors::describe(rec.error()),
            absent ? confirm : "check federation.hub_url in " + c.config_path);
    return;
  }
  std::vector<std::string> wrong;
  if (rec->base_url != c.s.public_url)
    wrong.push_back("its URL is " + rec->base_url + ", not public_url " + c.s.public_url);
  if (!c.identity)
    r.warning("hub", "key not compared: this node's key is not usable", c.fix_key_first());
  else if (crypto::public_key_of_raw(rec->public_key) != c.identity->public_key())
    wrong.push_back("its key is " +
                    crypto::fingerprint(crypto::public_key_of_raw(rec->public_key)) +
                    ", not this node's " + crypto::fingerprint(c.identity->public_key()));
  if (wrong.empty()) {
    r.ok("hub", "the Hub's confirmed record for " + c.s.domain + " matches this node (" +
                    rec->base_url + ")");
    return;
  }
  std::string what;
  for (const auto& w : wrong) what += (what.empty() ? "" : "; ") + w;
  r.error("hub", "the Hub's confirmed record for " + c.s.domain + " is out of date: " + what,
          confirm + " (the new record replaces the old one once confirmed)");
}

void check_public_url(const context& c, report& r) {
  const auto& url_text = c.s.public_url;
  if (!c.identity) {
    r.warning("public_url", "not checked: the self-check is signed with this node's key",
              c.fix_key_first());
    return;
  }
  auto base = net::parse_url(url_text);
  if (!base) return;  // validated by the settings
  auto start_or_proxy = "start the node (fedrelay run -c " + c.config_path +
                        ") or fix the proxy in front of it so that " + url_text +
                        " reaches listen.federation (" + c.s.listen_federation.to_string() + ")";
  auto nonce = random_nonce();
  net::http_request req;
  req.method = "GET";
  req.target = net::make_target(actors::self_path, {{"nonce", nonce}});
  req.headers =
      actors::signed_headers(*c.identity, c.s.domain, c.s.domain, req.method, req.target, req.body);
  auto res = net::http_request_blocking(*base, std::move(req), http_timeout, client_options(c.s));
  if (!res) {
    bool tls = res.error() == net::errc::tls_failed;
    r.error("public_url", url_text + " does not answer: " + actors::describe(res.error()),
            tls ? "serve a certificate for " + base->host +
                      " that peers trust (tls.cert, or the proxy's), or set tls.ca in " +
                      c.config_path + " to the CA that signed it"
                : start_or_proxy);
    return;
  }
  auto body = actors::parse_json(res->body);
  auto field = [&](const char* name) { return actors::string_member(body, name); };
  if (res->status != 200) {
    auto why = field("error");
    r.error("public_url",
            url_text + " answered the self-check with HTTP " + std::to_string(res->status) +
                (why.empty() ? std::string{} : " (" + why + ")") + ": it does not reach this node",
            start_or_proxy);
    return;
  }
  auto domain = field("domain");
  if (domain != c.s.domain) {
    r.error("public_url",
            url_text + " answers as " + (domain.empty() ? "an unknown server" : domain) + ", not " +
                c.s.domain,
            start_or_proxy);
    return;
  }
  if (auto err = actors::verify_self_check(c.identity->public_key(), c.s.domain, nonce,
                                           field("signature"))) {
    r.error("public_url",
            url_text + " answers for " + c.s.domain +
                " but not with this node's key: " + actors::detail_of(err),
            "stop the other node of " + c.s.domain + " that answers there, or " + start_or_proxy);
    return;
  }
  r.ok("public_url", url_text + " answers as this node (the self-check is signed with its key)");
}

}  // namespace fedrelay::app::check_detail
