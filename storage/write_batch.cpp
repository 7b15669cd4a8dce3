// write_batch: a rocksdb::WriteBatch filled before it is known which store will apply it,
// so changes name columns by logical id (see write_batch_internal.hpp).
#include "storage/write_batch_internal.hpp"

#include <string>
#include <vector>

#include <rocksdb/comparator.h>

#include "storage/keys.hpp"

namespace fedrelay::storage {
namespace {

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

class logical_column final : public rocksdb::ColumnFamilyHandle {
 public:
  explicit logical_column(column c) : column_(c), name_(column_name(c)) {}
  const std::string& GetName() const override { return name_; }
  uint32_t GetID() const override { return logical_id(column_); }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override {
    return rocksdb::Status::NotSupported("a write_batch column has no descriptor");
  }
  const rocksdb::Comparator* GetComparator() const override {
    return rocksdb::BytewiseComparator();
  }

 private:
  column column_;
  std::string name_;
};

// Replays a batch into another one, mapping each logical id to a target handle. A
// write_batch only ever holds puts, deletes and range deletes; anything else is refused
// by the Handler defaults (InvalidArgument).
class copier final : public rocksdb::WriteBatch::Handler {
 public:
  copier(rocksdb::WriteBatch& to, const std::function<rocksdb::ColumnFamilyHandle*(column)>& target)
      : to_(to), target_(target) {}

  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    auto* h = handle(id);
    return h ? to_.Put(h, key, value) : unknown(id);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    auto* h = handle(id);
    return h ? to_.Delete(h, key) : unknown(id);
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice& from,
                                const rocksdb::Slice& to) override {
    auto* h = handle(id);
    return h ? to_.DeleteRange(h, from, to) : unknown(id);
  }

 private:
  rocksdb::ColumnFamilyHandle* handle(uint32_t id) const {
    if (id == 0 || id > column_count) return nullptr;
    return target_(static_cast<column>(id - 1));
  }
  static rocksdb::Status unknown(uint32_t id) {
    return rocksdb::Status::InvalidArgument("write_batch names no column with id " +
                                            std::to_string(id));
  }

  rocksdb::WriteBatch& to_;
  const std::function<rocksdb::ColumnFamilyHandle*(column)>& target_;
};

}  // namespace

rocksdb::ColumnFamilyHandle* logical_handle(column c) {
  static std::vector<logical_column> handles = [] {
    std::vector<logical_column> all;
    all.reserve(column_count);
    for (size_t i = 0; i < column_count; ++i) all.emplace_back(static_cast<column>(i));
    return all;
  }();
  return &handles[static_cast<size_t>(c)];
}

rocksdb::Status copy_changes(const rocksdb::WriteBatch& from, rocksdb::WriteBatch& to,
                             const std::function<rocksdb::ColumnFamilyHandle*(column)>& target) {
  copier handler{to, target};
  return from.Iterate(&handler);
}

write_batch::write_batch() : impl_(std::make_unique<impl>()) {}
write_batch::~write_batch() = default;
write_batch::write_batch(write_batch&&) noexcept = default;
write_batch& write_batch::operator=(write_batch&&) noexcept = default;

// The Status of WriteBatch::Put and friends reports only a batch grown past
// WriteBatch::max_bytes, which a default-constructed batch does not have, so it is
// always OK here.
void write_batch::put(column c, std::string_view key, std::string_view value) {
  impl_->batch.Put(logical_handle(c), slice(key), slice(value)).PermitUncheckedError();
}

void write_batch::del(column c, std::string_view key) {
  impl_->batch.Delete(logical_handle(c), slice(key)).PermitUncheckedError();
}

void write_batch::del_range(column c, std::string_view from, std::string_view to) {
  // RocksDB rejects an inverted range only when applying it to the memtable, after the
  // WAL write and after the batch's earlier changes: the batch would land half-applied.
  // An empty range deletes nothing, so it is not recorded at all.
  if (from >= to) return;
  if (!takes_range_deletes(c)) {
    if (impl_->refused.empty())
      impl_->refused = "column " + std::string{column_name(c)} + " takes no range deletions";
    return;
  }
  if (inserts_with_sequence_hints(c) && split_sequenced_key(from)) {
    if (impl_->refused.empty())
      impl_->refused = "column " + std::string{column_name(c)} +
                       " takes range deletions only from a key between entries "
                       "(storage::sequenced_from)";
    return;
  }
  impl_->batch.DeleteRange(logical_handle(c), slice(from), slice(to)).PermitUncheckedError();
}

void write_batch::append(const write_batch& other) {
  copy_changes(other.impl_->batch, impl_->batch, logical_handle).PermitUncheckedError();
  if (impl_->refused.empty()) impl_->refused = other.impl_->refused;
}

size_t write_batch::count() const {
  return impl_->batch.Count();
}

size_t write_batch::bytes() const {
  return impl_->batch.GetDataSize();
}

void write_batch::clear() {
  impl_->batch.Clear();
  impl_->refused.clear();
}

}  // namespace fedrelay::storage
