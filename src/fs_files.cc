// Filesystem: open files, their reads and writes, and storing them.
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

namespace {
// Small enough to compare before rewriting a version with the same bytes.
constexpr uint64_t kCompareBeforeRewrite = 1 << 20;
}  // namespace

Status Filesystem::NodeSource::OpenReader(
    std::unique_ptr<VersionReader>* reader) {
  NodeInfo node;
  ROWFS_RETURN_IF_ERROR(fs_->GetNode(id_, &node));
  ReadView view;
  ROWFS_RETURN_IF_ERROR(fs_->ViewOf(node.key, &view));
  std::optional<uint64_t> ts;
  if (node.key.kind == NodeKind::kVersion) ts = node.key.ts;
  return fs_->store_->OpenVersion(node.key.dataset, node.key.row,
                                  node.key.column, ts, view, reader);
}

Status Filesystem::NodeSource::NewWriter(const VersionReader* base,
                                         std::unique_ptr<FileWriter>* writer) {
  NodeInfo node;
  ROWFS_RETURN_IF_ERROR(fs_->GetNode(id_, &node));
  return fs_->store_->NewWriter(node.key.dataset, base, writer);
}

Status Filesystem::Persist(NodeId id, OpenFile* f, bool sync) {
  if (!f->NeedsStoreOnRelease()) return Status::OK();
  NodeInfo node;
  ROWFS_RETURN_IF_ERROR(GetNode(id, &node));
  if (node.detached || f->unlinked) {
    // Writes to an unlinked or replaced file vanish with it, as on a local
    // filesystem.
    f->dirty = f->deferred = f->created = false;
    f->writer.reset();
    return Status::OK();
  }
  const NodeKey& k = node.key;
  NodeSource source(this, id);
  if (f->writer == nullptr) {
    // Deferred without a write (created, or O_TRUNC): the empty content.
    ROWFS_RETURN_IF_ERROR(f->Truncate(0, options_.max_file_size, Now(), &source,
                                      /*at_open=*/true));
  }
  CommitOptions commit;
  if (k.kind == NodeKind::kVersion) commit.ts = k.ts;
  // A new file stores its owner and mode, except a version file of a column
  // that exists (versions share the column's); a version file that creates
  // its column marks it implicit.
  if (f->created)
    ROWFS_RETURN_IF_ERROR(NewFileAttrs(k, f->attrs, &commit.attrs));
  if (commit.ts != kServerTimestamp && !f->created &&
      f->writer->size() <= kCompareBeforeRewrite) {
    // Restoring identical bytes onto an existing version is a no-op.
    std::string existing, mine;
    if (store_->GetVersion(k.dataset, k.row, k.column, commit.ts, &existing)
            .ok() &&
        existing.size() == f->writer->size() &&
        f->writer->Read(0, existing.size() + 1, &mine).ok() &&
        mine == existing) {
      const std::optional<uint64_t> mtime = f->mtime_override;
      f->MarkStored(commit.ts);
      if (mtime) return SetTime(node, *mtime);
      return Status::OK();
    }
  }
  // A time set while the file was open (GNU tar sets it through the
  // descriptor before closing) is given to the stored version as a closed
  // file's would be: a new name where it keeps its place, and a restore of
  // the same bytes and time adds nothing.
  const std::optional<uint64_t> version_time = f->mtime_override;
  commit.sync = sync;
  uint64_t ts = 0;
  ROWFS_RETURN_IF_ERROR(store_->CommitWriter(f->writer.get(), k.dataset, k.row,
                                             k.column, commit, &ts));
  counters_.VersionStored();
  f->MarkStored(ts);
  InvalidateWritten(k, ts, id);
  if (version_time) return SetTime(node, *version_time);
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
      NodeSource source(this, node.id);
      s = file->Truncate(0, options_.max_file_size, Now(), &source,
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
    NodeSource source(this, ino);
    if (!file->loaded() && !file->created) {
      // Fail the open, not a later read, when the entry is gone. The
      // kernel's entry for it is stale (e.g. its last version was removed by
      // version name a moment ago): ESTALE makes the VFS look the name up
      // again, so open(O_CREAT) then creates it as on a local filesystem.
      // (Only the version's record is read: its content is read by range.)
      s = file->EnsureLoaded(&source);
      if (s.IsNotFound() && (writable || truncate)) {
        // (A read-only open of a vanished name is just ENOENT.)
        s = Status::Stale(node.key.Path() + " vanished; looking it up again");
      }
    }
    if (s.ok() && truncate) {
      s = file->Truncate(0, options_.max_file_size, Now(), &source,
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
    NodeSource source(this, ino);
    s = h->file->Read(static_cast<uint64_t>(off), size, &source, &out);
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
    NodeSource source(this, ino);
    s = h->file->Write(static_cast<uint64_t>(off), std::string_view(buf, size),
                       options_.max_file_size, Now(), &source);
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

void Filesystem::PersistOpenFiles() {
  for (const auto& [id, file] : inodes_.AllOpenFiles()) {
    std::lock_guard lock(file->mu);
    Status s = Persist(id, file.get(), false);
    if (!s.ok()) spdlog::error("storing file {} at exit: {}", id, s.ToString());
  }
}

}  // namespace rowfs
