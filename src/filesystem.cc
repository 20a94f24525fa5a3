#include "filesystem.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "access.h"
#include "errno_map.h"
#include "fs_counters.h"
#include "rowfs/backup.h"
#include "rowfs/clock.h"
#include "rowfs/key_codec.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

constexpr std::string_view kMaxVersionsXattr = "user.rowfs.max_versions";
constexpr std::string_view kTtlXattr = "user.rowfs.ttl";

timespec MsToTimespec(uint64_t ms) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return ts;
}

// A time in ms; InvalidArgument beyond kMaxTimestamp (seconds that would
// wrap in the conversion). Times before the epoch are the epoch.
Status TimespecToMs(const timespec& ts, uint64_t* ms) {
  if (ts.tv_sec < 0) {
    *ms = 0;
    return Status::OK();
  }
  const auto sec = static_cast<uint64_t>(ts.tv_sec);
  if (sec > kMaxTimestamp / 1000) {
    return Status::InvalidArgument("time out of range");
  }
  *ms = sec * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
  return Status::OK();
}

bool IsDir(NodeKind k) {
  return k != NodeKind::kColumn && k != NodeKind::kVersion;
}

CellRef RefOf(const NodeKey& k) {
  CellRef r{k.dataset, k.row, k.column, std::nullopt};
  if (k.kind == NodeKind::kVersion) r.ts = k.ts;
  return r;
}

// A column made only through "col@ts" files: see kAttrImplicitColumn.
bool IsImplicit(const ColumnInfo& info) {
  return info.attrs && (info.attrs->flags & kAttrImplicitColumn) != 0;
}

bool IsWholeSecond(uint64_t ms) { return ms % 1000 == 0; }

// "/dir/name" for messages about a name inside `dir` ("/name" at the root).
std::string ChildPath(const NodeKey& dir, std::string_view name) {
  std::string path = dir.Path();
  if (path.back() != '/') path.push_back('/');
  return path.append(name);
}

// A view root's mtime: when its snapshot was taken, or its "as of" time.
uint64_t ViewTime(const ReadView& view) {
  return view.snapshot != nullptr ? view.snapshot->time_ms() : view.as_of;
}
bool SameSecond(uint64_t a, uint64_t b) { return a / 1000 == b / 1000; }

Status ParseUnsigned(std::string_view text, uint64_t* v) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return Status::InvalidArgument("value '" + std::string(text) +
                                   "' is not a non-negative integer");
  }
  return Status::OK();
}

}  // namespace

struct Filesystem::FileHandle {
  NodeId node;
  std::shared_ptr<OpenFile> file;
  bool writable;
};

struct Filesystem::DirEntry {
  std::string name;
  NodeKey key;
  struct stat st;
};

