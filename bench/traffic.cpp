#include "bench/traffic.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"

namespace fedrelay::bench {

using nlohmann::json;
using namespace std::chrono_literals;

std::atomic<bool> stopping{false};

std::string event_text(int run, size_t seq, int64_t sent_ns, size_t size) {
  std::string text =
      "fb" + std::to_string(run) + ":" + std::to_string(seq) + ":" + std::to_string(sent_ns) + ":";
  // Letters and digits from a per-event pseudo-random stream: a repeated character would
  // compress to almost nothing in RocksDB's tables and understate the bytes per event.
  // Twelve characters of five bits from each 64-bit step: one character a step, with a
  // division, was half of the harness's CPU with 4 KiB texts, on the cores the nodes use.
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz012345";
  uint64_t state = 0x9e3779b97f4a7c15ULL * (seq + 1) + static_cast<uint64_t>(run);
  size_t at = text.size();
  if (at < size) text.resize(size);
  while (at < size) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    auto bits = state;
    for (int k = 0; k < 12 && at < size; ++k, bits >>= 5) text[at++] = alphabet[bits & 31];
  }
  return text;
}

namespace {

/// When event `i` of a request stamped `stamp_ns` was submitted (or due).
int64_t stamp_of(int64_t stamp_ns, double ns_per_event, size_t i) {
  return stamp_ns + static_cast<int64_t>(ns_per_event * static_cast<double>(i));
}

/// Reads the decimal number at the front of `text` up to `sep`, and moves past both.
template <class T>
bool take_number(std::string_view& text, T& out, char sep) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end == text.data() || end == text.data() + text.size() || *end != sep)
    return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()) + 1);
  return true;
}

}  // namespace

std::optional<tag> parse_tag(std::string_view text) {
  if (text.substr(0, 2) != "fb") return std::nullopt;
  text.remove_prefix(2);
  tag t{};
  if (!take_number(text, t.run, ':') || !take_number(text, t.seq, ':') ||
      !take_number(text, t.sent_ns, ':'))
    return std::nullopt;
  return t;
}

// ---------------------------------------------------------------------------------------
// inbox_reader

inbox_reader::inbox_reader(api_client& api, const node& n, const std::vector<std::string>& room_ids,
                           uint64_t after)
    : api_(api), node_(n), room_ids_(room_ids.begin(), room_ids.end()), cursor_(after) {}

void inbox_reader::start() {
  resume();
}

void inbox_reader::stop() {
  std::unique_lock<std::mutex> lock(mu_);
  stop_ = true;
  wait_until_idle(lock);
}

void inbox_reader::wait_until_idle(std::unique_lock<std::mutex>& lock) {
  // A poll ends within the client's timeout (15 s), and a retry within 50 ms.
  cv_.wait_until(lock, after(20s), [&] { return !in_call_; });
}

void inbox_reader::begin_run(int run, size_t expected) {
  std::lock_guard<std::mutex> lock(mu_);
  run_ = run;
  expected_ = expected;
  arrivals_.assign(expected, 0);
  required_.clear();
  missing_ = 0;
  result_ = seen_result{};
  result_.latencies_ns.reserve(expected);
  result_.seqs.reserve(expected);
  result_.sent_ns.reserve(expected);
}

seen_result inbox_reader::wait_for(size_t want, steady::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  want_ = want;
  cv_.wait_until(lock, until, [&] { return result_.count >= want; });
  want_ = no_wait;
  return result_;
}

size_t inbox_reader::wait_for_all(const std::vector<char>& required, steady::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  required_ = required;
  required_.resize(expected_, 0);
  missing_ = 0;
  for (size_t seq = 0; seq < expected_; ++seq)
    if (required_[seq] && arrivals_[seq] == 0) ++missing_;
  cv_.wait_until(lock, until, [&] { return missing_ == 0; });
  return missing_;
}

std::vector<uint8_t> inbox_reader::arrivals() {
  std::lock_guard<std::mutex> lock(mu_);
  return arrivals_;
}

void inbox_reader::pause() {
  std::unique_lock<std::mutex> lock(mu_);
  paused_ = true;
  wait_until_idle(lock);
}

void inbox_reader::resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = false;
    if (in_call_ || stop_) return;  // polling already, or for good not
    in_call_ = true;
  }
  poll();
}

bool inbox_reader::ending() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_ && !paused_ && !stopping) return false;
    in_call_ = false;
  }
  cv_.notify_all();
  return true;
}

void inbox_reader::poll() {
  if (ending()) return;
  auto target = "/api/v1/events?after=" + std::to_string(cursor_.load()) + "&limit=1000&wait=1";
  api_.request(
      node_.local_port(), node_.token(), "GET", target, "", 15s,
      [self = shared_from_this()](caf::expected<net::http_response> res) { self->on_page(res); });
}

void inbox_reader::on_page(const caf::expected<net::http_response>& res) {
  if (!res || res->status != 200) {
    // The node is stopped or restarting: retry, unless polling is to end (then no timer
    // is left behind, and stop() or pause() need not wait for it).
    if (ending()) return;
    api_.at(steady::now() + 50ms, [self = shared_from_this()] { self->poll(); });
    return;
  }
  take_page(res->body, now_ns());
  poll();
}

