// Google Benchmark for the receiving side of the wire format: decoding a transaction of
// 100 sequenced room events of 256 bytes each, as a node receives them from a room's
// host, and for reference the nlohmann path a node took before (parse the transaction,
// dump each event again, parse each event twice more for its id and its room); then one
// event's wire form written (also from its canonical form, as a host does after signing)
// and read back, at 256 B and 4 KiB of text; its local view, written and read from its
// wire form; a chat.send's content read; and a transaction's receipt written, each beside
// the way a node took before; and a catch-up reply of 100 events read.
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/event_reader.hpp"
#include "actors/inbox.hpp"
#include "actors/json_parse.hpp"
#include "actors/room_event.hpp"
#include "actors/transaction.hpp"

namespace fedrelay::actors {
namespace {

constexpr size_t event_bytes = 256;
constexpr size_t events_per_transaction = 100;

// A sequenced event of a room hosted by a.example, padded to event_bytes.
std::string sequenced_event_text(size_t i) {
  auto id = "a.example:" + std::to_string(1000000 + i);
  std::string head = R"({"kind":"event","id":")" + id + R"(","event":{"id":")" + id +
                     R"(","type":"message.sent","room_id":"!room0123456789:a.example",)" +
                     R"("origin":"a.example","user":"alice@a.example","ts":1700000000123,)" +
                     R"("seq":)" + std::to_string(i + 1) + R"(,"content":{"text":")";
  std::string tail = R"("}}})";
  if (head.size() + tail.size() > event_bytes) throw std::logic_error("event_bytes too small");
  return head + std::string(event_bytes - head.size() - tail.size(), 'x') + tail;
}

const std::string& sample_text() {
  static const std::string text = [] {
    transaction t;
    t.id = make_transaction_id("a.example");
    t.origin = "a.example";
    t.destination = "b.example";
    t.created_ms = 1'700'000'000'123;
    for (size_t i = 0; i < events_per_transaction; ++i) t.events.push_back(sequenced_event_text(i));
    return encode_transaction(t);
  }();
  return text;
}

void bm_decode_transaction(benchmark::State& state) {
  const auto& text = sample_text();
  for (auto _ : state) {
    auto t = decode_transaction(text);
    if (!t) throw std::runtime_error("decode failed");
    benchmark::DoNotOptimize(t->events.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_transaction));
}
BENCHMARK(bm_decode_transaction);

void bm_decode_transaction_nlohmann_reference(benchmark::State& state) {
  using json = nlohmann::json;
  const auto& text = sample_text();
  for (auto _ : state) {
    auto doc = json::parse(text);
    std::vector<std::string> events;
    for (const auto& e : doc["events"]) events.push_back(e.dump());
    for (const auto& e : events) {
      benchmark::DoNotOptimize(json::parse(e)["id"]);                // the event id
      benchmark::DoNotOptimize(json::parse(e)["event"]["room_id"]);  // its room
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_transaction));
}
BENCHMARK(bm_decode_transaction_nlohmann_reference);

// One room event with a text of state.range(0) bytes, signed and sequenced.
room_event sample_event(size_t text_bytes) {
  room_event e;
  e.id = time_ordered_hex() + ":a.example";
  e.room_id = "0123456789abcdef0123456789abcdef:a.example";
  e.origin = "a.example";
  e.user = "alice@a.example";
  e.ts = 1'700'000'000'123;
  e.content = {{"text", std::string(text_bytes, 'x')}};
  e.sig = std::string(86, 'A') + "==";
  e.seq = 123456;
  return e;
}

