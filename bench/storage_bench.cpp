// Google Benchmark for storage: the synced and buffered writes behind every accepted
// event, an outbox append-and-drain cycle, a front-to-back queue scan, and the checksum of
// every WAL record (this build's against RocksDB's own).
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>

#include "storage/crc32c.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace fedrelay::storage {
namespace {

constexpr size_t value_bytes = 256;

// A store in a fresh directory under /tmp, removed with everything in it afterwards.
class bench_store {
 public:
  explicit bench_store(store_options opts = {}) {
    std::string pattern = "/tmp/fedrelay-storage-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    auto s = store::open(dir_, std::move(opts));
    if (!s) throw std::runtime_error("open failed: " + caf::to_string(s.error()));
    store_ = std::move(*s);
  }
  ~bench_store() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  bench_store(const bench_store&) = delete;
  bench_store& operator=(const bench_store&) = delete;

  store& get() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<store> store_;
};

void write_or_fail(benchmark::State& state, store& s, const write_batch& b, durability d) {
  if (auto err = s.write(b, d)) state.SkipWithError(caf::to_string(err).c_str());
}

// One event, one fsync: the latency floor of an accepted event.
void synced_put(benchmark::State& state, store_options opts) {
  bench_store db{std::move(opts)};
  const std::string value(value_bytes, 'v');
  uint64_t seq = 0;
  for (auto _ : state) {
    write_batch b;
    b.put(column::room_log, sequenced_key("room", ++seq), value);
    write_or_fail(state, db.get(), b, durability::synced);
  }
  state.SetItemsProcessed(static_cast<int64_t>(seq));
  state.SetBytesProcessed(static_cast<int64_t>(seq * value_bytes));
}
void BM_SyncedPut(benchmark::State& state) {
  synced_put(state, {});
}
// The same with the WAL appended to as RocksDB does (store_options::prewrite_wal off):
// each fdatasync then writes the file's new size too.
void BM_SyncedPutAppendedWal(benchmark::State& state) {
  store_options opts;
  opts.prewrite_wal = false;
  synced_put(state, std::move(opts));
}
BENCHMARK(BM_SyncedPut)->UseRealTime();
BENCHMARK(BM_SyncedPutAppendedWal)->UseRealTime();

// 100 events of 256 B in one batch with one fsync, as a room actor's group commit.
void batch_of_100(benchmark::State& state, durability d) {
  bench_store db;
  const std::string value(value_bytes, 'v');
  uint64_t seq = 0;
  for (auto _ : state) {
    write_batch b;
    for (int i = 0; i < 100; ++i) b.put(column::room_log, sequenced_key("room", ++seq), value);
    write_or_fail(state, db.get(), b, d);
  }
  state.SetItemsProcessed(static_cast<int64_t>(seq));
  state.SetBytesProcessed(static_cast<int64_t>(seq * value_bytes));
}
void BM_SyncedBatch100x256(benchmark::State& state) {
  batch_of_100(state, durability::synced);
}
void BM_BufferedBatch100x256(benchmark::State& state) {
  batch_of_100(state, durability::buffered);
}
BENCHMARK(BM_SyncedBatch100x256)->UseRealTime();
BENCHMARK(BM_BufferedBatch100x256)->UseRealTime();

// An outbox's life: append a batch of 100 events to a peer's sequenced range (synced),
// then drop the delivered range with one range delete (synced), as on a receipt.
void BM_QueueAppendRemoveCycle(benchmark::State& state) {
  bench_store db;
  const std::string value(value_bytes, 'v');
  uint64_t seq = 0;
  for (auto _ : state) {
    write_batch append;
    auto first = seq + 1;
    for (int i = 0; i < 100; ++i)
      append.put(column::outbox, sequenced_key("b.example", ++seq), value);
    write_or_fail(state, db.get(), append, durability::synced);
    write_batch remove;
    // As a peer removes what a receipt named: from a key between entries, since the
    // outbox's memtable inserts with a hint per prefix (storage::sequenced_from).
    remove.del_range(column::outbox, sequenced_from("b.example", first),
                     sequenced_from("b.example", seq + 1));
    write_or_fail(state, db.get(), remove, durability::synced);
  }
  state.SetItemsProcessed(static_cast<int64_t>(seq));
}
BENCHMARK(BM_QueueAppendRemoveCycle)->UseRealTime();

// Reading a peer's backlog front to back: 1000 entries of 256 B per iteration.
void BM_Scan1000(benchmark::State& state) {
  bench_store db;
  const std::string value(value_bytes, 'v');
  write_batch fill;
  for (uint64_t seq = 1; seq <= 1000; ++seq)
    fill.put(column::outbox, sequenced_key("b.example", seq), value);
  fill.put(column::outbox, sequenced_key("c.example", 1), value);  // a neighbour, not read
  write_or_fail(state, db.get(), fill, durability::synced);
  int64_t visited = 0;
  for (auto _ : state) {
    size_t bytes = 0;
    auto err =
        db.get().scan(column::outbox, sequenced_begin("b.example"), sequenced_end("b.example"), 0,
                      [&](std::string_view key, std::string_view v) {
                        bytes += key.size() + v.size();
                        ++visited;
                        return true;
                      });
    if (err) state.SkipWithError(caf::to_string(err).c_str());
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(visited);
}
BENCHMARK(BM_Scan1000);

// The WAL record of one relayed event of 256 B is about 1.6 KB on a receiver; a group
// commit of 100 events, split into RocksDB's 32 KiB physical records.
std::string checksummed_bytes(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
  return data;
}

void BM_Crc32cThisBuild(benchmark::State& state) {
  auto data = checksummed_bytes(state);
  for (auto _ : state) benchmark::DoNotOptimize(crc32c_extend(0, data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(crc32c_uses_cpu_instruction() ? "crc32 instruction" : "RocksDB's tables");
}
BENCHMARK(BM_Crc32cThisBuild)->Arg(1600)->Arg(32768);

void BM_Crc32cRocksDbsOwn(benchmark::State& state) {
  auto data = checksummed_bytes(state);
  auto own = rocksdb_own_crc32c();
  if (own == nullptr) {
    state.SkipWithError("librocksdb's rocksdb::crc32c::Extend not found");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(own(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cRocksDbsOwn)->Arg(1600)->Arg(32768);

}  // namespace
}  // namespace fedrelay::storage
