// Filesystem: setattr, mkdir, mknod, unlink, rmdir, rename.
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

Status Filesystem::SetTime(const NodeInfo& node, uint64_t to_ms) {
  const NodeKey& k = node.key;
  std::optional<uint64_t> from;
  if (k.kind == NodeKind::kVersion) from = k.ts;
  uint64_t ts = 0;
  ROWFS_RETURN_IF_ERROR(
      store_->SetVersionTime(k.dataset, k.row, k.column, from, to_ms, &ts));
  if (k.kind == NodeKind::kVersion && k.ts != ts) {
    // The node now stands for the version at its new timestamp; its old
    // name no longer exists.
    std::vector<EntryInvalidation> stale;
    NodeKey moved = k;
    moved.ts = ts;
    inodes_.Rename(k, moved, false, &stale);
    if (auto parent = inodes_.Find(k.Parent())) {
      stale.push_back({parent->id, k.Name()});
    }
    QueueEntryInvalidations(std::move(stale));
  }
  // The column's versions may have changed names (a renamed version, a
  // restored deletion): the kernel learns them again.
  InvalidateColumn(k.dataset, k.row, k.column);
  std::vector<EntryInvalidation> stale;
  for (NodeId id : inodes_.ColumnNodes(k.dataset, k.row, k.column)) {
    NodeInfo n;
    if (!inodes_.Get(id, &n) || n.key.kind != NodeKind::kVersion) continue;
    if (auto parent = inodes_.Find(n.key.Parent())) {
      stale.push_back({parent->id, n.key.Name()});
    }
  }
  QueueEntryInvalidations(std::move(stale));
  return Status::OK();
}

Status Filesystem::TruncateClosed(const NodeInfo& node, uint64_t size) {
  if (size > options_.max_file_size) {
    return Status::TooLarge("size above max_file_size");
  }
  auto f = OpenFile::ForExisting();
  std::lock_guard lock(f->mu);
  NodeSource source(this, node.id);
  ROWFS_RETURN_IF_ERROR(f->EnsureLoaded(&source));
  if (f->size() == size) return Status::OK();  // no change, no version
  ROWFS_RETURN_IF_ERROR(
      f->Truncate(size, options_.max_file_size, Now(), &source));
  return Persist(node.id, f.get(), false);
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
      NodeSource source(this, ino);
      s = f->Truncate(size, options_.max_file_size, Now(), &source);
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
      if (!pending) s = SetTime(node, ms);
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

}  // namespace rowfs
