// The checks of `fedrelay check` that look at this machine: settings, files, listen
// addresses and the TLS certificate.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "actors/describe.hpp"
#include "app/check_internal.hpp"
#include "app/load.hpp"
#include "app/status_file.hpp"
#include "config/storage_domain.hpp"
#include "crypto/pem.hpp"
#include "net/certificate.hpp"
#include "net/ip_scope.hpp"

namespace fedrelay::app::check_detail {
namespace {

/// The file's mode, or the errno of stat().
struct file_mode {
  int error = 0;
  unsigned mode = 0;
  bool is_dir = false;
  uid_t owner = 0;
};

file_mode stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {errno, 0, false, 0};
  return {0, static_cast<unsigned>(st.st_mode), S_ISDIR(st.st_mode), st.st_uid};
}

std::string keygen_fix(const context& c) {
  return "fedrelay keygen -c " + c.config_path + ", then publish what fedrelay dns-records -c " +
         c.config_path + " prints";
}

void check_node_key(context& c, report& r) {
  auto path = c.s.storage_dir + "/" + std::string{crypto::identity_file_name};
  auto st = stat_file(path);
  if (auto target = crypto::dangling_identity_link(c.s.storage_dir); !target.empty()) {
    // keygen would refuse it too: the node's key is wherever the link pointed.
    r.error("node.key", path + " is a symbolic link to " + target + ", which does not exist",
            "put the node's key back at " + target);
    return;
  }
  if (st.error == ENOENT) {
    r.error("node.key", path + " is missing: the node has no identity", keygen_fix(c));
    return;
  }
  if (st.error == 0 && (st.mode & 077) != 0) {
    r.error("node.key",
            path + " has mode " + mode_text(st.mode) +
                ": group or others can read the secret key, so the node refuses it",
            "chmod 600 " + path);
    return;
  }
  // A key this account may not read is no damaged key: check runs as someone else.
  if (st.error == EACCES || (st.error == 0 && ::access(path.c_str(), R_OK) != 0)) {
    r.error("node.key", path + ": " + std::strerror(st.error != 0 ? st.error : errno),
            run_as_node_account);
    return;
  }
  auto id = crypto::load_identity(c.s.storage_dir);
  if (!id) {
    r.error("node.key", actors::describe(id.error()),
            "restore " + path + " from a backup (only if it is lost for good: move it aside and " +
                keygen_fix(c) + ")");
    return;
  }
  r.ok("node.key",
       path + " has mode " + mode_text(st.mode) + ", key " + crypto::fingerprint(id->public_key()));
  c.identity = std::move(*id);
}

void check_tls_key(const context& c, report& r) {
  const auto& path = c.s.tls.key;
  auto st = stat_file(path);
  if (st.error != 0) {
    r.error("tls.key", path + ": " + std::strerror(st.error),
            "set tls.key in " + c.config_path + " to the private key of tls.cert");
  } else if ((st.mode & 007) != 0) {
    r.error("tls.key", path + " has mode " + mode_text(st.mode) + ": anyone can read the TLS key",
            "chmod 600 " + path);
  } else if ((st.mode & 070) != 0) {
    r.warning("tls.key",
              path + " has mode " + mode_text(st.mode) + ": its group can read the TLS key",
              "chmod 600 " + path + " (keep 0640 only if every member of its group may)");
  } else {
    r.ok("tls.key", path + " has mode " + mode_text(st.mode));
  }
}

/// 0 when `where` can be bound and listened on now; else an errno, or -1 with `detail`.
int try_bind(const config::endpoint& where, std::string& detail) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto port = std::to_string(where.port);
  if (int rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    detail = ::gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list{found, &::freeaddrinfo};
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  // As the node's acceptor does, so a port in TIME_WAIT is not reported as taken.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int result = 0;
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 1) != 0) result = errno;
  ::close(fd);
  return result;
}

std::string this_binary() {
  char path[4096];
  auto n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string{path, static_cast<size_t>(n)} : std::string{"fedrelay"};
}

