// Google Benchmark for the crypto hot paths: sealing and opening transactions with a
// cached per-peer key, Ed25519 signatures alone and in groups, BLAKE2b content hashes, and
// PEM parsing.
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/batch_signature.hpp"
#include "crypto/hash.hpp"
#include "crypto/identity.hpp"
#include "crypto/pem.hpp"
#include "crypto/sealing.hpp"

namespace fedrelay::crypto {
namespace {

// Both ends of one peer link, derived once, as a peer actor caches them.
struct link {
  identity a = identity::generate();
  identity b = identity::generate();
  box_key a_to_b = derive(a, b.public_key());
  box_key b_to_a = derive(b, a.public_key());

  static box_key derive(const identity& self, const public_key& peer) {
    auto key = box_key::derive(self, peer);
    if (!key) throw std::runtime_error("box_key::derive failed");
    return *key;
  }
};

const link& shared_link() {
  static const link l;
  return l;
}

void bm_seal(benchmark::State& state) {
  const auto& l = shared_link();
  std::string plaintext(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(l.a_to_b.seal(plaintext));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bm_seal)->Arg(256)->Arg(4096);

void bm_open(benchmark::State& state) {
  const auto& l = shared_link();
  auto sealed = l.a_to_b.seal(std::string(static_cast<size_t>(state.range(0)), 'x'));
  for (auto _ : state) {
    auto opened = l.b_to_a.open(sealed);
    if (!opened) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bm_open)->Arg(256)->Arg(4096);

void bm_derive_box_key(benchmark::State& state) {
  const auto& l = shared_link();
  for (auto _ : state) benchmark::DoNotOptimize(box_key::derive(l.a, l.b.public_key()));
}
BENCHMARK(bm_derive_box_key);

void bm_sign(benchmark::State& state) {
  const auto& l = shared_link();
  std::string message(256, 'm');
  for (auto _ : state) benchmark::DoNotOptimize(l.a.sign(message));
}
BENCHMARK(bm_sign);

void bm_verify(benchmark::State& state) {
  const auto& l = shared_link();
  std::string message(256, 'm');
  auto sig = l.a.sign(message);
  for (auto _ : state) {
    auto err = verify(l.a.public_key(), message, sig);
    if (err) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(err);
  }
}
BENCHMARK(bm_verify);

// A group of 16 event-sized messages signed at once (what a batch of events costs per 16),
// and one message of such a group verified, the first time (an Ed25519 check) and again
// (the group remembered: hashes only).
std::vector<std::string> event_sized_group() {
  std::vector<std::string> messages(16, std::string(600, 'm'));
  for (size_t i = 0; i < messages.size(); ++i) messages[i] += std::to_string(i);
  return messages;
}

void bm_sign_batch16(benchmark::State& state) {
  const auto& l = shared_link();
  auto messages = event_sized_group();
  for (auto _ : state) benchmark::DoNotOptimize(sign_batch(l.a, messages));
}
BENCHMARK(bm_sign_batch16);

void bm_verify_batch_member(benchmark::State& state) {
  const auto& l = shared_link();
  auto messages = event_sized_group();
  auto proofs = sign_batch(l.a, messages);
  bool remembered = state.range(0) == 1;
  if (remembered) (void)verify_batch(l.a.public_key(), messages[0], proofs[0]);
  for (auto _ : state) {
    if (!remembered) {  // a fresh group each time: sign outside the timing
      state.PauseTiming();
      messages[3] += 'x';
      proofs = sign_batch(l.a, messages);
      state.ResumeTiming();
    }
    auto err = verify_batch(l.a.public_key(), messages[3], proofs[3]);
    if (err) state.SkipWithError("verify_batch failed");
    benchmark::DoNotOptimize(err);
  }
}
BENCHMARK(bm_verify_batch_member)->Arg(0)->Arg(1);

void bm_blake2b(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'd');
  for (auto _ : state) benchmark::DoNotOptimize(blake2b_256(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bm_blake2b)->Arg(4096)->Arg(1 << 20);

void bm_parse_pem(benchmark::State& state) {
  auto pem = public_key_pem_line(shared_link().a.public_key());
  for (auto _ : state) {
    auto key = parse_public_key_pem(pem);
    if (!key) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(bm_parse_pem);

}  // namespace
}  // namespace fedrelay::crypto
