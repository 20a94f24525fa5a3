// Filesystem: nodes, names, attributes, lookup, getattr, statfs.
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

Filesystem::Filesystem(Store* store, const FsOptions& options)
    : store_(store), options_(options), mount_time_ms_(Clock::Real()->NowMs()) {
  invalidator_ = std::thread([this] { InvalidatorLoop(); });
}

Filesystem::~Filesystem() { StopNotifying(); }

void Filesystem::StopNotifying() {
  notifying_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(inval_mu_);
    inval_stop_ = true;
    inval_queue_.clear();
  }
  inval_cv_.notify_all();
  if (invalidator_.joinable()) invalidator_.join();
}

void Filesystem::SetSession(fuse_session* session) { session_ = session; }

uint64_t Filesystem::Now() const { return store_->options().clock->NowMs(); }

// ---------------------------------------------------------------- helpers

std::shared_mutex& Filesystem::DirLocks::For(const NodeKey& dir) {
  return stripes_[StableInodeNumber(dir) % stripes_.size()];
}

Filesystem::DirLocks::Pair::Pair(DirLocks* locks, const NodeKey& a,
                                 const NodeKey& b) {
  std::shared_mutex* x = &locks->For(a);
  std::shared_mutex* y = &locks->For(b);
  if (y < x) std::swap(x, y);
  first_ = std::unique_lock(*x);
  if (y != x) second_ = std::unique_lock(*y);
}

void Filesystem::Fail(fuse_req_t req, const char* op, const std::string& path,
                      const Status& s) {
  const int err = ToErrno(s);
  counters_.Error();
  if (!IsRefusal(s)) {
    spdlog::error("{} {}: {}", op, path, s.ToString());
  } else if (s.code() == Status::Code::kNotFound ||
             s.code() == Status::Code::kNoAttribute ||
             s.code() == Status::Code::kNoNamespace ||
             s.code() == Status::Code::kStale) {
    // Routine probes: lookups of missing names, and the kernel, ls and cp
    // asking for security.* and system.* attributes of every file.
    spdlog::debug("{} {}: {}", op, path, s.ToString());
  } else {
    // Refusals are what a hostile or broken client can cause at will: a
    // burst per second is logged, the rest counted.
    uint64_t suppressed = 0;
    if (refusal_log_.Allow(Clock::Real()->NowMs(), &suppressed)) {
      if (suppressed != 0) {
        spdlog::info("{} more refusals were not logged", suppressed);
      }
      spdlog::info("{} {}: refused ({}): {}", op, path, strerror(err),
                   s.ToString());
    }
  }
  fuse_reply_err(req, err);
}

Status Filesystem::GetNode(fuse_ino_t ino, NodeInfo* node) const {
  if (!inodes_.Get(ino, node)) {
    return Status::NotFound("stale node " + std::to_string(ino));
  }
  return Status::OK();
}

Status Filesystem::ChildKey(const NodeInfo& parent, std::string_view name,
                            NodeKey* key) const {
  const NodeKey& p = parent.key;
  switch (p.kind) {
    case NodeKind::kRoot:
      if (p.view == 0 && name == kSnapshotDirName) {
        *key = NodeKey::Special(NodeKind::kSnapshotDir);
        return Status::OK();
      }
      if (p.view == 0 && name == kAsofDirName) {
        *key = NodeKey::Special(NodeKind::kAsofDir);
        return Status::OK();
      }
      ROWFS_RETURN_IF_ERROR(ValidateDatasetName(name));
      *key = NodeKey::Dataset(name, p.view);
      return Status::OK();
    case NodeKind::kSnapshotDir: {
      std::lock_guard lock(views_mu_);
      for (const auto& [id, view] : views_) {
        if (view.snapshot && view.name == name) {
          *key = NodeKey::Root(id);
          return Status::OK();
        }
      }
      return Status::NotFound("no snapshot named '" + std::string(name) + "'");
    }
    case NodeKind::kAsofDir: {
      uint64_t t = 0;
      ROWFS_RETURN_IF_ERROR(ParseTimestamp(name, &t));
      *key = NodeKey::Root(AsOfView(t));
      return Status::OK();
    }
    case NodeKind::kDataset:
      ROWFS_RETURN_IF_ERROR(ValidateRowName(name));
      *key = NodeKey::Row(p.dataset, name, p.view);
      return Status::OK();
    case NodeKind::kRow: {
      EntryName e;
      ROWFS_RETURN_IF_ERROR(ParseEntryName(name, &e));
      *key = e.ts ? NodeKey::Version(p.dataset, p.row, e.column, *e.ts, p.view)
                  : NodeKey::Column(p.dataset, p.row, e.column, p.view);
      return Status::OK();
    }
    case NodeKind::kColumn:
    case NodeKind::kVersion:
      return Status::NotPermitted("a column is a file, not a directory");
  }
  return Status::InvalidArgument("bad parent");
}