/// Checks one listen address; true when it could be bound now.
bool check_one_listen(const context& c, report& r, const std::string& key,
                      const config::endpoint& where, std::optional<pid_t> live_pid) {
  auto name = "listen." + key;
  auto text = where.to_string();
  auto change = "choose another address for " + name + " in " + c.config_path;
  std::string detail;
  int rc = try_bind(where, detail);
  if (rc == 0) {
    r.ok(name, text + " can be bound");
    return true;
  }
  if (rc == EADDRINUSE && c.running_node) {
    r.ok(name, text + " is in use by this node");
  } else if (rc == EADDRINUSE && live_pid) {
    r.ok(name, text + " is in use by the running node (pid " + std::to_string(*live_pid) + ")");
  } else if (rc == EADDRINUSE && !live_status_unreadable(c.s.storage_dir).empty()) {
    r.warning(name,
              text + " is in use, perhaps by this file's node: this account cannot read " +
                  c.s.storage_dir + "/status to tell",
              run_as_node_account);
  } else if (rc == EADDRINUSE) {
    r.error(name, text + " is in use by another process",
            "stop what listens there (ss -ltnp 'sport = :" + std::to_string(where.port) +
                "' names it), or " + change);
  } else if (rc == EACCES) {
    r.error(name, "binding " + text + " needs privileges (ports below 1024)",
            "choose a port from 1024 up for " + name + " in " + c.config_path +
                " (public_url may keep its port behind a proxy), or grant it: sudo setcap "
                "cap_net_bind_service=+ep " +
                this_binary());
  } else if (rc == EADDRNOTAVAIL) {
    r.error(name, where.host + " is not an address of this machine",
            "set " + name + " in " + c.config_path +
                " to an address of this machine (ip -brief address lists them) or 0.0.0.0");
  } else {
    r.error(name, "cannot bind " + text + ": " + (rc < 0 ? detail : std::strerror(rc)), change);
  }
  return false;
}

}  // namespace

bool check_settings(context& c, report& r) {
  const auto& s = c.s;
  auto missing = config::missing_keys(s);
  for (const auto& key : missing)
    r.error("settings", key + " is not set", "set " + key + " in " + c.config_path);
  if (missing.empty())
    r.ok("settings", c.config_path + " is valid and complete (domain " + s.domain + ", discovery " +
                         config::to_string(s.discovery) + ")");
  if (!s.enabled)
    r.warning("settings", "federation.enabled = false: the node does not federate",
              "set federation.enabled = true in " + c.config_path);
  return !s.domain.empty() && !s.public_url.empty();
}

/// storage.sync: a warning for "periodic", since accepted events may then be lost in an
/// OS crash or a power failure, which an operator should choose knowingly.
void check_sync(const context& c, report& r) {
  if (c.s.storage_sync == config::sync_mode::always) {
    r.ok("storage.sync", "every accepted event is synced to disk before it is answered");
    return;
  }
  r.warning(
      "storage.sync",
      "\"periodic\": events are answered before they are on disk, and an OS crash or "
      "power failure can lose those of the last " +
          std::to_string(c.s.storage_sync_period.count()) + " ms",
      "set storage.sync = \"always\" in " + c.config_path + " unless that loss is acceptable here");
}

/// storage.marks_kept_hours: a warning when the marks of handled messages go before the
/// receipts do. A peer's resend under the same transaction id still finds its receipt,
/// but one under a new id (a restarted peer's) then finds no mark and is handled again.
void check_marks(const context& c, report& r) {
  const auto marks = c.s.storage_marks_kept.count(), receipts = c.s.storage_receipts_kept.count();
  if (marks >= receipts) return;
  r.warning("storage.marks_kept_hours",
            std::to_string(marks) + " is below receipts_kept_hours (" + std::to_string(receipts) +
                "): a restarted peer's resend of a message handled more than " +
                std::to_string(marks) + " hours ago is handled again",
            "set storage.marks_kept_hours to at least " + std::to_string(receipts) + " in " +
                c.config_path);
}

