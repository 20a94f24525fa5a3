#include "column_history.h"

namespace rowfs {

bool IsExpired(const Policy& policy, uint64_t now_ms, uint64_t ts) {
  if (policy.ttl_seconds == 0) return false;
  const uint64_t ttl_ms = policy.ttl_seconds * 1000;
  // ts + ttl <= now, without overflow.
  return now_ms >= ts && now_ms - ts >= ttl_ms;
}

bool EntryFilter::Dead(uint64_t ts, const VersionRecord& header) {
  // A version's rank counts every newer version, dead or not, so that a
  // compaction that sees only some of them (a lower bound of the rank)
  // never removes one that a reader would still show.
  const uint64_t rank = versions_;
  if (!header.is_deletion()) ++versions_;
  if (header.expires_ms != 0 && header.expires_ms <= now_ms_) return true;
  if (IsExpired(policy_, now_ms_, ts)) return true;
  return policy_.max_versions != 0 && rank >= policy_.max_versions;
}

}  // namespace rowfs
