// The Hub's registry and its actor. Keys (the Hub's own store, nothing of a node's):
//   meta  "hub/confirmed/<domain>" -> {"url","key"(hex),"confirmed_ms"}   what lookups serve
//   meta  "hub/pending/<domain>"   -> {"links":[{"url","key","token"(hex hash),"expires_ms",
//                                               "mailed_ms"}, one per pending registration]}
//                                     (an earlier Hub stored one such link as the entry)
//   dedup "hub/token/<hex hash>"   -> {"domain","expires_ms","used"}
//   meta  "hub/mailed/<domain>"    -> {"sent":[[Unix ms, client] of each mail of the last
//                                      24 hours]} (an earlier Hub: [Unix ms])
//   meta  "hub/client_mailed/<client>" -> {"sent":[[Unix ms, domain] ...]}, the same for one
//                                      client (net::rate_limit_client)
//   meta  "hub/mail_day"           -> {"day": days since 1970 (UTC), "count": mails that day}
#include "actors/hub_registry.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <optional>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/logger.hpp"
#include "actors/wall_clock.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/pem.hpp"
#include "crypto/raw_key.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using storage::column;
using json = nlohmann::json;

constexpr std::string_view confirmed_prefix = "hub/confirmed/";
constexpr std::string_view pending_prefix = "hub/pending/";
constexpr std::string_view token_prefix = "hub/token/";
constexpr std::string_view mailed_prefix = "hub/mailed/";
constexpr std::string_view client_mailed_prefix = "hub/client_mailed/";
constexpr std::string_view mail_day_key = "hub/mail_day";
constexpr int64_t day_ms = 24 * 3600 * 1000;
constexpr size_t token_bytes = 32;

std::string key_of(std::string_view prefix, std::string_view name) {
  return std::string{prefix} + std::string{name};
}

