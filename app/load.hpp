// Start-up steps every subcommand shares: read the settings, open the store, load the
// identity, each printing one clear line per problem on stderr.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/settings.hpp"
#include "crypto/identity.hpp"
#include "storage/store.hpp"

namespace fedrelay::app {

/// The settings, or nullopt after printing every problem ("error: FILE:LINE: KEY: ...").
std::optional<config::settings> load_or_report(const std::string& path);

/// Prints the status line and the missing keys when settings are not fully set; returns
/// true when the settings are complete.
bool report_if_not_fully_set(const config::settings& s);

/// What is said when a node identity was created in storage.dir: a node that ran before
/// keeps its key there, so a new one is a first start or a storage.dir that names the wrong
/// place (peers would then refuse the node's key).
std::string new_identity_notice(const config::settings& s);

/// Loads (or creates, saying so on stderr) the identity in storage.dir.
std::optional<crypto::identity> identity_or_report(const config::settings& s);

/// What is wrong when `storage_dir` belongs to a node that ran (its domain file is there)
/// but holds no store (no db/CURRENT); empty when nothing is.
std::string lost_store_problem(const std::string& storage_dir);

/// The ways out of a lost_store_problem(): restore db/, or remove the domain file.
std::string lost_store_fix(const std::string& storage_dir);

/// Opens the node's store in storage.dir/db, creating storage.dir (mode 0700) when
/// missing, and the store when the directory is new. Errors: storage::errc::locked when
/// another node holds it, open_failed; config::errc::invalid for a lost_store_problem().
/// `on_write_failure`: see storage::store_options::on_write_failure.
[[nodiscard]] caf::expected<std::unique_ptr<storage::store>> open_store(
    const config::settings& s,
    std::function<void(const std::string& reason)> on_write_failure = {});

/// Logs as an error the damage RocksDB found in the log of `db` as it opened it (nothing
/// when there was none): it recovered what came before the damage and dropped the rest,
/// which only its own LOG would say otherwise. For the node's store and the Hub's.
void log_damage_at_open(const storage::store& db);

/// Prints "error: <describe(err)>" on stderr.
void report(const caf::error& err);

/// The exit code for a node or Hub that failed to start with `err`: exit_bad_settings for a
/// mistake of the settings (config errors), exit_error for what may pass (a port or store
/// still held by a process that is stopping).
int start_failure_exit_code(const caf::error& err);

}  // namespace fedrelay::app
