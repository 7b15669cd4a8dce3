// The files actor owns the node's shared files (DESIGN.md sections 3, 4 and 8): which room
// events refer to each content, the fetches of contents other servers shared, and the
// removal of contents no room refers to any more. The bytes live in a storage::file_store;
// this actor decides what is there and when.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/discovery_actor.hpp"
#include "actors/journal_actor.hpp"
#include "actors/local_bridge_actor.hpp"
#include "actors/room_manager_actor.hpp"
#include "actors/transport_actor.hpp"
#include "config/settings.hpp"
#include "crypto/identity.hpp"

namespace fedrelay::storage {
class store;
class file_store;
}  // namespace fedrelay::storage

namespace fedrelay::actors {

using share_atom = caf::atom_constant<caf::atom("share")>;
using locate_atom = caf::atom_constant<caf::atom("locate")>;
using access_atom = caf::atom_constant<caf::atom("access")>;

/// What this node has of one content.
struct file_info {
  std::string id;         // hex BLAKE2b-256 of the content
  std::string state;      // "ready" (verified, here), "fetching", or "failed" (given up)
  std::string path;       // ready: the content's file
  uint64_t size = 0;      // as shared
  std::string mime;       // as shared
  std::string name;       // as shared
  std::string origin;     // the server that shared it (where it is fetched from)
  uint64_t fetched = 0;   // fetching: bytes in the partial file
  uint32_t attempts = 0;  // failed verifications or refusals of the current fetch
  std::string error;      // failed: why; fetching: the last problem, if any
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_info& x) {
  return f(caf::meta::type_name("file_info"), x.id, x.state, x.path, x.size, x.mime, x.name,
           x.origin, x.fetched, x.attempts, x.error);
}

using files_actor = caf::typed_actor<
    // A local user shares a content already in the file store: `sub` is a file.shared
    // submission (content: file_id, name, mime, size). Records that the event refers to the
    // content, then submits it to the room; replies with the event id. A refused submission
    // drops the reference (and the bytes when nothing else refers to them) and replies the
    // room's error (rejected, not_found, bad_request).
    caf::replies_to<share_atom, local_submission>::with<std::string>,
    // What this node has of content `id` for its local server. Errors: not_found (no room
    // here refers to it).
    caf::replies_to<locate_atom, std::string>::with<file_info>,
    // Whether server `domain` may read content `id`: replies its info when a room that
    // refers to it here has a member of `domain` and the content is ready. Errors:
    // rejected ("not a member server of a room that shares it"), not_found.
    caf::replies_to<access_atom, std::string, std::string>::with<file_info>,
    // Replies (contents fetched and verified, bytes received from origins, verifications
    // failed) since start.
    caf::replies_to<stats_atom>::with<uint64_t, uint64_t, uint64_t>>;

/// Everything the files actor needs from the node.
struct files_context {
  std::string own_domain;
  std::shared_ptr<const crypto::identity> identity;  // signs fetches. REQUIRES: not null
  config::file_settings settings;
  /// backoff_initial and backoff_max pace retries; request_timeout bounds one range.
  config::transport_settings transport_settings;
  storage::store* store = nullptr;             // column `files`. REQUIRES: outlives the actor
  std::shared_ptr<storage::file_store> files;  // the bytes. REQUIRES: not null
  room_manager_actor rooms;                    // submissions and member lists
  local_bridge_actor bridge;                   // the inbox it follows
  journal_actor journal;                       // file.available / file.failed events
  discovery_actor discovery;                   // origins' addresses
  transport_actor transport;                   // ranged GETs to origins
  /// After a page that was not full, the next read of the inbox waits this long, so a busy
  /// inbox is read in pages instead of waking this actor (and a RocksDB write of its
  /// cursor) for every event. It delays the start of a fetch by at most this much. Zero
  /// reads again at once (the deterministic tests).
  std::chrono::milliseconds inbox_pause{250};
};

/// Spawns the files actor. It follows the local inbox from where it stopped (its cursor is
/// in column `files`): a file.shared event of another server starts a fetch from the
/// origin; message.deleted, rejected and room.deleted events drop references, and a content
/// no room refers to is removed. At start it resumes unfinished fetches from their partial
/// files and removes contents nothing refers to. Its file I/O blocks, so app spawns it
/// `detached`.
files_actor spawn_files(caf::actor_system& sys, files_context ctx, bool detached = false);

/// Whether a page of the inbox, as the local bridge writes it, may hold an event the files
/// actor acts on (file.shared, message.deleted, rejected, room.deleted); a page without one
/// is skipped unparsed. It may say yes for a page that holds none (the text in a content).
bool may_concern_files(std::string_view page);

/// The inbox event types the files actor adds for the local server: a content shared by
/// another server is verified and readable with files.get, or was given up.
inline constexpr std::string_view file_available_type = "file.available";
inline constexpr std::string_view file_failed_type = "file.failed";

}  // namespace fedrelay::actors
