#include "policy_filter.h"

#include <string>

#include "rowfs/key_codec.h"

namespace rowfs {

bool IsExpired(const Policy& policy, uint64_t now_ms, uint64_t ts) {
  if (policy.ttl_seconds == 0) return false;
  const uint64_t ttl_ms = policy.ttl_seconds * 1000;
  // ts + ttl <= now, without overflow.
  return now_ms >= ts && now_ms - ts >= ttl_ms;
}

bool IsVersionVisible(const Policy& policy, uint64_t now_ms, uint64_t ts,
                      uint64_t rank) {
  if (policy.max_versions != 0 && rank >= policy.max_versions) return false;
  return !IsExpired(policy, now_ms, ts);
}

namespace {

class PolicyFilter : public rocksdb::CompactionFilter {
 public:
  PolicyFilter(Policy policy, uint64_t now_ms)
      : policy_(policy), now_ms_(now_ms) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key,
              const rocksdb::Slice& /*value*/, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    ParsedKey parsed;
    // Keys rowfs did not write are left alone.
    if (!ParseKey(std::string_view(key.data(), key.size()), &parsed).ok()) {
      return false;
    }
    if (parsed.kind != KeyKind::kCell) return false;
    if (parsed.row != row_ || parsed.column != column_) {
      row_.assign(parsed.row);
      column_.assign(parsed.column);
      rank_ = 0;
    }
    const uint64_t rank = rank_++;
    return !IsVersionVisible(policy_, now_ms_, parsed.ts, rank);
  }

  const char* Name() const override { return "rowfs.PolicyFilter"; }

 private:
  const Policy policy_;
  const uint64_t now_ms_;
  // A filter instance serves one (sub)compaction on one thread, and sees its
  // keys in order; RocksDB's Filter is const, hence mutable.
  mutable std::string row_, column_;
  mutable uint64_t rank_ = 0;
};

}  // namespace

std::unique_ptr<rocksdb::CompactionFilter>
PolicyFilterFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& /*context*/) {
  const Policy policy = policy_->Load();
  if (policy.max_versions == 0 && policy.ttl_seconds == 0) return nullptr;
  return std::make_unique<PolicyFilter>(policy, clock_->NowMs());
}

}  // namespace rowfs
