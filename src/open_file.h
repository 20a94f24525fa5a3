// The content of one column or version while handles are open on it.
//
// Every handle on the same node shares one OpenFile, so writes through one
// descriptor are visible through the others at once, as on a local
// filesystem. Until it is written, an open file reads the stored version
// by range (a VersionReader: nothing is loaded at open); the first change
// makes a FileWriter that streams the new content in bounded memory and
// shares what it does not change with the stored version. A flush (close)
// or fsync with changes stores one version.
//
// Thread-safety: callers hold `mu` around every member access.
#ifndef ROWFS_SRC_OPEN_FILE_H_
#define ROWFS_SRC_OPEN_FILE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rowfs {

class OpenFile {
 public:
  // Where the stored content comes from: the node's version as the store
  // has it now. Implemented by the filesystem for the file's node.
  class Source {
   public:
    virtual ~Source() = default;
    virtual Status OpenReader(std::unique_ptr<VersionReader>* reader) = 0;
    // A writer starting from what `base` reads (null: empty).
    virtual Status NewWriter(const VersionReader* base,
                             std::unique_ptr<FileWriter>* writer) = 0;
  };

  // A file being created: empty, and to be stored on the first flush even
  // without writes, with `attrs` as its owner and mode.
  static std::shared_ptr<OpenFile> ForCreate(const Attrs& attrs,
                                             uint64_t now_ms);
  static std::shared_ptr<OpenFile> ForExisting();

  // Opens the stored version unless the file has content already.
  Status EnsureLoaded(Source* source);
  bool loaded() const { return writer != nullptr || reader != nullptr; }
  // The content's size (0 when not loaded).
  uint64_t size() const;
  // Copies up to `size` bytes at `offset` into *out (short at the end).
  Status Read(uint64_t offset, size_t size, Source* source, std::string* out);
  // Writes at `offset`, zero-filling a gap. The kernel has already turned
  // O_APPEND into the end-of-file offset (and writes mmap pages back at
  // their own offsets through any writable handle). TooLarge when the
  // result would exceed `max_size`.
  Status Write(uint64_t offset, std::string_view data, uint64_t max_size,
               uint64_t now_ms, Source* source);
  // Grows (zero-filled) or shrinks the content. `at_open` (O_TRUNC) makes
  // the change deferred rather than dirty: see `deferred`.
  Status Truncate(uint64_t size, uint64_t max_size, uint64_t now_ms,
                  Source* source, bool at_open = false);

  // Whether there is anything to store at a flush (close) / at the last
  // release or an fsync.
  bool NeedsStoreOnFlush() const { return dirty; }
  bool NeedsStoreOnRelease() const { return dirty || deferred; }

  // Marks the content as stored at `ts`.
  void MarkStored(uint64_t ts);

  std::mutex mu;
  // The stored version being read (until the first change), or the new
  // content being written (from then on).
  std::unique_ptr<VersionReader> reader;
  std::unique_ptr<FileWriter> writer;
  bool dirty = false;  // written since loaded or last stored
  // Created or truncated by open(O_CREAT/O_TRUNC) and not written since.
  // Shells open, dup2 and close the first descriptor before writing, so
  // such a change is stored at the last release (or with the first write),
  // never at a flush; otherwise `echo x > f` would store an empty version.
  bool deferred = false;
  bool created = false;       // not stored yet at all
  bool unlinked = false;      // removed from the namespace: never stored again
  Attrs attrs;                // created files: owner and mode to store
  uint64_t modified_ms = 0;   // last change, reported as mtime while dirty
  uint64_t stored_ts = 0;     // timestamp of the version it came from
  uint64_t stored_mtime = 0;  // the mtime that version shows
  // A utimens received while dirty: the version shows exactly this time.
  std::optional<uint64_t> mtime_override;
  // Open handles. Incremented by InodeTable::AttachOpenFile under the table's
  // lock, decremented by the last step of a release under `mu`.
  std::atomic<int> handles{0};

 private:
  // The writer, made from the stored version on first need.
  Status EnsureWriter(Source* source);
};

}  // namespace rowfs

#endif  // ROWFS_SRC_OPEN_FILE_H_
