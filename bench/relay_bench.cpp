// Relay benchmark in the style of LevelDB's db_bench: starts real `fedrelay run` nodes on
// loopback and prints one line per scenario (throughput, latency, fan-out, recovery, a
// crash of A, file transfer, and their cost), then writes them as a Markdown table and a
// PNG plot.
//
// The pieces: process.hpp (children, clean-up, /proc), node.hpp (a node and the HTTP
// client), traffic.hpp (submitters and inbox readers), report.hpp (table and plot),
// options.hpp (the command line). This file holds the scenarios.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/node.hpp"
#include "bench/options.hpp"
#include "bench/process.hpp"
#include "bench/report.hpp"
#include "bench/traffic.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "net/http_types.hpp"

namespace fedrelay::bench {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Exit status when A lost or duplicated an acknowledged event in the kill scenario.
constexpr int lost_or_duplicated_exit = 3;
// Exit status when a run was incomplete: a submit failed, or accepted events did not all
// arrive within the bound (the row says which).
constexpr int incomplete_exit = 4;

// Stops the readers when the scope ends, by an exception too: a reader polls until stopped,
// and must not poll a node that is gone.
struct stopped_at_exit {
  std::vector<std::shared_ptr<inbox_reader>>& readers;
  ~stopped_at_exit() {
    for (auto& r : readers) r->stop();
  }
};

class harness {
 public:
  explicit harness(options o) : o_(std::move(o)), api_(o_.connections) {}
  ~harness() {
    if (reader_) reader_->stop();
  }
  harness(const harness&) = delete;
  harness& operator=(const harness&) = delete;

  int run(const std::string& command_line) {
    set_up();
    if (wanted(o_, "throughput"))
      for (size_t size : o_.sizes) throughput(size);
    if (wanted(o_, "latency")) {
      if (max_rate_ <= 0) throughput_for_latency();
      for (double pct : o_.rates) latency(pct);
    }
    if (wanted(o_, "fanout")) fanout();
    if (wanted(o_, "recovery")) recovery();
    if (wanted(o_, "kill")) kill_a();
    if (wanted(o_, "files")) files();
    reader_->stop();
    for (auto* n : {a_.get(), b_.get()}) {
      auto how = n->stop();
      if (!how.empty())
        std::printf("note: %s on SIGTERM at the end: %s\n", n->domain().c_str(), how.c_str());
    }
    if (!o_.out.empty()) write_report(command_line);
    if (!intact_) return lost_or_duplicated_exit;
    return complete_ ? 0 : incomplete_exit;
  }

  // On failure: what the nodes last said, before the temp dir goes away.
  void print_logs() const {
    std::vector<const node*> all{a_.get(), b_.get()};
    for (const auto& m : members_) all.push_back(m.get());
    for (const auto* n : all)
      if (n && !n->log().empty())
        std::fprintf(stderr, "--- %s node.log (tail)\n%s\n", n->domain().c_str(),
                     n->tail_of_log().c_str());
  }

 private:
  void set_up() {
    root_ = make_temp_dir(o_.parent_dir, o_.keep);
    machine_before_ = machine_summary();
    std::printf("relay_bench: %s; nodes in %s\n", machine_before_.c_str(), root_.c_str());
    a_ = std::make_unique<node>("a.test", root_, o_.binary);
    b_ = std::make_unique<node>("b.test", root_, o_.binary);
    // The fan-out servers other than B exist (keys, configs) from the start, because A's
    // static peer table lists them; they run only during the fanout scenario.
    std::vector<const node*> a_peers{b_.get()};
    if (wanted(o_, "fanout"))
      for (size_t i = 1; i < o_.fanout_servers; ++i) {
        members_.push_back(
            std::make_unique<node>("m" + std::to_string(i) + ".test", root_, o_.binary));
        members_.back()->configure({a_.get()}, storage_settings());
        a_peers.push_back(members_.back().get());
      }
    a_->configure(a_peers, storage_settings());
    b_->configure({a_.get()}, storage_settings());
    a_->start();
    b_->start();
    if (o_.batch > 1) check_batch_call();

    a_->call(api_, "POST", "/api/v1/users.register", {{"username", "alice"}, {"name", "Alice"}});
    b_->call(api_, "POST", "/api/v1/users.register", {{"username", "bob"}, {"name", "Bob"}});
    std::vector<std::pair<const node*, std::string>> members{{b_.get(), "bob"}};
    for (size_t i = 0; i < o_.room_members; ++i)
      members.emplace_back(b_.get(), "member" + std::to_string(i));
    auto setup_began = std::chrono::steady_clock::now();
    for (size_t i = 0; i < o_.rooms; ++i)
      rooms_.push_back(create_room(o_.rooms == 1 ? "bench" : "bench" + std::to_string(i), members));
    // What joining costs: one invitation after the other, each answered when A stored it.
    std::chrono::duration<double> setup = std::chrono::steady_clock::now() - setup_began;
    std::printf("rooms: %zu with %zu invitations each, set up in %.1f s (%.2f ms an invitation)\n",
                o_.rooms, members.size(), setup.count(),
                1000.0 * setup.count() / static_cast<double>(o_.rooms * members.size()));
    reader_ = std::make_shared<inbox_reader>(reader_api_, *b_, rooms_);
    reader_->start();
    // Warm-up: B has joined and the peer connection is up before anything is timed.
    warm_up(rooms_, {reader_.get()});
  }

