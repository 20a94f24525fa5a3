// Dataset policies (max_versions, ttl, keep_deleted): the live policy of a
// dataset, and the compaction filter that removes what the read path
// already hides (column_history.h decides for both).
#ifndef ROWFS_SRC_POLICY_FILTER_H_
#define ROWFS_SRC_POLICY_FILTER_H_

#include <rocksdb/compaction_filter.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "rowfs/clock.h"
#include "rowfs/store.h"

namespace rowfs {

// The live policy of one dataset. Updated by SetDatasetPolicy while reads
// and compactions use it, hence atomics. Thread-safe.
class PolicyCell {
 public:
  Policy Load() const {
    return Policy{max_versions_.load(std::memory_order_relaxed),
                  ttl_seconds_.load(std::memory_order_relaxed),
                  keep_deleted_.load(std::memory_order_relaxed)};
  }
  void Store(const Policy& p) {
    max_versions_.store(p.max_versions, std::memory_order_relaxed);
    ttl_seconds_.store(p.ttl_seconds, std::memory_order_relaxed);
    keep_deleted_.store(p.keep_deleted_seconds, std::memory_order_relaxed);
  }
  // Whether the family's entries are known to be format-2 records. Until
  // then (opening; a format-1 database until its upgrade is done) the
  // compaction filter leaves everything alone: a format-1 value could
  // decode as a record that has expired.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Entries compactions removed: their content may now be garbage.
  void CountDropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t TakeDropped() { return dropped_.exchange(0); }
  void set_ready(bool ready) { ready_.store(ready, std::memory_order_release); }

 private:
  std::atomic<bool> ready_{true};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> max_versions_{0};
  std::atomic<uint64_t> ttl_seconds_{0};
  std::atomic<uint64_t> keep_deleted_{kDefaultKeepDeletedSeconds};
};

// Creates a filter per compaction that drops dead entries (expired,
// deleted history past keep_deleted, beyond max_versions). A compaction
// sees a column's entries newest first but perhaps not all of them (newer
// ones may live in other files), so its count is a lower bound of each
// version's true rank, and the expiries are each record's own: it never
// drops an entry the read path would show. Content chunks are left alone
// (garbage collection removes those no record refers to).
class PolicyFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  PolicyFilterFactory(std::shared_ptr<PolicyCell> policy, const Clock* clock)
      : policy_(std::move(policy)), clock_(clock) {}

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;
  const char* Name() const override { return "rowfs.PolicyFilterFactory"; }

 private:
  std::shared_ptr<PolicyCell> policy_;
  const Clock* clock_;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_POLICY_FILTER_H_
