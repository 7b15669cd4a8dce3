// The files actor. It follows the inbox the way the local server does (a long-poll on the
// bridge with a cursor of its own, kept in column `files`), so every room event that
// matters to files reaches it after a crash too, without the rooms knowing about files.
//
// Column `files`:
//   "cursor"                              -> an inbox cursor handled (8 bytes): the last,
//                                            or up to 3,200 events before it under load
//   "ref\0" ..., "ev\0" ...                -> which events refer to which contents
//                                            (actors/file_references.hpp)
//   "meta\0" id                           -> {"state","size","mime","name","origin",
//                                              "room_id","event_id","user","error"}
//   "wait\0" id "\0" event                -> a share that came while the content was being
//                                            fetched ({"size","mime","name","origin",
//                                            "room_id","event_id","user"}): told to the local
//                                            server with the fetch's outcome
#include "actors/files_actor.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/file_references.hpp"
#include "actors/json_parse.hpp"
#include "actors/logger.hpp"
#include "actors/message_marks.hpp"
#include "actors/printable.hpp"
#include "actors/request_auth.hpp"
#include "actors/room_event.hpp"
#include "actors/timed_size.hpp"
#include "actors/transaction.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "storage/file_store.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;
using fetch_tick_atom = caf::atom_constant<caf::atom("fetchtick")>;
using files_impl = files_actor::extend<caf::reacts_to<fetch_tick_atom, std::string, uint64_t>,
                                       caf::reacts_to<tick_atom>>;

constexpr uint32_t inbox_page = 200;
// Under load, skipped pages write the cursor once per this many events, not per page.
constexpr uint64_t cursor_write_events = 16 * inbox_page;
constexpr uint32_t inbox_wait_ms = 20'000;

using storage::joined_key;

std::string meta_key(std::string_view id) {
  return joined_key({"meta", id});
}

/// The keys of shares that wait for their content's fetch begin with this part:
/// waiting_key(id, event) is "wait\0" id "\0" event.
constexpr std::string_view waiting_part = "wait";
std::string waiting_key(std::string_view id, std::string_view event) {
  return joined_key({waiting_part, id, event});
}
/// The content id of waiting_key(id, event).
std::string_view content_of_waiting_key(std::string_view key) {
  key.remove_prefix(waiting_part.size() + 1);
  return key.substr(0, key.find('\0'));
}

/// One fetch from an origin, in ranges appended to the partial file.
struct fetch_job {
  // Which fetch of the content this is: a reply or timer of an earlier one (its content
  // collected, then shared again) finds another run and is dropped.
  uint64_t run = 0;
  uint32_t attempts = 0;  // verifications failed or refusals
  uint32_t failures = 0;  // consecutive failures of any kind, for the backoff
  bool busy = false;      // a request, or a timer, is pending
  uint64_t received = 0;  // bytes received in this run
  uint64_t resumed_at = 0;
  bool started = false;
  caf::actor_clock::time_point since;  // start of this run, for the rate cap
  // Bytes one range asks for: files.fetch_chunk_bytes, halved after a range timed out
  // (set at the first range), and when the range in flight was asked for.
  std::optional<timed_size> chunk;
  caf::actor_clock::time_point asked_at;
  std::string last_error;
};

/// The least a range asks for after timeouts: below that a link is as good as down, and
/// a range costs more in its request than it carries.
constexpr uint64_t least_chunk_bytes = 64u << 10;

struct files_state {
  files_context ctx;
  uint64_t cursor = 0;
  uint64_t cursor_stored = 0;             // the cursor as last written to the store
  std::map<std::string, fetch_job> jobs;  // by content id
  uint64_t runs = 0;                      // fetch_job::run of the last job started
  uint64_t fetched = 0, bytes = 0, mismatches = 0;
  static inline const char* name = "files";
};

using files_pointer = files_impl::stateful_pointer<files_state>;

// -- the store -------------------------------------------------------------------------

[[nodiscard]] caf::error write(files_pointer self, const storage::write_batch& batch) {
  return self->state.ctx.store->write(batch);
}

