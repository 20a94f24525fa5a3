// Filesystem: directory listings.
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
      FillStat(key, a, v.size, v.mtime_ms, &e.st, v.ctime_ms);
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
      if (changes_.load(std::memory_order_acquire) != h->listed_changes) {
        // Read before a change: the kernel must ask again.
        e.attr_timeout = 0;
        e.entry_timeout = 0;
      }
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
      h->listed_changes = changes_.load(std::memory_order_acquire);
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
    h->listed_changes = changes_.load(std::memory_order_acquire);
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

}  // namespace rowfs
