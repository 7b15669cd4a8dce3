// Sends plain-text mail through an SMTP server with libcurl (smtp:// with STARTTLS, smtps://,
// AUTH from the URL): the mailer port of actors/hub_registry.hpp, for the Hub's links.
#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include "actors/hub_registry.hpp"

namespace fedrelay::net {

/// When an smtp:// connection upgrades with STARTTLS (smtps:// is TLS from the start).
enum class starttls_policy {
  // Required when the URL carries credentials, so a password never crosses in clear;
  // otherwise used when the server offers it (a server that offers it must then pass
  // certificate checks).
  automatic,
  required,  // refuse to send over a server that does not offer STARTTLS
  never,     // plain SMTP (a relay on loopback)
};

struct smtp_options {
  // [hub] smtp_url: "smtp://[user:password@]host[:port]" (port 25 by default; 587 for
  // submission) or "smtps://…" (port 465 by default). The user and password are
  // percent-decoded and used for SMTP AUTH (whatever mechanism the server offers).
  std::string url;
  std::string ca_file;  // PEM CAs to verify the server with; empty: the system's store
  std::string helo_name = "localhost";  // the name this client gives in EHLO
  starttls_policy starttls = starttls_policy::automatic;
  // Bound on one whole mail (connect, TLS, AUTH, transfer); connecting alone gets a third.
  std::chrono::milliseconds timeout{30'000};
};

/// Sends `mail` and returns when the server accepted it; blocks up to options.timeout, so
/// call it off the io threads. Adds Date, Message-ID and MIME headers; lines end in CRLF.
/// Errors: actors::errc::unavailable naming the server (password redacted) and libcurl's
/// reason; actors::errc::bad_request for a header value with a line break.
[[nodiscard]] caf::error send_mail(const smtp_options& options, const actors::mail_message& mail);

/// The whole message as sent (headers and body), for tests and the log.
std::string format_mail(const actors::mail_message& mail, const std::string& message_id_host);

/// Spawns the mailer actor: one mail at a time with send_mail(). It blocks, so app passes
/// `detached` = true (a thread of its own).
[[nodiscard]] actors::mailer_actor spawn_smtp_mailer(caf::actor_system& sys, smtp_options options,
                                                     bool detached = true);

}  // namespace fedrelay::net
