// The only translation unit that includes ldns: three blocking queries per lookup, their
// answers translated into actors::dns_records and every ldns failure into a caf::error.
#include "net/dns_client.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <utility>

// ldns/common.h redefines bool, true and false unless <stdbool.h> came first (DEPS.md
// gotcha 1), which breaks every C++ header included after it.
#include <ldns/ldns.h>
#include <stdbool.h>

#include "actors/errc.hpp"

namespace fedrelay::net {
namespace {

using clock_type = std::chrono::steady_clock;
using actors::dns_records;
using actors::errc;

struct ldns_deleter {
  void operator()(ldns_resolver* p) const { ldns_resolver_deep_free(p); }
  void operator()(ldns_rdf* p) const { ldns_rdf_deep_free(p); }
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
  void operator()(ldns_rr_list* p) const { ldns_rr_list_deep_free(p); }
  void operator()(char* p) const { std::free(p); }
};

using resolver_ptr = std::unique_ptr<ldns_resolver, ldns_deleter>;
using rdf_ptr = std::unique_ptr<ldns_rdf, ldns_deleter>;
using pkt_ptr = std::unique_ptr<ldns_pkt, ldns_deleter>;
using rr_list_ptr = std::unique_ptr<ldns_rr_list, ldns_deleter>;
using cstring_ptr = std::unique_ptr<char, ldns_deleter>;

std::string rcode_name(ldns_pkt_rcode rcode) {
  if (auto* entry = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rcode))) return entry->name;
  return "RCODE" + std::to_string(static_cast<int>(rcode));
}

std::string rr_type_name(ldns_rr_type type) {
  return type == LDNS_RR_TYPE_SRV ? "SRV" : "TXT";
}

