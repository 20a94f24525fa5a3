// The FUSE low-level filesystem: every operation of ../shared/SPEC.md mapped
// onto Store calls.
//
// Handlers are thin: resolve the node, call the store, reply. Each handler
// path sends exactly one fuse_reply_*, as its last statement; errors go
// through Fail(), which logs the path and reason and maps the Status to an
// errno (errno_map.h). The C trampolines in filesystem.cc catch every
// exception before it can reach libfuse.
//
// Kernel caching: entries and attributes are cached for the configured
// timeouts and file pages are kept between opens; whenever the daemon
// changes something the kernel cannot know (a column's latest version
// after a write through a version file, a rename over an existing column,
// names of versions that vanished), it invalidates the affected inodes
// synchronously and dentries from a background thread (libfuse forbids
// dentry invalidation from inside a related request).
#ifndef ROWFS_SRC_FILESYSTEM_H_
#define ROWFS_SRC_FILESYSTEM_H_

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "fs_counters.h"
#include "inode_table.h"
#include "logging.h"
#include "open_file.h"
#include "rowfs/store.h"

namespace rowfs {

struct FsOptions {
  bool versions_hidden = false;  // listings show latest values only
  // Seconds the kernel may cache a name / attributes (see CacheTimeout).
  double entry_timeout = 60.0;
  double attr_timeout = 60.0;
  uint32_t default_uid = 0;  // owner of entries stored without one
  uint32_t default_gid = 0;
  uint64_t max_file_size = 1ull << 30;  // largest column value (EFBIG)
  // The database changes under the daemon (a follower): file pages are not
  // kept between opens.
  bool follower = false;
  // Snapshots that may exist at once (each pins what RocksDB would reclaim).
  size_t max_snapshots = 64;
};

class Filesystem {
 public:
  // `store` must outlive the Filesystem.
  Filesystem(Store* store, const FsOptions& options);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // The operation table to pass to fuse_session_new with `this` as userdata.
  static const fuse_lowlevel_ops& Operations();
  // Must be called once the session exists and before it is mounted, so
  // that invalidations can be sent.
  void SetSession(fuse_session* session);
  // Sends no more invalidations and waits for the one being sent. Must be
  // called after the session loop ended and before fuse_session_unmount,
  // which closes the descriptor they are written to (its number may then
  // be reused by a file of the database).
  void StopNotifying();

  const InodeTable& inodes() const { return inodes_; }
  // Stores every file still open with changes. For the end of a session
  // that ended before the kernel released every file (a lazy unmount).
  void PersistOpenFiles();
  const FsCounters& counters() const { return counters_; }
  void CountOp(FsOp op) { counters_.Op(op); }