struct Filesystem::DirHandle {
  std::mutex mu;
  NodeInfo dir;
  // Root and row directories: a snapshot taken at opendir.
  std::vector<DirEntry> entries;
  // Dataset directories stream rows from a cursor; `next_off` is the offset
  // of the entry the cursor yields next, `pending` one that did not fit.
  bool streaming = false;
  std::unique_ptr<RowCursor> cursor;
  off_t next_off = 0;
  std::optional<DirEntry> pending;
};

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
    ROWFS_RETURN_IF_ERROR(f.EnsureLoaded(LoaderFor(node->id)));
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
                          uint64_t mtime_ms, struct stat* st) const {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = StableInodeNumber(key);
  st->st_mode = (IsDir(key.kind) ? S_IFDIR : S_IFREG) | (attrs.mode & 07777);
  st->st_uid = attrs.uid;
  st->st_gid = attrs.gid;
  st->st_size = static_cast<off_t>(size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  st->st_atim = st->st_mtim = st->st_ctim = MsToTimespec(mtime_ms);
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
      FillStat(key, open->attrs, open->data.size(), open->modified_ms, st);
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
      const uint64_t size = open->loaded ? open->data.size() : 0;
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
    if (open->loaded) {
      FillStat(key, open->attrs.mode != 0 ? open->attrs : FileDefaults(),
               open->data.size(), open->modified_ms, st);
      st->st_nlink = 0;
      return Status::OK();
    }
  }
  ROWFS_RETURN_IF_ERROR(s);
  FillStat(key, info.attrs.value_or(FileDefaults()), info.versions[0].size,
           info.versions[0].ts, st);
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

OpenFile::Loader Filesystem::LoaderFor(NodeId id) const {
  return [this, id](std::string* data, uint64_t* ts) -> Status {
    NodeInfo node;
    ROWFS_RETURN_IF_ERROR(GetNode(id, &node));
    const NodeKey& k = node.key;
    ReadView view;
    ROWFS_RETURN_IF_ERROR(ViewOf(k, &view));
    if (k.kind == NodeKind::kVersion) {
      *ts = k.ts;
      return store_->GetVersion(k.dataset, k.row, k.column, k.ts, data, view);
    }
    Version v;
    ROWFS_RETURN_IF_ERROR(
        store_->GetLatest(k.dataset, k.row, k.column, &v, view));
    *data = std::move(v.value);
    *ts = v.ts;
    return Status::OK();
  };
}

Status Filesystem::Persist(NodeId id, OpenFile* f, bool sync) {
  if (!f->NeedsStoreOnRelease()) return Status::OK();
  NodeInfo node;
  ROWFS_RETURN_IF_ERROR(GetNode(id, &node));
  if (node.detached || f->unlinked) {
    // Writes to an unlinked or replaced file vanish with it, as on a local
    // filesystem.
    f->dirty = f->deferred = f->created = false;
    return Status::OK();
  }
  const NodeKey& k = node.key;
  uint64_t ts = kServerTimestamp;
  if (k.kind == NodeKind::kVersion) {
    ts = k.ts;
    ROWFS_RETURN_IF_ERROR(KeepLatestAboveSecond(k, ts));
  } else if (f->mtime_override) {
    ts = LatestTime(k, *f->mtime_override, std::nullopt);
  }
  // A new file stores its owner and mode, except a version file of a column
  // that exists (versions share the column's); a version file that creates
  // its column marks it implicit.
  std::optional<Attrs> attrs;
  if (f->created) ROWFS_RETURN_IF_ERROR(NewFileAttrs(k, f->attrs, &attrs));
  if (ts != kServerTimestamp && !f->created) {
    // Restoring identical bytes onto an existing version is a no-op.
    std::string existing;
    if (store_->GetVersion(k.dataset, k.row, k.column, ts, &existing).ok() &&
        existing == f->data) {
      f->MarkStored(ts);
      return Status::OK();
    }
  }
  const bool restamp = k.kind == NodeKind::kVersion && f->mtime_override &&
                       *f->mtime_override != k.ts &&
                       !IsPrecisionLoss(k.ts, *f->mtime_override);
  const uint64_t restamp_to = restamp ? *f->mtime_override : 0;
  Batch batch;
  // Borrowed: f->data is not touched before the batch is written (the
  // caller holds f->mu).
  batch.PutBorrowed(k.dataset, k.row, k.column, f->data, ts,
                    attrs ? &*attrs : nullptr);
  std::vector<uint64_t> stamps;
  ROWFS_RETURN_IF_ERROR(store_->Write(batch, WriteOptions{sync}, &stamps));
  counters_.VersionStored();
  f->MarkStored(stamps[0]);
  InvalidateWritten(k, stamps[0], id);
  // A version file stamped by utimens while open moves like a closed one.
  if (restamp) return Restamp(node, restamp_to);
  return Status::OK();
}

Status Filesystem::NewFileAttrs(const NodeKey& key, const Attrs& creator,
                                std::optional<Attrs>* attrs) const {
  attrs->reset();
  if (key.kind != NodeKind::kVersion) {
    *attrs = creator;
    return Status::OK();
  }
  ColumnInfo existing;
  Status s = store_->StatColumn(key.dataset, key.row, key.column, &existing);
  if (s.ok()) return Status::OK();  // versions share the column's
  if (!s.IsNotFound()) return s;
  *attrs = creator;
  (*attrs)->flags |= kAttrImplicitColumn;
  return Status::OK();
}

bool Filesystem::IsPrecisionLoss(uint64_t version_ts, uint64_t to_ms) {
  return IsWholeSecond(to_ms) && SameSecond(version_ts, to_ms);
}

uint64_t Filesystem::LatestTime(const NodeKey& col, uint64_t to_ms,
                                std::optional<uint64_t> latest_ts) const {
  if (!IsWholeSecond(to_ms)) return to_ms;
  std::vector<Version> same_second;
  if (!store_
           ->ListVersions(
               col.dataset, col.row, col.column,
               {.limit = 2, .min_ts = to_ms + 1, .max_ts = to_ms + 999},
               &same_second)
           .ok()) {
    return to_ms;
  }
  for (const Version& v : same_second) {
    if (v.ts != latest_ts) return to_ms + 999;
  }
  return to_ms;
}

Status Filesystem::KeepLatestAboveSecond(const NodeKey& col, uint64_t ts) {
  ColumnInfo info;
  Status s = store_->StatColumn(col.dataset, col.row, col.column, &info);
  if (s.IsNotFound()) return Status::OK();
  ROWFS_RETURN_IF_ERROR(s);
  const uint64_t latest = info.versions[0].ts;
  if (!IsWholeSecond(latest) || ts <= latest || !SameSecond(ts, latest) ||
      ts == latest + 999) {
    return Status::OK();
  }
  ROWFS_RETURN_IF_ERROR(
      store_->Restamp(col.dataset, col.row, col.column, latest, latest + 999));
  InvalidateColumn(col.dataset, col.row, col.column);
  return Status::OK();
}

Status Filesystem::Restamp(const NodeInfo& node, uint64_t to_ms) {
  const NodeKey& k = node.key;
  std::optional<uint64_t> from;
  if (k.kind == NodeKind::kVersion) {
    // The name holds the milliseconds a whole-second time cannot.
    if (IsPrecisionLoss(k.ts, to_ms)) return Status::OK();
    from = k.ts;
  } else {
    ColumnInfo info;
    ROWFS_RETURN_IF_ERROR(
        store_->StatColumn(k.dataset, k.row, k.column, &info));
    to_ms = LatestTime(k, to_ms, info.versions[0].ts);
  }
  ROWFS_RETURN_IF_ERROR(
      store_->Restamp(k.dataset, k.row, k.column, from, to_ms));
  if (k.kind == NodeKind::kVersion && k.ts != to_ms) {
    // The node now stands for the version at its new timestamp; its old
    // name no longer exists.
    std::vector<EntryInvalidation> stale;
    NodeKey moved = k;
    moved.ts = to_ms;
    inodes_.Rename(k, moved, false, &stale);
    if (auto parent = inodes_.Find(k.Parent())) {
      stale.push_back({parent->id, k.Name()});
    }
    QueueEntryInvalidations(std::move(stale));
  }
  InvalidateColumn(k.dataset, k.row, k.column);
  return Status::OK();
}

Status Filesystem::TruncateClosed(const NodeInfo& node, uint64_t size) {
  if (size > options_.max_file_size) {
    return Status::TooLarge("size above max_file_size");
  }
  auto f = OpenFile::ForExisting();
  std::lock_guard lock(f->mu);
  ROWFS_RETURN_IF_ERROR(f->EnsureLoaded(LoaderFor(node.id)));
  if (f->data.size() == size) return Status::OK();  // no change, no version
  ROWFS_RETURN_IF_ERROR(
      f->Truncate(size, options_.max_file_size, Now(), LoaderFor(node.id)));
  return Persist(node.id, f.get(), false);
}

// ---------------------------------------------------------------- caching

void Filesystem::InvalidateInode(NodeId id, bool data) {
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
  for (NodeId id : inodes_.ColumnNodes(ds, row, col)) {
    InvalidateInode(id, id != keep_data_of);
  }
}

void Filesystem::InvalidateWritten(const NodeKey& key, uint64_t ts,
                                   NodeId keep_data_of) {
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

// ---------------------------------------------------------------- handlers

void Filesystem::Init(fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) {
    conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  }
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  // No writeback cache: every write reaches the daemon before close returns.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
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

void Filesystem::SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr,
                         int to_set, fuse_file_info* fi) {
  NodeInfo node;
  Status s = GetNode(ino, &node);
  if (!s.ok()) return Fail(req, "setattr", "?", s);
  const std::string path = node.key.Path();
  s = CheckWritable(node.key);
  if (!s.ok()) return Fail(req, "setattr", path, s);
  // Size first: it may store a version that a later utimens re-stamps.
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (!node.key.IsFile()) {
      return Fail(req, "truncate", path, Status::NotPermitted("a directory"));
    }
    const uint64_t size = static_cast<uint64_t>(attr->st_size);
    std::shared_ptr<OpenFile> f = node.open_file;
    if (fi != nullptr) f = reinterpret_cast<FileHandle*>(fi->fh)->file;
    if (f != nullptr) {
      std::lock_guard lock(f->mu);
      s = f->Truncate(size, options_.max_file_size, Now(), LoaderFor(ino));
    } else {
      s = TruncateClosed(node, size);
    }
    if (!s.ok()) return Fail(req, "truncate", path, s);
  }
  if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    Attrs a;
    s = CurrentAttrs(node, &a);
    if (s.ok()) {
      if (to_set & FUSE_SET_ATTR_MODE) a.mode = attr->st_mode & 07777;
      if (to_set & FUSE_SET_ATTR_UID) a.uid = attr->st_uid;
      if (to_set & FUSE_SET_ATTR_GID) a.gid = attr->st_gid;
      s = SetAttrs(node, a);
    }
    if (!s.ok()) return Fail(req, "chmod/chown", path, s);
    if (node.key.IsFile()) {
      InvalidateColumn(node.key.dataset, node.key.row, node.key.column, ino);
    }
  }
  if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
    uint64_t ms = Now();
    if (!(to_set & FUSE_SET_ATTR_MTIME_NOW)) {
      s = TimespecToMs(attr->st_mtim, &ms);
      if (!s.ok()) return Fail(req, "utimens", path, s);
    }
    if (!node.key.IsFile()) {
      Attrs a;
      s = CurrentAttrs(node, &a);
      if (s.ok()) {
        a.mtime_ms = ms;
        s = SetAttrs(node, a);
      }
    } else {
      bool pending = false;
      if (node.open_file != nullptr) {
        std::lock_guard lock(node.open_file->mu);
        if (node.open_file->NeedsStoreOnRelease()) {
          // Stored at exactly this time when the file is flushed.
          node.open_file->mtime_override = ms;
          pending = true;
        }
      }
      if (!pending) s = Restamp(node, ms);
    }
    if (!s.ok()) return Fail(req, "utimens", path, s);
  }
  // Re-read: a restamp may have changed the node's identity.
  if (!inodes_.Get(ino, &node)) {
    return Fail(req, "setattr", path, Status::NotFound("node vanished"));
  }
  struct stat st;
  s = StatKey(node.key, node.open_file, &st);
  if (!s.ok()) return Fail(req, "setattr", path, s);
  st.st_ino = node.st_ino;
  fuse_reply_attr(req, &st, CacheTimeoutsOf(node.key).attr);
}