void check_files(context& c, report& r) {
  const auto& dir = c.s.storage_dir;
  if (!dir.empty()) {
    auto st = stat_file(dir);
    if (st.error == ENOENT) {
      r.error("storage.dir", dir + " does not exist",
              keygen_fix(c) + " (keygen creates it, mode 0700, with the node key)");
    } else if (st.error != 0) {
      r.error("storage.dir", "cannot look at " + dir + ": " + std::strerror(st.error),
              "give the user running fedrelay access to " + dir);
    } else if (!st.is_dir) {
      r.error("storage.dir", dir + " is not a directory",
              "set storage.dir in " + c.config_path + " to a directory");
    } else {
      // Another account's directory is the node's, seen by monitoring or an operator: the
      // fix is to check as the node's account, never to hand the node's data over.
      const bool usable = ::access(dir.c_str(), R_OK | W_OK | X_OK) == 0;
      if (!usable && st.owner != ::geteuid())
        r.error("storage.dir",
                dir + " is another account's (uid " + std::to_string(st.owner) +
                    "): this one cannot look into it",
                run_as_node_account);
      else if (!usable)
        r.error("storage.dir", dir + " is not writable by this user",
                "run fedrelay as the owner of " + dir + ", or: chown -R $(id -un) " + dir);
      else if (auto err = config::storage_fits_domain(dir, c.s.domain))
        r.error("storage.dir", actors::detail_of(err),
                "set storage.dir or federation.domain in " + c.config_path);
      else if (auto problem = lost_store_problem(dir); !problem.empty())
        r.error("storage.dir", problem, lost_store_fix(dir));
      else if ((st.mode & 077) != 0)
        r.warning("storage.dir",
                  dir + " has mode " + mode_text(st.mode) +
                      ": others can look into the directory of the secret key",
                  "chmod 700 " + dir);
      else
        r.ok("storage.dir", dir + " has mode " + mode_text(st.mode));
      check_node_key(c, r);
    }
  }
  check_sync(c, r);
  check_marks(c, r);
  if (c.s.tls.enabled()) check_tls_key(c, r);
}

void check_local_api(const context& c, report& r) {
  const auto& token = c.s.local_api_token;
  const std::string new_token = "set local_api.token in " + c.config_path +
                                " to a secret of your own, e.g. the output of openssl rand -hex 32";
  if (token == example_token)
    r.error("local_api.token", "is examples/node.toml's value, which anyone can read there",
            new_token);
  else if (token.size() < 16)
    r.warning("local_api.token",
              "is " + std::to_string(token.size()) +
                  " characters long: the local API and the settings screen are guarded by it",
              new_token);
  else
    r.ok("local_api.token", "is " + std::to_string(token.size()) + " characters long");
  auto st = stat_file(c.config_path);
  if (st.error == 0 && (st.mode & S_IROTH) != 0)
    r.warning("settings",
              c.config_path + " has mode " + mode_text(st.mode) +
                  ": every account of this machine can read local_api.token",
              "chmod o-r " + c.config_path);
  // The chat server runs beside the node: anything else reaching the local API has only
  // the token in its way.
  const auto& host = c.s.listen_local.host;
  if (host != "localhost" && net::scope_of(host) != net::ip_scope::loopback)
    r.warning("listen.local",
              c.s.listen_local.to_string() +
                  " may be reached from other machines: the local API and the settings screen "
                  "are then guarded by local_api.token alone",
              "set listen.local in " + c.config_path +
                  " to 127.0.0.1:" + std::to_string(c.s.listen_local.port) +
                  " and reach the screen through an SSH tunnel (docs/OPERATIONS.md)");
}