  // A node without chat.sendBatch answers 404: say so now instead of after a whole run.
  void check_batch_call() {
    auto res = api_.call(a_->local_port(), a_->token(), "POST", "/api/v1/chat.sendBatch",
                         R"({"messages":[]})", 30s);
    if (res && res->status == 404)
      throw std::runtime_error(
          "--batch " + std::to_string(o_.batch) +
          ": node A answers HTTP 404 to POST /api/v1/chat.sendBatch, so this fedrelay has no "
          "batch call; use --batch 1 (chat.send) or a build that has it");
  }

  // A room hosted on A, owned by alice, with the given (node, user) members invited.
  std::string create_room(const std::string& name,
                          const std::vector<std::pair<const node*, std::string>>& members) {
    auto created = a_->call(api_, "POST", "/api/v1/rooms.create",
                            {{"name", name}, {"type", "private"}, {"owner", "alice"}});
    auto room = created.at("room_id").get<std::string>();
    for (const auto& [n, user] : members)
      a_->call(api_, "POST", "/api/v1/rooms.invite",
               {{"room_id", room}, {"user", user + "@" + n->domain()}, {"by", "alice"}});
    return room;
  }

  // Sends a few events (plain chat.send) and waits until every reader saw them: the
  // members have joined and the peer connections are up.
  void warm_up(const std::vector<std::string>& rooms, const std::vector<inbox_reader*>& readers) {
    const size_t warm = std::max<size_t>(200, rooms.size());
    int run = ++run_;
    for (auto* r : readers) r->begin_run(run, warm);
    auto s = std::make_shared<submitter>(api_, *a_, rooms, run, 256, 1);
    s->closed_loop(warm, o_.connections, after(60s));
    auto until = after(60s);
    for (auto* r : readers)
      if (auto seen = r->wait_for(warm, until).count; seen < warm)
        throw std::runtime_error(
            "warm-up: " + r->server().domain() + " saw " + std::to_string(seen) + " of the first " +
            std::to_string(warm) + " events of " + rooms.front() +
            (rooms.size() > 1 ? " and the other bench rooms" : "") + " within 60 s");
  }

  struct measured {
    submit_result submitted;
    seen_result seen;
    proc_sample a0, a1, b0, b1, c0, c1;
  };

  measured measure(size_t n, size_t size, double rate) {
    int run = ++run_;
    measured m;
    reader_->begin_run(run, n);
    m.a0 = sample_process(a_->pid());
    m.b0 = sample_process(b_->pid());
    m.c0 = sample_process(getpid());
    auto until = after(budget_for(n));
    auto s = std::make_shared<submitter>(api_, *a_, rooms_, run, size, o_.batch);
    m.submitted =
        rate > 0 ? s->open_loop(n, rate, until) : s->closed_loop(n, o_.connections, until);
    m.seen = reader_->wait_for(m.submitted.accepted, until);
    m.a1 = sample_process(a_->pid());
    m.b1 = sample_process(b_->pid());
    m.c1 = sample_process(getpid());
    return m;
  }

  std::string storage_settings() const {
    if (o_.sync == "always") return {};
    return "sync = \"" + o_.sync + "\"\nsync_period_ms = " + std::to_string(o_.sync_period_ms) +
           "\n";
  }

