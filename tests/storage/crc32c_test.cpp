#include "storage/crc32c.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::storage {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

std::string run(int from, int step, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += static_cast<char>(from + i * step);
  return out;
}

// RFC 3720 (iSCSI), appendix B.4, and the customary check value of "123456789".
TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(crc32c_extend(0, std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c_extend(0, std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(crc32c_extend(0, run(0, 1, 32)), 0x46DD794Eu);
  EXPECT_EQ(crc32c_extend(0, run(31, -1, 32)), 0x113FDB5Cu);
  EXPECT_EQ(crc32c_extend(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c_extend(0, ""), 0u);
  EXPECT_EQ(crc32c_extend(
                0, bytes({0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                          0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                          0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                          0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})),
            0xD9963A56u);
}

// Stored WALs and MANIFESTs were checksummed by RocksDB's tables: every length, alignment
// and starting value must give what they give, or an existing data directory would not open.
TEST(Crc32cTest, AgreesWithRocksDbsOwnFunction) {
  auto own = rocksdb_own_crc32c();
  ASSERT_NE(own, nullptr);
  std::mt19937_64 rng{20261126};
  std::string buffer(70000, '\0');
  for (auto& c : buffer) c = static_cast<char>(rng());
  for (size_t size = 0; size < 300; ++size)
    for (size_t offset = 0; offset < 9; ++offset) {
      auto start = static_cast<uint32_t>(rng());
      std::string_view piece{buffer.data() + offset, size};
      ASSERT_EQ(crc32c_extend(start, piece), own(start, piece.data(), piece.size()))
          << "size " << size << " offset " << offset;
    }
  for (size_t size : {1000u, 4096u, 32768u, 65536u, 69999u}) {
    std::string_view piece{buffer.data() + 1, size};
    EXPECT_EQ(crc32c_extend(7, piece), own(7, piece.data(), piece.size())) << size;
  }
  // Extending in pieces is the CRC of the whole.
  std::string_view whole{buffer.data(), 5000};
  EXPECT_EQ(crc32c_extend(crc32c_extend(0, whole.substr(0, 1234)), whole.substr(1234)),
            crc32c_extend(0, whole));
}

// The dynamic linker resolves librocksdb's calls in the global scope, where the program's
// definition comes first.
TEST(Crc32cTest, TheProgramsDefinitionIsTheOneTheDynamicLinkerFinds) {
  auto global = dlsym(RTLD_DEFAULT, rocksdb_extend_symbol);
  ASSERT_NE(global, nullptr);
  EXPECT_EQ(global, reinterpret_cast<void*>(&rocksdb::crc32c::Extend));
  EXPECT_NE(global, reinterpret_cast<void*>(rocksdb_own_crc32c()));
  EXPECT_TRUE(crc32c_bound_to_this_program());
  EXPECT_EQ(rocksdb::crc32c::Extend(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(store::checksums_use_cpu_instruction(), __builtin_cpu_supports("sse4.2") != 0);
}

// What the lookup above cannot show: librocksdb's own calls (its WAL writer's, through its
// procedure linkage table) arrive here. RocksDB writes the WAL on the writing thread.
TEST(Crc32cTest, RocksDbsWalWritesComeThroughThisDefinition) {
  fedrelay::test::temp_dir dir{"fedrelay-crc32c"};
  auto s = store::open(dir.path() + "/db");
  ASSERT_TRUE(s) << caf::to_string(s.error());
  auto before = crc32c_calls_on_this_thread();
  write_batch batch;
  batch.put(column::meta, "checksummed", std::string(300, 'x'));
  ASSERT_EQ((*s)->write(batch, durability::synced), caf::none);
  EXPECT_GT(crc32c_calls_on_this_thread(), before);
  // And what was written that way reads back after a reopen, which checks each record.
  s->reset();
  auto again = store::open(dir.path() + "/db");
  ASSERT_TRUE(again) << caf::to_string(again.error());
  auto value = (*again)->get(column::meta, "checksummed");
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, std::optional<std::string>{std::string(300, 'x')});
}

}  // namespace
}  // namespace fedrelay::storage