std::string lowercase(std::string_view text) {
  std::string out{text};
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

caf::error storage_error(const caf::error& err) {
  return caf::make_error(errc::storage_failed, "hub store: " + describe(err));
}

std::string system_random_bytes(size_t n) {
  std::string out(n, '\0');
  size_t filled = 0;
  while (filled < n) {
    auto got = getrandom(out.data() + filled, n - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // Without the kernel's randomness no token may be made: a guessable link would let
      // anyone confirm any domain.
      throw std::runtime_error("getrandom failed");
    }
    filled += static_cast<size_t>(got);
  }
  return out;
}

std::string token_hash(std::string_view token) {
  return crypto::to_hex(crypto::blake2b_256(token));
}

bool is_token_text(std::string_view token) {
  if (token.size() != token_bytes * 2) return false;
  for (char ch : token)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return true;
}

// A stored JSON value, or nullopt when absent; a value that does not parse is treated as
// absent too (only this code writes these keys, so that is a bug already logged).
caf::expected<std::optional<json>> read_json(const storage::store& db, column c,
                                             const std::string& key) {
  auto raw = db.get(c, key);
  if (!raw) return storage_error(raw.error());
  if (!*raw) return std::optional<json>{};
  auto j = json::parse(**raw, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    log()->error("hub store: {} does not decode; ignored", key);
    return std::optional<json>{};
  }
  return std::optional<json>{std::move(j)};
}

// One confirmation mail in a budget's list: when, and for whom (the client that caused a
// domain's mail, the domain a client's mail went to; "" in lists an earlier Hub wrote).
struct sent_mail {
  int64_t at = 0;
  std::string by;
};

// The mails in a "hub/mailed/" or "hub/client_mailed/" entry from `since` on, oldest first.
std::vector<sent_mail> mails_since(const std::optional<json>& entry, int64_t since) {
  std::vector<sent_mail> out;
  if (!entry) return out;
  auto sent = entry->find("sent");
  if (sent == entry->end() || !sent->is_array()) return out;
  for (const auto& m : *sent) {
    sent_mail mail;
    if (m.is_number_integer()) {
      mail.at = m.get<int64_t>();
    } else if (m.is_array() && m.size() == 2 && m[0].is_number_integer() && m[1].is_string()) {
      mail.at = m[0].get<int64_t>();
      mail.by = m[1].get<std::string>();
    } else {
      continue;
    }
    if (mail.at >= since) out.push_back(std::move(mail));
  }
  std::sort(out.begin(), out.end(),
            [](const sent_mail& a, const sent_mail& b) { return a.at < b.at; });
  return out;
}

json sent_json(const std::vector<sent_mail>& mails) {
  auto out = json::array();
  for (const auto& m : mails) out.push_back(json::array({m.at, m.by}));
  return json{{"sent", std::move(out)}};
}

// Removes the mail sent at `at` for `by` from `mails`; whether there was one.
bool forget_mail(std::vector<sent_mail>& mails, int64_t at, const std::string& by) {
  auto it = std::find_if(mails.begin(), mails.end(),
                         [&](const sent_mail& m) { return m.at == at && m.by == by; });
  if (it == mails.end()) return false;
  mails.erase(it);
  return true;
}

// The confirmation mails that count against the budgets at time `t`: a domain's and a
// client's of the last 24 hours, and the Hub's of the UTC day.
struct mail_counts {
  std::string domain_key;
  std::vector<sent_mail> to_domain;  // oldest first
  std::string client_key;            // empty: no client known
  std::vector<sent_mail> by_client;  // oldest first
  int64_t day = 0;                   // days since 1970
  int64_t that_day = 0;              // mails of `day`
};

caf::expected<mail_counts> read_mail_counts(const storage::store& db, const std::string& domain,
                                            const std::string& client, int64_t t) {
  mail_counts c;
  auto since = t - day_ms + 1;
  c.domain_key = key_of(mailed_prefix, domain);
  auto mailed = read_json(db, column::meta, c.domain_key);
  if (!mailed) return mailed.error();
  c.to_domain = mails_since(*mailed, since);
  if (!client.empty()) {
    c.client_key = key_of(client_mailed_prefix, client);
    auto by_client = read_json(db, column::meta, c.client_key);
    if (!by_client) return by_client.error();
    c.by_client = mails_since(*by_client, since);
  }
  auto day = read_json(db, column::meta, std::string{mail_day_key});
  if (!day) return day.error();
  c.day = t / day_ms;
  if (*day && (**day).value("day", int64_t{-1}) == c.day)
    c.that_day = (**day).value("count", int64_t{0});
  return c;
}

void write_mail_counts(storage::write_batch& batch, const mail_counts& c) {
  batch.put(column::meta, c.domain_key, sent_json(c.to_domain).dump());
  if (!c.client_key.empty()) batch.put(column::meta, c.client_key, sent_json(c.by_client).dump());
  batch.put(column::meta, mail_day_key, json{{"day", c.day}, {"count", c.that_day}}.dump());
}

// The links of a "hub/pending/" entry (an earlier Hub stored its one link as the entry).
std::vector<json> links_of(const std::optional<json>& entry) {
  std::vector<json> out;
  if (!entry) return out;
  if (auto links = entry->find("links"); links != entry->end() && links->is_array()) {
    for (const auto& link : *links)
      if (link.is_object()) out.push_back(link);
  } else if (entry->contains("token")) {
    out.push_back(*entry);
  }
  return out;
}

bool link_expired(const json& link, int64_t t) {
  return t >= link.value("expires_ms", int64_t{0});
}

std::vector<json> unexpired(std::vector<json> links, int64_t t) {
  links.erase(std::remove_if(links.begin(), links.end(),
                             [t](const json& link) { return link_expired(link, t); }),
              links.end());
  return links;
}

// Puts a domain's pending links, or deletes its entry when none is left.
void write_links(storage::write_batch& batch, std::string_view key,
                 const std::vector<json>& links) {
  if (links.empty())
    batch.del(column::meta, key);
  else
    batch.put(column::meta, key, json{{"links", links}}.dump());
}

}  // namespace

