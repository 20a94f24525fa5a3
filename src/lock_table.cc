#include "lock_table.h"

#include <algorithm>
#include <functional>
#include <string>

namespace rowfs {
namespace {

size_t Hash(std::initializer_list<std::string_view> parts) {
  // FNV-1a over the parts with a separator that names cannot contain.
  uint64_t h = 1469598103934665603ull;
  for (std::string_view p : parts) {
    for (unsigned char c : p) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h % LockTable::kStripes);
}

}  // namespace

size_t LockTable::RowStripe(std::string_view dataset,
                            std::string_view row) const {
  return Hash({dataset, row});
}

size_t LockTable::ColumnStripe(std::string_view dataset, std::string_view row,
                               std::string_view column) const {
  return Hash({dataset, row, column});
}

void LockSet::AddColumn(std::string_view dataset, std::string_view row,
                        std::string_view column) {
  rows_.push_back({table_->RowStripe(dataset, row), false});
  columns_.push_back(table_->ColumnStripe(dataset, row, column));
}

void LockSet::AddRowExclusive(std::string_view dataset, std::string_view row) {
  rows_.push_back({table_->RowStripe(dataset, row), true});
}

void LockSet::Lock() {
  // One entry per stripe; exclusive wins when a stripe is wanted both ways.
  std::sort(rows_.begin(), rows_.end(), [](const RowLock& a, const RowLock& b) {
    return a.stripe != b.stripe ? a.stripe < b.stripe
                                : a.exclusive > b.exclusive;
  });
  rows_.erase(std::unique(rows_.begin(), rows_.end(),
                          [](const RowLock& a, const RowLock& b) {
                            return a.stripe == b.stripe;
                          }),
              rows_.end());
  std::sort(columns_.begin(), columns_.end());
  columns_.erase(std::unique(columns_.begin(), columns_.end()), columns_.end());
  for (const RowLock& r : rows_) {
    if (r.exclusive) {
      table_->rows_[r.stripe].lock();
    } else {
      table_->rows_[r.stripe].lock_shared();
    }
  }
  for (size_t c : columns_) table_->columns_[c].lock();
  locked_ = true;
}

LockSet::~LockSet() {
  if (!locked_) return;
  for (auto it = columns_.rbegin(); it != columns_.rend(); ++it) {
    table_->columns_[*it].unlock();
  }
  for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
    if (it->exclusive) {
      table_->rows_[it->stripe].unlock();
    } else {
      table_->rows_[it->stripe].unlock_shared();
    }
  }
}

}  // namespace rowfs