void Filesystem::Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name,
                       mode_t mode) {
  NodeInfo dir;
  NodeKey key;
  Status s = GetNode(parent, &dir);
  std::unique_lock names(dir_locks_.For(dir.key));
  const Attrs attrs = CallerAttrs(req, mode, dir, /*directory=*/true);
  if (s.ok() && dir.key.kind == NodeKind::kSnapshotDir) {
    s = CheckSnapshotOwner(req);
    if (s.ok()) s = CreateSnapshot(name, &key);
  } else {
    if (s.ok() && dir.key.kind == NodeKind::kRow) {
      s = Status::NotPermitted("a row holds columns (files), not directories");
    }
    if (s.ok()) s = CheckWritable(dir.key);
    if (s.ok()) s = ChildKey(dir, name, &key);
    if (s.ok()) {
      s = key.kind == NodeKind::kDataset
              ? store_->CreateDataset(key.dataset, attrs)
              : store_->CreateRow(key.dataset, key.row, attrs);
    }
  }
  struct stat st;
  if (s.ok()) s = StatKey(key, nullptr, &st);
  if (!s.ok()) return Fail(req, "mkdir", ChildPath(dir.key, name), s);
  fuse_entry_param e;
  MakeEntry(key, st, &e);
  fuse_reply_entry(req, &e);
}

void Filesystem::Mknod(fuse_req_t req, fuse_ino_t parent, const char* name,
                       mode_t mode, dev_t) {
  NodeInfo dir;
  NodeKey key;
  Status s = GetNode(parent, &dir);
  std::unique_lock names(dir_locks_.For(dir.key));
  if (s.ok() && !S_ISREG(mode)) {
    s = Status::NotPermitted("only regular files can be created");
  }
  if (s.ok() && dir.key.kind != NodeKind::kRow) {
    s = Status::NotPermitted("files live inside rows");
  }
  if (s.ok()) s = CheckWritable(dir.key);
  if (s.ok()) s = ChildKey(dir, name, &key);
  if (s.ok()) s = CheckVersionAccess(req, key);
  std::optional<Attrs> attrs;
  if (s.ok()) s = NewFileAttrs(key, CallerAttrs(req, mode, dir, false), &attrs);
  if (s.ok()) {
    // mknod(2) creates an empty file at once: store an empty version.
    Batch batch;
    batch.Put(key.dataset, key.row, key.column, "",
              key.kind == NodeKind::kVersion ? key.ts : kServerTimestamp,
              attrs ? &*attrs : nullptr);
    s = store_->Write(batch);
  }
  struct stat st;
  if (s.ok()) s = StatKey(key, nullptr, &st);
  if (!s.ok()) return Fail(req, "mknod", ChildPath(dir.key, name), s);
  fuse_entry_param e;
  MakeEntry(key, st, &e);
  fuse_reply_entry(req, &e);
}

void Filesystem::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  NodeInfo dir;
  NodeKey key;
  Status s = GetNode(parent, &dir);
  std::unique_lock names(dir_locks_.For(dir.key));
  if (s.ok() && dir.key.kind != NodeKind::kRow) {
    s = Status::NotFound("no files outside rows");
  }
  if (s.ok()) s = CheckWritable(dir.key);
  if (s.ok()) s = ChildKey(dir, name, &key);
  if (s.ok()) s = CheckVersionAccess(req, key);
  if (!s.ok()) return Fail(req, "unlink", ChildPath(dir.key, name), s);
  bool pending_create = false;
  s = OrphanOpenFile(key, &pending_create);
  if (!s.ok()) return Fail(req, "unlink", key.Path(), s);
  s = key.kind == NodeKind::kVersion
          ? store_->DeleteVersion(key.dataset, key.row, key.column, key.ts)
          : store_->DeleteColumn(key.dataset, key.row, key.column);
  if (s.IsNotFound() && pending_create) s = Status::OK();
  if (!s.ok()) return Fail(req, "unlink", key.Path(), s);
  if (key.kind == NodeKind::kVersion) {
    InvalidateWritten(key, key.ts, 0);  // the column may show another latest
  } else {
    InvalidateColumn(key.dataset, key.row, key.column);
  }
  std::vector<EntryInvalidation> stale;
  inodes_.Remove(key, &stale);
  QueueEntryInvalidations(std::move(stale));
  ForgetIfColumnVanished(key);
  fuse_reply_err(req, 0);
}

