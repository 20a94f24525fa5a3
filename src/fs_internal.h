// What the fs_*.cc files implementing Filesystem share. Internal.
//
// Filesystem's handlers are split by what they hold, as RocksDB splits
// DBImpl:
//   fs_core.cc        nodes, names, attributes, lookup, getattr, statfs
//   fs_entries.cc     setattr (truncate, chmod, utimens), mkdir, mknod,
//                     unlink, rmdir, rename
//   fs_files.cc       create, open, read, write, flush, fsync, release, and
//                     storing an open file's content
//   fs_dirs.cc        opendir, readdir(plus), releasedir
//   fs_views.cc       @snapshot and @asof views
//   fs_xattr.cc       extended attributes: policies, statistics, controls
//   fs_invalidate.cc  kernel cache timeouts and invalidation
//   fs_ops.cc         the libfuse operation table (exceptions stop there)
#ifndef ROWFS_SRC_FS_INTERNAL_H_
#define ROWFS_SRC_FS_INTERNAL_H_

#include <sys/stat.h>

#include <charconv>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "filesystem.h"
#include "rowfs/key_codec.h"
#include "rowfs/names.h"

namespace rowfs {
namespace fs {

namespace {

inline constexpr std::string_view kMaxVersionsXattr = "user.rowfs.max_versions";
inline constexpr std::string_view kTtlXattr = "user.rowfs.ttl";
inline constexpr std::string_view kKeepDeletedXattr = "user.rowfs.keep_deleted";

inline timespec MsToTimespec(uint64_t ms) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return ts;
}

// A time in ms; InvalidArgument beyond kMaxTimestamp (seconds that would
// wrap in the conversion). Times before the epoch are the epoch.
inline Status TimespecToMs(const timespec& ts, uint64_t* ms) {
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

inline bool IsDir(NodeKind k) {
  return k != NodeKind::kColumn && k != NodeKind::kVersion;
}

inline CellRef RefOf(const NodeKey& k) {
  CellRef r{k.dataset, k.row, k.column, std::nullopt};
  if (k.kind == NodeKind::kVersion) r.ts = k.ts;
  return r;
}

// A column made only through "col@ts" files: see kAttrImplicitColumn.
inline bool IsImplicit(const ColumnInfo& info) {
  return info.attrs && (info.attrs->flags & kAttrImplicitColumn) != 0;
}

inline bool IsWholeSecond(uint64_t ms) { return ms % 1000 == 0; }

// "/dir/name" for messages about a name inside `dir` ("/name" at the root).
inline std::string ChildPath(const NodeKey& dir, std::string_view name) {
  std::string path = dir.Path();
  if (path.back() != '/') path.push_back('/');
  return path.append(name);
}

// A view root's mtime: when its snapshot was taken, or its "as of" time.
inline uint64_t ViewTime(const ReadView& view) {
  return view.snapshot != nullptr ? view.snapshot->time_ms() : view.as_of;
}
inline bool SameSecond(uint64_t a, uint64_t b) { return a / 1000 == b / 1000; }

inline Status ParseUnsigned(std::string_view text, uint64_t* v) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return Status::InvalidArgument("value '" + std::string(text) +
                                   "' is not a non-negative integer");
  }
  return Status::OK();
}

}  // namespace

}  // namespace fs

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
  // Filesystem::changes_ when the listing (or the cursor) read the store.
  uint64_t listed_changes = 0;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_FS_INTERNAL_H_