void check_listen(const context& c, report& r) {
  auto live_pid = c.s.storage_dir.empty() ? std::nullopt : read_live_pid(c.s.storage_dir);
  bool free = check_one_listen(c, r, "federation", c.s.listen_federation, live_pid);
  if (c.s.listen_local.to_string() == c.s.listen_federation.to_string()) {
    r.error("listen.local", "is the same address as listen.federation",
            "give listen.local its own port in " + c.config_path);
  } else {
    free |= check_one_listen(c, r, "local", c.s.listen_local, live_pid);
  }
  // A node runs on this storage.dir but not on these addresses: it was started from
  // another file (or before this one changed), and a node started from this one would
  // find the store locked.
  if (live_pid && free && !c.running_node)
    r.error("storage.dir",
            c.s.storage_dir + " is in use by a running node (pid " + std::to_string(*live_pid) +
                ") that does not listen where " + c.config_path +
                " says: it was started from another settings file, or before this one changed",
            "give " + c.config_path +
                " its own storage.dir, or stop that node and start it from this file");
}

void check_certificate(const context& c, report& r) {
  auto url = actors::split_base_url(c.s.public_url);
  bool https = url && url->scheme == "https";
  if (!c.s.tls.enabled()) {
    if (https)
      r.ok("tls.cert",
           "not served by the node ([tls] is unset): TLS for public_url ends in front of it, and "
           "the public_url check goes through that");
    else
      r.ok("tls.cert", "not used: public_url is http and [tls] is unset");
    return;
  }
  if (!https)
    r.error("tls.cert",
            "[tls] is set, so listen.federation speaks HTTPS, but public_url " + c.s.public_url +
                " tells peers http",
            "set federation.public_url to https://... in " + c.config_path +
                " and republish the records fedrelay dns-records prints");
  // A key this account may not read says nothing of the key: check runs as someone else.
  if (::access(c.s.tls.key.c_str(), R_OK) != 0 && errno == EACCES) {
    r.error("tls.cert",
            "cannot read " + c.s.tls.key + " to match it with " + c.s.tls.cert + ": " +
                std::strerror(EACCES),
            run_as_node_account);
    return;
  }
  auto info = net::inspect_certificate(c.s.tls.cert, c.s.tls.key, url ? url->host : "");
  if (!info) {
    r.error("tls.cert", actors::describe(info.error()),
            "set tls.cert in " + c.config_path + " to the PEM certificate chain to serve");
    return;
  }
  bool fine = true;
  auto fail = [&](std::string message, std::string fix) {
    r.error("tls.cert", std::move(message), std::move(fix));
    fine = false;
  };
  if (!info->key_problem.empty())
    fail(info->key_problem, "set tls.key in " + c.config_path +
                                " to the key of tls.cert (openssl x509 -noout -pubkey -in CERT "
                                "and openssl pkey -pubout -in KEY print the same key)");
  auto now = static_cast<int64_t>(std::time(nullptr));
  auto days_left = (info->not_after - now) / 86400;
  auto what = c.s.tls.cert + " (" + info->subject + ")";
  auto until = actors::utc_text(info->not_after * 1000);
  if (now >= info->not_after)
    fail(what + " expired on " + until,
         "renew it (e.g. certbot renew) over the old files or point tls.cert and tls.key at the "
         "new ones, then fedrelay reload -c " +
             c.config_path);
  else if (now < info->not_before)
    fail(what + " is not valid before " + actors::utc_text(info->not_before * 1000),
         "check this machine's clock (date -u), or use a certificate valid now");
  if (url && !info->names_host)
    fail(what + " is not valid for " + url->host + ", the host of public_url; peers check it",
         "use a certificate whose subjectAltName names " + url->host);
  if (!fine) return;
  if (days_left < 14)
    r.warning("tls.cert",
              what + " expires in " + std::to_string(days_left) +
                  (days_left == 1 ? " day (" : " days (") + until + ")",
              "renew it before " + until + ", then fedrelay reload -c " + c.config_path);
  else
    r.ok("tls.cert", what + " is valid until " + until + ", names " +
                         (url ? url->host : std::string{}) + " and matches tls.key");
}

}  // namespace fedrelay::app::check_detail
