// Filesystem: extended attributes (policies, statistics, controls).
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

// ---------------------------------------------------------------- xattrs

// Extended attributes. Dataset directories list their two policies; the
// statistics and control attributes are hidden (getxattr/setxattr by name
// only) so that backup tools copying xattrs never see values that change
// under them.
namespace {
constexpr std::string_view kStatsXattr = "user.rowfs.stats";
constexpr std::string_view kFlushXattr = "user.rowfs.ctl.flush";
constexpr std::string_view kCompactXattr = "user.rowfs.ctl.compact";
constexpr std::string_view kGcXattr = "user.rowfs.ctl.gc";
// On a dataset: a check of its content (hidden, read by name; it reads
// every record and chunk key).
constexpr std::string_view kContentXattr = "user.rowfs.content";
constexpr std::string_view kLogLevelXattr = "user.rowfs.ctl.log_level";
constexpr std::string_view kBackupXattr = "user.rowfs.ctl.backup";
constexpr std::string_view kCheckpointXattr = "user.rowfs.ctl.checkpoint";
constexpr std::string_view kCatchUpXattr = "user.rowfs.ctl.catchup";
constexpr std::string_view kControlPrefix = "user.rowfs.ctl.";
constexpr std::string_view kUserNamespace = "user.";

// rowfs keeps user.* attributes only. Names in other namespaces
// (security.selinux, system.posix_acl_access, security.capability) get
// ENOTSUP rather than ENODATA: ls and cp remember "unsupported" per device
// and stop asking, where ENODATA makes ls -l ask twice more for every entry.
Status ForeignNamespace(std::string_view name) {
  return Status::NoNamespace(std::string(name) +
                             ": rowfs keeps user.* attributes only");
}

// The answer for an attribute rowfs does not have.
Status MissingXattr(std::string_view name) {
  return name.starts_with(kUserNamespace)
             ? Status::NoAttribute(std::string(name) + " is not set")
             : ForeignNamespace(name);
}

// The dataset policies, as attributes of the dataset directory: name,
// field, and the value removing the attribute sets.
struct PolicyXattr {
  std::string_view name;
  uint64_t Policy::*field;
  uint64_t removed;
};
constexpr PolicyXattr kPolicyXattrs[] = {
    {kMaxVersionsXattr, &Policy::max_versions, 0},
    {kTtlXattr, &Policy::ttl_seconds, 0},
    {kKeepDeletedXattr, &Policy::keep_deleted_seconds,
     kDefaultKeepDeletedSeconds},
};

const PolicyXattr* FindPolicyXattr(std::string_view name) {
  for (const PolicyXattr& p : kPolicyXattrs) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

bool IsPolicyXattr(std::string_view name) {
  return FindPolicyXattr(name) != nullptr;
}

// On a row: purges the kept history of the deleted column named by the
// value (setfattr -n user.rowfs.purge -v COLUMN ROW).
constexpr std::string_view kPurgeXattr = "user.rowfs.purge";
}  // namespace

Status Filesystem::ReadXattr(const NodeKey& key, std::string_view name,
                             std::string* value) const {
  if (const PolicyXattr* p = FindPolicyXattr(name);
      p != nullptr && key.kind == NodeKind::kDataset) {
    DatasetInfo info;
    ROWFS_RETURN_IF_ERROR(store_->GetDataset(key.dataset, &info));
    *value = std::to_string(info.policy.*(p->field));
    return Status::OK();
  }
  if (name == kStatsXattr && key.kind == NodeKind::kRoot) {
    *value = FormatStats(*store_, "", &counters_);
    size_t views = 0;
    {
      std::lock_guard lock(views_mu_);
      views = views_.size();
    }
    value->append("nodes=" + std::to_string(inodes_.size()) + "\n");
    value->append("views=" + std::to_string(views) + "\n");
    return Status::OK();
  }
  if (name == kContentXattr && key.kind == NodeKind::kDataset) {
    ContentReport r;
    ROWFS_RETURN_IF_ERROR(store_->CheckContent(key.dataset, &r));
    *value = "records=" + std::to_string(r.records) +
             "\nchunks=" + std::to_string(r.chunks) +
             "\nchunk_bytes=" + std::to_string(r.chunk_bytes) +
             "\ndangling=" + std::to_string(r.dangling) +
             "\nunreferenced=" + std::to_string(r.unreferenced) + "\n";
    return Status::OK();
  }
  if (name == kStatsXattr && key.kind == NodeKind::kDataset) {
    *value = FormatStats(*store_, key.dataset, nullptr);
    return Status::OK();
  }
  if (name == kCatchUpXattr && key.kind == NodeKind::kRoot) {
    // A read, so that it works on a follower's read-only mount.
    ROWFS_RETURN_IF_ERROR(store_->CatchUp());
    *value = "ok";
    return Status::OK();
  }
  if (name == kLogLevelXattr && key.kind == NodeKind::kRoot) {
    const auto level = spdlog::level::to_string_view(spdlog::get_level());
    value->assign(level.data(), level.size());
    return Status::OK();
  }
  return MissingXattr(name);
}

Status Filesystem::WriteXattr(const NodeKey& key, std::string_view name,
                              std::string_view value) {
  std::string_view text = value;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) {
    text.remove_suffix(1);
  }
  if (const PolicyXattr* p = FindPolicyXattr(name);
      p != nullptr && key.kind == NodeKind::kDataset) {
    uint64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseUnsigned(text, &v));
    DatasetInfo info;
    ROWFS_RETURN_IF_ERROR(store_->GetDataset(key.dataset, &info));
    info.policy.*(p->field) = v;
    ROWFS_RETURN_IF_ERROR(store_->SetDatasetPolicy(key.dataset, info.policy));
    InvalidateDataset(key.dataset);  // cached under the old policy's timeouts
    spdlog::info("dataset {}: {} = {}", key.dataset, name, v);
    return Status::OK();
  }
  if (key.kind == NodeKind::kRow && name == kPurgeXattr) {
    const std::string column(text);
    ROWFS_RETURN_IF_ERROR(ValidateColumnName(column));
    ROWFS_RETURN_IF_ERROR(store_->PurgeColumn(key.dataset, key.row, column));
    spdlog::info("{}: history of deleted column purged",
                 ChildPath(key, column));
    return Status::OK();
  }
  if (key.kind == NodeKind::kRoot && name == kFlushXattr) {
    ROWFS_RETURN_IF_ERROR(store_->Flush());
    ROWFS_RETURN_IF_ERROR(store_->SyncWal());
    spdlog::info("flushed memtables and synced the WAL on request");
    return Status::OK();
  }
  if (key.kind == NodeKind::kRoot && name == kGcXattr) {
    std::vector<std::string> targets;
    if (text.empty() || text == "*") {
      for (const DatasetInfo& d : store_->ListDatasets()) {
        targets.push_back(d.name);
      }
    } else {
      targets.emplace_back(text);
    }
    for (const std::string& ds : targets) {
      ROWFS_RETURN_IF_ERROR(store_->CollectGarbage(ds));
    }
    return Status::OK();
  }
  if (key.kind == NodeKind::kRoot && name == kCompactXattr) {
    std::vector<std::string> targets;
    if (text.empty() || text == "*") {
      for (const DatasetInfo& d : store_->ListDatasets())
        targets.push_back(d.name);
    } else {
      targets.emplace_back(text);
    }
    for (const std::string& ds : targets) {
      spdlog::info("compacting dataset {} on request", ds);
      ROWFS_RETURN_IF_ERROR(store_->CompactDataset(ds));
    }
    return Status::OK();
  }
  if (key.kind == NodeKind::kRoot && name == kLogLevelXattr) {
    const spdlog::level::level_enum level =
        spdlog::level::from_str(std::string(text));
    if (level == spdlog::level::off && text != "off") {
      return Status::InvalidArgument("unknown log level '" + std::string(text) +
                                     "'");
    }
    spdlog::set_level(level);
    spdlog::info("log level set to {}", text);
    return Status::OK();
  }
  if (key.kind == NodeKind::kRoot && name == kCatchUpXattr) {
    return store_->CatchUp();
  }
  if (key.kind == NodeKind::kRoot && name == kBackupXattr) {
    const std::string dir(text);
    if (dir.empty() || dir[0] != '/') {
      return Status::InvalidArgument("the backup directory must be absolute");
    }
    spdlog::info("backup to {} started", dir);
    uint32_t id = 0;
    ROWFS_RETURN_IF_ERROR(CreateBackup(
        store_, dir,
        [&](uint64_t bytes) {
          spdlog::info("backup to {}: {} MiB", dir, bytes >> 20);
        },
        &id));
    spdlog::info("backup {} in {} done", id, dir);
    return Status::OK();
  }
  if (key.kind == NodeKind::kRoot && name == kCheckpointXattr) {
    const std::string dir(text);
    if (dir.empty() || dir[0] != '/') {
      return Status::InvalidArgument(
          "the checkpoint directory must be absolute");
    }
    ROWFS_RETURN_IF_ERROR(CreateCheckpoint(store_, dir));
    spdlog::info("checkpoint in {} done", dir);
    return Status::OK();
  }
  if (name == kStatsXattr)
    return Status::NotPermitted("statistics are read-only");
  if (!name.starts_with(kUserNamespace)) return ForeignNamespace(name);
  return Status::NotSupported(
      "rowfs stores no extended attributes but its own (see README)");
}