void inbox_reader::take_page(const std::string& body, int64_t seen_ns) {
  // Read with simdjson's on-demand parser, not into nlohmann objects: the harness shares
  // the two cores with both nodes, and building an object per event was a third of its CPU.
  // The texts are gathered first, so the lock is not held while the page is parsed. A page
  // that is not whole JSON counts nothing, and is read again.
  namespace od = simdjson::ondemand;
  thread_local od::parser parser;
  simdjson::padded_string padded(body);
  od::document page;
  od::object root;
  if (parser.iterate(padded).get(page) || page.get_object().get(root)) return;
  auto next = cursor_.load();
  std::vector<std::string_view> texts;  // in the parser's buffer, valid until the next page
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return;
    if (key == "next") {
      if (field.value().get_uint64().get(next)) return;
      continue;
    }
    od::array events;
    if (key != "events" || field.value().get_array().get(events)) continue;
    for (auto element : events) {
      od::object e;
      if (element.get_object().get(e)) continue;  // no event of this harness
      std::string_view room, text;
      bool has_room = false, has_text = false;
      for (auto f : e) {
        std::string_view k;
        if (f.unescaped_key().get(k)) return;
        if (k == "room_id") has_room = !f.value().get_string().get(room);
        if (k == "text") has_text = !f.value().get_string().get(text);
      }
      if (has_room && has_text && room_ids_.count(room) > 0) texts.push_back(text);
    }
  }
  bool waiter_done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto text : texts) take_event(text, seen_ns);
    // Only the poll's answer writes the cursor; position() reads it from other threads.
    cursor_ = next;
    waiter_done = result_.count >= want_ || (!required_.empty() && missing_ == 0);
  }
  // Woken only when done: a wake-up per page costs a thread switch per event one by one,
  // on the cores the nodes share.
  if (waiter_done) cv_.notify_all();
}

void inbox_reader::take_event(std::string_view text, int64_t seen_ns) {
  auto t = parse_tag(text);
  if (!t || t->run != run_ || t->seq >= expected_) return;
  auto& arrived = arrivals_[t->seq];
  if (arrived < 255) ++arrived;
  if (arrived > 1) {
    ++result_.duplicates;
    return;
  }
  if (result_.count++ == 0) result_.first_ns = seen_ns;
  result_.last_ns = seen_ns;
  result_.latencies_ns.push_back(seen_ns - t->sent_ns);
  result_.seqs.push_back(t->seq);
  result_.sent_ns.push_back(t->sent_ns);
  if (!required_.empty() && required_[t->seq]) --missing_;
}

// ---------------------------------------------------------------------------------------
// submitter

std::vector<int64_t> submit_result::accept_latencies_ns() const {
  std::vector<int64_t> out;
  for (size_t seq = 0; seq < acked.size(); ++seq)
    if (acked[seq]) out.push_back(accept_ns_by_seq[seq]);
  return out;
}

double accepted_per_s(const submit_result& s) {
  return per_second(s.accepted, s.first_ns, s.last_accept_ns);
}

submitter::submitter(api_client& api, const node& a, const std::vector<std::string>& room_ids,
                     int run, size_t size, size_t batch)
    : api_(api), a_(a), run_(run), size_(size), batch_(std::max<size_t>(batch, 1)) {
  for (const auto& id : room_ids) rooms_json_.push_back(json(id).dump());
}

submit_result submitter::closed_loop(size_t n, size_t connections, steady::time_point until) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    total_ = n;
    chain_ = true;
    result_.acked.assign(n, 0);
    result_.accept_ns_by_seq.assign(n, 0);
    result_.first_ns = now_ns();
  }
  for (size_t i = 0; i < connections; ++i) send_next();
  return wait(until);
}

submit_result submitter::open_loop(size_t n, double rate, steady::time_point until) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    total_ = n;
    chain_ = false;
    result_.acked.assign(n, 0);
    result_.accept_ns_by_seq.assign(n, 0);
    result_.first_ns = start_ns_ = now_ns();
    ns_per_event_ = 1e9 / rate;
    until_ = until;
    sending_ = true;
  }
  api_.at(steady::now(), [self = shared_from_this()] { self->send_due(); });
  return wait(until);
}

int64_t submitter::due_ns(size_t seq) const {
  return stamp_of(start_ns_, ns_per_event_, seq);
}

void submitter::send_due() {
  for (;;) {
    size_t first, count;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (next_ >= total_ || stopping || steady::now() >= until_) {  // done, halted or late
        sending_ = false;
        if (finished()) cv_.notify_all();
        return;
      }
      first = next_;
      count = std::min(batch_, total_ - next_);
      auto due = due_ns(first + count - 1);
      if (due > now_ns()) {
        // A timer of the io thread, which waits on the sockets meanwhile: no thread of
        // the harness is woken for an event but that one.
        api_.at(steady::time_point(std::chrono::nanoseconds(due)),
                [self = shared_from_this()] { self->send_due(); });
        return;
      }
      next_ = first + count;
    }
    send(first, count, due_ns(first), ns_per_event_);
  }
}