std::string to_string(hub_registration_state s) {
  switch (s) {
    case hub_registration_state::pending:
      return "pending";
    case hub_registration_state::confirmed:
      return "confirmed";
    case hub_registration_state::throttled:
      return "throttled";
  }
  return "unknown";
}

bool valid_hub_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  size_t labels = 0;
  size_t start = 0;
  while (start <= domain.size()) {
    auto end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    auto label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char ch : label)
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
    ++labels;
    start = end + 1;
  }
  return labels >= 2;
}

std::string confirmation_link(const std::string& public_url, const std::string& token) {
  auto base = public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string{hub_confirm_path} + "?token=" + token;
}

hub_registry::hub_registry(storage::store& db, hub_registry_options options)
    : db_(db), options_(std::move(options)) {
  if (!options_.random_bytes) options_.random_bytes = system_random_bytes;
  // A budget of no mail would refuse every registration; one is the least that works.
  options_.mails_per_domain_per_day = std::max<uint32_t>(options_.mails_per_domain_per_day, 1);
  options_.mails_per_day = std::max<uint32_t>(options_.mails_per_day, 1);
  options_.mails_per_client_per_day = std::max<uint32_t>(options_.mails_per_client_per_day, 1);
}

int64_t hub_registry::now() const {
  if (options_.now_ms) return options_.now_ms();
  return unix_ms_now();
}