Status Filesystem::OrphanOpenFile(const NodeKey& key, bool* was_created) {
  *was_created = false;
  std::optional<NodeInfo> node = inodes_.Find(key);
  if (!node || node->open_file == nullptr) return Status::OK();
  // Descriptors still open keep reading and stat-ing what the file held,
  // as on a local filesystem: take it in before it goes.
  OpenFile& f = *node->open_file;
  std::lock_guard lock(f.mu);
  *was_created = f.created;
  if (!f.created && !f.unlinked) {
    ColumnInfo info;
    const bool has_attrs =
        store_->StatColumn(key.dataset, key.row, key.column, &info).ok() &&
        info.attrs;
    f.attrs = has_attrs ? *info.attrs : FileDefaults();
    // A reader pins the version's content: it stays readable whatever
    // becomes of the version.
    NodeSource source(this, node->id);
    ROWFS_RETURN_IF_ERROR(f.EnsureLoaded(&source));
  }
  f.unlinked = true;
  return Status::OK();
}

void Filesystem::ForgetIfColumnVanished(const NodeKey& version) {
  if (version.kind != NodeKind::kVersion) return;
  ColumnInfo info;
  if (!store_->StatColumn(version.dataset, version.row, version.column, &info)
           .IsNotFound()) {
    return;
  }
  // Its last version went by its version name: the kernel may still hold a
  // positive entry for the column itself.
  const NodeKey column =
      NodeKey::Column(version.dataset, version.row, version.column);
  bool unused = false;
  Status s = OrphanOpenFile(column, &unused);
  if (!s.ok()) spdlog::info("{}: {}", column.Path(), s.ToString());
  std::vector<EntryInvalidation> stale;
  inodes_.Remove(column, &stale);
  if (auto row = inodes_.Find(column.Parent())) {
    stale.push_back({row->id, column.Name()});
  }
  QueueEntryInvalidations(std::move(stale));
}

Attrs Filesystem::DirDefaults() const {
  return Attrs{0755, options_.default_uid, options_.default_gid,
               mount_time_ms_};
}

Attrs Filesystem::FileDefaults() const {
  return Attrs{0644, options_.default_uid, options_.default_gid, 0};
}

Attrs Filesystem::CallerAttrs(fuse_req_t req, mode_t mode, const NodeInfo& dir,
                              bool directory) const {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Attrs a{static_cast<uint32_t>(mode & 07777), ctx->uid, ctx->gid, Now()};
  // A setgid directory gives what is made in it its group, and its setgid
  // bit to directories (inode_init_owner(), as on ext4).
  Attrs parent;
  if (CurrentAttrs(dir, &parent).ok() && (parent.mode & S_ISGID) != 0) {
    a.gid = parent.gid;
    if (directory) a.mode |= S_ISGID;
  }
  return a;
}

