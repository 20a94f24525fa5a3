// One dataset's content objects in RocksDB: the ChunkIO of chunk_io.h on
// the keys ContentKey(content, index) of the dataset's column family, the
// allocation of content ids, and the pins that keep garbage collection off
// what writers and readers still use.
//
// Content ids are unique forever within a dataset: they come from a counter
// persisted in blocks (key kContentCounterKey in the dataset's family, a
// synced write per block), so a crash skips the rest of a block and never
// hands an id out twice.
//
// Thread-safety: all methods are thread-safe.
#ifndef ROWFS_SRC_CONTENT_SPACE_H_
#define ROWFS_SRC_CONTENT_SPACE_H_

#include <rocksdb/db.h>

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "chunk_io.h"
#include "rowfs/status.h"

namespace rowfs {

// In the dataset's family, beside the chunks (0x00 'n': no row key can
// start with 0x00): the next unused block of content ids, 8 bytes BE.
inline constexpr std::string_view kContentCounterKey = {"\0n", 2};

class ContentSpace : public ChunkIO {
 public:
  // Ids handed out between two persisted counter values.
  static constexpr uint64_t kIdBlock = 4096;

  ContentSpace(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf)
      : db_(db), cf_(cf) {}

  Status ReadChunk(uint64_t content, uint32_t index, std::string* out) override;
  Status ReadChunks(const std::vector<ChunkId>& ids,
                    std::vector<std::string>* out) override;
  Status WriteChunks(uint64_t content,
                     const std::vector<ChunkWrite>& chunks) override;
  Status NewContent(uint64_t* content) override;
  void Pin(const std::vector<uint64_t>& contents) override;
  void Unpin(const std::vector<uint64_t>& contents) override;

  // Held shared by whoever reads a record and then pins its contents, and
  // exclusively by garbage collection while it takes its snapshot and the
  // pins: a record read before the snapshot is pinned in the copy, one read
  // after it existed in the snapshot.
  std::shared_mutex& protect_mu() { return protect_mu_; }
  // The pinned contents and the first id never handed out, as of now.
  // REQUIRES: protect_mu() held exclusively.
  Status PinnedLocked(std::vector<uint64_t>* pinned, uint64_t* next);

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  std::shared_mutex protect_mu_;
  mutable std::mutex mu_;
  // Reads the persisted counter the first time it is needed (not at open:
  // a database of many datasets would read one key of each at start).
  Status LoadLocked();

  bool loaded_ = false;                     // guarded by mu_
  uint64_t next_ = 1;                       // guarded by mu_
  uint64_t block_end_ = 1;                  // guarded by mu_; persisted
  std::unordered_map<uint64_t, int> pins_;  // guarded by mu_
};

}  // namespace rowfs

#endif  // ROWFS_SRC_CONTENT_SPACE_H_
