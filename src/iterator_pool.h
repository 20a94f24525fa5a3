// Reusable RocksDB iterators (per dataset) and the range iterator every
// read of the store goes through.
#ifndef ROWFS_SRC_ITERATOR_POOL_H_
#define ROWFS_SRC_ITERATOR_POOL_H_

#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rowfs {

inline rocksdb::Slice ToSlice(std::string_view s) {
  return {s.data(), s.size()};
}
inline std::string_view ToView(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

// A RocksDB iterator and its bounds [lower, upper) (upper empty: none).
// Heap-allocated and never moved: the iterator points at the bound slices,
// which a reused iterator gets new contents of.
struct IteratorSlot {
  IteratorSlot(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
               std::string lower_in, std::string upper_in,
               const rocksdb::Snapshot* snapshot) {
    SetBounds(std::move(lower_in), std::move(upper_in));
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    ro.iterate_lower_bound = &lower_slice;
    if (!upper.empty()) {
      ro.iterate_upper_bound = &upper_slice;
    } else {
      ro.total_order_seek = true;  // crosses rows; bypass prefix seek
    }
    it.reset(db->NewIterator(ro, cf));
  }
  void SetBounds(std::string lower_in, std::string upper_in) {
    lower = std::move(lower_in);
    upper = std::move(upper_in);
    lower_slice = ToSlice(lower);
    upper_slice = ToSlice(upper);
  }

  std::string lower, upper;
  rocksdb::Slice lower_slice, upper_slice;
  std::unique_ptr<rocksdb::Iterator> it;
  uint64_t generation = 0;  // the pool's, when it was handed out
};

// Iterators over the latest state of one dataset's column ranges, kept for
// reuse: creating a RocksDB iterator costs about a third of a point read.
// A reused one is Refresh()ed (cheap while no flush or compaction happened)
// and gets new bounds. Idle iterators pin the memtables and table files of
// their last refresh, so the pool is emptied whenever a flush or compaction
// of the dataset completes (IteratorPools) and for good before the column
// family handle is destroyed. Thread-safe.
class IteratorPool {
 public:
  IteratorPool(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf)
      : db_(db), cf_(cf) {}

  // An iterator over [lower, upper) of the latest state, not yet
  // positioned. REQUIRES: upper is not empty; Close() was not called.
  std::unique_ptr<IteratorSlot> Acquire(std::string lower, std::string upper) {
    std::unique_ptr<IteratorSlot> slot;
    uint64_t generation = 0;
    {
      std::lock_guard lock(mu_);
      generation = generation_;
      if (!idle_.empty()) {
        slot = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (slot != nullptr) {
      slot->SetBounds(std::move(lower), std::move(upper));
      if (slot->it->Refresh().ok()) {
        slot->generation = generation;
        return slot;
      }
      // Read-only and secondary instances cannot refresh: no reuse there.
      reusable_.store(false, std::memory_order_relaxed);
      lower = std::move(slot->lower);
      upper = std::move(slot->upper);
      slot.reset();
    }
    slot = std::make_unique<IteratorSlot>(db_, cf_, std::move(lower),
                                          std::move(upper), nullptr);
    slot->generation = generation;
    return slot;
  }

  // Keeps `slot` for reuse unless the pool was emptied since it was handed
  // out, the iterator failed, or enough are idle.
  void Release(std::unique_ptr<IteratorSlot> slot) {
    if (!slot->it->status().ok() ||
        !reusable_.load(std::memory_order_relaxed)) {
      return;
    }
    std::lock_guard lock(mu_);
    if (slot->generation == generation_ && idle_.size() < kMaxIdle) {
      idle_.push_back(std::move(slot));
    }
  }

  // Destroys the idle iterators; those in use are destroyed on release.
  void Clear() {
    std::vector<std::unique_ptr<IteratorSlot>> doomed;
    std::lock_guard lock(mu_);
    ++generation_;
    doomed.swap(idle_);
  }

  // Clear() for good. REQUIRES: no iterator in use.
  void Close() {
    reusable_.store(false, std::memory_order_relaxed);
    Clear();
  }

 private:
  static constexpr size_t kMaxIdle = 8;  // a few per daemon thread
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  std::atomic<bool> reusable_{true};
  std::mutex mu_;
  uint64_t generation_ = 0;                          // guarded by mu_
  std::vector<std::unique_ptr<IteratorSlot>> idle_;  // guarded by mu_
};

// Empties the iterator pool of a dataset whose flush or compaction
// completed, so that idle iterators do not keep obsolete memtables and
// table files alive. RocksDB calls it without its own mutex held, from a
// background job; it keeps its own name -> pool registry (a leaf lock)
// instead of looking in Store::Impl::datasets, whose lock is held across
// RocksDB calls that can wait behind background work (creating a family).
class IteratorPools : public rocksdb::EventListener {
 public:
  std::shared_ptr<IteratorPool> Add(const std::string& dataset, rocksdb::DB* db,
                                    rocksdb::ColumnFamilyHandle* cf) {
    auto pool = std::make_shared<IteratorPool>(db, cf);
    std::lock_guard lock(mu_);
    std::erase_if(pools_, [](const auto& p) { return p.second.expired(); });
    pools_.emplace_back(dataset, pool);
    return pool;
  }
  void OnFlushCompleted(rocksdb::DB*,
                        const rocksdb::FlushJobInfo& info) override {
    Clear(info.cf_name);
  }
  void OnCompactionCompleted(rocksdb::DB*,
                             const rocksdb::CompactionJobInfo& info) override {
    Clear(info.cf_name);
  }

 private:
  void Clear(const std::string& dataset) {
    std::vector<std::shared_ptr<IteratorPool>> targets;
    {
      std::lock_guard lock(mu_);
      for (const auto& [name, pool] : pools_) {
        if (name != dataset) continue;
        if (auto p = pool.lock()) targets.push_back(std::move(p));
      }
    }
    for (const auto& pool : targets) pool->Clear();
  }

  std::mutex mu_;
  std::vector<std::pair<std::string, std::weak_ptr<IteratorPool>>> pools_;
};

// An iterator over [lower, upper) of one column family, from a pool or
// made for the caller. Owns its bounds.
class RangeIterator {
 public:
  RangeIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                std::string lower, std::string upper,
                const rocksdb::Snapshot* snapshot = nullptr)
      : slot_(std::make_unique<IteratorSlot>(db, cf, std::move(lower),
                                             std::move(upper), snapshot)) {}
  RangeIterator(IteratorPool* pool, std::string lower, std::string upper)
      : pool_(pool), slot_(pool->Acquire(std::move(lower), std::move(upper))) {}
  ~RangeIterator() {
    if (pool_ != nullptr) pool_->Release(std::move(slot_));
  }
  RangeIterator(const RangeIterator&) = delete;
  RangeIterator& operator=(const RangeIterator&) = delete;
  rocksdb::Iterator* operator->() const { return slot_->it.get(); }
  rocksdb::Iterator* get() const { return slot_->it.get(); }
  const std::string& lower() const { return slot_->lower; }
  const std::string& upper() const { return slot_->upper; }

 private:
  IteratorPool* const pool_ = nullptr;
  std::unique_ptr<IteratorSlot> slot_;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_ITERATOR_POOL_H_
