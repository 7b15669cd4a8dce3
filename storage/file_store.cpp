#include "storage/file_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

#include "storage/errc.hpp"
#include "storage/write_all.hpp"

namespace fedrelay::storage {
namespace {

namespace fs = std::filesystem;

[[nodiscard]] caf::error os_error(errc code, const std::string& what, const std::string& path) {
  // Room that runs out is the operator's to make, not a fault of the file or the caller.
  if (code == errc::write_failed && (errno == ENOSPC || errno == EDQUOT || errno == EFBIG))
    code = errc::no_space;
  return caf::make_error(code, what + " " + path + ": " + std::strerror(errno));
}

[[nodiscard]] caf::error bad_id(std::string_view id) {
  return caf::make_error(errc::corrupted, "not a file id: " + std::string{id.substr(0, 80)});
}

// The rename is durable only once the directory entry is.
void sync_dir(const std::string& dir) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd) (void)::fsync(fd.get());  // best effort: the content itself is synced already
}

// The names in `dir` that are file ids (anything else there is not the store's).
std::vector<std::string> ids_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    if (file_store::valid_id(name)) out.push_back(std::move(name));
  }
  return out;
}

std::string random_suffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return std::to_string(rd()) + "-" + std::to_string(++counter);
}

}  // namespace

file_writer::file_writer(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

file_writer::file_writer(file_writer&& other) noexcept
    : path_(std::exchange(other.path_, {})), fd_(std::move(other.fd_)), size_(other.size_) {}

file_writer& file_writer::operator=(file_writer&& other) noexcept {
  if (this != &other) {
    discard();
    path_ = std::exchange(other.path_, {});
    fd_ = std::move(other.fd_);
    size_ = other.size_;
  }
  return *this;
}

file_writer::~file_writer() {
  discard();
}

void file_writer::discard() {
  fd_.reset();
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
}

caf::error file_writer::write(std::string_view bytes) {
  if (!fd_) return caf::make_error(errc::write_failed, "write after finish: " + path_);
  if (!write_all(fd_.get(), bytes)) return os_error(errc::write_failed, "cannot write", path_);
  size_ += bytes.size();
  return {};
}

caf::error file_writer::finish() {
  if (!fd_) return {};
  bool ok = ::fsync(fd_.get()) == 0;
  fd_.reset();
  if (!ok) return os_error(errc::write_failed, "cannot sync", path_);
  return {};
}

caf::expected<std::shared_ptr<file_store>> file_store::open(std::string dir) {
  std::error_code ec;
  for (const char* sub : {"blobs", "partial", "tmp"}) {
    fs::create_directories(fs::path{dir} / sub, ec);
    if (ec)
      return caf::make_error(errc::open_failed,
                             "cannot create " + dir + "/" + sub + ": " + ec.message());
  }
  // An upload cut short by a crash leaves its temporary file; nothing refers to it.
  for (const auto& entry : fs::directory_iterator(fs::path{dir} / "tmp", ec))
    fs::remove(entry.path(), ec);
  return std::shared_ptr<file_store>{new file_store(std::move(dir))};
}

bool file_store::valid_id(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string file_store::path(std::string_view id) const {
  return dir_ + "/blobs/" + std::string{id};
}

std::string file_store::partial_path(std::string_view id) const {
  return dir_ + "/partial/" + std::string{id};
}

std::optional<uint64_t> file_store::size(std::string_view id) const {
  if (!valid_id(id)) return std::nullopt;
  std::error_code ec;
  auto n = fs::file_size(path(id), ec);
  if (ec) return std::nullopt;
  return n;
}

caf::expected<file_writer> file_store::create_temp() const {
  auto p = dir_ + "/tmp/upload-" + random_suffix();
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return os_error(errc::write_failed, "cannot create", p);
  return file_writer{p, fd};
}

caf::error file_store::publish(file_writer& writer, std::string_view id) const {
  if (!valid_id(id)) return bad_id(id);
  if (auto err = writer.finish()) return err;
  if (size(id)) {
    writer.discard();  // the same content is there already
    return {};
  }
  if (::rename(writer.path_.c_str(), path(id).c_str()) != 0)
    return os_error(errc::write_failed, "cannot publish", writer.path_);
  writer.path_.clear();  // no longer ours to remove
  sync_dir(dir_ + "/blobs");
  return {};
}

uint64_t file_store::partial_size(std::string_view id) const {
  if (!valid_id(id)) return 0;
  std::error_code ec;
  auto n = fs::file_size(partial_path(id), ec);
  return ec ? 0 : n;
}

caf::error file_store::append_partial(std::string_view id, std::string_view bytes) const {
  if (!valid_id(id)) return bad_id(id);
  auto p = partial_path(id);
  unique_fd fd{::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)};
  if (!fd) return os_error(errc::write_failed, "cannot open", p);
  // Synced, so the partial file's size after a crash is bytes that really arrived. The
  // error is read from errno before the descriptor closes.
  if (!write_all(fd.get(), bytes) || ::fdatasync(fd.get()) != 0)
    return os_error(errc::write_failed, "cannot append to", p);
  return {};
}

caf::error file_store::publish_partial(std::string_view id) const {
  if (!valid_id(id)) return bad_id(id);
  auto from = partial_path(id);
  if (::rename(from.c_str(), path(id).c_str()) != 0)
    return os_error(errc::write_failed, "cannot publish", from);
  sync_dir(dir_ + "/blobs");
  return {};
}

std::vector<std::string> file_store::contents() const {
  return ids_in(dir_ + "/blobs");
}

std::vector<std::string> file_store::partials() const {
  return ids_in(dir_ + "/partial");
}

caf::error file_store::remove(std::string_view id) const {
  if (!valid_id(id)) return bad_id(id);
  if (auto err = remove_partial(id)) return err;
  auto p = path(id);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT)
    return os_error(errc::write_failed, "cannot remove", p);
  return {};
}

caf::error file_store::remove_partial(std::string_view id) const {
  if (!valid_id(id)) return bad_id(id);
  auto p = partial_path(id);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT)
    return os_error(errc::write_failed, "cannot remove", p);
  return {};
}

}  // namespace fedrelay::storage