bool submitter::finished() const {
  return !sending_ && answered_ >= (chain_ ? total_ : next_);
}

size_t submitter::halt() {
  size_t in_flight;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight = next_ - answered_;
    total_ = next_;
  }
  cv_.notify_all();
  return in_flight;
}

size_t submitter::accepted_so_far() {
  std::lock_guard<std::mutex> lock(mu_);
  return result_.accepted;
}

void submitter::send_next() {
  if (stopping) return;
  size_t first, count;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_ >= total_) return;
    first = next_;
    count = std::min(batch_, total_ - next_);
    next_ += count;
  }
  send(first, count, now_ns(), 0);
}

void submitter::send(size_t first, size_t count, int64_t stamp_ns, double ns_per_event) {
  // Built by hand: the text is ASCII without quotes, and this runs once per event.
  auto message = [&](size_t i) {
    auto stamp = stamp_of(stamp_ns, ns_per_event, i);
    return R"({"room_id":)" + rooms_json_[(first + i) % rooms_json_.size()] +
           R"(,"user":"alice","text":")" + event_text(run_, first + i, stamp, size_) + "\"}";
  };
  std::string target = "/api/v1/chat.send";
  std::string body;
  if (batch_ == 1) {
    body = message(0);
  } else {
    target = "/api/v1/chat.sendBatch";
    body = R"({"messages":[)";
    for (size_t i = 0; i < count; ++i) body += (i ? "," : "") + message(i);
    body += "]}";
  }
  api_.request(a_.local_port(), a_.token(), "POST", target, std::move(body), 30s,
               [self = shared_from_this(), first, count, stamp_ns,
                ns_per_event](caf::expected<net::http_response> r) {
                 self->on_answer(first, count, stamp_ns, ns_per_event, r);
               });
}

namespace {

/// Whether the first `count` results of a chat.sendBatch answer all carry an event_id: the
/// usual answer, read without building JSON objects (see take_page).
bool all_accepted(const std::string& body, size_t count) {
  namespace od = simdjson::ondemand;
  thread_local od::parser parser;
  simdjson::padded_string padded(body);
  od::document reply;
  od::array results;
  if (parser.iterate(padded).get(reply) || reply["results"].get_array().get(results)) return false;
  size_t accepted = 0;
  for (auto element : results) {
    if (accepted == count) break;
    od::object result;
    if (element.get_object().get(result)) return false;
    bool has_id = false;
    for (auto f : result) {
      std::string_view k;
      if (f.unescaped_key().get(k)) return false;
      if (k == "event_id") has_id = true;
    }
    if (!has_id) return false;
    ++accepted;
  }
  return accepted == count;
}

}  // namespace

void submitter::on_answer(size_t first, size_t count, int64_t stamp_ns, double ns_per_event,
                          const caf::expected<net::http_response>& r) {
  // One entry per event: its event_id when accepted, else the error.
  std::vector<std::optional<std::string>> errors(count);
  std::string error;
  if (!r) {
    error = fedrelay::actors::describe(r.error());
  } else if (r->status != 200) {
    error = "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200);
  } else if (batch_ > 1 && !all_accepted(r->body, count)) {
    auto reply = json::parse(r->body, nullptr, false);
    auto results = reply.is_object() ? reply.value("results", json::array()) : json::array();
    for (size_t i = 0; i < count; ++i) {
      if (i >= results.size() || !results[i].is_object())
        errors[i] = "chat.sendBatch answered " + std::to_string(results.size()) + " results for " +
                    std::to_string(count) + " messages";
      else if (!results[i].contains("event_id"))
        errors[i] = "chat.sendBatch: " + results[i].value("error", results[i].dump());
    }
  }
  auto answered_ns = now_ns();
  bool done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++result_.requests;
    for (size_t i = 0; i < count; ++i) {
      const auto& e = error.empty() ? errors[i] : std::optional<std::string>(error);
      if (!e) {
        ++result_.accepted;
        result_.acked[first + i] = 1;
        result_.last_accept_ns = answered_ns;
        result_.accept_ns_by_seq[first + i] = answered_ns - stamp_of(stamp_ns, ns_per_event, i);
        continue;
      }
      ++result_.failed;
      if (result_.first_error.empty()) result_.first_error = *e;
    }
    answered_ += count;
    if (batch_ > 1 && r && r->status == 404) {
      // A node without the batch call: every further request would fail the same way.
      result_.batch_unsupported = true;
      total_ = next_;
    }
    done = finished();
  }
  // Woken only when done, not by every answer (see inbox_reader::take_page).
  if (done) cv_.notify_all();
  if (chain_) send_next();
}

submit_result submitter::wait(steady::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  // Only what was sent is waited for: an open loop cut short by its deadline or a halt
  // sent fewer.
  if (!cv_.wait_until(lock, until, [&] { return finished(); }))
    throw std::runtime_error("submitting did not finish in time (" + std::to_string(answered_) +
                             " of " + std::to_string(total_) + " answered)");
  return result_;
}

}  // namespace fedrelay::bench
