#include "actors/file_references.hpp"

#include "actors/describe.hpp"
#include "actors/logger.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using storage::joined_key;

std::string ref_key(std::string_view id, std::string_view room, std::string_view event) {
  return joined_key({"ref", id, room, event});
}

std::string ev_key(std::string_view room, std::string_view event) {
  return joined_key({"ev", room, event});
}

}  // namespace

std::vector<std::pair<std::string, std::string>> references_of(const storage::store& store,
                                                               const std::string& id,
                                                               size_t limit) {
  std::vector<std::pair<std::string, std::string>> out;
  auto from = joined_key({"ref", id, ""});
  auto err = store.scan(
      storage::column::files, from, storage::sequenced_end(joined_key({"ref", id})), limit,
      [&](std::string_view k, std::string_view) {
        auto rest = k.substr(from.size());
        auto sep = rest.find('\0');
        if (sep != std::string_view::npos)
          out.emplace_back(std::string{rest.substr(0, sep)}, std::string{rest.substr(sep + 1)});
        return true;
      });
  if (err) log()->error("files: reading references of {}: {}", id, describe(err));
  return out;
}

caf::expected<std::string> referenced_content(const storage::store& store, const std::string& room,
                                              const std::string& event) {
  auto v = store.get(storage::column::files, ev_key(room, event));
  if (!v) return std::move(v.error());
  return v->value_or(std::string{});
}

reference_batch::reference_batch(const storage::store& store, storage::write_batch& batch)
    : store_(store), batch_(batch) {}

void reference_batch::add(const std::string& id, const std::string& room,
                          const std::string& event) {
  batch_.put(storage::column::files, ref_key(id, room, event), "");
  auto ev = ev_key(room, event);
  batch_.put(storage::column::files, ev, id);
  dropped_.erase(ev);
  added_[std::move(ev)] = id;
}

void reference_batch::drop_known(std::string ev, const std::string& room, const std::string& event,
                                 const std::string& id) {
  batch_.del(storage::column::files, ev);
  batch_.del(storage::column::files, ref_key(id, room, event));
  added_.erase(ev);
  dropped_.insert(std::move(ev));
}

caf::expected<std::string> reference_batch::drop(const std::string& room,
                                                 const std::string& event) {
  auto ev = ev_key(room, event);
  if (dropped_.count(ev) > 0) return std::string{};
  std::string id;
  if (auto it = added_.find(ev); it != added_.end()) {
    id = it->second;
  } else {
    auto v = store_.get(storage::column::files, ev);
    if (!v) return std::move(v.error());
    if (!*v) return std::string{};
    id = std::move(**v);
  }
  drop_known(std::move(ev), room, event, id);
  return id;
}

caf::expected<std::vector<std::string>> reference_batch::drop_room(const std::string& room) {
  std::map<std::string, std::string> found;  // event -> id, stored or added by this batch
  auto from = ev_key(room, "");
  auto to = storage::sequenced_end(joined_key({"ev", room}));
  auto err = store_.scan(storage::column::files, from, to, 0,
                         [&](std::string_view k, std::string_view id) {
                           found.emplace(k.substr(from.size()), id);
                           return true;
                         });
  if (err) return err;
  for (auto it = added_.lower_bound(from); it != added_.end() && it->first < to; ++it)
    found[it->first.substr(from.size())] = it->second;
  std::vector<std::string> ids;
  for (auto& [event, id] : found) {
    auto ev = ev_key(room, event);
    if (dropped_.count(ev) > 0) continue;
    drop_known(std::move(ev), room, event, id);
    if (!id.empty()) ids.push_back(std::move(id));
  }
  return ids;
}

}  // namespace fedrelay::actors