  row new_row(const std::string& name, size_t size) const {
    row r;
    r.name = name;
    r.size = size;
    r.batch = o_.batch;
    // Never mistaken for the synced figures.
    if (o_.sync != "always")
      note(r, "sync " + o_.sync + " " + std::to_string(o_.sync_period_ms) + " ms");
    return r;
  }

  static void note(row& r, const std::string& text) {
    r.note += (r.note.empty() ? "" : "; ") + text;
  }

  void note_failures(row& r, const submit_result& s) {
    complete_ = complete_ && s.failed == 0;
    if (s.batch_unsupported) note(r, "node has no chat.sendBatch (HTTP 404): run stopped");
    if (s.failed > 0) note(r, std::to_string(s.failed) + " submits failed (" + s.first_error + ")");
  }

  void note_incomplete(row& r, size_t seen, size_t accepted, const std::string& where) {
    complete_ = false;
    note(r, "only " + std::to_string(seen) + " of " + std::to_string(accepted) + " accepted seen " +
                where + " in time");
  }

  row to_row(const std::string& name, size_t size, const measured& m) {
    row r = new_row(name, size);
    r.events = m.seen.count;
    r.e2e_per_s = per_second(m.seen.count, m.submitted.first_ns, m.seen.last_ns);
    r.accepted_per_s = accepted_per_s(m.submitted);
    fill_latencies(r, m.seen.latencies_ns);
    r.a_hwm_mb = m.a1.hwm_mb;
    r.b_hwm_mb = m.b1.hwm_mb;
    r.a_cpu_per_100k = per_100k(m.a1.cpu_s - m.a0.cpu_s, m.seen.count);
    r.b_cpu_per_100k = per_100k(m.b1.cpu_s - m.b0.cpu_s, m.seen.count);
    r.client_cpu_per_100k = per_100k(m.c1.cpu_s - m.c0.cpu_s, m.seen.count);
    r.a_switches_per_event = per_event(m.a1.ctx_switches - m.a0.ctx_switches, m.seen.count);
    r.b_switches_per_event = per_event(m.b1.ctx_switches - m.b0.ctx_switches, m.seen.count);
    note_failures(r, m.submitted);
    if (m.seen.count < m.submitted.accepted)
      note_incomplete(r, m.seen.count, m.submitted.accepted, "at B");
    if (m.seen.duplicates > 0)
      note(r, std::to_string(m.seen.duplicates) + " duplicate arrivals at B");
    return r;
  }

  void add(row r) {
    print_row(r);
    rows_.push_back(std::move(r));
  }

  void throughput(size_t size) {
    auto m = measure(o_.events, size, 0);
    auto r = to_row("throughput_" + std::to_string(size), size, m);
    r.offered = "max (" + std::to_string(o_.connections) + " conns)";
    if (o_.max_rate <= 0 && size == o_.latency_size && r.e2e_per_s > max_rate_)
      max_rate_ = r.e2e_per_s;
    add(std::move(r));
  }

  // Latency runs need the max rate of their text size; measure it when throughput was
  // skipped or ran with other sizes.
  void throughput_for_latency() { throughput(o_.latency_size); }

  void latency(double pct) {
    double rate = max_rate_ * pct / 100.0;
    auto n = static_cast<size_t>(std::max(100.0, rate * o_.latency_seconds));
    auto m = measure(n, o_.latency_size, rate);
    auto r = to_row("latency_" + fixed(pct, 0) + "pct", o_.latency_size, m);
    r.offered = fixed(rate, 0);
    // Where the time went: before A's answer (its WAL sync) or after it (A to B, B's sync,
    // B's local server).
    row accepted;
    fill_latencies(accepted, m.submitted.accept_latencies_ns());
    note(r, "accepted at A p50 " + fixed(accepted.p50, 2) + " ms, p99 " + fixed(accepted.p99, 2) +
                " ms, p99.9 " + fixed(accepted.p999, 2) + " ms");
    if (!o_.trace.empty()) write_trace(r.name, m);
    add(std::move(r));
  }

