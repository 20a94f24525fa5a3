// Filesystem: the @snapshot and @asof views.
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

uint32_t Filesystem::AsOfView(uint64_t t) const {
  std::lock_guard lock(views_mu_);
  for (const auto& [id, view] : views_) {
    if (!view.snapshot && view.read.as_of == t) return id;
  }
  // Each "as of" time looked up makes a view; those the kernel holds no
  // node of any more are dropped, so that looking up many times does not
  // grow the daemon. A view made a moment ago may be about to get its
  // first node (the caller has its id but not yet its entry): kept.
  constexpr uint64_t kViewGraceMs = 1000;
  const uint64_t now = Clock::Real()->NowMs();
  std::erase_if(views_, [&](const auto& kv) {
    const View& v = kv.second;
    return !v.snapshot && now - v.made_ms > kViewGraceMs &&
           inodes_.NodesInView(kv.first) == 0;
  });
  const uint32_t id = NewViewIdLocked();
  views_[id] = View{false, std::to_string(t), ReadView{nullptr, t}, now};
  return id;
}

uint32_t Filesystem::NewViewIdLocked() const {
  // 0 is the live tree; a wrapped counter skips it and every id in use.
  while (next_view_ == 0 || views_.count(next_view_) != 0 ||
         inodes_.NodesInView(next_view_) != 0) {
    ++next_view_;
  }
  return next_view_++;
}

Status Filesystem::ViewOf(const NodeKey& key, ReadView* view) const {
  if (key.view == 0) {
    *view = ReadView{};
    return Status::OK();
  }
  std::lock_guard lock(views_mu_);
  auto it = views_.find(key.view);
  if (it == views_.end()) return Status::NotFound("the snapshot was removed");
  *view = it->second.read;
  return Status::OK();
}

Status Filesystem::CheckWritable(const NodeKey& key) const {
  if (key.view != 0) return Status::ReadOnly("views are read-only");
  if (key.kind == NodeKind::kAsofDir) {
    return Status::ReadOnly("as-of views are made by looking them up");
  }
  if (store_->read_only()) return Status::ReadOnly("read-only mount");
  return Status::OK();
}

Status Filesystem::CheckSnapshotOwner(fuse_req_t req) const {
  // A snapshot keeps RocksDB from reclaiming what is overwritten while it
  // lives: the mount's owner decides, as for the control attributes.
  const uid_t uid = fuse_req_ctx(req)->uid;
  if (uid != 0 && uid != geteuid()) {
    return Status::NotPermitted(
        "snapshots are made and released by root and the mount's owner");
  }
  return Status::OK();
}

Status Filesystem::CreateSnapshot(std::string_view name, NodeKey* root) {
  ROWFS_RETURN_IF_ERROR(ValidateRowName(name));  // any single path component
  if (options_.follower) {
    // Refused here rather than by every read inside the view.
    return Status::NotSupported(
        "a follower cannot pin snapshots (RocksDB secondaries read none); "
        "@asof/T works");
  }
  std::lock_guard lock(views_mu_);
  size_t snapshots = 0;
  for (const auto& [id, view] : views_) {
    if (view.snapshot && view.name == name) {
      return Status::AlreadyExists("snapshot '" + std::string(name) +
                                   "' exists");
    }
    snapshots += view.snapshot ? 1 : 0;
  }
  if (snapshots >= options_.max_snapshots) {
    return Status::NoSpace("already " + std::to_string(snapshots) +
                           " snapshots (max_snapshots); release one");
  }
  const uint32_t id = NewViewIdLocked();
  views_[id] = View{true, std::string(name), ReadView{store_->NewSnapshot()},
                    Clock::Real()->NowMs()};
  *root = NodeKey::Root(id);
  spdlog::info("snapshot {} taken", name);
  return Status::OK();
}

Status Filesystem::DropSnapshot(std::string_view name) {
  std::lock_guard lock(views_mu_);
  for (auto it = views_.begin(); it != views_.end(); ++it) {
    if (it->second.snapshot && it->second.name == name) {
      views_.erase(it);  // the RocksDB snapshot goes with its last reader
      spdlog::info("snapshot {} released", name);
      return Status::OK();
    }
  }
  return Status::NotFound("no snapshot named '" + std::string(name) + "'");
}

}  // namespace rowfs
