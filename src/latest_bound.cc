#include "latest_bound.h"

#include <algorithm>

namespace rowfs {

LatestBound::LatestBound(uint64_t floor)
    : floor_(floor), max_ever_(floor == 0 ? 0 : floor - 1), persisted_(floor) {}

std::optional<uint64_t> LatestBound::Next(std::string_view column_key,
                                          uint64_t now_ms) const {
  std::lock_guard lock(mu_);
  auto it = recent_.find(std::string(column_key));
  if (it == recent_.end()) {
    // Every version of the column is below floor_.
    if (floor_ <= now_ms) return now_ms;
    return std::nullopt;
  }
  if (it->second == kUnknown) return std::nullopt;
  return std::max(now_ms, it->second + 1);
}

bool LatestBound::KnownPut(std::string_view column_key) const {
  std::lock_guard lock(mu_);
  auto it = recent_.find(std::string(column_key));
  return it != recent_.end() && it->second != kUnknown;
}

void LatestBound::RaiseMaxLocked(uint64_t ts) {
  max_ever_ = std::max(max_ever_, ts);
  if (recent_.size() >= kMaxRecent) {
    // Fold everything into the floor: all stored timestamps are <= max_ever_.
    floor_ = std::max(floor_, max_ever_ + 1);
    recent_.clear();
  }
}

void LatestBound::RecordPut(std::string_view column_key, uint64_t ts) {
  std::lock_guard lock(mu_);
  RaiseMaxLocked(ts);
  auto [it, inserted] = recent_.try_emplace(std::string(column_key), ts);
  if (inserted) {
    // Its other versions are below floor_; if ts is not above them all the
    // newest is unknown.
    if (ts < floor_) recent_.erase(it);
    return;
  }
  if (it->second != kUnknown) it->second = std::max(it->second, ts);
}

void LatestBound::RecordOther(std::string_view column_key, uint64_t max_ts) {
  std::lock_guard lock(mu_);
  RaiseMaxLocked(max_ts);
  recent_[std::string(column_key)] = kUnknown;
}

std::optional<uint64_t> LatestBound::FloorToPersist(
    uint64_t max_ts_written) const {
  std::lock_guard lock(mu_);
  const uint64_t needed = std::max(max_ever_, max_ts_written) + 1;
  if (needed <= persisted_) return std::nullopt;
  return (needed / 1000 + 1) * 1000;
}

void LatestBound::SetPersisted(uint64_t floor) {
  std::lock_guard lock(mu_);
  persisted_ = std::max(persisted_, floor);
}

}  // namespace rowfs