Status Filesystem::CheckPolicyOwner(fuse_req_t req, const NodeKey& key) const {
  // A TTL of one second removes everyone's files: a policy is the dataset
  // owner's decision, as a chmod would be.
  if (key.kind != NodeKind::kDataset) return Status::OK();
  const uid_t uid = fuse_req_ctx(req)->uid;
  if (uid == 0) return Status::OK();
  DatasetInfo info;
  ROWFS_RETURN_IF_ERROR(store_->GetDataset(key.dataset, &info));
  if (info.attrs.uid != uid) {
    return Status::NotPermitted("only the dataset's owner sets its policies");
  }
  return Status::OK();
}

void Filesystem::SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name,
                          const char* value, size_t size, int) {
  NodeInfo node;
  Status s = GetNode(ino, &node);
  // Control attributes make the daemon act with its own rights (backups
  // write where they are told): only root and the daemon's user may. They
  // work on read-only mounts too (catch-up, log level).
  const bool control = std::string_view(name).rfind(kControlPrefix, 0) == 0;
  const uid_t uid = fuse_req_ctx(req)->uid;
  if (s.ok() && control && uid != 0 && uid != geteuid()) {
    s = Status::NotPermitted(
        "control attributes are for root and the daemon's user");
  }
  if (s.ok() && !control) s = CheckWritable(node.key);
  if (s.ok() && IsPolicyXattr(name)) s = CheckPolicyOwner(req, node.key);
  if (s.ok()) s = WriteXattr(node.key, name, std::string_view(value, size));
  if (!s.ok()) return Fail(req, "setxattr", node.key.Path() + " " + name, s);
  fuse_reply_err(req, 0);
}