// Writing an event's wire form (for the log and each fan-out copy), and reading one back
// with every field checked (what a member does for each event it is sent).
void bm_encode_event(benchmark::State& state) {
  auto e = sample_event(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(encode_event(e));
}
BENCHMARK(bm_encode_event)->Arg(256)->Arg(4096);

// The same text made from the canonical form the host has from signing the event.
void bm_encode_from_canonical(benchmark::State& state) {
  auto e = sample_event(static_cast<size_t>(state.range(0)));
  auto canonical = canonical_form(e);
  for (auto _ : state) benchmark::DoNotOptimize(encode_from_canonical(canonical, e));
}
BENCHMARK(bm_encode_from_canonical)->Arg(256)->Arg(4096);

void bm_parse_event(benchmark::State& state) {
  auto text = encode_event(sample_event(static_cast<size_t>(state.range(0))));
  for (auto _ : state) {
    auto e = parse_event(text);
    if (!e) state.SkipWithError("parse_event failed");
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(bm_parse_event)->Arg(256)->Arg(4096);

// For reference, the way every event was read before (event_reader.hpp): nlohmann's
// document first, built by parse_json, then the event from it.
void bm_parse_event_nlohmann_reference(benchmark::State& state) {
  auto text = encode_event(sample_event(static_cast<size_t>(state.range(0))));
  for (auto _ : state) {
    auto e = decode_event(parse_json(text));
    if (!e) state.SkipWithError("decode_event failed");
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(bm_parse_event_nlohmann_reference)->Arg(256)->Arg(4096);

// The inbox entry every applied event gets: its local view as text, written directly, and
// for reference through the JSON object (what a node did before).
void bm_local_view_text(benchmark::State& state) {
  auto e = sample_event(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(local_view_text(e, "b.example"));
}
BENCHMARK(bm_local_view_text)->Arg(256)->Arg(4096);

void bm_local_view_dump_reference(benchmark::State& state) {
  auto e = sample_event(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(dump(local_view(e, "b.example")));
}
BENCHMARK(bm_local_view_dump_reference)->Arg(256)->Arg(4096);

// An inbox page's message as the local server sees it, from its room log entry: straight
// from the text (read_message_view), and for reference through the event (parse_event,
// then local_view_text), the way every message was shown before.
void bm_message_view(benchmark::State& state) {
  auto text = encode_event(sample_event(static_cast<size_t>(state.range(0))));
  for (auto _ : state) {
    auto view = read_message_view(text, "b.example", 42);
    if (!view) state.SkipWithError("read_message_view refused");
    benchmark::DoNotOptimize(view);
  }
}
BENCHMARK(bm_message_view)->Arg(256)->Arg(4096);

void bm_message_view_through_event_reference(benchmark::State& state) {
  auto text = encode_event(sample_event(static_cast<size_t>(state.range(0))));
  for (auto _ : state) {
    auto e = parse_event(text);
    if (!e) state.SkipWithError("parse_event failed");
    benchmark::DoNotOptimize(with_cursor(local_view_text(*e, "b.example"), 42));
  }
}
BENCHMARK(bm_message_view_through_event_reference)->Arg(256)->Arg(4096);

// A chat.send's content as the room reads it: made directly (parse_content), and for
// reference through the JSON parser, the way every submission's content was read before.
std::string sample_content(size_t text_bytes) {
  return R"({"text":")" + std::string(text_bytes, 'x') + R"("})";
}

void bm_parse_content(benchmark::State& state) {
  auto text = sample_content(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(parse_content(text));
}
BENCHMARK(bm_parse_content)->Arg(256)->Arg(4096);

void bm_parse_content_json_reference(benchmark::State& state) {
  auto text = sample_content(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(parse_json(text));
}
BENCHMARK(bm_parse_content_json_reference)->Arg(256)->Arg(4096);

// A catch-up reply of 100 events of 256 B as a member reads it: straight from simdjson
// (read_event_array), and for reference nlohmann's document and then each event.
std::string sample_catchup_reply() {
  std::string text = "[";
  for (size_t i = 0; i < events_per_transaction; ++i) {
    auto e = sample_event(event_bytes);
    e.seq = i + 1;
    if (i > 0) text += ',';
    text += encode_event(e);
  }
  return text + "]";
}

void bm_read_catchup_reply(benchmark::State& state) {
  auto text = sample_catchup_reply();
  for (auto _ : state) {
    auto events = read_event_array(text);
    if (!events || events->size() != events_per_transaction) state.SkipWithError("not read");
    benchmark::DoNotOptimize(events);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_transaction));
}
BENCHMARK(bm_read_catchup_reply);

void bm_read_catchup_reply_nlohmann_reference(benchmark::State& state) {
  auto text = sample_catchup_reply();
  for (auto _ : state) {
    std::vector<caf::expected<room_event>> events;
    for (auto& item : parse_json(text)) events.push_back(decode_event(std::move(item)));
    benchmark::DoNotOptimize(events);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_transaction));
}
BENCHMARK(bm_read_catchup_reply_nlohmann_reference);

// The receipt of a transaction of 100 events, all accepted: written directly, and for
// reference as a JSON object dumped (what a node did before).
receipt sample_receipt() {
  receipt r;
  r.transaction_id = make_transaction_id("a.example");
  for (size_t i = 0; i < events_per_transaction; ++i)
    r.results.push_back({"event:0123456789abcdef0123456789abcdef:a.example:" +
                             std::to_string(1000000 + i) + ":a.example",
                         true,
                         {}});
  return r;
}

void bm_encode_receipt(benchmark::State& state) {
  auto r = sample_receipt();
  for (auto _ : state) benchmark::DoNotOptimize(encode_receipt(r));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_transaction));
}
BENCHMARK(bm_encode_receipt);

void bm_encode_receipt_nlohmann_reference(benchmark::State& state) {
  using json = nlohmann::json;
  auto r = sample_receipt();
  for (auto _ : state) {
    json results = json::array();
    for (const auto& result : r.results)
      results.push_back({{"id", result.id}, {"accepted", result.accepted}});
    json doc = {{"version", r.version}, {"transaction_id", r.transaction_id}, {"results", results}};
    benchmark::DoNotOptimize(doc.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_transaction));
}
BENCHMARK(bm_encode_receipt_nlohmann_reference);

}  // namespace
}  // namespace fedrelay::actors
