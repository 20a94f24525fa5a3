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
// Chunks a writer stores before its commit skip the WAL: a large content
// written in order is staged in a table file of its own (DB_DIR/staged)
// and ingested whole at the commit; other chunks go to the memtable and
// the commit flushes them (Seal).
//
// Thread-safety: all methods are thread-safe.
#ifndef ROWFS_SRC_CONTENT_SPACE_H_
#define ROWFS_SRC_CONTENT_SPACE_H_

#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
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

  ContentSpace(const ContentSpace&) = delete;
  ContentSpace& operator=(const ContentSpace&) = delete;
  ~ContentSpace() override;

  Status ReadChunk(uint64_t content, uint32_t index, std::string* out) override;
  Status ReadChunks(const std::vector<ChunkId>& ids,
                    const ChunkVisitor& visit) override;
  Status WriteChunks(uint64_t content,
                     const std::vector<ChunkWrite>& chunks) override;
  Status NewContent(uint64_t* content) override;
  void Pin(const std::vector<uint64_t>& contents) override;
  void Unpin(const std::vector<uint64_t>& contents) override;

  // Makes the chunks stored for `content` durable before a record refers
  // to them, and older than anything written of `content` after it: a
  // staged table is ingested, chunks that went to the memtable (without
  // the WAL) are flushed to a synced table. REQUIRES: called before any
  // commit that writes or refers to chunks of `content`.
  Status Seal(uint64_t content);

  // Where staged tables are written: DB_DIR/staged (removed at every
  // read-write start: what is there belongs to no record).
  static std::string StagingDir(const std::string& db_path);

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

  // A large content written in chunk order goes to a table file of its own
  // and is ingested into the family whole (IngestExternalFile), skipping
  // the memtable, its flushes and the compactions of those flushes.
  struct StagedTable {
    std::mutex mu;  // held while it is written, finished or removed
    std::unique_ptr<rocksdb::SstFileWriter> writer;  // guarded by mu
    std::string path;
    uint32_t last_index = 0;  // guarded by mu
  };
  // Batches at least this large start a staged table (a sequential writer
  // stores ContentWriter::kFlushBytes at a time).
  static constexpr uint64_t kStageMinBytes = 1 << 20;
  Status Stage(uint64_t content, const std::vector<ChunkWrite>& chunks);
  // Ingests the staged table of `content`, if any: before any newer chunk
  // of it reaches the memtable (an ingested file is newer than the
  // memtable), and before it is read or committed.
  Status IngestStaged(uint64_t content);
  // Takes the staged table of `content` out of staged_ (null if none).
  std::shared_ptr<StagedTable> TakeStaged(uint64_t content);
  // REQUIRES: mu_ held.
  std::shared_ptr<StagedTable> TakeStagedLocked(uint64_t content);
  // Closes and removes a table taken out of staged_ (null: nothing).
  static void RemoveStaged(const std::shared_ptr<StagedTable>& table);
  // Chunks of `content` were lost (a staged table could not be written or
  // ingested): every later use of it fails with `why`, so that no record
  // ever refers to them.
  Status Broken(uint64_t content, const Status& why);

  bool loaded_ = false;                     // guarded by mu_
  uint64_t next_ = 1;                       // guarded by mu_
  uint64_t block_end_ = 1;                  // guarded by mu_; persisted
  std::unordered_map<uint64_t, int> pins_;  // guarded by mu_
  // Contents being staged, each by its one writer.
  std::unordered_map<uint64_t, std::shared_ptr<StagedTable>>
      staged_;                                   // guarded by mu_
  std::atomic<size_t> staged_count_{0};          // staged_.size()
  std::unordered_map<uint64_t, Status> broken_;  // guarded by mu_
  std::unordered_set<uint64_t> unflushed_;       // guarded by mu_
  uint64_t next_table_ = 0;                      // guarded by mu_
};

}  // namespace rowfs

#endif  // ROWFS_SRC_CONTENT_SPACE_H_