  // One line per event seen at B: scenario, sent (Unix ms), latency and wait for A's answer
  // (ms). The send times are of the steady clock, moved onto the wall clock the nodes'
  // RocksDB LOG files use.
  void write_trace(const std::string& scenario, const measured& m) {
    std::FILE* f = std::fopen(o_.trace.c_str(), "a");
    if (!f) throw std::runtime_error("--trace: cannot open " + o_.trace);
    const auto wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    const int64_t to_wall_ns = wall_ns - now_ns();
    const auto& seen = m.seen;
    const auto& waits = m.submitted.accept_ns_by_seq;
    for (size_t i = 0; i < seen.latencies_ns.size(); ++i) {
      const size_t seq = seen.seqs[i];
      const int64_t waited = seq < waits.size() ? waits[seq] : 0;
      std::fprintf(f, "%s %.3f %.3f %.3f\n", scenario.c_str(),
                   static_cast<double>(seen.sent_ns[i] + to_wall_ns) / 1e6,
                   static_cast<double>(seen.latencies_ns[i]) / 1e6,
                   static_cast<double>(waited) / 1e6);
    }
    std::fclose(f);
  }

  // One room on A with members on B and the other fan-out servers (A itself holds only the
  // sender), one reader per member server; done when the slowest server has every event.
  void fanout() {
    std::vector<node*> servers{b_.get()};
    for (auto& m : members_) {
      m->start();
      m->call(api_, "POST", "/api/v1/users.register", {{"username", "member"}, {"name", "Member"}});
      servers.push_back(m.get());
    }
    std::vector<std::pair<const node*, std::string>> invited;
    for (auto* s : servers) invited.emplace_back(s, s == b_.get() ? "bob" : "member");
    auto room = create_room("fanout", invited);
    // B's bench-room reader would parse every fan-out page too; it rests meanwhile. B's
    // fan-out reader starts where it stood: from cursor 0 it paged through every event of
    // the earlier runs first (millions after the full-size runs), and the warm-up timed out.
    reader_->pause();
    std::vector<std::shared_ptr<inbox_reader>> readers;
    stopped_at_exit stop_readers{readers};
    std::vector<inbox_reader*> reader_ptrs;
    for (auto* s : servers) {
      auto after = s == b_.get() ? reader_->position() : 0;
      readers.push_back(std::make_shared<inbox_reader>(reader_api_, *s, std::vector{room}, after));
      readers.back()->start();
      reader_ptrs.push_back(readers.back().get());
    }
    warm_up({room}, reader_ptrs);
    add(fanout_row(servers, measure_fanout(room, servers, reader_ptrs)));
    for (auto& r : readers) r->stop();
    readers.clear();
    reader_->resume();
    for (auto& m : members_) {
      auto how = m->stop();
      if (!how.empty()) std::printf("note: %s on SIGTERM: %s\n", m->domain().c_str(), how.c_str());
    }
  }

  struct measured_fanout {
    submit_result submitted;
    std::vector<seen_result> seen;  // one per server
    proc_sample a0, a1, c0, c1;
    std::vector<proc_sample> s0, s1;  // one per server
  };

  measured_fanout measure_fanout(const std::string& room, const std::vector<node*>& servers,
                                 const std::vector<inbox_reader*>& readers) {
    const size_t n = o_.fanout_events;
    int run = ++run_;
    measured_fanout m;
    for (auto* r : readers) r->begin_run(run, n);
    m.a0 = sample_process(a_->pid());
    m.c0 = sample_process(getpid());
    for (auto* s : servers) m.s0.push_back(sample_process(s->pid()));
    auto until = after(budget_for(n * servers.size()));
    auto sub =
        std::make_shared<submitter>(api_, *a_, std::vector{room}, run, o_.latency_size, o_.batch);
    m.submitted = sub->closed_loop(n, o_.connections, until);
    for (auto* r : readers) m.seen.push_back(r->wait_for(m.submitted.accepted, until));
    m.a1 = sample_process(a_->pid());
    m.c1 = sample_process(getpid());
    for (auto* s : servers) m.s1.push_back(sample_process(s->pid()));
    return m;
  }

