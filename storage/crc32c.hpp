// CRC32C (Castagnoli) on the CPU's crc32 instruction, also for RocksDB.
//
// RocksDB checksums every WAL and MANIFEST record with CRC32C through one exported
// function, rocksdb::crc32c::Extend, which Debian's librocksdb computes with tables: its
// build is for the x86-64 baseline, which lacks SSE4.2, so it holds no crc32 instruction.
// Every byte of every event goes through the WAL, and that loop was a large share of each
// node's CPU (docs/PERFORMANCE.md, the tenth round). crc32c.cpp defines that same function,
// and since librocksdb calls it through its procedure linkage table, the dynamic linker
// binds the calls to the program's definition: the same values, computed by the
// instruction. On a CPU without SSE4.2 it hands the work to RocksDB's own function.
// storage/CMakeLists.txt makes every program that links this library take crc32c.o.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rocksdb::crc32c {
/// RocksDB's declaration (util/crc32c.h), defined in crc32c.cpp.
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
}  // namespace rocksdb::crc32c

namespace fedrelay::storage {

/// The mangled name of rocksdb::crc32c::Extend, as the dynamic linker looks it up.
inline constexpr const char* rocksdb_extend_symbol = "_ZN7rocksdb6crc32c6ExtendEjPKcm";

/// The CRC32C of `data` continued from `crc` (the CRC of what came before; 0 to start),
/// exactly as rocksdb::crc32c::Extend computes it.
uint32_t crc32c_extend(uint32_t crc, std::string_view data);

/// Whether crc32c_extend runs on the CPU's crc32 instruction (SSE4.2), rather than on
/// RocksDB's tables.
bool crc32c_uses_cpu_instruction();

/// Whether the dynamic linker resolves rocksdb::crc32c::Extend to this program's
/// definition: the global lookup that binds librocksdb's calls to it.
bool crc32c_bound_to_this_program();

/// How many times this thread ran this program's rocksdb::crc32c::Extend: the tests'
/// evidence that librocksdb's own calls arrive here.
uint64_t crc32c_calls_on_this_thread();

/// RocksDB's own rocksdb::crc32c::Extend, as librocksdb defines it; what crc32c_extend
/// falls back to, and what the tests compare it with. Null if it cannot be found.
using crc32c_function = uint32_t (*)(uint32_t, const char*, size_t);
crc32c_function rocksdb_own_crc32c();

}  // namespace fedrelay::storage
