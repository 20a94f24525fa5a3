// The history of one column: its entries (versions and deletion markers,
// version_record.h) newest first, as its keys sort. This file decides,
// without touching storage, which entries still exist under the dataset's
// policy and what a reader sees at a time T; the read path, the listing,
// the row probe and the compaction filter all decide with it.
//
//  * An entry is gone ("dead") when its record's expiry has passed (the
//    history of a deleted column after keep_deleted), when it is older than
//    the TTL, or when max_versions newer versions exist (markers do not
//    count as versions). Dead entries are skipped at once and removed by
//    the next compaction.
//  * At time T the column exists when its newest live entry at or before T
//    is a version (not a marker); that version is what `col` shows, and
//    every older live version is listed as `col@ts`.
#ifndef ROWFS_SRC_COLUMN_HISTORY_H_
#define ROWFS_SRC_COLUMN_HISTORY_H_

#include <cstdint>

#include "rowfs/store.h"
#include "version_record.h"

namespace rowfs {

// Whether `ts` has outlived the policy's TTL at `now_ms`.
bool IsExpired(const Policy& policy, uint64_t now_ms, uint64_t ts);

// Feed it one column's entries newest first; it says which are dead.
class EntryFilter {
 public:
  EntryFilter(const Policy& policy, uint64_t now_ms)
      : policy_(policy), now_ms_(now_ms) {}
  // Whether the next (older) entry, at `ts` with `header`, is dead.
  bool Dead(uint64_t ts, const VersionRecord& header);
  // Starts over for another column.
  void Reset() { versions_ = 0; }

 private:
  const Policy policy_;
  const uint64_t now_ms_;
  uint64_t versions_ = 0;  // live or not, newer versions seen so far
};

}  // namespace rowfs

#endif  // ROWFS_SRC_COLUMN_HISTORY_H_