  // The B columns show B, one of the member servers; the note gives all of them.
  row fanout_row(const std::vector<node*>& servers, const measured_fanout& m) {
    row r = new_row("fanout_" + std::to_string(servers.size()) + "servers", o_.latency_size);
    r.offered = "max (" + std::to_string(o_.connections) + " conns)";
    const auto& submitted = m.submitted;
    size_t least = submitted.accepted, duplicates = 0;
    int64_t last_ns = submitted.first_ns, first_done_ns = 0;
    std::vector<int64_t> latencies;
    std::vector<double> member_cpu;
    std::string per_server;
    double member_hwm = 0;
    for (size_t i = 0; i < servers.size(); ++i) {
      const auto& seen = m.seen[i];
      least = std::min(least, seen.count);
      last_ns = std::max(last_ns, seen.last_ns);
      if (first_done_ns == 0 || seen.last_ns < first_done_ns) first_done_ns = seen.last_ns;
      latencies.insert(latencies.end(), seen.latencies_ns.begin(), seen.latencies_ns.end());
      duplicates += seen.duplicates;
      member_cpu.push_back(per_100k(m.s1[i].cpu_s - m.s0[i].cpu_s, seen.count));
      member_hwm = std::max(member_hwm, m.s1[i].hwm_mb);
      per_server += (i ? ", " : "") + servers[i]->domain() + " " + fixed(member_cpu.back(), 1);
    }
    r.events = least;
    r.e2e_per_s = per_second(least, submitted.first_ns, last_ns);
    r.accepted_per_s = accepted_per_s(submitted);
    fill_latencies(r, std::move(latencies));
    r.a_hwm_mb = m.a1.hwm_mb;
    r.b_hwm_mb = m.s1[0].hwm_mb;
    r.a_cpu_per_100k = per_100k(m.a1.cpu_s - m.a0.cpu_s, least);
    r.b_cpu_per_100k = member_cpu[0];
    r.client_cpu_per_100k = per_100k(m.c1.cpu_s - m.c0.cpu_s, least);
    r.a_switches_per_event = per_event(m.a1.ctx_switches - m.a0.ctx_switches, least);
    r.b_switches_per_event =
        per_event(m.s1[0].ctx_switches - m.s0[0].ctx_switches, m.seen[0].count);
    auto sorted_cpu = member_cpu;
    std::sort(sorted_cpu.begin(), sorted_cpu.end());
    note(r, std::to_string(servers.size()) + " member servers (B and " +
                std::to_string(servers.size() - 1) +
                " more), A hosts; e2e = events / time until the slowest server had all; first "
                "server complete after " +
                fixed(seconds_between(submitted.first_ns, first_done_ns), 2) + " s, last after " +
                fixed(seconds_between(submitted.first_ns, last_ns), 2) +
                " s; member cpu s/100k min " + fixed(sorted_cpu.front(), 1) + " median " +
                fixed(sorted_cpu[sorted_cpu.size() / 2], 1) + " max " +
                fixed(sorted_cpu.back(), 1) + " (" + per_server + "); member peak RSS max " +
                fixed(member_hwm, 1) + " MB; latencies over all " + std::to_string(servers.size()) +
                " servers");
    note_failures(r, submitted);
    if (least < submitted.accepted)
      note_incomplete(r, least, submitted.accepted, "at the slowest server");
    if (duplicates > 0) note(r, std::to_string(duplicates) + " duplicate arrivals");
    return r;
  }

