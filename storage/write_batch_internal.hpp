// What only storage/ sees of write_batch: the rocksdb::WriteBatch inside it, whose changes
// name columns by logical id, and the copy that re-addresses them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/store.hpp"

namespace fedrelay::storage {

struct write_batch::impl {
  rocksdb::WriteBatch batch;
  std::string refused;  // why store::write must refuse the batch; empty when it may write it
};

/// The column family id a write_batch records for `c`: 1 + its enum value (0 is RocksDB's
/// "default"). store::open creates the families in enum order, so these are normally the
/// real ids and a batch goes to RocksDB as it is, without a copy.
constexpr uint32_t logical_id(column c) {
  return static_cast<uint32_t>(c) + 1;
}

/// A stand-in handle for `c` that a batch can be written against before it meets a store:
/// rocksdb::WriteBatch reads only its id and comparator. Lives for the whole program.
rocksdb::ColumnFamilyHandle* logical_handle(column c);

/// Appends every change of `from` to `to`, addressed to `target(c)` where `from` had
/// logical_id(c). InvalidArgument when `from` holds a change no write_batch makes.
rocksdb::Status copy_changes(const rocksdb::WriteBatch& from, rocksdb::WriteBatch& to,
                             const std::function<rocksdb::ColumnFamilyHandle*(column)>& target);

}  // namespace fedrelay::storage
