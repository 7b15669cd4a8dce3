#include "app/tls_reload.hpp"

#include <sys/stat.h>

#include "actors/describe.hpp"
#include "app/check_internal.hpp"
#include "config/errc.hpp"

namespace fedrelay::app {

caf::error refuse_tls_key_anyone_reads(const config::tls_settings& tls) {
  struct stat st {};
  if (!tls.enabled() || ::stat(tls.key.c_str(), &st) != 0 || (st.st_mode & S_IROTH) == 0)
    return caf::none;
  return caf::make_error(config::errc::invalid, "tls.key: " + tls.key + " has mode " +
                                                    check_detail::mode_text(st.st_mode) +
                                                    ": anyone can read the TLS key (chmod 600 " +
                                                    tls.key + ")");
}

caf::error reload_served_certificate(net::http_server& server, const config::tls_settings& tls) {
  if (auto err = refuse_tls_key_anyone_reads(tls)) return err;
  return server.reload_tls(tls.cert, tls.key);
}

std::string certificate_reload_line(const caf::error& err, const config::tls_settings& tls) {
  if (err)
    return "TLS certificate not loaded again, still serving the one loaded before: " +
           actors::describe(err);
  return "TLS certificate " + tls.cert + " and key " + tls.key +
         " loaded again for new connections";
}

}  // namespace fedrelay::app