  // ---- Handlers (called through the trampolines) ----
  void Init(fuse_conn_info* conn);
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_ino_t ino, uint64_t nlookup);
  void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi);
  void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
             dev_t rdev);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
              fuse_ino_t newparent, const char* newname, unsigned int flags);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi);
  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
            fuse_file_info* fi);
  void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
             off_t off, fuse_file_info* fi);
  void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
  void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
               fuse_file_info* fi, bool plus);
  void ReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void FsyncDir(fuse_req_t req, fuse_ino_t ino);
  void StatFs(fuse_req_t req, fuse_ino_t ino);
  void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name,
                const char* value, size_t size, int flags);
  void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
  void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size);
  void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name);
  void NotPermitted(fuse_req_t req, const char* op, fuse_ino_t parent,
                    const char* name);

 private:
  struct FileHandle;
  struct DirHandle;
  struct DirEntry;

  // Replies with the Status's errno and logs the refusal or failure.
  void Fail(fuse_req_t req, const char* op, const std::string& path,
            const Status& s);
  // The node for `ino`; NotFound (stale) for an unknown one.
  Status GetNode(fuse_ino_t ino, NodeInfo* node) const;
  // The key a name inside `parent` would have. Validates the name.
  Status ChildKey(const NodeInfo& parent, std::string_view name,
                  NodeKey* key) const;
  // Attributes of an entry, from an open file when it has unstored changes.
  Status StatKey(const NodeKey& key, const std::shared_ptr<OpenFile>& open,
                 struct stat* st) const;
  // `ctime_ms` 0: the mtime (a version's is when it or its time last
  // changed: tar -g and find -cnewer look at it).
  void FillStat(const NodeKey& key, const Attrs& attrs, uint64_t size,
                uint64_t mtime_ms, struct stat* st,
                uint64_t ctime_ms = 0) const;
  Attrs DirDefaults() const;
  Attrs FileDefaults() const;
  // A new entry's owner and mode: the request's uid and gid, or the group
  // of `dir` when it is setgid (and then, for a `directory`, its setgid
  // bit too).
  Attrs CallerAttrs(fuse_req_t req, mode_t mode, const NodeInfo& dir,
                    bool directory) const;
  // For a name inside a row: a version of an existing column may be made,
  // replaced or removed only by those allowed to write the column (see
  // access.h); PermissionDenied otherwise. OK for every other name.
  Status CheckVersionAccess(fuse_req_t req, const NodeKey& key) const;
  // The meta record a new file at `key` stores: the creator's, except for
  // a version of an existing column (none: versions share the column's) and
  // a version that creates its column (the creator's, marked implicit).
  Status NewFileAttrs(const NodeKey& key, const Attrs& creator,
                      std::optional<Attrs>* attrs) const;
  Status CurrentAttrs(const NodeInfo& node, Attrs* attrs) const;
  Status SetAttrs(const NodeInfo& node, const Attrs& attrs);

  // Counts a lookup on `key` and fills *e for fuse_reply_entry/create.
  NodeInfo MakeEntry(const NodeKey& key, const struct stat& st,
                     fuse_entry_param* e);
  // OpenFile's access to the stored content of node `id` (resolved when
  // the file first needs it).
  class NodeSource : public OpenFile::Source {
   public:
    NodeSource(const Filesystem* fs, NodeId id) : fs_(fs), id_(id) {}
    Status OpenReader(std::unique_ptr<VersionReader>* reader) override;
    Status NewWriter(const VersionReader* base,
                     std::unique_ptr<FileWriter>* writer) override;

   private:
    const Filesystem* const fs_;
    const NodeId id_;
  };
  // Marks the open file of `key` (if any) unlinked, keeping what it holds
  // readable through its descriptors; *was_created tells whether it was
  // never stored.
  Status OrphanOpenFile(const NodeKey& key, bool* was_created);
  // After `version` was removed or moved away: if its column has no version
  // left, forgets the column's node and invalidates the kernel's entry.
  void ForgetIfColumnVanished(const NodeKey& version);
  // Drops one handle of `f`; the last one stores pending changes and
  // detaches the file from its node.
  void DropHandle(NodeId id, OpenFile* f);
  // Stores the open file's content as one version. REQUIRES: f->mu held.
  Status Persist(NodeId id, OpenFile* f, bool sync);
  // utimens of a stored version (Store::SetVersionTime): it shows the time,
  // and takes it as its name where that keeps its place in history.
  Status SetTime(const NodeInfo& node, uint64_t to_ms);
  // A truncate(2) of a file with no open handle: one new version.
  Status TruncateClosed(const NodeInfo& node, uint64_t size);

  // Kernel cache invalidation.
  void InvalidateColumn(std::string_view ds, std::string_view row,
                        std::string_view col, NodeId keep_data_of = 0);
  void InvalidateInode(NodeId id, bool data);
  // How long (seconds) the kernel may cache `key`'s name and attributes.
  struct CacheTimeouts {
    double entry, attr;
  };
  CacheTimeouts CacheTimeoutsOf(const NodeKey& key) const;
  // Drops the kernel's names and attributes of a dataset's tree (its
  // policy changed what is visible).
  void InvalidateDataset(const std::string& dataset);
  // After version `ts` of `key`'s column was stored.
  void InvalidateWritten(const NodeKey& key, uint64_t ts, NodeId keep_data_of);
  void QueueEntryInvalidations(std::vector<EntryInvalidation> entries);
  void InvalidatorLoop();

  Status ReadXattr(const NodeKey& key, std::string_view name,
                   std::string* value) const;
  Status WriteXattr(const NodeKey& key, std::string_view name,
                    std::string_view value);
  // Views: "/@snapshot/NAME" (a RocksDB snapshot made by mkdir) and
  // "/@asof/T" (every column as of T). Their trees are read-only.
  struct View {
    bool snapshot;
    std::string name;
    ReadView read;
    uint64_t made_ms = 0;
  };
  static constexpr std::string_view kSnapshotDirName = "@snapshot";
  static constexpr std::string_view kAsofDirName = "@asof";
  // The view id for "as of t", made on first use; "as of" views the kernel
  // no longer holds are dropped then.
  uint32_t AsOfView(uint64_t t) const;
  // An unused view id, never 0 (the live tree). REQUIRES: views_mu_ held.
  uint32_t NewViewIdLocked() const;
  // NotPermitted unless the caller is root or the mount's owner.
  Status CheckSnapshotOwner(fuse_req_t req) const;
  // NotPermitted unless the caller owns the dataset `key` names (or is
  // root); OK for other entries.
  Status CheckPolicyOwner(fuse_req_t req, const NodeKey& key) const;
  // The ReadView of the tree `key` belongs to; NotFound once a snapshot
  // was removed.
  Status ViewOf(const NodeKey& key, ReadView* view) const;
  // ReadOnly inside views and on a read-only mount.
  Status CheckWritable(const NodeKey& key) const;
  Status CreateSnapshot(std::string_view name, NodeKey* root);
  Status DropSnapshot(std::string_view name);

  Status FillDir(DirHandle* h, const NodeInfo& dir);
  // Fills `buf` with entries from offset `off` on. REQUIRES: h->mu held.
  Status FillDirBuffer(fuse_req_t req, DirHandle* h, off_t off, bool plus,
                       std::string* buf, size_t* used);
  Status NextDatasetEntry(DirHandle* h, DirEntry* entry, bool* done);

  uint64_t Now() const;

  Store* const store_;
  const FsOptions options_;
  // Name changes in a directory (create, unlink, rename, mkdir, rmdir) are
  // exclusive against lookups and listings of that directory, so a lookup's
  // "is it in the store" and "which node" answer the same state a rename or
  // unlink leaves behind. Striped by directory.
  class DirLocks {
   public:
    std::shared_mutex& For(const NodeKey& dir);
    // Exclusive locks on the stripes of `a` and `b`, in a global order.
    class Pair {
     public:
      Pair(DirLocks* locks, const NodeKey& a, const NodeKey& b);

     private:
      std::unique_lock<std::shared_mutex> first_, second_;
    };

   private:
    std::array<std::shared_mutex, 256> stripes_;
  };
  // Handles handed to the kernel in fi->fh. Owned here, not leaked, when a
  // session ends (a lazy unmount) before the kernel releases them.
  template <typename T>
  class HandleRegistry {
   public:
    T* Add(std::unique_ptr<T> h) {
      std::lock_guard lock(mu_);
      T* raw = h.get();
      live_.emplace(raw, std::move(h));
      return raw;
    }
    std::unique_ptr<T> Take(T* h) {
      std::lock_guard lock(mu_);
      auto it = live_.find(h);
      if (it == live_.end()) return nullptr;
      std::unique_ptr<T> out = std::move(it->second);
      live_.erase(it);
      return out;
    }

   private:
    std::mutex mu_;
    std::unordered_map<T*, std::unique_ptr<T>> live_;
  };
  HandleRegistry<FileHandle> handles_;
  HandleRegistry<DirHandle> dir_handles_;
  DirLocks dir_locks_;
  InodeTable inodes_;
  FsCounters counters_;
  mutable std::mutex views_mu_;
  mutable std::map<uint32_t, View> views_;
  mutable uint32_t next_view_ = 1;
  fuse_session* session_ = nullptr;
  uint64_t mount_time_ms_ = 0;

  std::mutex inval_mu_;
  std::condition_variable inval_cv_;
  std::deque<EntryInvalidation> inval_queue_;
  bool inval_stop_ = false;            // also: nothing is queued once set
  std::atomic<bool> notifying_{true};  // false once StopNotifying began
  // Counts changes the kernel is told of (or would be, for nodes it does
  // not know yet). A directory listing records it when it reads the store:
  // entries served after it moved may be stale, and are given to the
  // kernel without cache time (a later READDIRPLUS of a listing read
  // earlier would otherwise overwrite fresher attributes for 60 s).
  std::atomic<uint64_t> changes_{0};
  std::thread invalidator_;
  LogRateLimit refusal_log_{20};  // refusals logged per second
};

}  // namespace rowfs

#endif  // ROWFS_SRC_FILESYSTEM_H_