void Filesystem::GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name,
                          size_t size) {
  NodeInfo node;
  std::string value;
  Status s = GetNode(ino, &node);
  if (s.ok()) s = ReadXattr(node.key, name, &value);
  if (s.ok() && size != 0 && size < value.size()) {
    s = Status::Range("buffer too small");
  }
  if (!s.ok()) return Fail(req, "getxattr", node.key.Path() + " " + name, s);
  if (size == 0) return (void)fuse_reply_xattr(req, value.size());
  fuse_reply_buf(req, value.data(), value.size());
}

void Filesystem::ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  NodeInfo node;
  Status s = GetNode(ino, &node);
  std::string names;
  if (s.ok() && node.key.kind == NodeKind::kDataset) {
    for (const PolicyXattr& p : kPolicyXattrs) {
      names.append(p.name).push_back('\0');
    }
  }
  if (s.ok() && size != 0 && size < names.size()) {
    s = Status::Range("buffer too small");
  }
  if (!s.ok()) return Fail(req, "listxattr", node.key.Path(), s);
  if (size == 0) return (void)fuse_reply_xattr(req, names.size());
  fuse_reply_buf(req, names.data(), names.size());
}

void Filesystem::RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  NodeInfo node;
  Status s = GetNode(ino, &node);
  if (s.ok() && IsPolicyXattr(name)) s = CheckWritable(node.key);
  if (s.ok() && IsPolicyXattr(name)) s = CheckPolicyOwner(req, node.key);
  if (s.ok()) {
    // Removing a policy restores its default.
    const PolicyXattr* p = FindPolicyXattr(name);
    s = node.key.kind == NodeKind::kDataset && p != nullptr
            ? WriteXattr(node.key, name, std::to_string(p->removed))
            : MissingXattr(name);
  }
  if (!s.ok()) return Fail(req, "removexattr", node.key.Path() + " " + name, s);
  fuse_reply_err(req, 0);
}

}  // namespace rowfs