/// "[::1]" and "::1" both name an IPv6 server; ldns wants the bare address.
std::string bare_host(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

/// The joined bytes of one character-string rdf (wire form: a length byte, then bytes).
bool read_character_string(const ldns_rdf* rdf, std::string& out) {
  size_t size = ldns_rdf_size(rdf);
  const uint8_t* data = ldns_rdf_data(rdf);
  if (size < 1 || static_cast<size_t>(data[0]) + 1 > size) return false;
  out.assign(reinterpret_cast<const char*>(data) + 1, data[0]);
  return true;
}

/// What one query found: the matching answer records (possibly none) or that the name
/// does not exist, plus the negative-caching TTL of the authority SOA if there was one.
struct query_answer {
  rr_list_ptr records;  // null when the name has no records of the type (never empty)
  bool nxdomain = false;
  std::optional<uint32_t> negative_ttl;
};

/// One lookup: a fresh ldns resolver and the deadline shared by its three queries.
class lookup_run {
 public:
  lookup_run(const std::optional<config::endpoint>& server, std::chrono::milliseconds bound,
             const std::string& server_name)
      : server_(server),
        bound_(bound),
        server_name_(server_name),
        deadline_(clock_type::now() + bound) {}

  [[nodiscard]] caf::error open() {
    ldns_resolver* raw = nullptr;
    if (server_) {
      raw = ldns_resolver_new();
      if (raw == nullptr) return failed("cannot allocate an ldns resolver");
      resolver_.reset(raw);
      auto host = bare_host(server_->host);
      auto is_v6 = host.find(':') != std::string::npos;
      rdf_ptr address{
          ldns_rdf_new_frm_str(is_v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host.c_str())};
      if (!address)
        return failed("DNS server address " + server_->host + " is not an IPv4 or IPv6 address");
      // push_nameserver copies the rdf, so `address` still owns ours.
      if (ldns_resolver_push_nameserver(raw, address.get()) != LDNS_STATUS_OK)
        return failed("cannot add DNS server " + server_name_);
      ldns_resolver_set_port(raw, server_->port);
    } else {
      auto status = ldns_resolver_new_frm_file(&raw, nullptr);
      if (status != LDNS_STATUS_OK || raw == nullptr)
        return failed(std::string{"cannot read /etc/resolv.conf: "} +
                      ldns_get_errorstr_by_id(status));
      resolver_.reset(raw);
      if (ldns_resolver_nameserver_count(raw) == 0)
        return failed("/etc/resolv.conf names no nameserver");
    }
    ldns_resolver_set_recursive(raw, true);
    // One attempt per nameserver and query: the deadline, not ldns' retry loop (default
    // 3 x 5 s, DEPS.md gotcha 13), decides how long a lookup may take.
    ldns_resolver_set_retry(raw, 1);
    ldns_resolver_set_retrans(raw, 0);
    ldns_resolver_set_fallback(raw, true);
    // resolv.conf order is a preference; ldns would shuffle it.
    ldns_resolver_set_random(raw, false);
    // Names are absolute: never append resolv.conf's domain or search list.
    ldns_resolver_set_defnames(raw, false);
    ldns_resolver_set_dnsrch(raw, false);
    return {};
  }

  /// Asks for `name`/`type` with whatever time is left before the deadline.
  [[nodiscard]] caf::expected<query_answer> query(const std::string& name, ldns_rr_type type) {
    auto what = name + " " + rr_type_name(type);
    rdf_ptr qname{ldns_dname_new_frm_str((name + ".").c_str())};
    if (!qname) return failed("invalid DNS name " + name);
    auto* res = resolver_.get();
    auto ns_count = ldns_resolver_nameserver_count(res);
    // A nameserver that failed is skipped by ldns for the rest of this resolver's life
    // (DEPS.md gotcha 12). Within one lookup that is what we want; a new lookup builds a
    // new resolver, so a server that comes back is asked again.
    auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline_ - clock_type::now());
    if (left.count() <= 0) return timed_out();
    auto per_attempt = left / static_cast<int64_t>(ns_count);
    timeval tv{static_cast<time_t>(per_attempt.count() / 1'000'000),
               static_cast<suseconds_t>(per_attempt.count() % 1'000'000)};
    ldns_resolver_set_timeout(res, tv);
    ldns_pkt* raw_pkt = nullptr;
    auto started = clock_type::now();
    auto status =
        ldns_resolver_query_status(&raw_pkt, res, qname.get(), type, LDNS_RR_CLASS_IN, LDNS_RD);
    pkt_ptr pkt{raw_pkt};
    if (status != LDNS_STATUS_OK) {
      // ldns says NETWORK_ERR both for "nothing arrived before the timeout" and for a
      // socket error; only the elapsed time tells them apart (at least one attempt used
      // up its time). RES_NO_NS follows when every nameserver failed earlier in this
      // lookup.
      auto elapsed = clock_type::now() - started;
      bool waited_out = elapsed * 10 >= per_attempt * 9;
      if ((status == LDNS_STATUS_NETWORK_ERR && waited_out) || status == LDNS_STATUS_RES_NO_NS)
        return timed_out();
      return failed("query " + what + " to DNS server " + server_name_ +
                    " failed: " + ldns_get_errorstr_by_id(status));
    }
    if (!pkt) return failed("DNS server " + server_name_ + " sent no answer for " + what);
    query_answer answer;
    auto rcode = ldns_pkt_get_rcode(pkt.get());
    if (rcode == LDNS_RCODE_NXDOMAIN) {
      answer.nxdomain = true;
    } else if (rcode != LDNS_RCODE_NOERROR) {
      return failed("DNS server " + server_name_ + " answered " + rcode_name(rcode) + " for " +
                    what);
    } else {
      answer.records.reset(ldns_pkt_rr_list_by_type(pkt.get(), type, LDNS_SECTION_ANSWER));
      if (answer.records && ldns_rr_list_rr_count(answer.records.get()) == 0)
        answer.records.reset();
    }
    if (!answer.records) answer.negative_ttl = negative_ttl(pkt.get());
    return answer;
  }

  [[nodiscard]] caf::error timed_out() const {
    return caf::make_error(errc::resolver_timeout, "DNS server " + server_name_ +
                                                       " did not answer within " +
                                                       std::to_string(bound_.count()) + " ms");
  }

  [[nodiscard]] static caf::error failed(std::string detail) {
    return caf::make_error(errc::resolver_failed, std::move(detail));
  }

 private:
  /// RFC 2308: a negative answer may be cached for min(SOA TTL, SOA MINIMUM).
  static std::optional<uint32_t> negative_ttl(const ldns_pkt* pkt) {
    rr_list_ptr soas{ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_SOA, LDNS_SECTION_AUTHORITY)};
    if (!soas || ldns_rr_list_rr_count(soas.get()) == 0) return std::nullopt;
    const ldns_rr* soa = ldns_rr_list_rr(soas.get(), 0);
    if (ldns_rr_rd_count(soa) < 7) return std::nullopt;
    return std::min(ldns_rr_ttl(soa), ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)));
  }

  const std::optional<config::endpoint>& server_;
  std::chrono::milliseconds bound_;
  const std::string& server_name_;
  clock_type::time_point deadline_;
  resolver_ptr resolver_;
};

/// Keeps the smallest TTL of the records found and, apart, of the negative answers.
struct ttl_tracker {
  std::optional<uint32_t> found;
  std::optional<uint32_t> negative;