  double queue_depth_for(const std::string& domain) {
    auto status = a_->call(api_, "GET", "/api/v1/federation.status");
    for (const auto& p : status.value("peers", json::array()))
      if (p.value("domain", "") == domain) return p.value("queue_depth", 0.0);
    return 0;
  }
  void recovery() {
    const size_t n = o_.events;
    const size_t size = o_.latency_size;
    int run = ++run_;
    reader_->begin_run(run, n);
    auto b_before_stop = sample_process(b_->pid());
    auto du_before = disk_bytes(a_->data_dir());
    reader_->pause();
    auto stop_ns = now_ns();
    auto how = b_->stop();
    stop_note_ = "B stopped in " + fixed(seconds_between(stop_ns, now_ns()), 2) + " s";
    if (!how.empty()) {
      std::printf("note: B on SIGTERM: %s\n%s\n", how.c_str(), b_->tail_of_log(5).c_str());
      stop_note_ += " (" + how + ")";
    }

    auto a0 = sample_process(a_->pid());
    auto c0 = sample_process(getpid());
    auto until = after(budget_for(n));
    auto s = std::make_shared<submitter>(api_, *a_, rooms_, run, size, o_.batch);
    auto submitted = s->closed_loop(n, o_.connections, until);
    // Every accepted event is queued for B; federation.status says when the outbox has them.
    double depth = 0;
    for (auto wait_until = after(30s); steady::now() < wait_until;
         std::this_thread::sleep_for(100ms))
      if ((depth = queue_depth_for(b_->domain())) >= static_cast<double>(submitted.accepted)) break;
    auto du_queued = disk_bytes(a_->data_dir());
    auto a_queued = sample_process(a_->pid());
    auto c_queued = sample_process(getpid());

    row queued = new_row("recovery_queue", size);
    queued.events = submitted.accepted;
    queued.offered = "max (B down)";
    queued.accepted_per_s = accepted_per_s(submitted);
    queued.a_hwm_mb = a_queued.hwm_mb;
    queued.b_hwm_mb = b_before_stop.hwm_mb;
    queued.a_cpu_per_100k = per_100k(a_queued.cpu_s - a0.cpu_s, submitted.accepted);
    queued.client_cpu_per_100k = per_100k(c_queued.cpu_s - c0.cpu_s, submitted.accepted);
    queued.a_switches_per_event =
        per_event(a_queued.ctx_switches - a0.ctx_switches, submitted.accepted);
    auto bytes_per_event = [&](uint64_t bytes) {
      return depth > 0 ? fixed(static_cast<double>(bytes) / depth, 0) : std::string("-");
    };
    queued.note =
        "queue_depth " + fixed(depth, 0) + "; A data dir du " +
        fixed(static_cast<double>(du_queued.allocated) / 1e6, 1) +
        " MB = " + bytes_per_event(du_queued.allocated) + " B/queued event, apparent " +
        fixed(static_cast<double>(du_queued.apparent) / 1e6, 1) + " MB, grown by " +
        bytes_per_event(du_queued.apparent - std::min(du_queued.apparent, du_before.apparent)) +
        " B/queued event while B was down";
    if (!stop_note_.empty()) queued.note += "; " + stop_note_;
    note_failures(queued, submitted);
    add(queued);

    auto start_ns = now_ns();
    b_->start();
    reader_->resume();
    auto running_ns = now_ns();
    auto b0 = sample_process(b_->pid());
    auto seen = reader_->wait_for(submitted.accepted, after(budget_for(n)));
    auto a1 = sample_process(a_->pid());
    auto b1 = sample_process(b_->pid());
    auto c1 = sample_process(getpid());

    row drained = new_row("recovery_drain", size);
    drained.events = seen.count;
    drained.offered = "backlog";
    drained.e2e_per_s = per_second(seen.count, start_ns, seen.last_ns);
    fill_latencies(drained, seen.latencies_ns);
    drained.a_hwm_mb = a1.hwm_mb;
    drained.b_hwm_mb = b1.hwm_mb;
    drained.a_cpu_per_100k = per_100k(a1.cpu_s - a_queued.cpu_s, seen.count);
    drained.b_cpu_per_100k = per_100k(b1.cpu_s - b0.cpu_s, seen.count);
    drained.client_cpu_per_100k = per_100k(c1.cpu_s - c_queued.cpu_s, seen.count);
    drained.a_switches_per_event = per_event(a1.ctx_switches - a_queued.ctx_switches, seen.count);
    drained.b_switches_per_event = per_event(b1.ctx_switches - b0.ctx_switches, seen.count);
    // The rate between the first and the last page seen leaves out B's start and the
    // sender's backoff; a backlog that came in one page has no such rate.
    double page_rate = per_second(seen.count, seen.first_ns, seen.last_ns);
    drained.note = "B start to Running " + fixed(seconds_between(start_ns, running_ns), 2) +
                   " s, to first event " +
                   fixed(seen.count ? seconds_between(start_ns, seen.first_ns) : 0, 2) +
                   " s, first to last event " +
                   (page_rate > 0 ? fixed(page_rate, 0) + " ev/s" : "all in one page") +
                   "; latencies include the time B was down";
    if (seen.count < submitted.accepted)
      note_incomplete(drained, seen.count, submitted.accepted, "at B");
    add(drained);
  }

