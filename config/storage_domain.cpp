#include "config/storage_domain.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "config/ascii_case.hpp"
#include "config/errc.hpp"
#include "config/settings_file.hpp"

namespace fedrelay::config {
namespace {

std::string path_in(const std::string& storage_dir) {
  return storage_dir + "/" + storage_domain_file;
}

}  // namespace

std::optional<std::string> storage_domain(const std::string& storage_dir) {
  std::ifstream in{path_in(storage_dir)};
  std::string domain;
  if (!(in >> domain) || domain.empty()) return std::nullopt;
  return domain;
}

namespace {

/// Whether `recorded`, read from storage_dir, lets `domain` use it (see storage_fits_domain).
caf::error fits(const std::string& storage_dir, const std::optional<std::string>& recorded,
                const std::string& domain) {
  // No domain yet is a node not fully set, which does not run: nothing to hold it to.
  if (domain.empty()) return caf::none;
  // A record this account cannot read is no missing record: it must not be written over.
  if (!recorded && ::access(path_in(storage_dir).c_str(), F_OK) == 0 &&
      ::access(path_in(storage_dir).c_str(), R_OK) != 0)
    return caf::make_error(errc::invalid,
                           "cannot read " + path_in(storage_dir) + ": " + std::strerror(errno) +
                               " (it names the domain whose data storage.dir holds)");
  if (!recorded || equal_ignoring_case(*recorded, domain)) return caf::none;
  return caf::make_error(
      errc::invalid,
      "storage.dir " + storage_dir + " holds the data of " + *recorded + ", not of " + domain +
          " (federation.domain): its rooms, queues and keys are " + *recorded + "'s. Give " +
          domain + " a storage.dir of its own, or set federation.domain back to " + *recorded);
}

}  // namespace

caf::error storage_fits_domain(const std::string& storage_dir, const std::string& domain) {
  return fits(storage_dir, storage_domain(storage_dir), domain);
}

caf::error claim_storage_dir(const std::string& storage_dir, const std::string& domain) {
  auto recorded = storage_domain(storage_dir);
  if (auto err = fits(storage_dir, recorded, domain)) return err;
  if (recorded) return caf::none;
  return replace_file(path_in(storage_dir), domain + "\n");
}

}  // namespace fedrelay::config