void Filesystem::Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  NodeInfo dir;
  NodeKey key;
  Status s = GetNode(parent, &dir);
  std::unique_lock names(dir_locks_.For(dir.key));
  if (s.ok() && dir.key.kind == NodeKind::kRow) {
    s = Status::NotFound("rows hold no directories");
  }
  if (s.ok() && dir.key.kind == NodeKind::kSnapshotDir) {
    s = CheckSnapshotOwner(req);
    if (s.ok()) s = ChildKey(dir, name, &key);
    if (s.ok()) s = DropSnapshot(name);
  } else {
    if (s.ok()) s = CheckWritable(dir.key);
    if (s.ok()) s = ChildKey(dir, name, &key);
    if (s.ok() && (key.kind == NodeKind::kSnapshotDir ||
                   key.kind == NodeKind::kAsofDir)) {
      s = Status::NotPermitted("view directories cannot be removed");
    }
    if (s.ok() && key.kind == NodeKind::kRow) {
      for (const auto& [file_key, file] : inodes_.OpenFilesIn(key)) {
        std::lock_guard lock(file->mu);
        if (file->created && !file->unlinked) {
          s = Status::NotEmpty(file_key.Path() + " is being written");
          break;
        }
      }
    }
    if (s.ok()) {
      s = key.kind == NodeKind::kDataset
              ? store_->DropDataset(key.dataset)
              : store_->DeleteRow(key.dataset, key.row, /*only_if_empty=*/true);
    }
  }
  if (!s.ok()) return Fail(req, "rmdir", ChildPath(dir.key, name), s);
  std::vector<EntryInvalidation> stale;
  inodes_.Remove(key, &stale);
  fuse_reply_err(req, 0);
}

void Filesystem::Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
                        fuse_ino_t newparent, const char* newname,
                        unsigned int flags) {
  NodeInfo src_dir, dst_dir;
  NodeKey from, to;
  Status s = GetNode(parent, &src_dir);
  if (s.ok()) s = GetNode(newparent, &dst_dir);
  DirLocks::Pair names(&dir_locks_, src_dir.key, dst_dir.key);
  if (s.ok()) s = CheckWritable(src_dir.key);
  if (s.ok()) s = CheckWritable(dst_dir.key);
  if (s.ok()) s = ChildKey(src_dir, name, &from);
  if (s.ok()) s = ChildKey(dst_dir, newname, &to);
  // Moving a version away removes it; moving onto one writes it.
  if (s.ok()) s = CheckVersionAccess(req, from);
  if (s.ok()) s = CheckVersionAccess(req, to);
  const std::string path =
      ChildPath(src_dir.key, name) + " -> " + ChildPath(dst_dir.key, newname);
  if (!s.ok()) return Fail(req, "rename", path, s);
  MoveMode mode = MoveMode::kReplace;
  if (flags & RENAME_EXCHANGE) mode = MoveMode::kExchange;
  if (flags & RENAME_NOREPLACE) mode = MoveMode::kNoReplace;
  if (flags & ~(RENAME_EXCHANGE | RENAME_NOREPLACE)) {
    return Fail(req, "rename", path,
                Status::InvalidArgument("unsupported flags"));
  }
  if (from.kind == NodeKind::kSnapshotDir || from.kind == NodeKind::kAsofDir ||
      to.kind == NodeKind::kSnapshotDir || to.kind == NodeKind::kAsofDir) {
    return Fail(req, "rename", path,
                Status::NotPermitted("view directories cannot be renamed"));
  }
  if (from.kind == NodeKind::kDataset) {
    return Fail(req, "rename", path,
                Status::CrossDevice("datasets cannot be renamed in place"));
  }
  if (from.IsFile() != to.IsFile() ||
      (!from.IsFile() && from.kind != to.kind)) {
    return Fail(
        req, "rename", path,
        Status::NotPermitted("source and target are at different levels"));
  }
  if (from.IsFile()) {
    // A file still being written is stored first, so the move sees it.
    if (auto node = inodes_.Find(from); node && node->open_file) {
      std::lock_guard lock(node->open_file->mu);
      s = Persist(node->id, node->open_file.get(), false);
      if (!s.ok()) return Fail(req, "rename", path, s);
    }
    // A version file renamed into place creates its column implicitly, as
    // writing it would have.
    ColumnInfo target_column;
    const bool creates_implicit =
        to.kind == NodeKind::kVersion &&
        store_->StatColumn(to.dataset, to.row, to.column, &target_column)
            .IsNotFound();
    if (to.kind == NodeKind::kVersion && mode != MoveMode::kExchange) {
      s = KeepLatestAboveSecond(to, to.ts);
      if (!s.ok()) return Fail(req, "rename", path, s);
    }
    if (mode == MoveMode::kReplace && !(from == to)) {
      bool unused = false;
      s = OrphanOpenFile(to, &unused);  // a replaced file's readers keep it
      if (!s.ok()) return Fail(req, "rename", path, s);
    }
    s = store_->MoveColumn(RefOf(from), RefOf(to), mode);
    if (s.ok() && creates_implicit) {
      Attrs a = FileDefaults();
      if (store_->StatColumn(to.dataset, to.row, to.column, &target_column)
              .ok() &&
          target_column.attrs) {
        a = *target_column.attrs;
      }
      a.flags |= kAttrImplicitColumn;
      s = store_->SetColumnAttrs(to.dataset, to.row, to.column, a);
    }
    if (!s.ok()) return Fail(req, "rename", path, s);
    InvalidateColumn(from.dataset, from.row, from.column);
    InvalidateColumn(to.dataset, to.row, to.column);
    std::vector<EntryInvalidation> stale;
    inodes_.Rename(from, to, mode == MoveMode::kExchange, &stale);
    QueueEntryInvalidations(std::move(stale));
    ForgetIfColumnVanished(from);
  } else {
    s = store_->MoveRow(from.dataset, from.row, to.dataset, to.row, mode);
    if (!s.ok()) return Fail(req, "rename", path, s);
    for (NodeId id : inodes_.RenameRow(from, to, mode == MoveMode::kExchange)) {
      InvalidateInode(id, /*data=*/false);  // their attributes name a new row
    }
  }
  fuse_reply_err(req, 0);
}

