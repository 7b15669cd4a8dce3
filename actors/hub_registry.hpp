// The Hub's domain logic (DESIGN.md section 5): registrations waiting for the mailed
// confirmation, confirmed records served to lookups, and the actor that owns them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"

namespace fedrelay::storage {
class store;
}

namespace fedrelay::actors {

/// The Hub API's paths besides hub.lookup (net/hub_client.hpp), one place for both sides.
inline constexpr std::string_view hub_register_path = "/api/v1/hub.register";
inline constexpr std::string_view hub_confirm_path = "/api/v1/hub.confirm";

using hub_register_atom = caf::atom_constant<caf::atom("hubreg")>;
using hub_confirm_atom = caf::atom_constant<caf::atom("hubconfirm")>;
using hub_peek_atom = caf::atom_constant<caf::atom("hubpeek")>;
using mail_atom = caf::atom_constant<caf::atom("mail")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

/// What a node asks the Hub to publish. The API checked the signature (made with
/// `public_key`) before the registry sees it; the mail proves the domain.
struct hub_registration {
  std::string domain;      // "b.example", any case (stored lower case)
  std::string url;         // the node's public URL, "https://chat.b.example:8443"
  std::string public_key;  // the raw 32-byte Ed25519 key
  // Who asked, as the rate limits count clients (net::rate_limit_client: an IPv4 address
  // or an IPv6 /64); empty when unknown, which no per-client budget bounds.
  std::string client;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hub_registration& x) {
  return f(caf::meta::type_name("hub_registration"), x.domain, x.url, x.public_key, x.client);
}

/// A confirmed record, as lookups serve it.
struct hub_record {
  std::string domain;
  std::string url;
  std::string public_key;  // raw 32 bytes
  uint32_t ttl = 0;        // seconds a peer may cache the answer
  int64_t confirmed_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hub_record& x) {
  return f(caf::meta::type_name("hub_record"), x.domain, x.url, x.public_key, x.ttl,
           x.confirmed_ms);
}

/// Where a registration stands after the Hub took it.
enum class hub_registration_state : uint8_t {
  pending,    // waiting for webmaster@domain to open the link
  confirmed,  // exactly this {url, key} is what lookups serve
  throttled,  // no mail may go to the domain now (see hub_register_outcome::reason): retry later
};

/// "pending", "confirmed" or "throttled".
std::string to_string(hub_registration_state s);

struct hub_register_outcome {
  hub_registration_state state = hub_registration_state::pending;
  std::string mail_to;         // "webmaster@b.example" while pending
  bool mailed = false;         // this request sent a new confirmation mail
  int64_t expires_ms = 0;      // pending: when the link stops working (Unix ms)
  uint32_t retry_after_s = 0;  // throttled: when a new mail may go out
  std::string reason;          // throttled: which bound held it back, for the registrant
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hub_register_outcome& x) {
  return f(caf::meta::type_name("hub_register_outcome"), x.state, x.mail_to, x.mailed, x.expires_ms,
           x.retry_after_s, x.reason);
}

/// One plain-text mail.
struct mail_message {
  std::string from;     // "hub@hub.example"
  std::string to;       // "webmaster@b.example"
  std::string subject;  // one line
  std::string text;     // lines separated by "\n"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mail_message& x) {
  return f(caf::meta::type_name("mail_message"), x.from, x.to, x.subject, x.text);
}

/// The port that sends mail (net/smtp_mailer.hpp implements it with libcurl). Replies true
/// once the SMTP server accepted the message; errc::unavailable with the server's reason
/// otherwise.
using mailer_actor = caf::typed_actor<caf::replies_to<mail_atom, mail_message>::with<bool>>;

struct hub_registry_options {
  std::string public_url;  // [hub] public_url: base of the confirmation link
  std::string mail_from;   // [hub] mail_from
  // How long a confirmation link works. Long enough for a person to read the mail the
  // next day; a leaked old mail stops mattering after it.
  std::chrono::milliseconds token_ttl = std::chrono::hours(24);
  // The least time between two confirmation mails for one domain (different keys or URLs
  // in a row): anyone may register any domain, so this bounds what the Hub mails a
  // stranger's webmaster. The same registration again never mails again until its link
  // expired, so a node polling its pending registration costs no mail.
  std::chrono::milliseconds min_mail_interval = std::chrono::minutes(5);
  // Confirmation mails to one domain in any 24 hours, and from the Hub in one UTC day, at
  // most: registrations of a domain by others (each a new key) could otherwise mail its
  // webmaster every min_mail_interval for good, and many domains the Hub's mail server.
  // One client may cause at most half (rounded up) of a domain's mails, so a stranger
  // alone cannot use up the day's mails to a domain before its owner registers.
  uint32_t mails_per_domain_per_day = 6;
  uint32_t mails_per_day = 1000;
  // Confirmation mails one client may cause in any 24 hours: one client alone cannot
  // use up the Hub's mails of the day.
  uint32_t mails_per_client_per_day = 20;
  // The TTL lookups carry; a peer re-asks after it, so a new key spreads within it.
  std::chrono::seconds record_ttl{300};
  // How often the actor drops expired pending registrations and tokens.
  std::chrono::milliseconds sweep_interval = std::chrono::hours(1);
  // Unix milliseconds now; null: the system clock. Tests inject a fake clock.
  std::function<int64_t()> now_ms;
  // `n` random bytes for tokens; null: the kernel's getrandom(). Tests may inject.
  std::function<std::string(size_t n)> random_bytes;
};

/// A registration the registry accepted and whose mail must now go out.
struct hub_register_step {
  hub_register_outcome outcome;
  std::optional<std::string> token;  // set when a new link was made: mail it, never log it
  std::string client;                // whose budget the mail was counted against
};

/// The registry's records over a storage::store (column meta for records, column dedup for
/// tokens; key layout in hub_registry.cpp). Tokens are kept only as BLAKE2b-256 hashes, so
/// a copy of the store confirms nothing. Not thread-safe: one caller at a time (the actor).
/// Errors carry actors::errc: bad_request (malformed input), not_found, rejected,
/// storage_failed.
class hub_registry {
 public:
  /// REQUIRES: `db` outlives the registry.
  hub_registry(storage::store& db, hub_registry_options options);