Status Filesystem::CheckVersionAccess(fuse_req_t req,
                                      const NodeKey& key) const {
  if (key.kind != NodeKind::kVersion) return Status::OK();
  const fuse_ctx* ctx = fuse_req_ctx(req);
  if (ctx->uid == 0) return Status::OK();
  ColumnInfo column;
  Status s = store_->StatColumn(key.dataset, key.row, key.column, &column);
  // A version of a column that does not exist creates it: the row's write
  // permission, which the kernel checked, is all it takes.
  if (s.IsNotFound()) return Status::OK();
  ROWFS_RETURN_IF_ERROR(s);
  RowInfo row;
  ROWFS_RETURN_IF_ERROR(store_->StatRow(key.dataset, key.row, &row));
  Caller caller{ctx->uid, ctx->gid, {}};
  // The supplementary groups, as the kernel would count them.
  std::vector<gid_t> groups(64);
  int n =
      fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  if (n > static_cast<int>(groups.size())) {
    groups.resize(static_cast<size_t>(n));
    n = fuse_req_getgroups(req, n, groups.data());
  }
  if (n > 0) {
    groups.resize(std::min(groups.size(), static_cast<size_t>(n)));
    caller.groups = std::move(groups);
  }
  return CheckVersionWrite(caller, row.attrs.value_or(DirDefaults()),
                           column.attrs.value_or(FileDefaults()), key.Path());
}