void Filesystem::Create(fuse_req_t req, fuse_ino_t parent, const char* name,
                        mode_t mode, fuse_file_info* fi) {
  NodeInfo dir;
  NodeKey key;
  Status s = GetNode(parent, &dir);
  std::unique_lock names(dir_locks_.For(dir.key));
  if (s.ok()) s = CheckWritable(dir.key);
  if (s.ok() && dir.key.kind != NodeKind::kRow) {
    s = Status::NotPermitted("files live inside rows");
  }
  if (s.ok()) s = ChildKey(dir, name, &key);
  if (s.ok()) s = CheckVersionAccess(req, key);
  if (!s.ok()) return Fail(req, "create", ChildPath(dir.key, name), s);
  // The kernel asks to create what lookup did not find; if it appeared in
  // the meantime, O_EXCL refuses and otherwise it is opened.
  std::shared_ptr<OpenFile> existing_open;
  if (auto n = inodes_.Find(key)) existing_open = n->open_file;
  struct stat st;
  const bool exists = StatKey(key, existing_open, &st).ok();
  if (exists && (fi->flags & O_EXCL)) {
    return Fail(req, "create", key.Path(), Status::AlreadyExists("exists"));
  }
  const Attrs attrs = CallerAttrs(req, mode, dir, /*directory=*/false);
  fuse_entry_param e;
  std::memset(&st, 0, sizeof(st));
  FillStat(key, attrs, 0, Now(), &st);
  NodeInfo node = MakeEntry(key, st, &e);
  auto file = inodes_.AttachOpenFile(node.id, [&] {
    return exists ? OpenFile::ForExisting() : OpenFile::ForCreate(attrs, Now());
  });
  {
    std::lock_guard lock(file->mu);
    if (exists && (fi->flags & O_TRUNC)) {
      s = file->Truncate(0, options_.max_file_size, Now(), LoaderFor(node.id),
                         /*at_open=*/true);
    }
  }
  if (exists) {
    Status st_s = StatKey(key, file, &e.attr);
    if (st_s.ok()) e.attr.st_ino = node.st_ino;
  }
  FileHandle* handle = handles_.Add(std::make_unique<FileHandle>(
      FileHandle{node.id, file, (fi->flags & O_ACCMODE) != O_RDONLY}));
  fi->fh = reinterpret_cast<uint64_t>(handle);
  fi->keep_cache = 1;
  fuse_reply_create(req, &e, fi);
}

void Filesystem::Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  NodeInfo node;
  Status s = GetNode(ino, &node);
  if (s.ok() && !node.key.IsFile()) s = Status::NotPermitted("a directory");
  const bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
  // O_TRUNC truncates even a read-only open (the kernel checked write
  // permission); the atomic-O_TRUNC capability leaves it to us.
  const bool truncate = (fi->flags & O_TRUNC) != 0;
  if (s.ok() && (writable || truncate)) s = CheckWritable(node.key);
  if (!s.ok()) return Fail(req, "open", node.key.Path(), s);
  auto file =
      inodes_.AttachOpenFile(ino, [] { return OpenFile::ForExisting(); });
  if (file == nullptr) {
    return Fail(req, "open", node.key.Path(),
                Status::NotFound("node vanished"));
  }
  {
    std::lock_guard lock(file->mu);
    if (!file->loaded && !file->created) {
      // Fail the open, not a later read, when the entry is gone. The
      // kernel's entry for it is stale (e.g. its last version was removed by
      // version name a moment ago): ESTALE makes the VFS look the name up
      // again, so open(O_CREAT) then creates it as on a local filesystem.
      s = file->EnsureLoaded(LoaderFor(ino));
      if (s.IsNotFound() && (writable || truncate)) {
        // (A read-only open of a vanished name is just ENOENT.)
        s = Status::Stale(node.key.Path() + " vanished; looking it up again");
      }
    }
    if (s.ok() && truncate) {
      s = file->Truncate(0, options_.max_file_size, Now(), LoaderFor(ino),
                         /*at_open=*/true);
    }
  }
  if (!s.ok()) {
    DropHandle(ino, file.get());
    return Fail(req, "open", node.key.Path(), s);
  }
  FileHandle* handle = handles_.Add(
      std::make_unique<FileHandle>(FileHandle{ino, file, writable}));
  fi->fh = reinterpret_cast<uint64_t>(handle);
  // Every change the daemon makes to a column invalidates the kernel's pages
  // of its nodes, so cached pages stay valid between opens; a follower's
  // data changes without the daemon knowing.
  fi->keep_cache = options_.follower ? 0 : 1;
  // The kernel would clip a follower's reads at a size it cached before the
  // content changed; direct I/O reads what this open loaded, whole.
  fi->direct_io = options_.follower ? 1 : 0;
  // A read-only descriptor never has anything to store: spare its close
  // the FLUSH round trip (FOPEN_NOFLUSH).
  fi->noflush = writable ? 0 : 1;
  fuse_reply_open(req, fi);
}

void Filesystem::Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      fuse_file_info* fi) {
  auto* h = reinterpret_cast<FileHandle*>(fi->fh);
  std::string out;
  Status s;
  {
    std::lock_guard lock(h->file->mu);
    s = h->file->Read(static_cast<uint64_t>(off), size, LoaderFor(ino), &out);
  }
  if (!s.ok()) return Fail(req, "read", std::to_string(ino), s);
  counters_.BytesRead(out.size());
  fuse_reply_buf(req, out.data(), out.size());
}

void Filesystem::Write(fuse_req_t req, fuse_ino_t ino, const char* buf,
                       size_t size, off_t off, fuse_file_info* fi) {
  auto* h = reinterpret_cast<FileHandle*>(fi->fh);
  Status s;
  {
    std::lock_guard lock(h->file->mu);
    s = h->file->Write(static_cast<uint64_t>(off), std::string_view(buf, size),
                       options_.max_file_size, Now(), LoaderFor(ino));
  }
  if (!s.ok()) {
    NodeInfo node;
    inodes_.Get(ino, &node);
    return Fail(req, "write", node.key.Path(), s);
  }
  counters_.BytesWritten(size);
  fuse_reply_write(req, size);
}

void Filesystem::Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto* h = reinterpret_cast<FileHandle*>(fi->fh);
  Status s;
  {
    std::lock_guard lock(h->file->mu);
    if (h->file->NeedsStoreOnFlush()) s = Persist(ino, h->file.get(), false);
  }
  if (!s.ok()) {
    NodeInfo node;
    inodes_.Get(ino, &node);
    return Fail(req, "flush", node.key.Path(), s);
  }
  fuse_reply_err(req, 0);
}

void Filesystem::Fsync(fuse_req_t req, fuse_ino_t ino, int,
                       fuse_file_info* fi) {
  auto* h = reinterpret_cast<FileHandle*>(fi->fh);
  Status s;
  {
    std::lock_guard lock(h->file->mu);
    const bool changed = h->file->NeedsStoreOnRelease();
    s = Persist(ino, h->file.get(), /*sync=*/true);
    // Nothing new to store: make what was stored before durable.
    if (s.ok() && !changed) s = store_->SyncWal();
  }
  if (!s.ok()) return Fail(req, "fsync", std::to_string(ino), s);
  fuse_reply_err(req, 0);
}