caf::expected<hub_register_step> hub_registry::register_domain(const hub_registration& reg) {
  auto domain = lowercase(reg.domain);
  if (!valid_hub_domain(domain))
    return caf::make_error(errc::bad_request, "\"" + reg.domain + "\" is not a domain name");
  if (reg.url.empty() || reg.url.size() > 2048)
    return caf::make_error(errc::bad_request, "the url is empty or too long");
  if (reg.public_key.size() != crypto::public_key{}.size())
    return caf::make_error(errc::bad_request, "the public key is not 32 bytes");
  auto key_hex = crypto::to_hex(reg.public_key);
  auto same = [&](const json& j) {
    return j.value("url", "") == reg.url && j.value("key", "") == key_hex;
  };
  auto t = now();
  hub_register_step step;
  step.outcome.mail_to = "webmaster@" + domain;
  auto throttled = [&](int64_t until, std::string reason) {
    step.outcome.state = hub_registration_state::throttled;
    step.outcome.retry_after_s =
        static_cast<uint32_t>(std::max<int64_t>(1, (until - t + 999) / 1000));
    step.outcome.reason = std::move(reason);
    return step;
  };

  auto confirmed = read_json(db_, column::meta, key_of(confirmed_prefix, domain));
  if (!confirmed) return confirmed.error();
  if (*confirmed && same(**confirmed)) {
    step.outcome.state = hub_registration_state::confirmed;
    step.outcome.mail_to.clear();
    return step;
  }
  auto pending_key = key_of(pending_prefix, domain);
  auto pending = read_json(db_, column::meta, pending_key);
  if (!pending) return pending.error();
  auto links = unexpired(links_of(*pending), t);
  int64_t last_mail = 0;
  for (const auto& link : links) {
    if (same(link)) {
      step.outcome.state = hub_registration_state::pending;
      step.outcome.expires_ms = link.value("expires_ms", int64_t{0});
      return step;
    }
    last_mail = std::max(last_mail, link.value("mailed_ms", int64_t{0}));
  }
  if (auto next_mail = last_mail + options_.min_mail_interval.count(); t < next_mail)
    return throttled(next_mail, "a confirmation mail for this domain was sent moments ago");
  auto counts = read_mail_counts(db_, domain, reg.client, t);
  if (!counts) return counts.error();
  // Each budget is free again once all but limit - 1 of its mails are a day old (the limit
  // may have been lowered since they went).
  auto free_again = [](const std::vector<sent_mail>& sent, size_t limit) {
    return sent[sent.size() - limit].at + day_ms;
  };
  const auto& sent = counts->to_domain;
  if (size_t limit = options_.mails_per_domain_per_day; sent.size() >= limit)
    return throttled(free_again(sent, limit),
                     "this domain was sent " + std::to_string(sent.size()) +
                         " confirmation mails in the last 24 hours, as many as the Hub sends it");
  if (!reg.client.empty()) {
    std::vector<sent_mail> for_client;
    std::copy_if(sent.begin(), sent.end(), std::back_inserter(for_client),
                 [&](const sent_mail& m) { return m.by == reg.client; });
    if (size_t share = (options_.mails_per_domain_per_day + 1) / 2; for_client.size() >= share)
      return throttled(free_again(for_client, share),
                       "registrations from this address caused " +
                           std::to_string(for_client.size()) +
                           " of this domain's confirmation mails in the last 24 hours, as many "
                           "as the Hub sends it for one address");
    const auto& by_client = counts->by_client;
    if (size_t limit = options_.mails_per_client_per_day; by_client.size() >= limit)
      return throttled(free_again(by_client, limit),
                       "registrations from this address caused " +
                           std::to_string(by_client.size()) +
                           " confirmation mails in the last 24 hours, as many as the Hub sends "
                           "for one address");
  }
  if (counts->that_day >= static_cast<int64_t>(options_.mails_per_day))
    return throttled((counts->day + 1) * day_ms, "the Hub has sent the " +
                                                     std::to_string(options_.mails_per_day) +
                                                     " confirmation mails it sends in a day");
  counts->to_domain.push_back({t, reg.client});
  if (!reg.client.empty()) counts->by_client.push_back({t, domain});
  ++counts->that_day;
  auto token = crypto::to_hex(options_.random_bytes(token_bytes));
  auto hash = token_hash(token);
  auto expires = t + options_.token_ttl.count();
  // The domain's other pending registrations stay: a stranger's registration must not
  // break the owner's link. The webmaster confirms the one the mail names.
  links.push_back(json{{"url", reg.url},
                       {"key", key_hex},
                       {"token", hash},
                       {"expires_ms", expires},
                       {"mailed_ms", t}});
  storage::write_batch batch;
  write_links(batch, pending_key, links);
  json tok{{"domain", domain}, {"expires_ms", expires}, {"used", false}};
  batch.put(column::dedup, key_of(token_prefix, hash), tok.dump());
  write_mail_counts(batch, *counts);
  if (auto err = db_.write(batch)) return storage_error(err);
  step.client = reg.client;
  step.outcome.state = hub_registration_state::pending;
  step.outcome.mailed = true;
  step.outcome.expires_ms = expires;
  step.token = std::move(token);
  return step;
}

mail_message hub_registry::confirmation_mail(const hub_registration& reg,
                                             const std::string& token) const {
  auto domain = lowercase(reg.domain);
  auto key = crypto::public_key_of_raw(reg.public_key);
  auto hours = std::chrono::duration_cast<std::chrono::hours>(options_.token_ttl).count();
  mail_message m;
  m.from = options_.mail_from;
  m.to = "webmaster@" + domain;
  m.subject = "Confirm the federation registration of " + domain;
  m.text = "Hello,\n\nthe fedrelay Hub at " + options_.public_url +
           " was asked to publish this federation record:\n\n"
           "  domain:      " +
           domain +
           "\n"
           "  URL:         " +
           reg.url +
           "\n"
           "  fingerprint: " +
           crypto::fingerprint(key) +
           "\n\n"
           "Chat servers that look " +
           domain +
           " up on this Hub will send its federation\n"
           "traffic to that URL, encrypted for that key. If this is right, open this link\n"
           "and press its Confirm button before " +
           utc_text(now() + options_.token_ttl.count()) +
           ":\n\n"
           "  " +
           confirmation_link(options_.public_url, token) +
           "\n\n"
           "If nobody at " +
           domain +
           " asked for this, ignore this mail: nothing is\n"
           "published without the confirmation, and the link stops working after " +
           std::to_string(hours) + " hours.\n";
  return m;
}

