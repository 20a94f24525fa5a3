// Lets a server-timestamped put pick max(now, latest + 1) without reading the
// column in the common case.
//
// Invariant: every version of a column that is not in `recent_` has a
// timestamp below `floor_`; a column in `recent_` either has its exact
// newest timestamp recorded, or kUnknown ("read it"). `max_ever_` bounds
// every timestamp in the dataset. The Store persists PersistedFloor() in the
// same WriteBatch as any write that raises it, so after a crash or a reopen
// `floor_` = the persisted value keeps the invariant.
//
// Thread-safety: all methods are thread-safe. Callers hold the column's lock
// from Next() until Record*() so that a column's entry cannot change between
// the decision and the write.
#ifndef ROWFS_SRC_LATEST_BOUND_H_
#define ROWFS_SRC_LATEST_BOUND_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rowfs {

class LatestBound {
 public:
  // `floor`: every stored timestamp is below it (the persisted value).
  explicit LatestBound(uint64_t floor);

  // The timestamp for a server-timestamped put at `now_ms`, or nullopt when
  // the column's newest timestamp must be read (then call with it known via
  // NextGiven).
  std::optional<uint64_t> Next(std::string_view column_key,
                               uint64_t now_ms) const;

  // Whether the column's newest entry is known to be a version put by
  // this process (nothing else changed the column since): a put then
  // needs no look at the column.
  bool KnownPut(std::string_view column_key) const;

  // A put stored a version at `ts`.
  void RecordPut(std::string_view column_key, uint64_t ts);
  // Anything else changed the column (delete, move, restamp) and stored
  // versions up to `max_ts` (0 when it only removed some).
  void RecordOther(std::string_view column_key, uint64_t max_ts);

  // The value to persist so that a reopen starts from a safe floor, or
  // nullopt when the persisted one (SetPersisted) still covers everything.
  // The value is rounded up so that steady writing persists about once per
  // second.
  std::optional<uint64_t> FloorToPersist(uint64_t max_ts_written) const;
  void SetPersisted(uint64_t floor);

 private:
  static constexpr uint64_t kUnknown = UINT64_MAX;
  static constexpr size_t kMaxRecent = 65536;
  void RaiseMaxLocked(uint64_t ts);

  mutable std::mutex mu_;
  uint64_t floor_;
  uint64_t max_ever_;  // every stored timestamp is <= max_ever_ (or < floor_)
  uint64_t persisted_;
  std::unordered_map<std::string, uint64_t> recent_;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_LATEST_BOUND_H_