void Filesystem::FillStat(const NodeKey& key, const Attrs& attrs, uint64_t size,
                          uint64_t mtime_ms, struct stat* st,
                          uint64_t ctime_ms) const {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = StableInodeNumber(key);
  st->st_mode = (IsDir(key.kind) ? S_IFDIR : S_IFREG) | (attrs.mode & 07777);
  st->st_uid = attrs.uid;
  st->st_gid = attrs.gid;
  st->st_size = static_cast<off_t>(size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  st->st_atim = st->st_mtim = MsToTimespec(mtime_ms);
  st->st_ctim = MsToTimespec(ctime_ms != 0 ? ctime_ms : mtime_ms);
  switch (key.kind) {
    case NodeKind::kRoot:
      st->st_nlink = 2 + store_->ListDatasets().size();
      break;
    case NodeKind::kDataset:
      st->st_nlink = 1;  // "unknown": rows are too many to count
      break;
    case NodeKind::kRow:
      st->st_nlink = 2;  // a row holds no directories
      break;
    case NodeKind::kSnapshotDir:
    case NodeKind::kAsofDir:
      st->st_nlink = 2;
      break;
    default:
      st->st_nlink = 1;
  }
}

Status Filesystem::StatKey(const NodeKey& key,
                           const std::shared_ptr<OpenFile>& open,
                           struct stat* st) const {
  ReadView view;
  ROWFS_RETURN_IF_ERROR(ViewOf(key, &view));
  switch (key.kind) {
    case NodeKind::kRoot:
    case NodeKind::kSnapshotDir:
    case NodeKind::kAsofDir: {
      Attrs a;
      Status s = store_->GetRootAttrs(&a);
      if (s.IsNotFound()) {
        a = DirDefaults();
      } else {
        ROWFS_RETURN_IF_ERROR(s);
      }
      FillStat(key, a, 4096, key.view == 0 ? a.mtime_ms : ViewTime(view), st);
      return Status::OK();
    }
    case NodeKind::kDataset: {
      DatasetInfo info;
      ROWFS_RETURN_IF_ERROR(store_->GetDataset(key.dataset, &info));
      FillStat(key, info.attrs, 4096, info.attrs.mtime_ms, st);
      return Status::OK();
    }
    case NodeKind::kRow: {
      RowInfo info;
      ROWFS_RETURN_IF_ERROR(store_->StatRow(key.dataset, key.row, &info, view));
      const Attrs a = info.attrs.value_or(DirDefaults());
      FillStat(key, a, 4096, a.mtime_ms, st);
      return Status::OK();
    }
    case NodeKind::kColumn:
    case NodeKind::kVersion:
      break;
  }
  if (open != nullptr) {
    std::lock_guard lock(open->mu);
    if (open->unlinked) {
      FillStat(key, open->attrs, open->size(), open->modified_ms, st);
      st->st_nlink = 0;
      return Status::OK();
    }
    if (open->NeedsStoreOnRelease()) {
      Attrs a = open->attrs;
      if (!open->created) {
        ColumnInfo info;
        Status s = store_->StatColumn(key.dataset, key.row, key.column, &info);
        a = (s.ok() && info.attrs) ? *info.attrs : FileDefaults();
      }
      const uint64_t size = open->size();
      FillStat(key, a, size, open->mtime_override.value_or(open->modified_ms),
               st);
      return Status::OK();
    }
  }
  ColumnInfo info;
  Status s =
      key.kind == NodeKind::kColumn
          ? store_->StatColumn(key.dataset, key.row, key.column, &info, 1, view)
          : store_->StatVersion(key.dataset, key.row, key.column, key.ts, &info,
                                view);
  if (s.ok() && key.kind == NodeKind::kColumn && IsImplicit(info)) {
    s = Status::NotFound(key.Path() +
                         " has only version files, never written itself");
  }
  if (s.IsNotFound() && open != nullptr) {
    // Gone from under an open descriptor: like an unlinked file, it keeps
    // what it holds.
    std::lock_guard lock(open->mu);
    if (open->loaded()) {
      FillStat(key, open->attrs.mode != 0 ? open->attrs : FileDefaults(),
               open->size(), open->modified_ms, st);
      st->st_nlink = 0;
      return Status::OK();
    }
  }
  ROWFS_RETURN_IF_ERROR(s);
  FillStat(key, info.attrs.value_or(FileDefaults()), info.versions[0].size,
           info.versions[0].mtime_ms, st, info.versions[0].ctime_ms);
  return Status::OK();
}

NodeInfo Filesystem::MakeEntry(const NodeKey& key, const struct stat& st,
                               fuse_entry_param* e) {
  NodeInfo node = inodes_.Lookup(key);
  std::memset(e, 0, sizeof(*e));
  e->ino = node.id;
  e->generation = 0;  // node ids are never reused
  e->attr = st;
  e->attr.st_ino = node.st_ino;
  const CacheTimeouts timeouts = CacheTimeoutsOf(key);
  e->attr_timeout = timeouts.attr;
  e->entry_timeout = timeouts.entry;
  return node;
}

Status Filesystem::CurrentAttrs(const NodeInfo& node, Attrs* attrs) const {
  struct stat st;
  ROWFS_RETURN_IF_ERROR(StatKey(node.key, node.open_file, &st));
  uint64_t mtime = 0;
  ROWFS_RETURN_IF_ERROR(TimespecToMs(st.st_mtim, &mtime));
  *attrs = Attrs{st.st_mode & 07777u, st.st_uid, st.st_gid, mtime};
  return Status::OK();
}

Status Filesystem::SetAttrs(const NodeInfo& node, const Attrs& attrs) {
  const NodeKey& k = node.key;
  switch (k.kind) {
    case NodeKind::kRoot:
      return store_->SetRootAttrs(attrs);
    case NodeKind::kSnapshotDir:
    case NodeKind::kAsofDir:
      return Status::NotPermitted("view directories have fixed attributes");
    case NodeKind::kDataset:
      return store_->SetDatasetAttrs(k.dataset, attrs);
    case NodeKind::kRow:
      return store_->SetRowAttrs(k.dataset, k.row, attrs);
    case NodeKind::kColumn:
    case NodeKind::kVersion:
      break;
  }
  if (node.open_file != nullptr) {
    std::lock_guard lock(node.open_file->mu);
    if (node.open_file->created) {
      node.open_file->attrs = attrs;
      return Status::OK();
    }
  }
  // Versions share their column's owner and mode.
  return store_->SetColumnAttrs(k.dataset, k.row, k.column,
                                Attrs{attrs.mode, attrs.uid, attrs.gid, 0});
}

// ---------------------------------------------------------------- handlers

void Filesystem::Init(fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) {
    conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  }
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  // No writeback cache: every write reaches the daemon before close returns.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Large files stream through in 1 MiB requests instead of 128 KiB ones
  // (the kernel caps it at its own maximum): an eighth of the round trips.
  conn->max_write = 1 << 20;
  conn->max_readahead = std::max<unsigned>(conn->max_readahead, 1 << 20);
}

