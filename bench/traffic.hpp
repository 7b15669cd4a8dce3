// The traffic of relay_bench: submitters playing the sending chat server at A's local API
// (chat.send, or chat.sendBatch), and inbox readers playing the receiving chat servers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bench/node.hpp"
#include "bench/process.hpp"

namespace fedrelay::bench {

// Events carry their run, sequence number and send time in the text: "fb<run>:<seq>:<ns>:"
// and then filler up to the wanted size, so the readers need no table of event ids.
std::string event_text(int run, size_t seq, int64_t sent_ns, size_t size);

struct tag {
  int run;
  size_t seq;
  int64_t sent_ns;
};

std::optional<tag> parse_tag(std::string_view text);

// What a reader saw of one run.
struct seen_result {
  size_t count = 0;       // distinct sequence numbers
  size_t duplicates = 0;  // arrivals of a sequence number already seen
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  std::vector<int64_t> latencies_ns;  // seen minus submitted, one per distinct event
  std::vector<size_t> seqs;           // the events of latencies_ns, in the same order
  std::vector<int64_t> sent_ns;       // and when each was sent (now_ns)
};

// A local server: long-polls a node's `events` from cursor 0 on, counting the tagged events
// of the current run in the bench's rooms. Survives the node being down (retries every
// 50 ms). Each poll is a request of the api_client, and its answer is read on the client's
// io thread, which stamps the arrival: no thread of its own, so no hand-over per page on
// the cores the nodes share. Create with std::make_shared: the poll in flight keeps it
// alive; stop() it before the node it reads goes away.
class inbox_reader : public std::enable_shared_from_this<inbox_reader> {
 public:
  /// Reads `n`'s inbox after cursor `after` (0: from its first event).
  inbox_reader(api_client& api, const node& n, const std::vector<std::string>& room_ids,
               uint64_t after = 0);
  inbox_reader(const inbox_reader&) = delete;
  inbox_reader& operator=(const inbox_reader&) = delete;

  void start();
  // Ends polling for good, and waits (bounded) for the poll in flight to end.
  void stop();

  // The node whose `events` this reader polls.
  const node& server() const { return node_; }

  // Starts counting run `run` of `expected` events (sequence numbers 0..expected-1).
  void begin_run(int run, size_t expected);

  // Waits until `want` events of the current run were seen, or `until`; the result so far.
  seen_result wait_for(size_t want, steady::time_point until);

  // Waits until every sequence number marked in `required` was seen, or `until`; returns
  // how many of them are still missing.
  size_t wait_for_all(const std::vector<char>& required, steady::time_point until);

  // How often each sequence number of the current run arrived (0, 1, or more).
  std::vector<uint8_t> arrivals();
  /// The inbox cursor read up to: a new reader of the same node can start there instead
  /// of paging through everything the node received before.
  uint64_t position() const { return cursor_.load(); }

  // Stops polling and waits (bounded) for the poll in flight to end, so the node can be
  // stopped without a parked long poll.
  void pause();
  void resume();

 private:
  static constexpr size_t no_wait = static_cast<size_t>(-1);

  // The next poll, unless stopped or paused. REQUIRES: in_call_ (this chain of polls owns it).
  void poll();
  // Whether the chain of polls is to end (stopped, paused, or the harness stopping); if
  // so, ends it (clears in_call_ and wakes whoever waits for that).
  bool ending();
  void on_page(const caf::expected<net::http_response>& res);
  // REQUIRES: `lock` holds mu_.
  void wait_until_idle(std::unique_lock<std::mutex>& lock);
  void take_page(const std::string& body, int64_t seen_ns);
  // One event of this reader's rooms. REQUIRES: mu_ held.
  void take_event(std::string_view text, int64_t seen_ns);

  api_client& api_;
  const node& node_;
  std::set<std::string, std::less<>> room_ids_;
  std::atomic<uint64_t> cursor_{0};
  std::mutex mu_;
  bool stop_ = false;
  bool paused_ = false;
  bool in_call_ = false;  // a poll, or the wait before a retry, is under way
  std::condition_variable cv_;
  size_t want_ = no_wait;  // what wait_for() waits for, to wake it only then
  int run_ = -1;
  size_t expected_ = 0;
  std::vector<uint8_t> arrivals_;
  std::vector<char> required_;
  size_t missing_ = 0;  // of required_
  seen_result result_;
};

// What the submitter got back. `acked[seq]` is 1 for every event A accepted (HTTP 200 with
// an event_id for it).
struct submit_result {
  size_t accepted = 0;
  size_t failed = 0;
  size_t requests = 0;
  int64_t first_ns = 0;
  int64_t last_accept_ns = 0;
  std::string first_error;
  bool batch_unsupported = false;  // the node answered 404 to chat.sendBatch
  std::vector<char> acked;
  // Submitted (or due, in an open loop) to accepted at A, by sequence number, for the events
  // `acked` marks: the part of the end-to-end latency spent before A answered.
  std::vector<int64_t> accept_ns_by_seq;
  /// accept_ns_by_seq of the accepted events, in seq order.
  std::vector<int64_t> accept_latencies_ns() const;
};

// Accepted events per second, from the first submit to the last acceptance.
double accepted_per_s(const submit_result& s);

// Set before the HTTP client goes away, so late answers do not start new requests.
extern std::atomic<bool> stopping;

// Submits chat.send (batch 1) or chat.sendBatch (batch > 1) at A: closed loop (K requests
// in flight, each answer sends the next) or open loop (a fixed offered rate, whatever the
// answers do). Create with std::make_shared: answers keep it alive.
class submitter : public std::enable_shared_from_this<submitter> {
 public:
  // Event i goes to room i % room_ids.size().
  submitter(api_client& api, const node& a, const std::vector<std::string>& room_ids, int run,
            size_t size, size_t batch);

  submit_result closed_loop(size_t n, size_t connections, steady::time_point until);

  // Event i is due at start + i / rate. A request goes out when the last event of its batch
  // is due and carries the batch's events, each stamped with its own due time, so latency
  // includes waiting for the batch and a submitter that falls behind (coordinated omission).
  submit_result open_loop(size_t n, double rate, steady::time_point until);

  // No new requests from now on; the ones in flight are still counted. Returns how many
  // events were in flight.
  size_t halt();

  size_t accepted_so_far();

 private:
  void send(size_t first, size_t count, int64_t stamp_ns, double ns_per_event);
  void send_next();
  // Open loop, on the io thread: sends every request that is due, then sets a timer for
  // the next.
  void send_due();
  // When event `seq` of the open loop is due.
  int64_t due_ns(size_t seq) const;
  // Nothing more to send, and everything sent answered. REQUIRES: mu_ held.
  bool finished() const;
  void on_answer(size_t first, size_t count, int64_t stamp_ns, double ns_per_event,
                 const caf::expected<net::http_response>& r);
  submit_result wait(steady::time_point until);

  api_client& api_;
  const node& a_;
  std::vector<std::string> rooms_json_;  // each room id as a JSON string
  int run_;
  size_t size_;
  size_t batch_;
  bool chain_ = true;
  size_t total_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;
  size_t answered_ = 0;
  bool sending_ = false;  // an open loop has events still to send
  int64_t start_ns_ = 0;  // the open loop's start, and its interval between events
  double ns_per_event_ = 0;
  steady::time_point until_;
  submit_result result_;
};

}  // namespace fedrelay::bench
