// The node's Ed25519 identity: generation, signing, and the secret key file in the data
// directory (strict permissions, atomic replacement).
//
// File format of dir/node.key (text, so an operator can tell what it is with `cat`):
//
//   fedrelay-ed25519-secret-v1
//   seed <64 lower-case hex digits: the 32-byte Ed25519 seed>
//   public <64 lower-case hex digits: the 32-byte public key derived from the seed>
//
// Each line ends with '\n'. The public key is redundant on purpose: a flipped hex digit in
// the seed would otherwise load silently as a different identity, so loading re-derives the
// key pair from the seed and refuses the file unless both agree.
#include "crypto/identity.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <caf/error.hpp>

#include "crypto/errc.hpp"
#include "crypto/sodium_internal.hpp"

namespace fedrelay::crypto {
namespace {

constexpr std::string_view file_header = "fedrelay-ed25519-secret-v1\n";
constexpr std::string_view seed_label = "seed ";
constexpr std::string_view public_label = "public ";

// A key file is three short lines; anything much larger is not ours, and the cap keeps a
// wrong path (a log, a device) from being read whole.
constexpr size_t max_file_size = 1024;

// Wipes a string that held secret material when the scope ends, on every return path.
class wipe_on_exit {
 public:
  explicit wipe_on_exit(std::string& s) : s_(s) {}
  ~wipe_on_exit() { sodium_memzero(s_.data(), s_.size()); }
  wipe_on_exit(const wipe_on_exit&) = delete;
  wipe_on_exit& operator=(const wipe_on_exit&) = delete;

 private:
  std::string& s_;
};

// Closes a file descriptor on every return path.
class unique_fd {
 public:
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  int get() const { return fd_; }
  // Closes now, so the caller can see close()'s error (it may report a failed write).
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string errno_text() {
  return std::strerror(errno);
}

caf::error io_error(const std::string& what, const std::string& path) {
  return caf::make_error(errc::io_failed, what + " " + path + ": " + errno_text());
}

std::string key_path(const std::string& dir) {
  return dir + "/" + std::string{identity_file_name};
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// mkdir -p, with 0700 for every directory it creates: the data directory holds the
// secret key, so nothing we create there should be listable by others.
caf::error make_dirs(const std::string& dir) {
  if (dir.empty()) return caf::make_error(errc::io_failed, "empty data directory path");
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return io_error("cannot create directory", prefix);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_error("cannot stat", dir);
  if (!S_ISDIR(st.st_mode))
    return caf::make_error(errc::io_failed, dir + " exists and is not a directory");
  return caf::none;
}

caf::error write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return caf::none;
}

// Reads the whole file behind `fd` (at most max_file_size + 1 bytes, to detect oversize).
caf::error read_all(int fd, std::string& out, const std::string& path) {
  out.assign(max_file_size + 1, '\0');
  size_t used = 0;
  while (used < out.size()) {
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  // Shrinking never reallocates, so the wipe of `out` covers every byte that was read.
  out.resize(used);
  return caf::none;
}

// Takes `line_label` + hex + '\n' off the front of `text`, decoding `size` bytes.
caf::expected<std::string> take_hex_line(std::string_view& text, std::string_view line_label,
                                         size_t size) {
  if (text.substr(0, line_label.size()) != line_label)
    return caf::make_error(errc::bad_key, "missing '" + std::string{line_label} + "' line");
  text.remove_prefix(line_label.size());
  auto eol = text.find('\n');
  if (eol == std::string_view::npos)
    return caf::make_error(errc::bad_key, "unterminated '" + std::string{line_label} + "' line");
  auto bytes = from_hex(text.substr(0, eol), size);
  text.remove_prefix(eol + 1);
  if (!bytes) return caf::make_error(errc::bad_key, "bad '" + std::string{line_label} + "' line");
  return bytes;
}

}  // namespace

identity::identity() = default;

identity identity::generate() {
  detail::require_sodium();
  identity id;
  crypto_sign_keypair(id.public_key_.data(), id.secret_key_.data());
  return id;
}

identity identity::from_seed(const std::array<uint8_t, 32>& seed) {
  detail::require_sodium();
  identity id;
  crypto_sign_seed_keypair(id.public_key_.data(), id.secret_key_.data(), seed.data());
  return id;
}

identity::identity(const identity&) = default;
identity& identity::operator=(const identity&) = default;

// A move copies the key and wipes the source, so the secret lives in one place only.
identity::identity(identity&& other) noexcept
    : public_key_(other.public_key_), secret_key_(other.secret_key_) {
  sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
}

identity& identity::operator=(identity&& other) noexcept {
  if (this != &other) {
    public_key_ = other.public_key_;
    secret_key_ = other.secret_key_;
    sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
  }
  return *this;
}

identity::~identity() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

signature identity::sign(std::string_view message) const {
  signature sig{};
  // Cannot fail: the only error path of crypto_sign_detached is a message longer than
  // crypto_sign_MESSAGEBYTES_MAX (SIZE_MAX - 64), which no string_view reaches.
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_key_.data());
  return sig;
}

std::array<uint8_t, 32> identity::x25519_secret() const {
  std::array<uint8_t, 32> out{};
  // Always 0 in libsodium 1.0.18: it hashes the seed and clamps, no validation.
  crypto_sign_ed25519_sk_to_curve25519(out.data(), secret_key_.data());
  return out;
}

caf::error verify(const public_key& key, std::string_view message, const signature& sig) {
  detail::require_sodium();
  if (crypto_sign_verify_detached(sig.data(),
                                  reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), key.data()) != 0)
    return caf::make_error(errc::bad_signature,
                           "Ed25519 signature does not verify for key " + to_hex(key));
  return caf::none;
}

caf::expected<identity> load_identity(const std::string& dir) {
  detail::require_sodium();
  auto path = key_path(dir);
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.get() < 0) return io_error("cannot open identity file", path);
  // fstat on the open descriptor, not stat on the path, so the mode we check belongs to
  // the very file we read.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat", path);
  if (!S_ISREG(st.st_mode))
    return caf::make_error(errc::io_failed, path + " is not a regular file");
  // Like ssh with its private keys: any group or other bit means the secret may already
  // have leaked (or may be replaced), so refuse instead of using it.
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return caf::make_error(errc::bad_permissions,
                           path + " has mode " + mode_text(st.st_mode) +
                               ", so group or others can access the node's secret key; run "
                               "`chmod 600 " +
                               path + "`");
  std::string content;
  wipe_on_exit wipe_content{content};
  if (auto err = read_all(fd.get(), content, path)) return err;
  if (content.size() > max_file_size)
    return caf::make_error(errc::bad_key, path + " is too large to be a fedrelay key file");
  std::string_view rest{content};
  if (rest.substr(0, file_header.size()) != file_header)
    return caf::make_error(errc::bad_key, path +
                                              " is not a fedrelay key file (expected first "
                                              "line 'fedrelay-ed25519-secret-v1')");
  rest.remove_prefix(file_header.size());
  auto seed = take_hex_line(rest, seed_label, crypto_sign_SEEDBYTES);
  if (!seed) return caf::make_error(errc::bad_key, path + ": " + to_string(seed.error()));
  wipe_on_exit wipe_seed{*seed};
  auto pk = take_hex_line(rest, public_label, crypto_sign_PUBLICKEYBYTES);
  if (!pk) return caf::make_error(errc::bad_key, path + ": " + to_string(pk.error()));
  if (!rest.empty())
    return caf::make_error(errc::bad_key, path + ": unexpected content after the public key");
  std::array<uint8_t, 32> seed_bytes{};
  std::memcpy(seed_bytes.data(), seed->data(), seed_bytes.size());
  auto id = identity::from_seed(seed_bytes);
  sodium_memzero(seed_bytes.data(), seed_bytes.size());
  if (std::memcmp(id.public_key().data(), pk->data(), pk->size()) != 0)
    return caf::make_error(errc::bad_key,
                           path + ": the public key does not match the seed (corrupted file)");
  return id;
}

