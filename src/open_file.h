// The content of one column or version while handles are open on it.
//
// Every handle on the same node shares one OpenFile, so writes through one
// descriptor are visible through the others at once, as on a local
// filesystem. The whole new content is collected here and stored as one
// version when a handle is flushed (close) or fsynced with changes.
//
// Thread-safety: callers hold `mu` around every member access.
#ifndef ROWFS_SRC_OPEN_FILE_H_
#define ROWFS_SRC_OPEN_FILE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rowfs {

class OpenFile {
 public:
  // Fetches the stored content and its version's timestamp.
  using Loader = std::function<Status(std::string* data, uint64_t* ts)>;

  // A file being created: empty, and to be stored on the first flush even
  // without writes, with `attrs` as its owner and mode.
  static std::shared_ptr<OpenFile> ForCreate(const Attrs& attrs,
                                             uint64_t now_ms);
  static std::shared_ptr<OpenFile> ForExisting();

  // Loads the stored content unless already loaded (or truncated away).
  Status EnsureLoaded(const Loader& load);
  // Copies up to `size` bytes at `offset` into *out (short at the end).
  Status Read(uint64_t offset, size_t size, const Loader& load,
              std::string* out);
  // Writes at `offset`, zero-filling a gap. The kernel has already turned
  // O_APPEND into the end-of-file offset (and writes mmap pages back at
  // their own offsets through any writable handle). TooLarge when the
  // result would exceed `max_size`.
  Status Write(uint64_t offset, std::string_view data, uint64_t max_size,
               uint64_t now_ms, const Loader& load);
  // Grows (zero-filled) or shrinks the content. `at_open` (O_TRUNC) makes
  // the change deferred rather than dirty: see `deferred`.
  Status Truncate(uint64_t size, uint64_t max_size, uint64_t now_ms,
                  const Loader& load, bool at_open = false);

  // Whether there is anything to store at a flush (close) / at the last
  // release or an fsync.
  bool NeedsStoreOnFlush() const { return dirty; }
  bool NeedsStoreOnRelease() const { return dirty || deferred; }

  // Marks the content as stored at `ts`.
  void MarkStored(uint64_t ts);

  std::mutex mu;
  std::string data;
  bool loaded = false;
  bool dirty = false;  // written since loaded or last stored
  // Created or truncated by open(O_CREAT/O_TRUNC) and not written since.
  // Shells open, dup2 and close the first descriptor before writing, so
  // such a change is stored at the last release (or with the first write),
  // never at a flush; otherwise `echo x > f` would store an empty version.
  bool deferred = false;
  bool created = false;      // not stored yet at all
  bool unlinked = false;     // removed from the namespace: never stored again
  Attrs attrs;               // created files: owner and mode to store
  uint64_t modified_ms = 0;  // last change, reported as mtime while dirty
  uint64_t stored_ts = 0;    // timestamp of the version `data` came from
  // A utimens received while dirty: the version is stored at exactly this
  // timestamp instead of a server timestamp.
  std::optional<uint64_t> mtime_override;
  // Open handles. Incremented by InodeTable::AttachOpenFile under the table's
  // lock, decremented by the last step of a release under `mu`.
  std::atomic<int> handles{0};
};

}  // namespace rowfs

#endif  // ROWFS_SRC_OPEN_FILE_H_