std::optional<json> read_meta(files_pointer self, const std::string& id) {
  auto v = self->state.ctx.store->get(storage::column::files, meta_key(id));
  if (!v || !*v) return std::nullopt;
  auto j = json::parse(**v, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

file_info info_of(files_pointer self, const std::string& id, const json& meta) {
  auto& st = self->state;
  file_info info;
  info.id = id;
  info.state = meta.value("state", "fetching");
  info.size = meta.value("size", uint64_t{0});
  info.mime = meta.value("mime", "");
  info.name = meta.value("name", "");
  info.origin = meta.value("origin", "");
  info.error = meta.value("error", "");
  info.attempts = meta.value("attempts", uint32_t{0});
  if (info.state == "ready") info.path = st.ctx.files->path(id);
  if (info.state == "fetching") {
    info.fetched = st.ctx.files->partial_size(id);
    if (auto j = st.jobs.find(id); j != st.jobs.end()) {
      info.attempts = j->second.attempts;
      if (info.error.empty()) info.error = j->second.last_error;
    }
  }
  return info;
}

/// The shares of content `id` that wait for its fetch: key and share, in key order. A read
/// error is logged and ends the list.
std::vector<std::pair<std::string, json>> waiting_shares(files_pointer self,
                                                         const std::string& id) {
  std::vector<std::pair<std::string, json>> out;
  auto of_id = joined_key({waiting_part, id});
  auto err = self->state.ctx.store->scan(storage::column::files, storage::sequenced_begin(of_id),
                                         storage::sequenced_end(of_id), 0,
                                         [&](std::string_view k, std::string_view v) {
                                           auto share = json::parse(v, nullptr, false);
                                           if (!share.is_discarded() && share.is_object())
                                             out.emplace_back(std::string{k}, share);
                                           return true;
                                         });
  if (err) log()->error("files: reading the shares waiting for {}: {}", id, describe(err));
  return out;
}

/// Removes content `id` when no event refers to it any more: the bytes, the partial file,
/// the metadata, the shares waiting for it and a fetch in progress.
void collect(files_pointer self, const std::string& id) {
  auto& st = self->state;
  if (!references_of(*st.ctx.store, id, 1).empty()) return;
  st.jobs.erase(id);
  if (auto err = st.ctx.files->remove(id)) {
    log()->error("files: removing {}: {}", id, describe(err));
    return;
  }
  storage::write_batch batch;
  batch.del(storage::column::files, meta_key(id));
  for (const auto& [key, share] : waiting_shares(self, id)) batch.del(storage::column::files, key);
  if (auto err = write(self, batch))
    log()->error("files: removing the metadata of {}: {}", id, describe(err));
  else
    log()->info("files: removed {}: no room refers to it any more", id);
}

// -- telling the local server ---------------------------------------------------------------

/// The inbox event that tells the local server about share `share` (a file.shared event's
/// fields, as "meta" keeps them) of content `id`: `type`, with `size`, and for a failure
/// `reason`.
json share_event(files_pointer self, const std::string& id, const json& share,
                 std::string_view type, uint64_t size, const std::string& reason) {
  json event = {{"type", type},
                {"room_id", share.value("room_id", "")},
                {"event_id", share.value("event_id", "")},
                {"origin", share.value("origin", "")},
                {"user", localize_user(share.value("user", ""), self->state.ctx.own_domain)},
                {"file_id", id},
                {"name", share.value("name", "")},
                {"mime", share.value("mime", "")},
                {"size", size}};
  if (type == file_failed_type) event["reason"] = reason;
  return event;
}

void forget_told(files_pointer self, const std::string& id, std::vector<std::string> told);

/// Writes the content's new metadata (unless `record_meta` is false) with the inbox event
/// that tells the local server (unless `tell_share` is false), in one append; the shares
/// that waited for the content's fetch (waiting_key) hear the same outcome in it, each
/// with its own name and type, and are forgotten once it is written.
void announce(files_pointer self, const std::string& id, json meta, std::string_view type,
              bool record_meta = true, bool tell_share = true) {
  auto& st = self->state;
  const auto size = meta.value("size", uint64_t{0});
  const auto reason = meta.value("error", "");
  journal_entry entry;
  if (tell_share) entry.inbox.push_back(dump(share_event(self, id, meta, type, size, reason)));
  auto waiting = waiting_shares(self, id);
  // A share whose message went meanwhile is forgotten untold.
  std::set<std::string> referring;
  if (!waiting.empty())
    for (auto& [room, event] : references_of(*st.ctx.store, id, 0)) referring.insert(event);
  std::vector<std::string> told;
  for (auto& [key, share] : waiting) {
    if (referring.count(share.value("event_id", "")) > 0) {
      auto own_size = type == file_failed_type ? share.value("size", size) : size;
      entry.inbox.push_back(dump(share_event(self, id, share, type, own_size, reason)));
    }
    told.push_back(key);
  }
  if (record_meta)
    entry.puts.push_back(
        journal_put{static_cast<uint8_t>(storage::column::files), meta_key(id), dump(meta)});
  if (entry.inbox.empty() && entry.puts.empty()) return forget_told(self, id, std::move(told));
  self->request(st.ctx.journal, caf::infinite, append_atom::value, std::move(entry))
      .then([self, id,
             told](std::vector<uint64_t>&) mutable { forget_told(self, id, std::move(told)); },
            [id](caf::error& err) {
              log()->error("files: recording the state of {}: {}", id, describe(err));
            });
}

/// Forgets the waiting shares an announcement told, then tells those that came while it
/// was written (they saw the content still being fetched) the outcome it recorded.
void forget_told(files_pointer self, const std::string& id, std::vector<std::string> told) {
  if (!told.empty()) {
    storage::write_batch batch;
    for (const auto& key : told) batch.del(storage::column::files, key);
    if (auto err = write(self, batch)) {
      log()->error("files: forgetting the shares told about {}: {}", id, describe(err));
      return;
    }
  }
  auto meta = read_meta(self, id);
  if (!meta || waiting_shares(self, id).empty()) return;
  auto state = meta->value("state", "");
  if (state == "ready")
    announce(self, id, std::move(*meta), file_available_type, false, false);
  else if (state == "failed")
    announce(self, id, std::move(*meta), file_failed_type, false, false);
}

// -- fetching ------------------------------------------------------------------------------

void fetch_next(files_pointer self, const std::string& id);

std::chrono::milliseconds backoff(files_pointer self, uint32_t failures) {
  return self->state.ctx.transport_settings.backoff_after(failures);
}

/// The job of `id` if it is still run `run`; null when its content was collected (and
/// perhaps shared again) since the reply or timer was set off.
fetch_job* job_of_run(files_pointer self, const std::string& id, uint64_t run) {
  auto found = self->state.jobs.find(id);
  return found != self->state.jobs.end() && found->second.run == run ? &found->second : nullptr;
}

void retry_later(files_pointer self, const std::string& id, std::chrono::milliseconds delay) {
  auto& job = self->state.jobs[id];
  job.busy = true;
  self->delayed_send(self, delay, fetch_tick_atom::value, id, job.run);
}

void give_up(files_pointer self, const std::string& id, json meta, const std::string& why) {
  auto& st = self->state;
  log()->warn("files: giving up on {} from {}: {}", id, meta.value("origin", ""), why);
  // Kept with the failure, so that files.info still counts what its error names.
  if (auto j = st.jobs.find(id); j != st.jobs.end()) meta["attempts"] = j->second.attempts;
  st.jobs.erase(id);
  if (auto err = st.ctx.files->remove_partial(id))
    log()->error("files: removing the partial file of {}: {}", id, describe(err));
  meta["state"] = "failed";
  meta["error"] = why;
  announce(self, id, std::move(meta), file_failed_type);
}

/// A failure that counts against fetch_attempts (wrong bytes, a refusal).
void count_failure(files_pointer self, const std::string& id, json meta, const std::string& why) {
  auto& st = self->state;
  auto& job = st.jobs[id];
  job.last_error = why;
  ++job.failures;
  if (++job.attempts >= st.ctx.settings.fetch_attempts)
    return give_up(self, id, std::move(meta),
                   why + " (" + std::to_string(job.attempts) + " attempts)");
  retry_later(self, id, backoff(self, job.failures));
}

/// Hashes the complete partial file; publishes it when it is the content, else discards it.
void verify(files_pointer self, const std::string& id, json meta) {
  auto& st = self->state;
  auto path = st.ctx.files->partial_path(id);
  std::ifstream in{path, std::ios::binary};
  crypto::blake2b_stream hash;
  std::vector<char> buf(1u << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    hash.update({buf.data(), static_cast<size_t>(in.gcount())});
  }
  auto actual = crypto::to_hex(hash.finish());
  if (actual != id) {
    ++st.mismatches;
    log()->warn("files: hash mismatch for {} from {}: the bytes hash to {}; discarded, retrying",
                id, meta.value("origin", ""), actual);
    if (auto err = st.ctx.files->remove_partial(id))
      log()->error("files: removing the partial file of {}: {}", id, describe(err));
    return count_failure(self, id, std::move(meta), "the bytes do not match the file id");
  }
  if (auto err = st.ctx.files->publish_partial(id)) {
    log()->error("files: publishing {}: {}", id, describe(err));
    return retry_later(self, id, backoff(self, ++st.jobs[id].failures));
  }
  auto& job = st.jobs[id];
  ++st.fetched;
  log()->info("files: fetched {} from {}: {} bytes, {} received in this run (resumed at byte {})",
              id, meta.value("origin", ""), meta.value("size", uint64_t{0}), job.received,
              job.resumed_at);
  st.jobs.erase(id);
  meta["state"] = "ready";
  meta.erase("error");
  announce(self, id, std::move(meta), file_available_type);
}

void on_range(files_pointer self, const std::string& id, uint64_t run, json meta, uint64_t offset,
              uint64_t want, inbound_reply& reply) {
  auto& st = self->state;
  auto* current = job_of_run(self, id, run);
  if (current == nullptr) return;  // collected while the range was on its way
  auto& job = *current;
  job.busy = false;
  auto size = meta.value("size", uint64_t{0});
  if (reply.status == 206 || reply.status == 200) {
    // A 200 is the whole content; only useful from the start.
    if (reply.status == 200 && offset > 0) reply.body.clear();
    auto body = std::string_view{reply.body}.substr(0, want);
    if (body.empty() || body.size() != want) {
      log()->warn("files: {} from {}: a range of {} bytes at {} came with {}", id,
                  meta.value("origin", ""), want, offset, reply.body.size());
      return count_failure(self, id, std::move(meta), "the origin sent a short range");
    }
    if (auto err = st.ctx.files->append_partial(id, body)) {
      log()->error("files: {}: {}", id, describe(err));
      return retry_later(self, id, backoff(self, ++job.failures));
    }
    job.chunk->answered(
        want,
        std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - job.asked_at),
        st.ctx.transport_settings.request_timeout);
    job.failures = 0;
    job.last_error.clear();  // the fetch goes on: files.info shows no error that is over
    job.received += body.size();
    st.bytes += body.size();
    if (offset + body.size() >= size) return verify(self, id, std::move(meta));
    // Keeps the run's average rate under the cap, if there is one.
    if (auto rate = st.ctx.settings.fetch_max_bytes_per_s; rate > 0) {
      auto due = job.since + std::chrono::milliseconds(job.received * 1000 / rate);
      auto now = self->clock().now();
      if (due > now)
        return retry_later(self, id,
                           std::chrono::duration_cast<std::chrono::milliseconds>(due - now));
    }
    return fetch_next(self, id);
  }
  std::string why = "the origin answered HTTP " + std::to_string(reply.status);
  auto detail = parse_json(reply.body);
  if (!detail.is_discarded() && detail.is_object() && detail["error"].is_string())
    why += ": " + printable_excerpt(detail["error"].get<std::string>(), max_quoted_bytes);
  log()->warn("files: fetching {}: {}", id, why);
  if (reply.status == 416) {  // our partial file is longer than the content: start over
    if (auto err = st.ctx.files->remove_partial(id))
      log()->error("files: removing the partial file of {}: {}", id, describe(err));
  }
  // The origin is in trouble (5xx), or does not take this node's signed read yet (401: an
  // origin of an earlier version, or one whose record of this node's key is stale): not
  // wrong, so retry without limit. A refusal (403, 404) counts toward fetch_attempts.
  if (reply.status >= 500 || reply.status == 401) {
    job.last_error = why;
    return retry_later(self, id, backoff(self, ++job.failures));
  }
  count_failure(self, id, std::move(meta), why);
}

/// No answer came for a range of `want` bytes. A range that timed out on a link too slow
/// to carry it within transport.request_timeout would time out at every try: the next
/// ones ask for half as much (job.chunk). Not the origin's fault, so retried without
/// limit; logged at the first failure of a streak and every tenth.
void on_range_failed(files_pointer self, const std::string& id, fetch_job& job, uint64_t want,
                     const caf::error& err) {
  job.last_error = detail_of(err);
  auto smaller = is_timeout(err) && job.chunk ? job.chunk->timed_out(want) : 0;
  if (job.failures % 10 == 0) {
    if (smaller != 0)
      log()->warn("files: fetching {}: {}; asking for {} bytes a range", id, job.last_error,
                  smaller);
    else
      log()->warn("files: fetching {}: {} (attempt {})", id, job.last_error, job.failures + 1);
  }
  retry_later(self, id, backoff(self, ++job.failures));
}

/// Asks the origin for the next range of `id`, from the partial file's size on.
void fetch_next(files_pointer self, const std::string& id) {
  auto& st = self->state;
  auto meta = read_meta(self, id);
  if (!meta || meta->value("state", "") != "fetching") {
    st.jobs.erase(id);
    return;
  }
  auto& job = st.jobs[id];
  job.busy = true;
  auto run = job.run;
  auto size = meta->value("size", uint64_t{0});
  auto offset = st.ctx.files->partial_size(id);
  if (!job.started) {
    job.started = true;
    job.resumed_at = offset;
    job.since = self->clock().now();
    if (offset > 0)
      log()->info("files: resuming the fetch of {} at byte {} of {}", id, offset, size);
  }
  if (offset > size) {
    if (auto err = st.ctx.files->remove_partial(id))
      log()->error("files: removing the partial file of {}: {}", id, describe(err));
    offset = 0;
  }
  if (offset == size && size > 0) return verify(self, id, std::move(*meta));
  if (!job.chunk) job.chunk.emplace(st.ctx.settings.fetch_chunk_bytes, least_chunk_bytes);
  auto want = std::min<uint64_t>(job.chunk->now(), size - offset);
  job.asked_at = self->clock().now();
  auto origin = meta->value("origin", "");
  self->request(st.ctx.discovery, st.ctx.transport_settings.request_timeout, resolve_atom::value,
                origin)
      .then(
          [self, id, run, meta = *meta, origin, offset, want](peer_record& rec) {
            auto& st = self->state;
            if (job_of_run(self, id, run) == nullptr) return;  // collected meanwhile
            outbound_request req;
            req.method = "GET";
            req.base_url = rec.base_url;
            req.path = std::string{files_get_path} + "?id=" + id;
            req.headers = signed_headers(*st.ctx.identity, st.ctx.own_domain, origin, req.method,
                                         req.path, "");
            req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-" +
                                                  std::to_string(offset + want - 1));
            self->request(st.ctx.transport, st.ctx.transport_settings.request_timeout,
                          send_atom::value, std::move(req))
                .then(
                    [self, id, run, meta, offset, want](inbound_reply& reply) {
                      on_range(self, id, run, meta, offset, want, reply);
                    },
                    [self, id, run, want](caf::error& err) {
                      auto* job = job_of_run(self, id, run);
                      if (job == nullptr) return;  // collected meanwhile
                      on_range_failed(self, id, *job, want, err);
                    });
          },
          [self, id, run](caf::error& err) {
            auto* job = job_of_run(self, id, run);
            if (job == nullptr) return;  // collected meanwhile
            job->last_error = "cannot resolve the origin: " + detail_of(err);
            retry_later(self, id, backoff(self, ++job->failures));
          });
}