caf::error save_identity(const std::string& dir, const identity& id) {
  detail::require_sodium();
  if (auto err = make_dirs(dir)) return err;
  auto path = key_path(dir);

  std::string content;
  content.reserve(256);  // no reallocation, so no stray copy of the seed is left behind
  wipe_on_exit wipe_content{content};
  {
    std::array<uint8_t, crypto_sign_SEEDBYTES> seed{};
    crypto_sign_ed25519_sk_to_seed(seed.data(), id.secret_key_.data());
    std::string seed_hex = to_hex(seed);
    sodium_memzero(seed.data(), seed.size());
    content.append(file_header).append(seed_label).append(seed_hex).append("\n");
    sodium_memzero(seed_hex.data(), seed_hex.size());
    content.append(public_label).append(to_hex(id.public_key())).append("\n");
  }

  // Write a temp file beside the target and rename it over: a crash leaves either the old
  // key or the new one, never half a key. mkstemp creates the file with mode 0600.
  std::string tmp = path + ".tmp-XXXXXX";
  unique_fd fd{::mkstemp(tmp.data())};
  if (fd.get() < 0) return io_error("cannot create temporary file in", dir);
  auto fail = [&tmp](caf::error err) {
    ::unlink(tmp.c_str());
    return err;
  };
  // Explicit, so the mode does not depend on the libc's mkstemp or on the umask.
  if (::fchmod(fd.get(), 0600) != 0) return fail(io_error("cannot chmod", tmp));
  if (auto err = write_all(fd.get(), content, tmp)) return fail(std::move(err));
  if (::fsync(fd.get()) != 0) return fail(io_error("cannot fsync", tmp));
  if (fd.close() != 0) return fail(io_error("cannot close", tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(io_error("cannot rename to", path));
  // The rename is durable only once the directory entry is on disk.
  unique_fd dir_fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir_fd.get() < 0) return io_error("cannot open directory", dir);
  if (::fsync(dir_fd.get()) != 0) return io_error("cannot fsync directory", dir);
  return caf::none;
}

std::string dangling_identity_link(const std::string& dir) {
  auto path = key_path(dir);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return {};
  if (::stat(path.c_str(), &st) == 0 || errno != ENOENT) return {};
  std::string target(4096, '\0');
  auto n = ::readlink(path.c_str(), target.data(), target.size());
  target.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return target;
}

caf::expected<identity> load_or_create_identity(const std::string& dir, bool* created) {
  if (created != nullptr) *created = false;
  auto path = key_path(dir);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return load_identity(dir);
  // Only a file that is certainly absent gets a new key: replacing a key that exists but
  // could not be stat'ed (EACCES, EIO) would silently change the node's identity.
  if (errno != ENOENT) return io_error("cannot stat identity file", path);
  // A link to a key kept elsewhere whose target is gone (a disk not mounted, a file moved)
  // still names the node's identity: a new key written over it would replace that
  // identity without a word.
  if (auto target = dangling_identity_link(dir); !target.empty())
    return caf::make_error(errc::io_failed,
                           path + " is a symbolic link to " + target +
                               ", which does not exist: put the node's key back there, or "
                               "remove the link to give the node a new identity");
  auto id = identity::generate();
  if (auto err = save_identity(dir, id)) return err;
  if (created != nullptr) *created = true;
  return id;
}

}  // namespace fedrelay::crypto
