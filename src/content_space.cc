#include "content_space.h"

#include <rocksdb/write_batch.h>

#include <cstdio>

#include "coding.h"
#include "iterator_pool.h"
#include "rowfs/key_codec.h"
#include "store_write_path.h"

namespace rowfs {
namespace {

// A record referred to a chunk that is not there.
Status MissingChunk(uint64_t content, uint32_t index) {
  return Status::Corruption("chunk " + std::to_string(index) + " of content " +
                            std::to_string(content) + " is missing");
}

}  // namespace

Status ContentSpace::LoadLocked() {
  if (loaded_) return Status::OK();
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_,
                               ToSlice(kContentCounterKey), &value);
  if (s.IsNotFound()) {
    next_ = block_end_ = 1;
  } else if (!s.ok()) {
    return Status::FromRocksDB(s, "reading the content counter");
  } else if (value.size() != 8) {
    return Status::Corruption("content counter");
  } else {
    next_ = block_end_ = DecodeFixed64BE(value.data());
  }
  loaded_ = true;
  return Status::OK();
}

ContentSpace::~ContentSpace() {
  std::lock_guard lock(mu_);
  for (const auto& [content, table] : staged_) RemoveStaged(table);
}

std::string ContentSpace::StagingDir(const std::string& db_path) {
  return db_path + "/staged";
}

Status ContentSpace::ReadChunk(uint64_t content, uint32_t index,
                               std::string* out) {
  if (staged_count_.load(std::memory_order_acquire) != 0) {
    ROWFS_RETURN_IF_ERROR(IngestStaged(content));  // its writer reads back
  }
  rocksdb::ReadOptions ro;
  // Large files pass through the kernel's page cache already; keep their
  // chunks from evicting the records everyone reads.
  ro.fill_cache = false;
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      db_->Get(ro, cf_, ToSlice(ContentKey(content, index)), &value);
  if (s.IsNotFound()) return MissingChunk(content, index);
  if (!s.ok()) return Status::FromRocksDB(s, "reading a chunk");
  out->assign(value.data(), value.size());
  return Status::OK();
}

Status ContentSpace::ReadChunks(const std::vector<ChunkId>& ids,
                                const ChunkVisitor& visit) {
  if (staged_count_.load(std::memory_order_acquire) != 0) {
    // Sorted: each content once.
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i == 0 || ids[i].content != ids[i - 1].content) {
        ROWFS_RETURN_IF_ERROR(IngestStaged(ids[i].content));
      }
    }
  }
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const ChunkId& id : ids) {
    keys.push_back(ContentKey(id.content, id.index));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // as ReadChunk
  // Keys in order: RocksDB reads neighbouring blocks of one table file
  // with one read.
  db_->MultiGet(ro, cf_, ids.size(), slices.data(), values.data(),
                statuses.data(), /*sorted_input=*/true);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      return MissingChunk(ids[i].content, ids[i].index);
    }
    if (!statuses[i].ok()) {
      return Status::FromRocksDB(statuses[i], "reading a chunk");
    }
    visit(i, ToView(values[i]));
  }
  return Status::OK();
}

Status ContentSpace::WriteChunks(uint64_t content,
                                 const std::vector<ChunkWrite>& chunks) {
  if (chunks.empty()) return Status::OK();
  size_t bytes = 0;
  for (const ChunkWrite& c : chunks) bytes += c.bytes.size() + 32;
  std::shared_ptr<StagedTable> table;
  {
    std::lock_guard lock(mu_);
    if (auto b = broken_.find(content); b != broken_.end()) return b->second;
    if (auto it = staged_.find(content); it != staged_.end()) {
      table = it->second;
    }
  }
  bool in_order = false;
  if (table != nullptr) {
    std::lock_guard lock(table->mu);
    in_order = chunks.front().index > table->last_index;
  }
  if (in_order || (table == nullptr && bytes >= kStageMinBytes)) {
    return Stage(content, chunks);
  }
  // Out of order: what is staged goes in first, so that these newer chunks
  // win over it.
  if (table != nullptr) ROWFS_RETURN_IF_ERROR(IngestStaged(content));
  {
    std::lock_guard lock(mu_);
    unflushed_.insert(content);
  }
  rocksdb::WriteBatch wb(bytes + 64);
  for (const ChunkWrite& c : chunks) {
    wb.Put(cf_, ToSlice(ContentKey(content, c.index)), ToSlice(c.bytes));
  }
  // Without the WAL: these chunks are invisible until a record refers to
  // them, and the commit of that record first flushes them to a table file
  // (see Store::CommitWriter). Writing a large file's bytes to the WAL too
  // cost a third of the write's time; a crash before the commit loses only
  // chunks nothing refers to.
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  return Status::FromRocksDB(WriteToRocksDB(db_, wo, &wb), "storing chunks");
}

