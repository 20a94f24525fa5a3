// A file's content while it is open for writing: the bytes of the version
// it was opened on (its base), plus what was written since, held as dirty
// chunks. Memory is bounded: beyond a few MiB of dirty chunks per writer,
// or when the store's DirtyBudget is exceeded, complete dirty chunks are
// stored (as chunks of this writer's own content object, still invisible)
// and dropped from memory. Closing the file makes a record (Finish) whose
// chunk map shares every chunk the writes did not touch with the base.
//
// Chunk size: a base with a chunk map fixes it (sharing needs the same
// chunking). A content without one is buffered whole until it is first
// stored or finished, and then chunked by its size: 4 KiB chunks (a
// database page) below 4 MiB, 64 KiB above (fewer keys for large files).
//
// Thread-safety: not thread-safe; the open file's mutex guards it.
#ifndef ROWFS_SRC_CONTENT_WRITER_H_
#define ROWFS_SRC_CONTENT_WRITER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chunk_io.h"
#include "rowfs/status.h"
#include "version_record.h"

namespace rowfs {

class ContentWriter {
 public:
  // Dirty bytes one writer holds before it stores complete chunks.
  static constexpr uint64_t kFlushBytes = 4 << 20;
  // Contents below this size get small chunks.
  static constexpr uint64_t kLargeContentBytes = 4 << 20;

  // `io` and `budget` must outlive the writer. `base` (null: an empty
  // file) is the version the file was opened on; the caller pinned its
  // contents (ContentsOf) and unpins base_contents() when done.
  ContentWriter(ChunkIO* io, DirtyBudget* budget, const VersionRecord* base);
  ~ContentWriter();
  ContentWriter(const ContentWriter&) = delete;
  ContentWriter& operator=(const ContentWriter&) = delete;

  uint64_t size() const { return size_; }
  // Whether anything was written or truncated since the base.
  bool changed() const { return changed_; }

  // Up to `n` bytes at `offset` (short at the end of the content).
  Status Read(uint64_t offset, size_t n, std::string* out);
  // Writes at `offset`, zero-filling a gap after the end.
  Status Write(uint64_t offset, std::string_view data);
  // Grows (with zeros) or shrinks the content.
  Status Truncate(uint64_t size);

  // The record of the version these bytes make, and the dirty chunks of
  // its content object still to store with it (in the same atomic batch
  // as the record). `*content` is that object's id (0 when the record is
  // inline or needs no new chunk). The views in *chunks stay valid until
  // the next call on this writer.
  Status Finish(VersionRecord* record, uint64_t* content,
                std::vector<ChunkWrite>* chunks);
  // After the record from Finish was committed: it becomes the base, and
  // later writes start a new content object. Returns the contents the
  // writer no longer needs pinned (the old base's and its own, now
  // protected by the committed record); the caller pins the new base's
  // before calling this.
  std::vector<uint64_t> Committed(const VersionRecord& record);

  // The contents of the base the caller pinned for this writer.
  const std::vector<uint64_t>& base_contents() const { return pinned_base_; }

  // Dirty bytes held now (for tests and statistics).
  uint64_t dirty_bytes() const { return dirty_bytes_; }

 private:
  uint64_t chunk_size() const { return uint64_t{1} << shift_; }
  // Whether the chunk size may still change (nothing chunked is shared or
  // stored yet).
  bool ShiftOpen() const { return !shift_fixed_; }
  void FixShift();
  // The stored bytes of chunk `index` as of now (dirty, stored by this
  // writer, or the base's), without the implicit zeros.
  Status ChunkBytes(uint32_t index, std::string* out);
  // The dirty buffer of chunk `index`, loaded first unless `overwrite`.
  Status Dirty(uint32_t index, bool overwrite, std::string** buffer);
  void SetDirtyBytes(uint64_t n);
  // Stores complete dirty chunks when over a limit.
  Status MaybeStore();
  Status Store(bool keep_tail);

  ChunkIO* const io_;
  DirtyBudget* const budget_;
  VersionRecord base_;  // inline data moved into dirty_ at construction
  bool has_base_map_ = false;
  uint8_t shift_ = kSmallChunkShift;
  bool shift_fixed_ = false;
  uint64_t size_ = 0;
  bool changed_ = false;
  std::map<uint32_t, std::string> dirty_;
  uint64_t dirty_bytes_ = 0;
  uint64_t content_ = 0;       // this writer's content object (0: none yet)
  std::set<uint32_t> stored_;  // chunks of content_ already stored
  std::string scratch_;
  std::vector<uint64_t> pinned_base_;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_CONTENT_WRITER_H_