caf::error hub_registry::abandon(const std::string& domain_text, const hub_register_step& step) {
  if (!step.token) return caf::none;
  auto domain = lowercase(domain_text);
  auto hash = token_hash(*step.token);
  storage::write_batch batch;
  batch.del(column::dedup, key_of(token_prefix, hash));
  auto pending_key = key_of(pending_prefix, domain);
  auto pending = read_json(db_, column::meta, pending_key);
  if (!pending) return pending.error();
  auto links = links_of(*pending);
  auto ours = [&](const json& link) { return link.value("token", "") == hash; };
  // Another registration may have been confirmed while the mail was being sent, taking
  // this one with it.
  if (std::any_of(links.begin(), links.end(), ours)) {
    links.erase(std::remove_if(links.begin(), links.end(), ours), links.end());
    write_links(batch, pending_key, links);
  }
  // The mail did not go: it counts against none of the budgets. It was counted when the
  // link was made, its expiry less the link's lifetime.
  auto mailed_ms = step.outcome.expires_ms - options_.token_ttl.count();
  auto counts = read_mail_counts(db_, domain, step.client, now());
  if (!counts) return counts.error();
  if (forget_mail(counts->to_domain, mailed_ms, step.client)) {
    forget_mail(counts->by_client, mailed_ms, domain);
    if (counts->day == mailed_ms / day_ms && counts->that_day > 0) --counts->that_day;
    write_mail_counts(batch, *counts);
  }
  if (auto err = db_.write(batch)) return storage_error(err);
  return caf::none;
}

struct hub_registry::token_check {
  json token;  // the entry in column dedup
  std::string token_key;
  std::string domain;
  json link;                // the pending registration the token confirms
  std::vector<json> links;  // all of the domain's pending registrations
  std::string pending_key;
};

caf::expected<hub_registry::token_check> hub_registry::check_token(std::string_view token) const {
  const auto invalid =
      "this confirmation link is not valid: it was mistyped, or another registration of the "
      "domain was confirmed since";
  if (!is_token_text(token)) return caf::make_error(errc::not_found, invalid);
  auto hash = token_hash(token);
  token_check out;
  out.token_key = key_of(token_prefix, hash);
  auto entry = read_json(db_, column::dedup, out.token_key);
  if (!entry) return entry.error();
  if (!*entry) return caf::make_error(errc::not_found, invalid);
  out.token = std::move(**entry);
  out.domain = out.token.value("domain", "");
  if (out.token.value("used", false))
    return caf::make_error(
        errc::rejected, "this confirmation link was already used: " + out.domain + " is confirmed");
  if (now() >= out.token.value("expires_ms", int64_t{0}))
    return caf::make_error(errc::rejected, "this confirmation link has expired; the node of " +
                                               out.domain +
                                               " sends a new one when it registers again");
  out.pending_key = key_of(pending_prefix, out.domain);
  auto pending = read_json(db_, column::meta, out.pending_key);
  if (!pending) return pending.error();
  out.links = links_of(*pending);
  auto link = std::find_if(out.links.begin(), out.links.end(),
                           [&](const json& l) { return l.value("token", "") == hash; });
  if (link == out.links.end()) return caf::make_error(errc::not_found, invalid);
  out.link = *link;
  return out;
}