void start_fetch(files_pointer self, const std::string& id) {
  auto& st = self->state;
  auto [it, fresh] = st.jobs.try_emplace(id);
  auto& job = it->second;
  if (fresh) job.run = ++st.runs;
  if (job.busy) return;
  fetch_next(self, id);
}

// -- following the inbox -------------------------------------------------------------------

/// Whether metadata read for a content says its bytes are here: then it is the metadata of
/// the content's first share, and later shares leave it as it is.
bool held_here(const std::optional<json>& meta) {
  return meta && meta->value("state", "") == "ready";
}

/// What a page of the inbox has the local server told: a content now here (or given up).
struct announcement {
  std::string id;
  json meta;
  std::string_view type;
  bool record_meta = true;  // false: the stored metadata stays (see on_shared)
};

/// A file.shared event: the reference, and a fetch when the content is another server's
/// and not here yet.
void on_shared(files_pointer self, storage::write_batch& batch, reference_batch& refs,
               const json& e, std::vector<std::string>& to_fetch,
               std::vector<announcement>& ready) {
  auto& st = self->state;
  auto id = e.value("file_id", "");
  auto room = e.value("room_id", "");
  auto event = e.value("event_id", "");
  if (!storage::file_store::valid_id(id) || room.empty() || event.empty()) return;
  refs.add(id, room, event);
  auto origin = e.value("origin", "");
  if (origin == st.ctx.own_domain) return;  // shared from here: the upload stored it
  json meta = {{"size", e.value("size", uint64_t{0})},
               {"mime", e.value("mime", "")},
               {"name", e.value("name", "")},
               {"origin", origin},
               {"room_id", room},
               {"event_id", event},
               {"user", qualify_user(e.value("user", ""), st.ctx.own_domain).value_or("")}};
  auto known = read_meta(self, id);
  auto size = meta["size"].get<uint64_t>();
  // One fetch per content: a share that comes while it is fetched (begun by an earlier page
  // or an earlier share of this one) waits for it, and hears its outcome with the share
  // that began it (announce).
  bool fetching_here = std::find(to_fetch.begin(), to_fetch.end(), id) != to_fetch.end();
  if (fetching_here || (known && known->value("state", "") == "fetching")) {
    batch.put(storage::column::files, waiting_key(id, event), dump(meta));
    return;
  }
  // A share earlier in this page that records the content's metadata is its first share.
  bool recorded_here = std::any_of(ready.begin(), ready.end(), [&id](const announcement& a) {
    return a.id == id && a.record_meta;
  });
  auto held = st.ctx.files->size(id);
  if ((held_here(known) || recorded_here) && held) {
    // The local server is told; the type, name and origin the content is served with stay
    // those of its first share (a local upload's included), whatever this one declares, its
    // size too: the id is the hash of the bytes here, so a size that differs is the event's.
    meta["state"] = "ready";
    meta["size"] = *held;
    ready.push_back({id, std::move(meta), file_available_type, false});
    return;
  }
  if (held == size) {
    meta["state"] = "ready";  // here, with no metadata of its own yet
    ready.push_back({id, std::move(meta), file_available_type});
    return;
  }
  if (size == 0) {  // nothing to fetch: a member asks for ranges of a byte at least
    meta["state"] = "failed";
    meta["error"] = "the share names an empty file";
    ready.push_back({id, std::move(meta), file_failed_type});
    return;
  }
  if (size > st.ctx.settings.max_bytes) {
    meta["state"] = "failed";
    meta["error"] = "the file is larger than files.max_bytes (" +
                    std::to_string(st.ctx.settings.max_bytes) + " bytes)";
    ready.push_back({id, std::move(meta), file_failed_type});
    return;
  }
  meta["state"] = "fetching";
  batch.put(storage::column::files, meta_key(id), dump(meta));
  to_fetch.push_back(id);
}