void Filesystem::DropHandle(NodeId id, OpenFile* f) {
  int remaining;
  {
    // Under the file's lock, so that of two releases exactly one sees zero
    // and stores what is pending (e.g. writes through mmap after the last
    // flush).
    std::lock_guard lock(f->mu);
    remaining = f->handles.fetch_sub(1) - 1;
    if (remaining == 0) {
      Status s = Persist(id, f, false);
      if (!s.ok()) {
        NodeInfo node;
        const std::string path =
            GetNode(id, &node).ok() ? node.key.Path() : "?";
        if (IsRefusal(s)) {
          spdlog::info("release {}: changes not stored: {}", path,
                       s.ToString());
        } else {
          spdlog::error("release {}: storing the last changes failed: {}", path,
                        s.ToString());
        }
      }
    }
  }
  // The table detaches it only if no open attached it again meanwhile.
  if (remaining == 0) inodes_.DetachOpenFile(id, f);
}

void Filesystem::Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::unique_ptr<FileHandle> h =
      handles_.Take(reinterpret_cast<FileHandle*>(fi->fh));
  if (h == nullptr) {
    return Fail(req, "release", std::to_string(ino),
                Status::InvalidArgument("unknown file handle"));
  }
  DropHandle(ino, h->file.get());
  fuse_reply_err(req, 0);
}

// ---------------------------------------------------------------- dirs

Status Filesystem::FillDir(DirHandle* h, const NodeInfo& dir) {
  const NodeKey& k = dir.key;
  ReadView view;
  ROWFS_RETURN_IF_ERROR(ViewOf(k, &view));
  if (k.kind == NodeKind::kRoot) {
    // The view directories are not listed: tools walking the mount (tar,
    // rsync, find) must not descend into copies of the tree.
    for (const DatasetInfo& d : store_->ListDatasets()) {
      DirEntry e{d.name, NodeKey::Dataset(d.name, k.view), {}};
      FillStat(e.key, d.attrs, 4096, d.attrs.mtime_ms, &e.st);
      h->entries.push_back(std::move(e));
    }
    return Status::OK();
  }
  if (k.kind == NodeKind::kSnapshotDir) {
    Attrs a = DirDefaults();
    store_->GetRootAttrs(&a);
    std::lock_guard lock(views_mu_);
    for (const auto& [id, v] : views_) {
      if (!v.snapshot) continue;
      DirEntry e{v.name, NodeKey::Root(id), {}};
      FillStat(e.key, a, 4096, ViewTime(v.read), &e.st);
      h->entries.push_back(std::move(e));
    }
    return Status::OK();
  }
  if (k.kind == NodeKind::kAsofDir) return Status::OK();  // looked up by T

  std::shared_lock names(dir_locks_.For(k));
  std::vector<ColumnInfo> columns;
  ROWFS_RETURN_IF_ERROR(store_->ListColumns(k.dataset, k.row, &columns, view));
  // One allocation: a listing of 10k entries grown by doubling spent a fifth
  // of the daemon's time faulting in fresh pages.
  size_t listed = 0;
  for (const ColumnInfo& c : columns) {
    listed += options_.versions_hidden ? std::min<size_t>(c.versions.size(), 1)
                                       : c.versions.size();
  }
  h->entries.reserve(listed);
  for (const ColumnInfo& c : columns) {
    const Attrs a = c.attrs.value_or(FileDefaults());
    const bool implicit = IsImplicit(c);
    for (size_t i = 0; i < c.versions.size(); ++i) {
      if (i > 0 && options_.versions_hidden) break;
      const VersionInfo& v = c.versions[i];
      NodeKey key =
          i == 0 && !implicit
              ? NodeKey::Column(k.dataset, k.row, c.name, k.view)
              : NodeKey::Version(k.dataset, k.row, c.name, v.ts, k.view);
      DirEntry e{key.Name(), key, {}};
      FillStat(key, a, v.size, v.ts, &e.st);
      h->entries.push_back(std::move(e));
    }
  }
  // Files open with changes not stored yet: a created one is listed (it
  // exists from creation on), and any such file reports the attributes of
  // what it holds now, so the kernel's view of an open file stays right.
  if (k.view == 0) {
    bool appended = false;
    for (const auto& [file_key, file] : inodes_.OpenFilesIn(k)) {
      bool pending = false, created = false;
      {
        std::lock_guard lock(file->mu);
        pending = file->NeedsStoreOnRelease() && !file->unlinked;
        created = file->created;
      }
      if (!pending) continue;
      auto it =
          std::find_if(h->entries.begin(), h->entries.end(),
                       [&](const DirEntry& e) { return e.key == file_key; });
      if (it == h->entries.end()) {
        if (!created) continue;
        it = h->entries.insert(h->entries.end(),
                               DirEntry{file_key.Name(), file_key, {}});
        appended = true;
      }
      if (!StatKey(file_key, file, &it->st).ok()) h->entries.erase(it);
    }
    // Listing order: each column, then its versions newest first (the
    // store's order; only appended entries can break it).
    if (appended)
      std::stable_sort(h->entries.begin(), h->entries.end(),
                       [](const DirEntry& a, const DirEntry& b) {
                         if (a.key.column != b.key.column) {
                           return a.key.column < b.key.column;
                         }
                         const bool av = a.key.kind == NodeKind::kVersion;
                         const bool bv = b.key.kind == NodeKind::kVersion;
                         if (av != bv) return bv;
                         return a.key.ts > b.key.ts;
                       });
  }
  return Status::OK();
}

Status Filesystem::NextDatasetEntry(DirHandle* h, DirEntry* entry, bool* done) {
  if (h->pending) {
    *entry = std::move(*h->pending);
    h->pending.reset();
    *done = false;
    return Status::OK();
  }
  RowInfo row;
  if (!h->cursor->Next(&row)) {
    *done = true;
    return h->cursor->status();
  }
  *done = false;
  entry->key = NodeKey::Row(h->dir.key.dataset, row.name, h->dir.key.view);
  entry->name = row.name;
  const Attrs a = row.attrs.value_or(DirDefaults());
  FillStat(entry->key, a, 4096, a.mtime_ms, &entry->st);
  return Status::OK();
}

void Filesystem::OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  NodeInfo node;
  Status s = GetNode(ino, &node);
  if (s.ok() && node.key.IsFile()) s = Status::NotPermitted("not a directory");
  // The listing itself is read at the first readdir from offset 0 (and again
  // after a rewinddir), so it shows what exists when it is read.
  struct stat st;
  if (s.ok()) s = StatKey(node.key, nullptr, &st);
  auto h = std::make_unique<DirHandle>();
  h->dir = node;
  h->streaming = node.key.kind == NodeKind::kDataset;
  if (!s.ok()) return Fail(req, "opendir", node.key.Path(), s);
  fi->fh = reinterpret_cast<uint64_t>(dir_handles_.Add(std::move(h)));
  fuse_reply_open(req, fi);
}