  // A is killed with SIGKILL while submissions are in flight (once half of the run was
  // acknowledged), restarted on the same data dir, and B's inbox is then checked event by
  // event: every event A acknowledged must arrive exactly once. Events that were in flight
  // may arrive or not (A may have made them durable without answering); they are counted.
  void kill_a() {
    const size_t n = o_.events;
    const size_t size = o_.latency_size;
    int run = ++run_;
    reader_->begin_run(run, n);
    auto until = after(budget_for(n));
    auto s = std::make_shared<submitter>(api_, *a_, rooms_, run, size, o_.batch);
    auto submitting =
        std::async(std::launch::async, [&] { return s->closed_loop(n, o_.connections, until); });
    while (s->accepted_so_far() < n / 2 && steady::now() < until &&
           submitting.wait_for(1ms) != std::future_status::ready) {
    }
    size_t in_flight = s->halt();
    auto kill_ns = now_ns();
    a_->kill();
    auto submitted = submitting.get();

    auto restart_ns = now_ns();
    a_->start();
    auto running_ns = now_ns();
    reader_->wait_for_all(submitted.acked, after(budget_for(n)));
    auto complete_ns = now_ns();
    // Late duplicates: wait until A has nothing left for B, then for one more long poll.
    for (auto quiet_until = after(30s); steady::now() < quiet_until;
         std::this_thread::sleep_for(100ms))
      if (queue_depth_for(b_->domain()) == 0) break;
    std::this_thread::sleep_for(1500ms);
    auto arrivals = reader_->arrivals();

    size_t missing = 0, acked_duplicated = 0, unacked_seen = 0, unacked_duplicated = 0;
    for (size_t seq = 0; seq < n; ++seq) {
      if (submitted.acked[seq]) {
        missing += arrivals[seq] == 0;
        acked_duplicated += arrivals[seq] > 1;
      } else {
        unacked_seen += arrivals[seq] > 0;
        unacked_duplicated += arrivals[seq] > 1;
      }
    }
    size_t sent = submitted.accepted + submitted.failed;
    bool ok = missing == 0 && acked_duplicated == 0;
    intact_ = intact_ && ok;

    row r = new_row("kill_a", size);
    r.offered = "max, SIGKILL mid-run";
    r.events = submitted.accepted;
    r.accepted_per_s = accepted_per_s(submitted);
    r.a_hwm_mb = sample_process(a_->pid()).hwm_mb;
    r.b_hwm_mb = sample_process(b_->pid()).hwm_mb;
    r.note = std::string(ok ? "OK" : "FAILED") + ": " + std::to_string(submitted.accepted) +
             " acknowledged, " + std::to_string(missing) + " of them missing at B, " +
             std::to_string(acked_duplicated) + " duplicated; SIGKILL " +
             fixed(seconds_between(submitted.first_ns, kill_ns), 2) + " s into the run with " +
             std::to_string(in_flight) + " events in flight (" + std::to_string(sent) + " sent, " +
             std::to_string(submitted.failed) + " not acknowledged, of which " +
             std::to_string(unacked_seen) + " reached B anyway, " +
             std::to_string(unacked_duplicated) + " of those twice); restart to Running " +
             fixed(seconds_between(restart_ns, running_ns), 2) + " s, restart to B complete " +
             fixed(seconds_between(restart_ns, complete_ns), 2) + " s";
    if (submitted.first_error.size())
      r.note += "; first error " + submitted.first_error.substr(0, 80);
    add(std::move(r));
  }

  // M MiB of incompressible bytes (xorshift), like most shared files.
  static std::string file_bytes(size_t mib) {
    std::string bytes(mib << 20, '\0');
    uint64_t state = 0x2545f4914f6cdd1dULL;
    for (auto& c : bytes) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      c = static_cast<char>(state);
    }
    return bytes;
  }

  // B's files.info state of `id`: "unknown" while B answers 404 (the file.shared event has
  // not reached it yet) or not at all, then "fetching", then "ready" (or "failed").
  std::string file_state_at_b(const std::string& id) {
    auto res = api_.call(b_->local_port(), b_->token(), "GET",
                         net::make_target("/api/v1/files.info", {{"id", id}}), "", 30s);
    auto info = nlohmann::json::parse(res ? res->body : "", nullptr, false);
    if (!info.is_object() || !info["file"].is_object()) return "unknown";
    return info["file"].value("state", "unknown");
  }