void poll_inbox(files_pointer self);

/// Reads the inbox again after a page that moved the cursor `moved` events: at once when
/// the page was full (more is waiting), otherwise after `inbox_pause`.
void poll_after_page(files_pointer self, uint64_t moved) {
  auto pause = self->state.ctx.inbox_pause;
  if (moved >= inbox_page || pause.count() <= 0) {
    poll_inbox(self);
    return;
  }
  self->delayed_send(self, pause, tick_atom::value);
}

/// The "next" cursor of a page as the local bridge writes it: {"events":[...],"next":N}.
std::optional<uint64_t> next_cursor_of(std::string_view page) {
  constexpr std::string_view field = R"(],"next":)";
  auto at = page.rfind(field);
  if (at == std::string_view::npos) return std::nullopt;
  auto digits = page.substr(at + field.size());
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end == digits.data() || *end != '}') return std::nullopt;
  return value;
}

/// Moves past a page that holds nothing for this actor. The cursor is written without a
/// sync (a killed process keeps it; only a crash of the machine can lose it), and under
/// load only every cursor_write_events: the pages since are then read again and lead to
/// the same decisions, at worst announcing a file that is ready once more.
void skip_page(files_pointer self, uint64_t next) {
  auto& st = self->state;
  auto moved = next - st.cursor;
  // While full pages follow each other the cursor is written every few thousand events
  // (a write per page was 1 % of a node's CPU); after a page that was not full, at once.
  bool write = moved < inbox_page || next - st.cursor_stored >= cursor_write_events;
  if (write && next != st.cursor_stored) {
    storage::write_batch batch;
    batch.put(storage::column::files, "cursor", storage::encode_u64(next));
    if (auto err = st.ctx.store->write(batch, storage::durability::buffered)) {
      log()->error("files: recording the inbox cursor: {}; retrying", describe(err));
      self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
      return;
    }
    st.cursor_stored = next;
  }
  st.cursor = next;
  poll_after_page(self, moved);
}