void Filesystem::ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                         fuse_file_info* fi, bool plus) {
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  std::string buf(size, '\0');
  size_t used = 0;
  Status s;
  {
    // The reply goes out after the lock is released: once the kernel has
    // it, a RELEASEDIR may free the handle.
    std::lock_guard lock(h->mu);
    s = FillDirBuffer(req, h, off, plus, &buf, &used);
  }
  if (!s.ok() && used == 0) return Fail(req, "readdir", h->dir.key.Path(), s);
  fuse_reply_buf(req, buf.data(), used);
}

Status Filesystem::FillDirBuffer(fuse_req_t req, DirHandle* h, off_t off,
                                 bool plus, std::string* buf, size_t* used) {
  const size_t size = buf->size();
  // Adds one entry at offset `next`; false when the buffer is full.
  auto add = [&](const std::string& name, const NodeKey* key,
                 const struct stat& st, off_t next) -> bool {
    char* at = buf->data() + *used;
    const size_t room = size - *used;
    size_t len;
    if (plus) {
      fuse_entry_param e;
      std::memset(&e, 0, sizeof(e));
      e.attr = st;
      NodeId counted = 0;
      if (key != nullptr) counted = MakeEntry(*key, st, &e).id;
      len = fuse_add_direntry_plus(req, at, room, name.c_str(), &e, next);
      if (len > room) {
        if (counted != 0)
          inodes_.Forget(counted, 1);  // the kernel won't see it
        return false;
      }
    } else {
      // d_ino must agree with stat: a live node's number wins over the hash.
      struct stat named = st;
      if (key != nullptr) {
        if (auto node = inodes_.Find(*key)) named.st_ino = node->st_ino;
      }
      len = fuse_add_direntry(req, at, room, name.c_str(), &named, next);
      if (len > room) return false;
    }
    *used += len;
    return true;
  };

  struct stat dot;
  std::memset(&dot, 0, sizeof(dot));
  dot.st_mode = S_IFDIR;
  dot.st_ino = h->dir.st_ino;
  if (off < 1 && !add(".", nullptr, dot, 1)) return Status::OK();
  if (off < 2 && !add("..", nullptr, dot, 2)) return Status::OK();

  if (off == 0) {
    // The directory may have been renamed since opendir: list what its node
    // names now.
    NodeInfo now;
    ROWFS_RETURN_IF_ERROR(GetNode(h->dir.id, &now));
    h->dir = now;
  }
  if (!h->streaming) {
    if (off == 0) {
      // The first read, or a rewinddir: what the directory holds now.
      h->entries.clear();
      ROWFS_RETURN_IF_ERROR(FillDir(h, h->dir));
    }
    for (size_t i = off < 2 ? 0 : static_cast<size_t>(off - 2);
         i < h->entries.size(); ++i) {
      const DirEntry& e = h->entries[i];
      if (!add(e.name, &e.key, e.st, static_cast<off_t>(i + 3))) break;
    }
    return Status::OK();
  }
  Status s;
  // Dataset: continue the row cursor, or restart it after a seekdir.
  if (std::max<off_t>(off, 2) + 1 != h->next_off) {
    ReadView view;
    s = ViewOf(h->dir.key, &view);
    if (s.ok())
      h->cursor = store_->NewRowCursor(h->dir.key.dataset, "", &s, view);
    h->pending.reset();
    h->next_off = 3;
    while (s.ok() && h->next_off <= off) {
      DirEntry skipped;
      bool done = false;
      s = NextDatasetEntry(h, &skipped, &done);
      if (done) break;
      ++h->next_off;
    }
  }
  while (s.ok()) {
    DirEntry e;
    bool done = false;
    s = NextDatasetEntry(h, &e, &done);
    if (!s.ok() || done) break;
    if (!add(e.name, &e.key, e.st, h->next_off)) {
      h->pending = std::move(e);
      break;
    }
    ++h->next_off;
  }
  return s;
}

void Filesystem::ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  dir_handles_.Take(reinterpret_cast<DirHandle*>(fi->fh));
  fuse_reply_err(req, 0);
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

// ---------------------------------------------------------------- xattrs

// Extended attributes. Dataset directories list their two policies; the
// statistics and control attributes are hidden (getxattr/setxattr by name
// only) so that backup tools copying xattrs never see values that change
// under them.
namespace {
constexpr std::string_view kStatsXattr = "user.rowfs.stats";
constexpr std::string_view kFlushXattr = "user.rowfs.ctl.flush";
constexpr std::string_view kCompactXattr = "user.rowfs.ctl.compact";
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

bool IsPolicyXattr(std::string_view name) {
  return name == kMaxVersionsXattr || name == kTtlXattr;
}
}  // namespace

Status Filesystem::ReadXattr(const NodeKey& key, std::string_view name,
                             std::string* value) const {
  if (key.kind == NodeKind::kDataset && IsPolicyXattr(name)) {
    DatasetInfo info;
    ROWFS_RETURN_IF_ERROR(store_->GetDataset(key.dataset, &info));
    *value =
        std::to_string(name == kMaxVersionsXattr ? info.policy.max_versions
                                                 : info.policy.ttl_seconds);
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
  if (key.kind == NodeKind::kDataset && IsPolicyXattr(name)) {
    uint64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseUnsigned(text, &v));
    DatasetInfo info;
    ROWFS_RETURN_IF_ERROR(store_->GetDataset(key.dataset, &info));
    (name == kMaxVersionsXattr ? info.policy.max_versions
                               : info.policy.ttl_seconds) = v;
    ROWFS_RETURN_IF_ERROR(store_->SetDatasetPolicy(key.dataset, info.policy));
    InvalidateDataset(key.dataset);  // cached under the old policy's timeouts
    spdlog::info("dataset {}: {} = {}", key.dataset, name, v);
    return Status::OK();
  }
  if (key.kind == NodeKind::kRoot && name == kFlushXattr) {
    ROWFS_RETURN_IF_ERROR(store_->Flush());
    ROWFS_RETURN_IF_ERROR(store_->SyncWal());
    spdlog::info("flushed memtables and synced the WAL on request");
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
    names.append(kMaxVersionsXattr).push_back('\0');
    names.append(kTtlXattr).push_back('\0');
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
    // Removing a policy means "no limit".
    s = node.key.kind == NodeKind::kDataset && IsPolicyXattr(name)
            ? WriteXattr(node.key, name, "0")
            : MissingXattr(name);
  }
  if (!s.ok()) return Fail(req, "removexattr", node.key.Path() + " " + name, s);
  fuse_reply_err(req, 0);
}