void Filesystem::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  NodeInfo dir;
  NodeKey key;
  Status s = GetNode(parent, &dir);
  std::shared_lock names(dir_locks_.For(dir.key));
  if (s.ok()) s = ChildKey(dir, name, &key);
  if (!s.ok()) {
    if (s.code() == Status::Code::kInvalidArgument) {
      // A name that cannot exist simply is not there.
      s = Status::NotFound(s.message());
    }
    return Fail(req, "lookup", ChildPath(dir.key, name), s);
  }
  // A file created but not yet stored exists only in the inode table.
  std::shared_ptr<OpenFile> open;
  if (key.IsFile()) {
    if (auto existing = inodes_.Find(key)) open = existing->open_file;
  }
  struct stat st;
  s = StatKey(key, open, &st);
  if (!s.ok()) return Fail(req, "lookup", key.Path(), s);
  fuse_entry_param e;
  MakeEntry(key, st, &e);
  fuse_reply_entry(req, &e);
}

void Filesystem::Forget(fuse_ino_t ino, uint64_t nlookup) {
  inodes_.Forget(ino, nlookup);
}

void Filesystem::GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  NodeInfo node;
  Status s = GetNode(ino, &node);
  // fstat: the descriptor's own file, whatever happened to its name.
  if (fi != nullptr && node.key.IsFile() && fi->fh != 0) {
    node.open_file = reinterpret_cast<FileHandle*>(fi->fh)->file;
  }
  struct stat st;
  if (s.ok()) s = StatKey(node.key, node.open_file, &st);
  if (s.IsNotFound() && node.id != kRootNodeId) {
    // The kernel only asks for attributes through a name it still holds
    // (an open file's are served from the file): the entry went without the
    // kernel being told yet (its last version removed by version name, a
    // policy expiring it). ESTALE makes the VFS walk the path again with
    // revalidation, which then finds the name gone, so e.g. open(O_CREAT)
    // creates it instead of failing.
    s = Status::Stale(node.key.Path() + " vanished");
  }
  if (!s.ok()) return Fail(req, "getattr", node.key.Path(), s);
  st.st_ino = node.st_ino;
  fuse_reply_attr(req, &st, CacheTimeoutsOf(node.key).attr);
}

void Filesystem::StatFs(fuse_req_t req, fuse_ino_t ino) {
  NodeInfo node;
  GetNode(ino, &node);  // an unknown node: the root's answer
  struct statvfs sv;
  if (statvfs(store_->path().c_str(), &sv) != 0) {
    return Fail(req, "statfs", store_->path(),
                Status::IOError(std::string("statvfs: ") + strerror(errno)));
  }
  // Inside a row a name is a column, which must leave room for "@<ts>":
  // pathconf(_PC_NAME_MAX) there says so (pjdfstest, archivers ask).
  const bool in_row = node.key.kind == NodeKind::kRow || node.key.IsFile();
  sv.f_namemax = in_row ? kMaxColumnNameBytes : kMaxNameBytes;
  sv.f_flag = 0;
  fuse_reply_statfs(req, &sv);
}

void Filesystem::NotPermitted(fuse_req_t req, const char* op, fuse_ino_t parent,
                              const char* name) {
  NodeInfo dir;
  inodes_.Get(parent, &dir);
  Fail(req, op, ChildPath(dir.key, name),
       Status::NotPermitted("rowfs holds only datasets, rows and columns"));
}

void Filesystem::FsyncDir(fuse_req_t req, fuse_ino_t ino) {
  // Directory changes are WAL records like everything else.
  Status s = store_->SyncWal();
  if (!s.ok()) return Fail(req, "fsyncdir", std::to_string(ino), s);
  fuse_reply_err(req, 0);
}

}  // namespace rowfs