void on_page(files_pointer self, const std::string& page) {
  auto& st = self->state;
  if (!may_concern_files(page))
    if (auto next = next_cursor_of(page)) {
      skip_page(self, *next);
      return;
    }
  auto j = json::parse(page, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    log()->error("files: the inbox page is not JSON");
    self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    return;
  }
  storage::write_batch batch;
  reference_batch refs{*st.ctx.store, batch};
  std::vector<std::string> to_fetch, dropped;
  std::vector<announcement> ready;
  caf::error unreadable;
  auto take_one = [&](caf::expected<std::string> id) {
    if (!id)
      unreadable = std::move(id.error());
    else if (!id->empty())
      dropped.push_back(std::move(*id));
  };
  auto take_all = [&](caf::expected<std::vector<std::string>> ids) {
    if (!ids)
      unreadable = std::move(ids.error());
    else
      dropped.insert(dropped.end(), ids->begin(), ids->end());
  };
  for (const auto& e : j["events"]) {
    auto type = e.value("type", "");
    auto room = e.value("room_id", "");
    if (type == "file.shared")
      on_shared(self, batch, refs, e, to_fetch, ready);
    else if (type == "message.deleted")
      take_one(refs.drop(room, e.value("target", "")));
    else if (type == "rejected")
      take_one(refs.drop(room, e.value("event_id", "")));
    else if (type == "room.deleted")
      take_all(refs.drop_room(room));
  }
  if (unreadable) {
    // Written without the drops it could not read, the page would leave those references
    // for good: it is read again instead.
    log()->error("files: reading the references an inbox page drops: {}; retrying",
                 describe(unreadable));
    self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    return;
  }
  uint64_t next = j.value("next", st.cursor);
  batch.put(storage::column::files, "cursor", storage::encode_u64(next));
  if (auto err = write(self, batch)) {
    log()->error("files: recording inbox events: {}; retrying", describe(err));
    self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    return;
  }
  auto moved = next - st.cursor;
  st.cursor = next;
  st.cursor_stored = next;
  for (auto& a : ready) announce(self, a.id, std::move(a.meta), a.type, a.record_meta);
  // Contents the page dropped go first: one shared and deleted in the same page is then
  // not fetched at all.
  for (const auto& id : dropped) collect(self, id);
  for (const auto& id : to_fetch) start_fetch(self, id);
  poll_after_page(self, moved);
}