void Filesystem::NotPermitted(fuse_req_t req, const char* op, fuse_ino_t parent,
                              const char* name) {
  NodeInfo dir;
  inodes_.Get(parent, &dir);
  Fail(req, op, ChildPath(dir.key, name),
       Status::NotPermitted("rowfs holds only datasets, rows and columns"));
}

void Filesystem::PersistOpenFiles() {
  for (const auto& [id, file] : inodes_.AllOpenFiles()) {
    std::lock_guard lock(file->mu);
    Status s = Persist(id, file.get(), false);
    if (!s.ok()) spdlog::error("storing file {} at exit: {}", id, s.ToString());
  }
}

void Filesystem::FsyncDir(fuse_req_t req, fuse_ino_t ino) {
  // Directory changes are WAL records like everything else.
  Status s = store_->SyncWal();
  if (!s.ok()) return Fail(req, "fsyncdir", std::to_string(ino), s);
  fuse_reply_err(req, 0);
}

// ---------------------------------------------------------------- trampolines

namespace {

Filesystem* FS(fuse_req_t req) {
  return static_cast<Filesystem*>(fuse_req_userdata(req));
}

// Runs a handler; an exception becomes EIO instead of unwinding into C.
template <typename Fn>
void Guard(fuse_req_t req, FsOp op, Fn&& fn) {
  try {
    FS(req)->CountOp(op);
    fn();
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", FsOpName(op), e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    spdlog::error("{}: unknown internal error", FsOpName(op));
    fuse_reply_err(req, EIO);
  }
}

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = [](void* userdata, fuse_conn_info* conn) {
    try {
      static_cast<Filesystem*>(userdata)->Init(conn);
    } catch (...) {
    }
  };
  ops.lookup = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kLookup, [&] { FS(r)->Lookup(r, p, n); });
  };
  ops.forget = [](fuse_req_t r, fuse_ino_t i, uint64_t n) {
    try {
      FS(r)->CountOp(FsOp::kForget);
      FS(r)->Forget(i, n);
    } catch (...) {
    }
    fuse_reply_none(r);
  };
  ops.forget_multi = [](fuse_req_t r, size_t count, fuse_forget_data* forgets) {
    try {
      for (size_t i = 0; i < count; ++i) {
        FS(r)->Forget(forgets[i].ino, forgets[i].nlookup);
      }
    } catch (...) {
    }
    fuse_reply_none(r);
  };
  ops.getattr = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kGetattr, [&] { FS(r)->GetAttr(r, i, fi); });
  };
  ops.setattr = [](fuse_req_t r, fuse_ino_t i, struct stat* a, int to_set,
                   fuse_file_info* fi) {
    Guard(r, FsOp::kSetattr, [&] { FS(r)->SetAttr(r, i, a, to_set, fi); });
  };
  ops.mkdir = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m) {
    Guard(r, FsOp::kMkdir, [&] { FS(r)->Mkdir(r, p, n, m); });
  };
  ops.mknod = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m, dev_t d) {
    Guard(r, FsOp::kMknod, [&] { FS(r)->Mknod(r, p, n, m, d); });
  };
  ops.unlink = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kUnlink, [&] { FS(r)->Unlink(r, p, n); });
  };
  ops.rmdir = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kRmdir, [&] { FS(r)->Rmdir(r, p, n); });
  };
  ops.symlink = [](fuse_req_t r, const char*, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kOther, [&] { FS(r)->NotPermitted(r, "symlink", p, n); });
  };
  ops.link = [](fuse_req_t r, fuse_ino_t, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kOther, [&] { FS(r)->NotPermitted(r, "link", p, n); });
  };
  ops.rename = [](fuse_req_t r, fuse_ino_t p, const char* n, fuse_ino_t np,
                  const char* nn, unsigned int flags) {
    Guard(r, FsOp::kRename, [&] { FS(r)->Rename(r, p, n, np, nn, flags); });
  };
  ops.create = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m,
                  fuse_file_info* fi) {
    Guard(r, FsOp::kCreate, [&] { FS(r)->Create(r, p, n, m, fi); });
  };
  ops.open = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kOpen, [&] { FS(r)->Open(r, i, fi); });
  };
  ops.read = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
                fuse_file_info* fi) {
    Guard(r, FsOp::kRead, [&] { FS(r)->Read(r, i, s, o, fi); });
  };
  ops.write = [](fuse_req_t r, fuse_ino_t i, const char* b, size_t s, off_t o,
                 fuse_file_info* fi) {
    Guard(r, FsOp::kWrite, [&] { FS(r)->Write(r, i, b, s, o, fi); });
  };
  ops.flush = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kFlush, [&] { FS(r)->Flush(r, i, fi); });
  };
  ops.fsync = [](fuse_req_t r, fuse_ino_t i, int d, fuse_file_info* fi) {
    Guard(r, FsOp::kFsync, [&] { FS(r)->Fsync(r, i, d, fi); });
  };
  ops.release = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kRelease, [&] { FS(r)->Release(r, i, fi); });
  };
  ops.opendir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kOpendir, [&] { FS(r)->OpenDir(r, i, fi); });
  };
  ops.readdir = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
                   fuse_file_info* fi) {
    Guard(r, FsOp::kReaddir, [&] { FS(r)->ReadDir(r, i, s, o, fi, false); });
  };
  ops.readdirplus = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
                       fuse_file_info* fi) {
    Guard(r, FsOp::kReaddir, [&] { FS(r)->ReadDir(r, i, s, o, fi, true); });
  };
  ops.releasedir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kReleasedir, [&] { FS(r)->ReleaseDir(r, i, fi); });
  };
  ops.fsyncdir = [](fuse_req_t r, fuse_ino_t i, int, fuse_file_info*) {
    Guard(r, FsOp::kFsync, [&] { FS(r)->FsyncDir(r, i); });
  };
  ops.statfs = [](fuse_req_t r, fuse_ino_t i) {
    Guard(r, FsOp::kStatfs, [&] { FS(r)->StatFs(r, i); });
  };
  ops.setxattr = [](fuse_req_t r, fuse_ino_t i, const char* n, const char* v,
                    size_t s, int f) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->SetXattr(r, i, n, v, s, f); });
  };
  ops.getxattr = [](fuse_req_t r, fuse_ino_t i, const char* n, size_t s) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->GetXattr(r, i, n, s); });
  };
  ops.listxattr = [](fuse_req_t r, fuse_ino_t i, size_t s) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->ListXattr(r, i, s); });
  };
  ops.removexattr = [](fuse_req_t r, fuse_ino_t i, const char* n) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->RemoveXattr(r, i, n); });
  };
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& Filesystem::Operations() {
  static const fuse_lowlevel_ops ops = MakeOperations();
  return ops;
}

}  // namespace rowfs
