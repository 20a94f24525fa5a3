// Filesystem: kernel cache timeouts and invalidation.
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "access.h"
#include "errno_map.h"
#include "fs_counters.h"
#include "fs_internal.h"
#include "rowfs/backup.h"
#include "rowfs/clock.h"

namespace rowfs {

using namespace fs;  // NOLINT: the fs_*.cc files' shared helpers

// ---------------------------------------------------------------- caching

void Filesystem::InvalidateInode(NodeId id, bool data) {
  changes_.fetch_add(1, std::memory_order_acq_rel);
  // Request handlers call this while the session runs; after it, only the
  // thread that stopped notifying does, so the flag needs no lock.
  if (session_ == nullptr || !notifying_.load(std::memory_order_acquire)) {
    return;
  }
  // Without writeback caching this never blocks, so it is safe inside a
  // request handler (see fuse_lowlevel.h).
  fuse_lowlevel_notify_inval_inode(session_, id, data ? 0 : -1, 0);
}

Filesystem::CacheTimeouts Filesystem::CacheTimeoutsOf(
    const NodeKey& key) const {
  // The daemon invalidates every entry it changes, so the kernel may keep
  // them long; what changes without the daemon saying so gets at most a
  // second: the mount's root (a dead daemon must show as ENOTCONN soon),
  // a follower's tree, and datasets with a TTL or max_versions, whose
  // expiries and surplus versions happen without a request.
  constexpr double kUnannounced = 1.0;
  bool unannounced =
      options_.follower || (key.kind == NodeKind::kRoot && key.view == 0);
  if (!unannounced && !key.dataset.empty()) {
    DatasetInfo info;
    unannounced = !store_->GetDataset(key.dataset, &info).ok() ||
                  info.policy.ttl_seconds != 0 || info.policy.max_versions != 0;
  }
  if (!unannounced) return {options_.entry_timeout, options_.attr_timeout};
  return {std::min(options_.entry_timeout, kUnannounced),
          std::min(options_.attr_timeout, kUnannounced)};
}

void Filesystem::InvalidateDataset(const std::string& dataset) {
  changes_.fetch_add(1, std::memory_order_acq_rel);
  // Views too: a policy hides versions in @asof and @snapshot trees alike.
  std::vector<uint32_t> views{0};
  {
    std::lock_guard lock(views_mu_);
    for (const auto& [id, view] : views_) views.push_back(id);
  }
  std::vector<EntryInvalidation> stale;
  for (uint32_t view : views) {
    for (const NodeInfo& n : inodes_.DatasetNodes(dataset, view)) {
      InvalidateInode(n.id, /*data=*/false);
      if (n.key.kind == NodeKind::kDataset) continue;
      if (auto parent = inodes_.Find(n.key.Parent())) {
        stale.push_back({parent->id, n.key.Name()});
      }
    }
  }
  QueueEntryInvalidations(std::move(stale));
}

void Filesystem::InvalidateColumn(std::string_view ds, std::string_view row,
                                  std::string_view col, NodeId keep_data_of) {
  changes_.fetch_add(1, std::memory_order_acq_rel);
  for (NodeId id : inodes_.ColumnNodes(ds, row, col)) {
    InvalidateInode(id, id != keep_data_of);
  }
}

void Filesystem::InvalidateWritten(const NodeKey& key, uint64_t ts,
                                   NodeId keep_data_of) {
  changes_.fetch_add(1, std::memory_order_acq_rel);
  // A new version changes what "col" shows and what "col@ts" holds; every
  // other version is immutable and keeps its cached attributes and pages.
  for (const NodeKey& k :
       {NodeKey::Column(key.dataset, key.row, key.column),
        NodeKey::Version(key.dataset, key.row, key.column, ts)}) {
    if (auto node = inodes_.Find(k)) {
      InvalidateInode(node->id, node->id != keep_data_of);
    }
  }
}

void Filesystem::QueueEntryInvalidations(
    std::vector<EntryInvalidation> entries) {
  changes_.fetch_add(1, std::memory_order_acq_rel);
  if (entries.empty() || session_ == nullptr) return;
  {
    std::lock_guard lock(inval_mu_);
    if (inval_stop_) return;
    for (auto& e : entries) inval_queue_.push_back(std::move(e));
  }
  inval_cv_.notify_one();
}

void Filesystem::InvalidatorLoop() {
  std::unique_lock lock(inval_mu_);
  while (true) {
    inval_cv_.wait(lock,
                   [this] { return inval_stop_ || !inval_queue_.empty(); });
    if (inval_stop_) return;
    EntryInvalidation e = std::move(inval_queue_.front());
    inval_queue_.pop_front();
    lock.unlock();
    fuse_lowlevel_notify_inval_entry(session_, e.parent, e.name.data(),
                                     e.name.size());
    lock.lock();
  }
}

}  // namespace rowfs