void poll_inbox(files_pointer self) {
  auto& st = self->state;
  // The events it acts on are never inbox references (room.cpp, record_applied): large
  // messages are passed over unread instead of shown as their local views.
  self->request(st.ctx.bridge, std::chrono::milliseconds(inbox_wait_ms + 30'000),
                fetch_whole_atom::value, st.cursor, inbox_page, inbox_wait_ms)
      .then([self](std::string& page) { on_page(self, page); },
            [self](caf::error& err) {
              log()->warn("files: reading the inbox: {}; retrying", describe(err));
              self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
            });
}

// -- start ---------------------------------------------------------------------------------

/// The cursor, the fetches to resume, the shares still to tell of a fetch's outcome, and
/// contents no event refers to (an upload whose process died before its event was
/// recorded) or partial files no fetch owns.
void recover(files_pointer self) {
  auto& st = self->state;
  auto c = st.ctx.store->get(storage::column::files, "cursor");
  if (c && *c) st.cursor = storage::decode_u64(**c).value_or(0);
  st.cursor_stored = st.cursor;
  std::vector<std::string> fetching, all;
  std::string from = joined_key({"meta", ""});
  auto err = st.ctx.store->scan(storage::column::files, from, storage::sequenced_end("meta"), 0,
                                [&](std::string_view k, std::string_view v) {
                                  std::string id{k.substr(from.size())};
                                  all.push_back(id);
                                  auto j = json::parse(v, nullptr, false);
                                  if (!j.is_discarded() && j.value("state", "") == "fetching")
                                    fetching.push_back(id);
                                  return true;
                                });
  if (err) log()->error("files: reading the file states: {}", describe(err));
  for (const auto& id : all) collect(self, id);
  // Shares that waited for a fetch whose outcome was recorded before the process ended,
  // but not yet told (forget_told tells them once the content's state is final).
  std::set<std::string> with_waiting;
  auto wait_err = st.ctx.store->scan(storage::column::files, storage::sequenced_begin(waiting_part),
                                     storage::sequenced_end(waiting_part), 0,
                                     [&](std::string_view k, std::string_view) {
                                       with_waiting.emplace(content_of_waiting_key(k));
                                       return true;
                                     });
  if (wait_err) log()->error("files: reading the waiting shares: {}", describe(wait_err));
  for (const auto& id : with_waiting) forget_told(self, id, {});
  for (const auto& id : st.ctx.files->contents())
    if (!read_meta(self, id)) collect(self, id);
  for (const auto& id : st.ctx.files->partials()) {
    auto meta = read_meta(self, id);
    if (!meta || meta->value("state", "") != "fetching")
      if (auto rm = st.ctx.files->remove_partial(id))
        log()->error("files: removing the partial file of {}: {}", id, describe(rm));
  }
  for (const auto& id : fetching)
    if (read_meta(self, id)) start_fetch(self, id);
}

/// Asks the room manager whether a room of `rooms` has a member of `domain`, and delivers
/// `info` if one has.
void check_membership(files_pointer self, std::vector<std::string> rooms, std::string domain,
                      file_info info, caf::typed_response_promise<file_info> promise) {
  struct pending {
    size_t left;
    bool done = false;
  };
  auto p = std::make_shared<pending>(pending{rooms.size()});
  auto refuse = [promise, p]() mutable {
    if (--p->left == 0 && !p->done)
      promise.deliver(
          caf::make_error(errc::rejected, "not a member server of a room that shares this file"));
  };
  for (const auto& room : rooms) {
    self->request(self->state.ctx.rooms, std::chrono::seconds(10), info_atom::value, room, domain)
        .then(
            [promise, p, info, refuse](bool member) mutable {
              if (member && !p->done) {
                p->done = true;
                promise.deliver(info);
              }
              refuse();
            },
            [refuse](caf::error&) mutable { refuse(); });
  }
}

/// Why an upload under the chat server's id (`event`, in `room`) may not share content `id`:
/// the id named another file, or another message, in that room before. The room would
/// answer the retry with that first event, and the new bytes would stay referenced by an
/// event that does not show them. The same file again is a retried upload: no error.
caf::error id_used_otherwise(files_pointer self, const std::string& room, const std::string& event,
                             const std::string& id) {
  auto& st = self->state;
  auto shared = referenced_content(*st.ctx.store, room, event);
  if (!shared) return caf::make_error(errc::storage_failed, "files: " + describe(shared.error()));
  if (*shared == id) return caf::none;
  auto taken = [&] {
    auto event_id = event.substr(0, event.rfind(':'));
    return caf::make_error(errc::bad_request,
                           "id " + event_id + " names another " +
                               (shared->empty() ? "message" : "file") +
                               " in this room already: an upload sent again must be the same "
                               "file, and a new one needs an id of its own");
  };
  if (!shared->empty()) return taken();
  auto mark =
      st.ctx.store->get(storage::column::dedup, room_message_key(submit_message_id(room, event)));
  if (!mark) return caf::make_error(errc::storage_failed, "files: " + describe(mark.error()));
  return mark->has_value() ? taken() : caf::none;
}

files_impl::behavior_type files(files_pointer self, files_context ctx) {
  self->state.ctx = std::move(ctx);
  recover(self);
  poll_inbox(self);
  return {
      [self](share_atom, local_submission& sub) -> caf::result<std::string> {
        auto& st = self->state;
        auto content = json::parse(sub.content, nullptr, false);
        auto id = content.is_object() ? content.value("file_id", "") : std::string{};
        if (!storage::file_store::valid_id(id) || !st.ctx.files->size(id))
          return caf::make_error(errc::bad_request, "no such file content: " + id);
        if (sub.id.empty()) sub.id = random_hex(16);
        auto event = sub.id + ":" + st.ctx.own_domain;
        if (auto err = id_used_otherwise(self, sub.room_id, event, id)) {
          // Not after a failed read: collect could not see the other rooms' references.
          if (err.code() == static_cast<uint8_t>(errc::bad_request)) collect(self, id);
          return err;
        }
        auto user = qualify_user(sub.user, st.ctx.own_domain).value_or(sub.user);
        json meta = {{"state", "ready"},
                     {"size", content.value("size", uint64_t{0})},
                     {"mime", content.value("mime", "")},
                     {"name", content.value("name", "")},
                     {"origin", st.ctx.own_domain},
                     {"room_id", sub.room_id},
                     {"event_id", event},
                     {"user", user}};
        storage::write_batch batch;
        reference_batch{*st.ctx.store, batch}.add(id, sub.room_id, event);
        if (!held_here(read_meta(self, id)))
          batch.put(storage::column::files, meta_key(id), dump(meta));
        if (auto err = write(self, batch))
          return caf::make_error(errc::storage_failed, "files: " + describe(err));
        auto promise = self->make_response_promise<std::string>();
        auto room = sub.room_id;
        self->request(st.ctx.rooms, caf::infinite, submit_atom::value, std::move(sub))
            .then([promise](std::string& event_id) mutable { promise.deliver(event_id); },
                  [self, promise, id, room, event](caf::error& err) mutable {
                    storage::write_batch undo;
                    auto dropped = reference_batch{*self->state.ctx.store, undo}.drop(room, event);
                    if (!dropped)
                      log()->error("files: dropping a refused share: {}",
                                   describe(dropped.error()));
                    if (auto werr = write(self, undo))
                      log()->error("files: dropping a refused share: {}", describe(werr));
                    collect(self, id);
                    promise.deliver(err);
                  });
        return promise;
      },
      [self](locate_atom, const std::string& id) -> caf::result<file_info> {
        if (!storage::file_store::valid_id(id))
          return caf::make_error(errc::bad_request, "a file id is 64 lower-case hex digits");
        auto meta = read_meta(self, id);
        if (!meta || references_of(*self->state.ctx.store, id, 1).empty())
          return caf::make_error(errc::not_found, "no such file: " + id);
        return info_of(self, id, *meta);
      },
      [self](access_atom, const std::string& domain,
             const std::string& id) -> caf::result<file_info> {
        if (!storage::file_store::valid_id(id))
          return caf::make_error(errc::bad_request, "a file id is 64 lower-case hex digits");
        auto meta = read_meta(self, id);
        if (!meta || meta->value("state", "") != "ready")
          return caf::make_error(errc::not_found, "no such file here: " + id);
        std::set<std::string> rooms;
        for (auto& [room, event] : references_of(*self->state.ctx.store, id, 0)) rooms.insert(room);
        if (rooms.empty()) return caf::make_error(errc::not_found, "no such file here: " + id);
        auto promise = self->make_response_promise<file_info>();
        check_membership(self, {rooms.begin(), rooms.end()}, domain, info_of(self, id, *meta),
                         promise);
        return promise;
      },
      [self](stats_atom) {
        auto& st = self->state;
        return std::make_tuple(st.fetched, st.bytes, st.mismatches);
      },
      [self](fetch_tick_atom, const std::string& id, uint64_t run) {
        auto* job = job_of_run(self, id, run);
        if (job == nullptr) return;  // collected meanwhile
        job->busy = false;
        fetch_next(self, id);
      },
      [self](tick_atom) { poll_inbox(self); },
  };
}

}  // namespace

// The bridge's pages hold the events as compact JSON (as stored, or dumped from the room
// log for a reference), so such an event holds `"type":"<type>"` exactly. Most pages hold
// only messages, and parsing them to skip them was a parse of every event delivered.
bool may_concern_files(std::string_view page) {
  // One pass for the field name, then a look at its value: four searches for the whole
  // markers stopped at every '"' and were 2-3 % of each node's CPU under load.
  static const std::string_view field = R"("type":")";
  static const std::boyer_moore_horspool_searcher searcher{field.begin(), field.end()};
  for (auto at = page.begin();;) {
    at = std::search(at, page.end(), searcher);
    if (at == page.end()) return false;
    at += static_cast<std::ptrdiff_t>(field.size());
    auto value = page.substr(static_cast<size_t>(at - page.begin()));
    for (std::string_view type :
         {R"(file.shared")", R"(message.deleted")", R"(rejected")", R"(room.deleted")"})
      if (value.substr(0, type.size()) == type) return true;
  }
}

files_actor spawn_files(caf::actor_system& sys, files_context ctx, bool detached) {
  if (detached) return sys.spawn<caf::detached>(files, std::move(ctx));
  return sys.spawn(files, std::move(ctx));
}

}  // namespace fedrelay::actors
