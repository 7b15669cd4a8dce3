#include "app/load.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "actors/describe.hpp"
#include "actors/message_marks.hpp"
#include "actors/request_auth.hpp"
#include "actors/stored_receipts.hpp"
#include "actors/wall_clock.hpp"
#include "app/commands.hpp"
#include "config/errc.hpp"
#include "config/status.hpp"
#include "config/storage_domain.hpp"
#include "net/logger.hpp"
#include "storage/errc.hpp"

namespace fedrelay::app {

namespace {

/// What to do about a store RocksDB would not open, when its reason tells; "" otherwise.
std::string store_open_advice(const caf::error& err) {
  if (err.category() != caf::atom("storage") ||
      static_cast<storage::errc>(err.code()) != storage::errc::open_failed)
    return {};
  auto reason = actors::describe(err);
  if (reason.find("Corruption") != std::string::npos)
    return "the store is damaged (the disk gave back other bytes than it was given): see to "
           "the disk, and restore storage.dir from a backup";
  if (reason.find("No such file or directory") != std::string::npos)
    return "a file of the store is missing (removed by hand, or a restore that was not "
           "whole): restore storage.dir from a backup";
  if (reason.find("Permission denied") != std::string::npos)
    return "the account that runs fedrelay cannot read or write part of storage.dir: give it "
           "back to that account (chown -R)";
  return {};
}

}  // namespace

void log_damage_at_open(const storage::store& db) {
  if (db.damage_at_open().empty()) return;
  net::log()->error(
      "storage: the store's log was damaged; RocksDB recovered what came before the damage, "
      "and what came after it is lost, accepted events included. The disk gave back other "
      "bytes than it was given: see to the disk, and restore {} from a backup if the loss "
      "matters. RocksDB said: {}",
      db.dir(), db.damage_at_open());
}

void report(const caf::error& err) {
  std::cerr << "error: " << actors::describe(err) << '\n';
  if (auto advice = store_open_advice(err); !advice.empty())
    std::cerr << "what to do: " << advice << '\n';
}

int start_failure_exit_code(const caf::error& err) {
  // A file that could not be written (config::errc::write_failed: a full disk) may pass.
  bool mistake = err.category() == caf::atom("config") &&
                 (err.code() == static_cast<uint8_t>(config::errc::invalid) ||
                  err.code() == static_cast<uint8_t>(config::errc::parse_failed));
  return mistake ? exit_bad_settings : exit_error;
}

std::optional<config::settings> load_or_report(const std::string& path) {
  auto s = config::load_settings(path);
  if (s) return std::move(*s);
  // One line per problem, so a file with three mistakes shows all three at once.
  for (const auto& line : config::error_lines(s.error())) std::cerr << "error: " << line << '\n';
  return std::nullopt;
}

bool report_if_not_fully_set(const config::settings& s) {
  auto missing = config::missing_keys(s);
  if (missing.empty()) return true;
  std::cout << config::status_text(config::status::not_fully_set) << '\n';
  for (const auto& key : missing) std::cerr << "missing: " << key << '\n';
  return false;
}

std::optional<crypto::identity> identity_or_report(const config::settings& s) {
  // Another domain's data holds another domain's key: not to be printed or published
  // under this one.
  if (auto err = config::storage_fits_domain(s.storage_dir, s.domain)) {
    report(err);
    return std::nullopt;
  }
  bool created = false;
  auto id = crypto::load_or_create_identity(s.storage_dir, &created);
  if (!id) {
    report(id.error());
    return std::nullopt;
  }
  if (created) std::cerr << new_identity_notice(s) << '\n';
  return std::move(*id);
}

std::string new_identity_notice(const config::settings& s) {
  return "created a new node identity in " + s.storage_dir + "/" +
         std::string{crypto::identity_file_name} +
         ": its key is new to every peer; if this node ran before, storage.dir names the wrong "
         "directory";
}

std::string lost_store_problem(const std::string& storage_dir) {
  auto recorded = config::storage_domain(storage_dir);
  if (!recorded) return {};
  // CURRENT names the store's manifest: RocksDB writes it when it creates a store and
  // never removes it. A store this account cannot look at is reported when it is opened.
  std::error_code ec;
  auto current = storage_dir + "/db/CURRENT";
  if (std::filesystem::exists(current, ec) || ec) return {};
  return "storage.dir " + storage_dir + " holds the data of " + *recorded +
         " (its domain file) but not its store: " + current +
         " is missing. Starting would make an empty store in its place, and the rooms, "
         "queued events and receipts it held would be lost";
}

std::string lost_store_fix(const std::string& storage_dir) {
  return "restore " + storage_dir + "/db from a backup; or, to start afresh on purpose, remove " +
         storage_dir + "/" + config::storage_domain_file;
}

caf::expected<std::unique_ptr<storage::store>> open_store(
    const config::settings& s, std::function<void(const std::string& reason)> on_write_failure) {
  std::error_code ec;
  std::filesystem::create_directories(s.storage_dir, ec);
  if (ec)
    return caf::make_error(storage::errc::open_failed, "cannot create the data directory " +
                                                           s.storage_dir + ": " + ec.message());
  // The directory holds the secret key: nobody else needs to look inside.
  std::filesystem::permissions(s.storage_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  // Not created empty where a node ran before: its store is lost (removed by mistake, a
  // volume not mounted) and a node that started on an empty one would drop every queued
  // event while saying it runs.
  if (auto problem = lost_store_problem(s.storage_dir); !problem.empty())
    return caf::make_error(config::errc::invalid, problem + ": " + lost_store_fix(s.storage_dir));
  storage::store_options opts;
  opts.on_write_failure = std::move(on_write_failure);
  opts.memtable_bytes = storage::memtable_bytes_for(s.domain);
  if (s.storage_sync == config::sync_mode::periodic) opts.wal_sync_period = s.storage_sync_period;
  opts.expiries.push_back({storage::column::receipts,
                           actors::expired_receipts(s.storage_receipts_kept, actors::unix_ms_now)});
  // Marks live for weeks: their files are revisited every quarter of that (a day at least),
  // not daily, which would rewrite the whole column some thirty times over a mark's life.
  // A mark thus goes up to a quarter of marks_kept_hours late.
  auto marks_revisit =
      std::max<std::chrono::seconds>(std::chrono::hours{24}, s.storage_marks_kept / 4);
  opts.expiries.push_back({storage::column::dedup,
                           actors::expired_message_marks(s.storage_marks_kept, actors::unix_ms_now),
                           marks_revisit});
  return storage::store::open(s.storage_dir + "/db", std::move(opts));
}

}  // namespace fedrelay::app