  /// Takes a registration: the same {url, key} as the confirmed record is `confirmed` at
  /// once (a node re-registering at every boot mails nobody); the same as a pending,
  /// unexpired one is `pending` without a new mail; anything else becomes one more pending
  /// registration of the domain with its own token, unless another mail went to the
  /// domain less than min_mail_interval ago, or the client's, the domain's or the Hub's
  /// mails of the day are used up (`throttled`, with a reason). Pending registrations do
  /// not replace each other: a stranger's registration of a domain leaves its owner's link
  /// working. The confirmed record keeps serving until another one is confirmed.
  [[nodiscard]] caf::expected<hub_register_step> register_domain(const hub_registration& reg);

  /// The mail for a token register_domain() returned.
  mail_message confirmation_mail(const hub_registration& reg, const std::string& token) const;

  /// Drops the pending registration made with `token` when its mail could not be sent, so
  /// the node's next attempt mails again instead of waiting for the link to expire; the
  /// mail counts no more against the client's, the domain's or the Hub's mails.
  /// `step` is what register_domain() returned with the token.
  [[nodiscard]] caf::error abandon(const std::string& domain, const hub_register_step& step);

  /// Confirms the pending registration of the link's token and returns its domain; the
  /// domain's other pending registrations end with it (the webmaster chose). The token
  /// works once. Errors: not_found (unknown, malformed, or another registration of the
  /// domain was confirmed), rejected (expired, or already used: the detail says which).
  [[nodiscard]] caf::expected<std::string> confirm(std::string_view token);

  /// What confirm(token) would confirm, without confirming it: the page a link opens shows
  /// it and asks for a click. The same errors as confirm.
  [[nodiscard]] caf::expected<hub_registration> pending_for(std::string_view token) const;

  /// The confirmed record of `domain` (any case). not_found when there is none, whether
  /// or not a registration is pending: lookups do not reveal what waits for confirmation.
  [[nodiscard]] caf::expected<hub_record> lookup(std::string_view domain) const;

  /// Deletes expired pending registrations and tokens, and the mail counts of domains and
  /// clients not mailed for a day; returns how many entries were deleted or rewritten.
  [[nodiscard]] caf::expected<size_t> sweep();

  const hub_registry_options& options() const { return options_; }

 private:
  /// A token's entry and the pending registration it confirms (hub_registry.cpp).
  struct token_check;
  [[nodiscard]] caf::expected<token_check> check_token(std::string_view token) const;

  int64_t now() const;
  storage::store& db_;
  hub_registry_options options_;
};

/// The confirmation link of a token: public_url + hub_confirm_path + "?token=" + token.
std::string confirmation_link(const std::string& public_url, const std::string& token);

/// Whether `domain` is a DNS name the Hub accepts (lower-case letters, digits, '-', dots;
/// labels of 1-63 characters, at most 253 in all, at least two labels).
bool valid_hub_domain(std::string_view domain);

using hub_registry_actor = caf::typed_actor<
    // Takes a registration and, when a new link was made, has it mailed before replying.
    // Errors: bad_request, storage_failed, unavailable (the mail could not be sent; nothing
    // stays pending then).
    caf::replies_to<hub_register_atom, hub_registration>::with<hub_register_outcome>,
    // Confirms a token; replies the domain. Errors: not_found, rejected, storage_failed.
    caf::replies_to<hub_confirm_atom, std::string>::with<std::string>,
    // What a token would confirm, unconfirmed. The same errors.
    caf::replies_to<hub_peek_atom, std::string>::with<hub_registration>,
    // The confirmed record of a domain. Errors: not_found, bad_request, storage_failed.
    caf::replies_to<lookup_atom, std::string>::with<hub_record>,
    // Drops expired entries (also sent to itself every sweep_interval).
    caf::reacts_to<sweep_atom>>;

/// Spawns the registry actor over `db`. Its writes block on fsync, so app passes
/// `detached` = true; tests spawn it on the scheduler. It re-arms its sweep timer forever:
/// send it an exit before the actor system goes. REQUIRES: `db` outlives the actor.
hub_registry_actor spawn_hub_registry(caf::actor_system& sys, storage::store& db,
                                      hub_registry_options options, mailer_actor mailer,
                                      bool detached = false);

}  // namespace fedrelay::actors
