// Striped locks that serialise read-modify-write operations on the same
// column ("latest + 1", moves) and keep row-wide operations (row delete,
// row move) exclusive against column operations inside the row.
//
// A LockSet acquires everything it needs in one global order (row stripes
// ascending, then column stripes ascending), so two LockSets never deadlock.
#ifndef ROWFS_SRC_LOCK_TABLE_H_
#define ROWFS_SRC_LOCK_TABLE_H_

#include <array>
#include <cstddef>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <vector>

namespace rowfs {

class LockTable {
 public:
  static constexpr size_t kStripes = 1024;

  size_t RowStripe(std::string_view dataset, std::string_view row) const;
  size_t ColumnStripe(std::string_view dataset, std::string_view row,
                      std::string_view column) const;

 private:
  friend class LockSet;
  std::array<std::shared_mutex, kStripes> rows_;
  std::array<std::mutex, kStripes> columns_;
};

// RAII holder of a set of stripes. Add everything, then Lock() once.
class LockSet {
 public:
  explicit LockSet(LockTable* table) : table_(table) {}
  ~LockSet();
  LockSet(const LockSet&) = delete;
  LockSet& operator=(const LockSet&) = delete;

  // A column operation: the row shared, the column exclusive.
  void AddColumn(std::string_view dataset, std::string_view row,
                 std::string_view column);
  // A row-wide operation: the row exclusive.
  void AddRowExclusive(std::string_view dataset, std::string_view row);
  void Lock();

 private:
  struct RowLock {
    size_t stripe;
    bool exclusive;
  };
  LockTable* table_;
  std::vector<RowLock> rows_;
  std::vector<size_t> columns_;
  bool locked_ = false;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_LOCK_TABLE_H_
