#include "storage/crc32c.hpp"

#include <dlfcn.h>
#include <nmmintrin.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fedrelay::storage {
namespace {

__attribute__((target("sse4.2"))) uint32_t extend_with_instruction(uint32_t crc, const char* data,
                                                                   size_t size) {
  uint64_t state = ~crc;
  auto* p = reinterpret_cast<const unsigned char*>(data);
  auto* end = p + size;
  while (p != end && reinterpret_cast<uintptr_t>(p) % 8 != 0)
    state = _mm_crc32_u8(static_cast<uint32_t>(state), *p++);
  for (; end - p >= 8; p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    state = _mm_crc32_u64(state, word);
  }
  while (p != end) state = _mm_crc32_u8(static_cast<uint32_t>(state), *p++);
  return ~static_cast<uint32_t>(state);
}

struct implementation {
  crc32c_function rocksdb_own = nullptr;
  bool instruction = false;

  implementation() {
    // RTLD_NEXT: the definition after this executable's, librocksdb's.
    rocksdb_own = reinterpret_cast<crc32c_function>(dlsym(RTLD_NEXT, rocksdb_extend_symbol));
    // RocksDB may checksum before constructors have run (its own static initializers).
    __builtin_cpu_init();
    instruction = __builtin_cpu_supports("sse4.2");
    if (!instruction && rocksdb_own == nullptr) {
      // Cannot happen while librocksdb is linked in, which defines the symbol.
      std::fputs("fedrelay: no CRC32C: neither SSE4.2 nor librocksdb's function\n", stderr);
      std::abort();
    }
  }
};

const implementation& chosen() {
  static const implementation instance;
  return instance;
}

thread_local uint64_t calls_on_this_thread = 0;

}  // namespace

uint32_t crc32c_extend(uint32_t crc, std::string_view data) {
  const auto& impl = chosen();
  if (impl.instruction) return extend_with_instruction(crc, data.data(), data.size());
  return impl.rocksdb_own(crc, data.data(), data.size());
}

bool crc32c_uses_cpu_instruction() {
  return chosen().instruction;
}

bool crc32c_bound_to_this_program() {
  return dlsym(RTLD_DEFAULT, rocksdb_extend_symbol) ==
         reinterpret_cast<void*>(&rocksdb::crc32c::Extend);
}

uint64_t crc32c_calls_on_this_thread() {
  return calls_on_this_thread;
}

crc32c_function rocksdb_own_crc32c() {
  return chosen().rocksdb_own;
}

}  // namespace fedrelay::storage

// Takes the place of librocksdb's definition for every call it makes through its
// procedure linkage table (see crc32c.hpp).
namespace rocksdb::crc32c {
uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  ++fedrelay::storage::calls_on_this_thread;
  return fedrelay::storage::crc32c_extend(init_crc, {data, n});
}
}  // namespace rocksdb::crc32c
