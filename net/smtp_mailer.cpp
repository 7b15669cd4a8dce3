// libcurl's SMTP client behind send_mail(): one easy handle per mail (mails are rare, so
// no connection is kept), every handle and list owned by a unique_ptr.
#include "net/smtp_mailer.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>

#include <caf/typed_event_based_actor.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "config/settings.hpp"
#include "crypto/keys.hpp"
#include "net/logger.hpp"

namespace fedrelay::net {
namespace {

struct easy_deleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct slist_deleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using easy_handle = std::unique_ptr<CURL, easy_deleter>;
using string_list = std::unique_ptr<curl_slist, slist_deleter>;

// curl_global_init is not thread-safe; every mail goes through here first.
bool curl_ready() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return rc == CURLE_OK;
}

bool has_line_break(const std::string& text) {
  return text.find_first_of("\r\n") != std::string::npos;
}

bool is_ascii(const std::string& text) {
  for (unsigned char ch : text)
    if (ch >= 0x80) return false;
  return true;
}

// RFC 2047 for a subject that is not ASCII (a Unicode domain, a translated text).
std::string header_text(const std::string& text) {
  if (is_ascii(text)) return text;
  return "=?UTF-8?B?" + crypto::to_base64(text) + "?=";
}

std::string rfc5322_date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Spelled out rather than strftime's %a/%b, which follow the locale.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string message_id(const std::string& host) {
  std::random_device rd;
  std::string bytes(16, '\0');
  for (auto& b : bytes) b = static_cast<char>(rd() & 0xff);
  return "<" + crypto::to_hex(bytes) + "@" + host + ">";
}

// The authority's user info, when the URL has one.
bool has_credentials(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find_first_of("/?#", start);
  auto authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  return authority.find('@') != std::string::npos;
}

bool is_smtps(const std::string& url) {
  return url.size() >= 8 && strncasecmp(url.c_str(), "smtps://", 8) == 0;
}

struct upload {
  const std::string* data;
  size_t offset = 0;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<upload*>(user);
  size_t n = std::min(size * count, up->data->size() - up->offset);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

}  // namespace

std::string format_mail(const actors::mail_message& mail, const std::string& message_id_host) {
  std::string out;
  out += "Date: " + rfc5322_date() + "\r\n";
  out += "From: <" + mail.from + ">\r\n";
  out += "To: <" + mail.to + ">\r\n";
  out += "Subject: " + header_text(mail.subject) + "\r\n";
  out += "Message-ID: " + message_id(message_id_host) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  // RFC 3834: tells vacation responders and list servers not to answer a machine.
  out += "Auto-Submitted: auto-generated\r\n";
  out += "\r\n";
  for (size_t pos = 0; pos < mail.text.size();) {
    auto nl = mail.text.find('\n', pos);
    auto line = mail.text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out += line + "\r\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

caf::error send_mail(const smtp_options& options, const actors::mail_message& mail) {
  auto server = config::redacted_url(options.url);
  if (has_line_break(mail.from) || has_line_break(mail.to) || has_line_break(mail.subject))
    return caf::make_error(actors::errc::bad_request, "a mail header holds a line break");
  if (!curl_ready())
    return caf::make_error(actors::errc::unavailable, "libcurl could not be initialised");
  easy_handle curl{curl_easy_init()};
  if (!curl) return caf::make_error(actors::errc::unavailable, "libcurl could not make a handle");
  auto from_host = mail.from.substr(mail.from.rfind('@') + 1);
  auto message = format_mail(mail, from_host);
  upload up{&message};
  // libcurl takes the URL's path as the EHLO name.
  auto url = options.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/" + options.helo_name;
  auto from = "<" + mail.from + ">";
  string_list rcpt{curl_slist_append(nullptr, ("<" + mail.to + ">").c_str())};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  auto* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  // Never follow the URL anywhere but SMTP, whatever a configuration says.
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // many threads; no SIGALRM for timeouts
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.timeout.count() / 3));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(h, CURLOPT_READDATA, &up);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  long use_ssl = CURLUSESSL_NONE;
  if (!is_smtps(options.url)) {
    switch (options.starttls) {
      case starttls_policy::automatic:
        use_ssl = has_credentials(options.url) ? CURLUSESSL_ALL : CURLUSESSL_TRY;
        break;
      case starttls_policy::required:
        use_ssl = CURLUSESSL_ALL;
        break;
      case starttls_policy::never:
        use_ssl = CURLUSESSL_NONE;
        break;
    }
  }
  curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
  auto rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string why = error_buffer[0] != 0 ? error_buffer : curl_easy_strerror(rc);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 0) why += " (last SMTP reply " + std::to_string(code) + ")";
    return caf::make_error(actors::errc::unavailable, "SMTP server " + server + ": " + why);
  }
  return caf::none;
}

actors::mailer_actor spawn_smtp_mailer(caf::actor_system& sys, smtp_options options,
                                       bool detached) {
  auto behavior = [](actors::mailer_actor::pointer self,
                     smtp_options o) -> actors::mailer_actor::behavior_type {
    return {
        [o](actors::mail_atom, const actors::mail_message& mail) -> caf::result<bool> {
          if (auto err = send_mail(o, mail)) {
            log()->warn("mail to {} failed: {}", mail.to, actors::describe(err));
            return err;
          }
          log()->info("mail to {} accepted by {}", mail.to, config::redacted_url(o.url));
          return true;
        },
    };
  };
  if (detached) return sys.spawn<caf::detached>(behavior, std::move(options));
  return sys.spawn(behavior, std::move(options));
}

}  // namespace fedrelay::net