Status ContentSpace::Stage(uint64_t content,
                           const std::vector<ChunkWrite>& chunks) {
  std::shared_ptr<StagedTable> table;
  rocksdb::Status s;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<StagedTable>& slot = staged_[content];
    if (slot == nullptr) {
      // Made whole here, under mu_: whoever finds it in staged_ finds an
      // open writer.
      auto made = std::make_shared<StagedTable>();
      made->path = StagingDir(db_->GetName()) + "/" + cf_->GetName() + "-" +
                   std::to_string(content) + "-" +
                   std::to_string(++next_table_) + ".sst";
      s = db_->GetEnv()->CreateDirIfMissing(StagingDir(db_->GetName()));
      const rocksdb::Options options = db_->GetOptions(cf_);
      made->writer = std::make_unique<rocksdb::SstFileWriter>(
          rocksdb::EnvOptions(options), options, cf_);
      if (s.ok()) s = made->writer->Open(made->path);
      if (s.ok()) {
        slot = std::move(made);
      } else {
        staged_.erase(content);
        std::remove(made->path.c_str());
      }
      staged_count_.store(staged_.size(), std::memory_order_release);
    }
    if (s.ok()) table = slot;
  }
  if (s.ok()) {
    std::lock_guard lock(table->mu);
    for (size_t i = 0; s.ok() && i < chunks.size(); ++i) {
      s = table->writer->Put(ContentKey(content, chunks[i].index),
                             ToSlice(chunks[i].bytes));
      if (s.ok()) table->last_index = chunks[i].index;
    }
  }
  if (s.ok()) return Status::OK();
  // Chunks staged by earlier batches went with the table.
  return Broken(content, Status::FromRocksDB(s, "staging chunks"));
}

std::shared_ptr<ContentSpace::StagedTable> ContentSpace::TakeStaged(
    uint64_t content) {
  std::lock_guard lock(mu_);
  return TakeStagedLocked(content);
}

std::shared_ptr<ContentSpace::StagedTable> ContentSpace::TakeStagedLocked(
    uint64_t content) {
  auto it = staged_.find(content);
  if (it == staged_.end()) return nullptr;
  std::shared_ptr<StagedTable> table = std::move(it->second);
  staged_.erase(it);
  staged_count_.store(staged_.size(), std::memory_order_release);
  return table;
}

void ContentSpace::RemoveStaged(const std::shared_ptr<StagedTable>& table) {
  if (table == nullptr) return;
  std::lock_guard lock(table->mu);
  table->writer.reset();
  std::remove(table->path.c_str());
}

Status ContentSpace::IngestStaged(uint64_t content) {
  std::shared_ptr<StagedTable> table;
  {
    std::lock_guard lock(mu_);
    table = TakeStagedLocked(content);
    if (table == nullptr) {
      auto it = broken_.find(content);
      return it == broken_.end() ? Status::OK() : it->second;
    }
  }
  std::lock_guard lock(table->mu);
  if (table->writer == nullptr) {  // removed meanwhile (Broken)
    std::lock_guard relock(mu_);
    auto it = broken_.find(content);
    return it == broken_.end() ? Status::OK() : it->second;
  }
  // Finish syncs the file; ingestion links it into the database and
  // records it in the MANIFEST (durable), then removes the staged name.
  rocksdb::Status s = table->writer->Finish();
  if (s.ok()) {
    rocksdb::IngestExternalFileOptions o;
    o.move_files = true;
    s = db_->IngestExternalFile(cf_, {table->path}, o);
  }
  if (s.ok()) return Status::OK();
  table->writer.reset();
  std::remove(table->path.c_str());
  return Broken(content, Status::FromRocksDB(s, "storing staged chunks"));
}

Status ContentSpace::Broken(uint64_t content, const Status& why) {
  RemoveStaged(TakeStaged(content));
  std::lock_guard lock(mu_);
  broken_.emplace(content, why);
  return why;
}

Status ContentSpace::Seal(uint64_t content) {
  ROWFS_RETURN_IF_ERROR(IngestStaged(content));
  {
    std::lock_guard lock(mu_);
    if (unflushed_.count(content) == 0) return Status::OK();
  }
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      db_->Flush(rocksdb::FlushOptions(), cf_), "storing chunks"));
  // Only now: a failed flush leaves the next commit to flush again.
  std::lock_guard lock(mu_);
  unflushed_.erase(content);
  return Status::OK();
}

Status ContentSpace::NewContent(uint64_t* content) {
  std::lock_guard lock(mu_);
  ROWFS_RETURN_IF_ERROR(LoadLocked());
  if (next_ == block_end_) {
    // Persist the end of the next block before handing out any id of it.
    std::string value;
    PutFixed64BE(&value, block_end_ + kIdBlock);
    rocksdb::WriteBatch wb;
    wb.Put(cf_, ToSlice(kContentCounterKey), value);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(WriteToRocksDB(db_, wo, &wb),
                                              "allocating content ids"));
    block_end_ += kIdBlock;
  }
  *content = next_++;
  ++pins_[*content];
  return Status::OK();
}

void ContentSpace::Pin(const std::vector<uint64_t>& contents) {
  std::lock_guard lock(mu_);
  for (uint64_t c : contents) ++pins_[c];
}

void ContentSpace::Unpin(const std::vector<uint64_t>& contents) {
  std::vector<std::shared_ptr<StagedTable>> abandoned;
  {
    std::lock_guard lock(mu_);
    for (uint64_t c : contents) {
      auto it = pins_.find(c);
      if (it == pins_.end() || --it->second > 0) continue;
      pins_.erase(it);
      // A content nobody pins is garbage or committed (sealed): what is
      // still staged for it was abandoned by its writer.
      if (auto table = TakeStagedLocked(c)) abandoned.push_back(table);
      unflushed_.erase(c);
      broken_.erase(c);
    }
  }
  for (const auto& table : abandoned) RemoveStaged(table);  // file I/O
}

Status ContentSpace::PinnedLocked(std::vector<uint64_t>* pinned,
                                  uint64_t* next) {
  std::lock_guard lock(mu_);
  ROWFS_RETURN_IF_ERROR(LoadLocked());
  pinned->clear();
  for (const auto& kv : pins_) pinned->push_back(kv.first);
  *next = next_;
  return Status::OK();
}

}  // namespace rowfs