  void add_found(uint32_t ttl) { found = found ? std::min(*found, ttl) : ttl; }
  void add_negative(std::optional<uint32_t> ttl) {
    if (ttl) negative = negative ? std::min(*negative, *ttl) : *ttl;
  }
  uint32_t result() const { return found ? *found : negative.value_or(0); }
};

[[nodiscard]] caf::error read_srv(const query_answer& answer, dns_records& out, ttl_tracker& ttl,
                                  const std::string& name) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(answer.records.get()); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(answer.records.get(), i);
    if (ldns_rr_rd_count(rr) != 4) return lookup_run::failed("malformed SRV record for " + name);
    cstring_ptr target{ldns_rdf2str(ldns_rr_rdf(rr, 3))};
    if (!target) return lookup_run::failed("unreadable SRV target for " + name);
    std::string host = target.get();
    if (!host.empty() && host.back() == '.') host.pop_back();
    ttl.add_found(ldns_rr_ttl(rr));
    // RFC 2782: the target "." says the service is decidedly not offered here.
    if (host.empty()) continue;
    actors::dns_srv srv;
    srv.priority = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
    srv.weight = ldns_rdf2native_int16(ldns_rr_rdf(rr, 1));
    srv.port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
    srv.target = std::move(host);
    out.srv.push_back(std::move(srv));
  }
  // DNS returns records in any order; sorted, the best priority comes first for readers
  // and logs (weighted choice among equals stays with discovery).
  std::stable_sort(out.srv.begin(), out.srv.end(),
                   [](const auto& a, const auto& b) { return a.priority < b.priority; });
  return {};
}

/// The character-strings of the first TXT record (a name with several TXT records has no
/// defined order between them, so joining across records would be a guess).
[[nodiscard]] caf::expected<std::vector<std::string>> read_txt(const query_answer& answer,
                                                               ttl_tracker& ttl,
                                                               const std::string& name) {
  const ldns_rr* rr = ldns_rr_list_rr(answer.records.get(), 0);
  std::vector<std::string> strings;
  for (size_t k = 0; k < ldns_rr_rd_count(rr); ++k) {
    std::string s;
    if (!read_character_string(ldns_rr_rdf(rr, k), s))
      return lookup_run::failed("malformed TXT record for " + name);
    strings.push_back(std::move(s));
  }
  for (size_t i = 0; i < ldns_rr_list_rr_count(answer.records.get()); ++i)
    ttl.add_found(ldns_rr_ttl(ldns_rr_list_rr(answer.records.get(), i)));
  return strings;
}

}  // namespace

dns_client::dns_client(std::optional<config::endpoint> server, std::chrono::milliseconds timeout)
    : server_(std::move(server)), timeout_(timeout) {
  if (server_) {
    auto host = bare_host(server_->host);
    server_name_ = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    server_name_ += ":" + std::to_string(server_->port);
  } else {
    server_name_ = "the resolv.conf nameservers";
  }
}

caf::expected<actors::dns_records> dns_client::lookup(const std::string& domain) const {
  std::string name = domain;
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty()) return lookup_run::failed("empty domain name");
  lookup_run run{server_, timeout_, server_name_};
  if (auto err = run.open()) return err;
  dns_records out;
  ttl_tracker ttl;

  auto srv_name = "_rocketchat._tcp." + name;
  auto srv = run.query(srv_name, LDNS_RR_TYPE_SRV);
  if (!srv) return srv.error();
  out.nxdomain = srv->nxdomain;
  ttl.add_negative(srv->negative_ttl);
  if (srv->records)
    if (auto err = read_srv(*srv, out, ttl, srv_name)) return err;

  auto key_name = "rocketchat-public-key." + name;
  auto key = run.query(key_name, LDNS_RR_TYPE_TXT);
  if (!key) return key.error();
  ttl.add_negative(key->negative_ttl);
  if (key->records) {
    auto strings = read_txt(*key, ttl, key_name);
    if (!strings) return strings.error();
    out.has_key = true;
    out.key_strings = std::move(*strings);
  }

  auto protocol_name = "rocketchat-protocol." + name;
  auto protocol = run.query(protocol_name, LDNS_RR_TYPE_TXT);
  if (!protocol) return protocol.error();
  ttl.add_negative(protocol->negative_ttl);
  if (protocol->records) {
    auto strings = read_txt(*protocol, ttl, protocol_name);
    if (!strings) return strings.error();
    out.has_protocol = true;
    for (const auto& s : *strings) out.protocol += s;
  }

  out.ttl = ttl.result();
  return out;
}

}  // namespace fedrelay::net