  // One file shared by A's local server (files.upload into the bench room, which has bob
  // on B as a member), then fetched by B from A (the origin) in ranges and verified, until
  // B's files.info says ready: the MB/s of each leg. A line, not a row: its unit is MB/s,
  // not events.
  void files() {
    auto bytes = file_bytes(o_.file_mib);
    auto id = crypto::to_hex(crypto::blake2b_256(bytes));
    auto size = bytes.size();
    auto a0 = sample_process(a_->pid());
    auto b0 = sample_process(b_->pid());
    auto start_ns = now_ns();
    auto up = a_->call_raw(
        api_, "POST",
        net::make_target("/api/v1/files.upload",
                         {{"room_id", rooms_.front()}, {"user", "alice"}, {"name", "bench.bin"}}),
        std::move(bytes), "application/octet-stream");
    auto uploaded_ns = now_ns();
    if (up.value("file_id", "") != id)
      throw std::runtime_error("files.upload answered another file id than BLAKE2b-256 " + id +
                               ": " + up.dump());
    // 30 s plus a second per MiB: a member slower than 1 MB/s is broken.
    auto until = after(budget_for(0) + std::chrono::seconds(o_.file_mib));
    std::string state = "unknown";
    while (steady::now() < until) {
      state = file_state_at_b(id);
      if (state != "fetching" && state != "unknown") break;
      std::this_thread::sleep_for(10ms);
    }
    auto fetched_ns = now_ns();
    auto a1 = sample_process(a_->pid());
    auto b1 = sample_process(b_->pid());
    double mb = static_cast<double>(size) / 1e6;
    auto line = "file_transfer " + std::to_string(o_.file_mib) + " MiB: upload to A " +
                fixed(mb / seconds_between(start_ns, uploaded_ns), 1) +
                " MB/s; A (origin) to B (member), fetched and verified " +
                fixed(mb / seconds_between(uploaded_ns, fetched_ns), 1) + " MB/s (" +
                fixed(seconds_between(uploaded_ns, fetched_ns), 2) + " s); A cpu " +
                fixed(a1.cpu_s - a0.cpu_s, 2) + " s, B cpu " + fixed(b1.cpu_s - b0.cpu_s, 2) +
                " s, peak RSS A " + fixed(a1.hwm_mb, 1) + " MB, B " + fixed(b1.hwm_mb, 1) +
                " MB; the time includes the file.shared event's trip to B";
    if (state != "ready") {
      complete_ = false;
      line += "; NOT READY at B within " + fixed(seconds_between(uploaded_ns, fetched_ns), 0) +
              " s: " + state;
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    file_lines_.push_back(line);
  }

  void write_report(const std::string& command_line) {
    std::string md = "Command: `" + command_line + "`\n\n";
    md += "Machine: " + machine_before_ + " at start; " + machine_summary() + " at end.\n\n";
    if (!rows_.empty()) md += markdown_table(rows_);  // not with --scenarios files alone
    for (const auto& line : file_lines_) md += "\n" + line + "\n";
    write_file(o_.out, md);
    std::printf("relay_bench: wrote %s\n", o_.out.c_str());
    auto png = plot_path_for(o_.out);
    auto why_not = write_plot(rows_, "relay_bench " + command_line, png, root_);
    if (why_not.empty())
      std::printf("relay_bench: wrote %s\n", png.c_str());
    else
      std::printf("relay_bench: no plot: %s\n", why_not.c_str());
  }

  options o_;
  api_client api_;
  // The readers' polls and pages have an io thread of their own: read on the submitters'
  // thread, pages of batched runs held back the next requests, and the nodes formed
  // smaller groups (5-10 % fewer events/s).
  api_client reader_api_{1};
  std::string root_;
  std::vector<std::string> rooms_;  // the rooms of the throughput, latency, recovery and kill runs
  std::string machine_before_;
  std::unique_ptr<node> a_;
  std::unique_ptr<node> b_;
  std::vector<std::unique_ptr<node>> members_;  // the fan-out servers besides B
  std::shared_ptr<inbox_reader> reader_;
  std::vector<row> rows_;
  std::vector<std::string> file_lines_;  // the files scenario's result (MB/s, not a row)
  double max_rate_ = o_.max_rate;
  int run_ = 0;
  bool intact_ = true;    // the kill scenario found nothing lost or duplicated
  bool complete_ = true;  // every submit accepted, every accepted event seen in time
  std::string stop_note_;
};

}  // namespace
}  // namespace fedrelay::bench

int main(int argc, char** argv) {
  using namespace fedrelay::bench;
  install_signal_thread();
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  int rc = 1;
  std::unique_ptr<harness> h;
  try {
    h = std::make_unique<harness>(parse_options(argc, argv, FEDRELAY_BINARY));
    rc = h->run(command_line);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relay_bench: %s\n", e.what());
    if (h) h->print_logs();
    rc = 1;
  }
  stopping = true;
  // The harness (reader threads, HTTP client) goes before the nodes it talks to are killed.
  h.reset();
  clean_up_everything();
  return rc;
}