caf::expected<hub_registration> hub_registry::pending_for(std::string_view token) const {
  auto checked = check_token(token);
  if (!checked) return checked.error();
  auto key = crypto::from_hex(checked->link.value("key", ""), crypto::public_key{}.size());
  if (!key)
    return caf::make_error(errc::storage_failed, "a pending registration's key is unreadable");
  return hub_registration{checked->domain, checked->link.value("url", ""), std::move(*key), {}};
}

caf::expected<std::string> hub_registry::confirm(std::string_view token) {
  auto checked = check_token(token);
  if (!checked) return checked.error();
  auto& c = *checked;
  json confirmed{
      {"url", c.link.value("url", "")}, {"key", c.link.value("key", "")}, {"confirmed_ms", now()}};
  c.token["used"] = true;
  storage::write_batch batch;
  batch.put(column::meta, key_of(confirmed_prefix, c.domain), confirmed.dump());
  // The webmaster chose: the domain's other links would undo the choice, so they end.
  auto chosen = c.link.value("token", "");
  for (const auto& link : c.links)
    if (auto token = link.value("token", ""); token != chosen)
      batch.del(column::dedup, key_of(token_prefix, token));
  batch.del(column::meta, c.pending_key);
  // Kept, marked used, until it expires: a second click is told what happened.
  batch.put(column::dedup, c.token_key, c.token.dump());
  if (auto err = db_.write(batch)) return storage_error(err);
  return c.domain;
}

caf::expected<hub_record> hub_registry::lookup(std::string_view domain_text) const {
  auto domain = lowercase(domain_text);
  const auto none = "no confirmed record for this domain";
  if (!valid_hub_domain(domain)) return caf::make_error(errc::not_found, none);
  auto confirmed = read_json(db_, column::meta, key_of(confirmed_prefix, domain));
  if (!confirmed) return confirmed.error();
  if (!*confirmed) return caf::make_error(errc::not_found, none);
  const auto& c = **confirmed;
  auto key = crypto::from_hex(c.value("key", ""), crypto::public_key{}.size());
  if (!key)
    return caf::make_error(errc::storage_failed,
                           "hub store: the key of " + domain + " does not decode");
  hub_record rec;
  rec.domain = domain;
  rec.url = c.value("url", "");
  rec.public_key = std::move(*key);
  rec.ttl = static_cast<uint32_t>(options_.record_ttl.count());
  rec.confirmed_ms = c.value("confirmed_ms", int64_t{0});
  return rec;
}

caf::expected<size_t> hub_registry::sweep() {
  auto t = now();
  storage::write_batch batch;
  auto collect = [&](column c, std::string_view prefix, auto expired) -> caf::error {
    auto from = std::string{prefix};
    auto to = from;
    to.back() = static_cast<char>(to.back() + 1);  // every key starting with the prefix
    return db_.scan(c, from, to, 0, [&](std::string_view key, std::string_view value) {
      auto j = json::parse(value, nullptr, false);
      if (j.is_discarded() || !j.is_object() || expired(key, j)) batch.del(c, key);
      return true;
    });
  };
  auto past_expiry = [t](std::string_view, const json& j) { return link_expired(j, t); };
  auto no_mail_for_a_day = [t](std::string_view, const json& j) {
    return mails_since(std::optional<json>{j}, t - day_ms + 1).empty();
  };
  // A domain's expired links go one by one; its entry goes with the last.
  auto pending_expired = [&](std::string_view key, const json& j) {
    auto links = links_of(std::optional<json>{j});
    auto live = unexpired(links, t);
    if (live.empty()) return true;
    if (live.size() < links.size()) write_links(batch, key, live);
    return false;
  };
  if (auto err = collect(column::meta, pending_prefix, pending_expired)) return storage_error(err);
  if (auto err = collect(column::dedup, token_prefix, past_expiry)) return storage_error(err);
  for (auto prefix : {mailed_prefix, client_mailed_prefix})
    if (auto err = collect(column::meta, prefix, no_mail_for_a_day)) return storage_error(err);
  auto removed = batch.count();
  if (removed == 0) return size_t{0};
  if (auto err = db_.write(batch)) return storage_error(err);
  return removed;
}

