// Which room events refer to which contents, as the files actor keeps them in column
// `files`:
//   "ref\0" id "\0" room "\0" event  -> ""  (the event of that room shares content id)
//   "ev\0" room "\0" event           -> id  (finds the reference when the event goes)
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace fedrelay::storage {
class store;
class write_batch;
}  // namespace fedrelay::storage

namespace fedrelay::actors {

/// The (room, event) pairs that refer to content `id`, at most `limit` (0: all). A read
/// error is logged and ends the list.
std::vector<std::pair<std::string, std::string>> references_of(const storage::store& store,
                                                               const std::string& id, size_t limit);

/// The content event `event` of `room` refers to, or "" when it refers to none.
caf::expected<std::string> referenced_content(const storage::store& store, const std::string& room,
                                              const std::string& event);

/// References added and dropped in one write batch (an inbox page, a share). A drop sees
/// the references added earlier in the same batch as well as the stored ones: one inbox
/// page can hold a file.shared event and the deletion of its message or room, and the
/// deletion must not leave the new reference behind.
class reference_batch {
 public:
  /// REQUIRES: `store` and `batch` outlive this object; `batch` is written to `store`
  /// after the page, and nothing else writes references meanwhile.
  reference_batch(const storage::store& store, storage::write_batch& batch);

  /// Event `event` of `room` refers to content `id`.
  void add(const std::string& id, const std::string& room, const std::string& event);

  /// Drops the reference of (room, event), if it is one and this batch has not dropped it
  /// yet; returns its content id or "". A read error is returned: the caller writes
  /// nothing and tries again, or the reference would stay for good.
  [[nodiscard]] caf::expected<std::string> drop(const std::string& room, const std::string& event);

  /// Drops every reference of `room` this batch has not dropped yet; returns their
  /// content ids (repeated when several events shared one). A read error as for drop.
  [[nodiscard]] caf::expected<std::vector<std::string>> drop_room(const std::string& room);

 private:
  void drop_known(std::string ev, const std::string& room, const std::string& event,
                  const std::string& id);

  const storage::store& store_;
  storage::write_batch& batch_;
  std::map<std::string, std::string> added_;  // ev key -> id, added by this batch
  std::set<std::string> dropped_;             // ev keys this batch dropped
};

}  // namespace fedrelay::actors
