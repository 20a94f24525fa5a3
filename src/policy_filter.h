// Dataset policies (max_versions, ttl) shared by the read path and the
// compaction filter, so both decide visibility with the same function.
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
                  ttl_seconds_.load(std::memory_order_relaxed)};
  }
  void Store(const Policy& p) {
    max_versions_.store(p.max_versions, std::memory_order_relaxed);
    ttl_seconds_.store(p.ttl_seconds, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> max_versions_{0};
  std::atomic<uint64_t> ttl_seconds_{0};
};

// Whether the version at `ts`, the `rank`-th newest of its column (0 = the
// latest), is visible under `policy` at `now_ms`.
bool IsVersionVisible(const Policy& policy, uint64_t now_ms, uint64_t ts,
                      uint64_t rank);

// Whether a version at `ts` has outlived the policy's TTL at `now_ms`.
bool IsExpired(const Policy& policy, uint64_t now_ms, uint64_t ts);

// Creates a filter per compaction that drops expired versions and versions
// beyond max_versions. A compaction sees a column's versions newest first but
// perhaps not all of them (newer ones may live in other files), so its count
// is a lower bound of each version's true rank: it never drops a version the
// read path would show.
class PolicyFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  PolicyFilterFactory(std::shared_ptr<const PolicyCell> policy,
                      const Clock* clock)
      : policy_(std::move(policy)), clock_(clock) {}

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;
  const char* Name() const override { return "rowfs.PolicyFilterFactory"; }

 private:
  std::shared_ptr<const PolicyCell> policy_;
  const Clock* clock_;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_POLICY_FILTER_H_