namespace {

struct hub_registry_state {
  std::unique_ptr<hub_registry> registry;
  mailer_actor mailer;
  static inline const char* name = "hub_registry";
};

// The mailer bounds each attempt itself (its SMTP timeout); this only keeps a promise
// from waiting forever on a mailer that died.
constexpr auto mail_wait = std::chrono::minutes(5);

hub_registry_actor::behavior_type hub_registry_behavior(
    hub_registry_actor::stateful_pointer<hub_registry_state> self, storage::store* db,
    hub_registry_options options, mailer_actor mailer) {
  self->state.registry = std::make_unique<hub_registry>(*db, std::move(options));
  self->state.mailer = std::move(mailer);
  auto interval = self->state.registry->options().sweep_interval;
  self->send(self, sweep_atom::value);
  return {
      [=](hub_register_atom, hub_registration& reg) -> caf::result<hub_register_outcome> {
        auto& registry = *self->state.registry;
        auto step = registry.register_domain(reg);
        if (!step) {
          log()->warn("hub: registration of {} refused: {}", reg.domain, describe(step.error()));
          return std::move(step.error());
        }
        if (!step->token) {
          log()->info("hub: registration of {}: {}", reg.domain, to_string(step->outcome.state));
          return step->outcome;
        }
        auto mail = registry.confirmation_mail(reg, *step->token);
        auto promise = self->make_response_promise<hub_register_outcome>();
        auto outcome = step->outcome;
        auto made = *step;
        self->request(self->state.mailer, mail_wait, mail_atom::value, std::move(mail))
            .then(
                [=](bool) mutable {
                  log()->info("hub: registration of {} pending; confirmation mailed to {}",
                              reg.domain, outcome.mail_to);
                  promise.deliver(outcome);
                },
                [=](caf::error& err) mutable {
                  log()->warn("hub: confirmation mail to {} failed: {}", outcome.mail_to,
                              describe(err));
                  if (auto e = self->state.registry->abandon(reg.domain, made))
                    log()->error("hub: pending registration of {} not dropped: {}", reg.domain,
                                 describe(e));
                  promise.deliver(caf::make_error(errc::unavailable,
                                                  "the confirmation mail to " + outcome.mail_to +
                                                      " could not be sent: " + detail_of(err)));
                });
        return promise;
      },
      [=](hub_peek_atom, const std::string& token) -> caf::result<hub_registration> {
        auto reg = self->state.registry->pending_for(token);
        if (!reg) return std::move(reg.error());
        return std::move(*reg);
      },
      [=](hub_confirm_atom, const std::string& token) -> caf::result<std::string> {
        auto domain = self->state.registry->confirm(token);
        if (!domain) return std::move(domain.error());
        log()->info("hub: {} confirmed", *domain);
        return std::move(*domain);
      },
      [=](lookup_atom, const std::string& domain) -> caf::result<hub_record> {
        auto rec = self->state.registry->lookup(domain);
        if (!rec) return std::move(rec.error());
        return std::move(*rec);
      },
      [=](sweep_atom) {
        auto removed = self->state.registry->sweep();
        if (!removed)
          log()->warn("hub: sweep failed: {}", describe(removed.error()));
        else if (*removed > 0)
          log()->info("hub: dropped or trimmed {} expired registrations and links", *removed);
        self->delayed_send(self, interval, sweep_atom::value);
      },
  };
}

}  // namespace

hub_registry_actor spawn_hub_registry(caf::actor_system& sys, storage::store& db,
                                      hub_registry_options options, mailer_actor mailer,
                                      bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(hub_registry_behavior, &db, std::move(options),
                                    std::move(mailer));
  return sys.spawn(hub_registry_behavior, &db, std::move(options), std::move(mailer));
}

}  // namespace fedrelay::actors
