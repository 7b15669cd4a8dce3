// CRC32C (Castagnoli) on the CPU's crc32 instruction, also for RocksDB.
//
// RocksDB checksums every WAL and MANIFEST record with CRC32C through one exported
// function, rocksdb::crc32c::Extend, which Debian's librocksdb computes with tables: its
// build is for the x86-64 baseline, which lacks SSE4.2, so it holds no crc32 instruction.
// That loop was 6-8 % of each node's CPU in batched runs (docs/PERFORMANCE.md), as every
// byte of every event goes through the WAL. crc32c.cpp defines that same function, and
// since librocksdb calls it through its procedure linkage table, the dynamic linker binds
// the calls to the executable's definition: the same values, computed by the instruction.
// On a CPU without SSE4.2 it hands the work to RocksDB's own function.
#pragma once

#include <cstdint>
#include <string_view>

namespace fedrelay::storage {

/// The CRC32C of `data` continued from `crc` (the CRC of what came before; 0 to start),
/// exactly as rocksdb::crc32c::Extend computes it.
uint32_t crc32c_extend(uint32_t crc, std::string_view data);

/// Whether crc32c_extend runs on the CPU's crc32 instruction (SSE4.2), rather than on
/// RocksDB's tables.
bool crc32c_uses_cpu_instruction();

/// RocksDB's own rocksdb::crc32c::Extend, as librocksdb defines it; what crc32c_extend
/// falls back to, and what the tests compare it with. Null if it cannot be found.
using crc32c_function = uint32_t (*)(uint32_t, const char*, size_t);
crc32c_function rocksdb_own_crc32c();

}  // namespace fedrelay::storage
