// The content space of one dataset as the version layer sees it: chunks of
// content objects, read and written by (content id, chunk index). The
// storage engine implements it (RocksDB: keys under ContentKey in the
// dataset's column family); tests use an in-memory one.
//
// A content object is written once, by one writer, between its id's
// allocation and the commit of the version record that refers to it; it
// is never changed after that commit. Its chunks are invisible to readers
// until a record refers to them, so a writer killed half-way leaves only
// unreferenced chunks, which garbage collection removes.
#ifndef ROWFS_SRC_CHUNK_IO_H_
#define ROWFS_SRC_CHUNK_IO_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rowfs/status.h"
#include "version_record.h"

namespace rowfs {

struct ChunkWrite {
  uint32_t index;
  std::string_view bytes;  // at most the chunk size
};

class ChunkIO {
 public:
  virtual ~ChunkIO() = default;
  // The bytes stored for chunk `index` of `content` (possibly shorter than
  // the chunk size: the rest is zeros). Corruption when it is missing: a
  // record referred to a chunk that is not there.
  virtual Status ReadChunk(uint64_t content, uint32_t index,
                           std::string* out) = 0;
  // Calls `visit(i, bytes)` with the bytes of chunk `ids[i]` (as ReadChunk
  // would give them), for every i, in one call: a store can fetch
  // neighbouring chunks with one read and hand them over without a copy.
  // `bytes` is valid during the call only. REQUIRES: `ids` sorted.
  struct ChunkId {
    uint64_t content;
    uint32_t index;
  };
  using ChunkVisitor = std::function<void(size_t i, std::string_view bytes)>;
  virtual Status ReadChunks(const std::vector<ChunkId>& ids,
                            const ChunkVisitor& visit) {
    std::string chunk;
    for (size_t i = 0; i < ids.size(); ++i) {
      ROWFS_RETURN_IF_ERROR(ReadChunk(ids[i].content, ids[i].index, &chunk));
      visit(i, chunk);
    }
    return Status::OK();
  }
  // Stores chunks of `content`, not durably: the commit of the record that
  // refers to them must first make them durable (FlushChunks).
  // REQUIRES: `content` came from NewContent() of this ChunkIO and its
  // record is not committed.
  virtual Status WriteChunks(uint64_t content,
                             const std::vector<ChunkWrite>& chunks) = 0;
  // A fresh content id, pinned (see Pin) until Unpin.
  virtual Status NewContent(uint64_t* content) = 0;
  // Protects the contents a writer or reader may still use (its base
  // version's, its own uncommitted one) from garbage collection, whatever
  // happens to the records that refer to them meanwhile.
  virtual void Pin(const std::vector<uint64_t>& contents) = 0;
  virtual void Unpin(const std::vector<uint64_t>& contents) = 0;
};

// The content ids a record refers to, each once.
std::vector<uint64_t> ContentsOf(const VersionRecord& record);

// Bytes buffered by writers and not yet stored, shared by every writer of
// a store, so that the total stays near `limit` whatever users write.
// Thread-safe.
class DirtyBudget {
 public:
  explicit DirtyBudget(uint64_t limit) : limit_(limit) {}
  void Add(uint64_t n) { used_.fetch_add(n, std::memory_order_relaxed); }
  void Sub(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  bool Over() const {
    return used_.load(std::memory_order_relaxed) >
           limit_.load(std::memory_order_relaxed);
  }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  void SetLimit(uint64_t limit) {
    limit_.store(limit, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> limit_;
  std::atomic<uint64_t> used_{0};
};

}  // namespace rowfs

#endif  // ROWFS_SRC_CHUNK_IO_H_
