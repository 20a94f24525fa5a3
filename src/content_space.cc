#include "content_space.h"

#include <rocksdb/write_batch.h>

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

Status ContentSpace::ReadChunk(uint64_t content, uint32_t index,
                               std::string* out) {
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
                                std::vector<std::string>* out) {
  if (ids.size() == 1) {
    out->resize(1);
    return ReadChunk(ids[0].content, ids[0].index, &(*out)[0]);
  }
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const ChunkId& id : ids)
    keys.push_back(ContentKey(id.content, id.index));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // as ReadChunk
  // Keys in order: RocksDB reads neighbouring blocks of one table file
  // with one read.
  db_->MultiGet(ro, cf_, ids.size(), slices.data(), values.data(),
                statuses.data(), /*sorted_input=*/true);
  out->resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      return MissingChunk(ids[i].content, ids[i].index);
    }
    if (!statuses[i].ok()) {
      return Status::FromRocksDB(statuses[i], "reading a chunk");
    }
    (*out)[i].assign(values[i].data(), values[i].size());
  }
  return Status::OK();
}

Status ContentSpace::WriteChunks(uint64_t content,
                                 const std::vector<ChunkWrite>& chunks) {
  size_t bytes = 0;
  for (const ChunkWrite& c : chunks) bytes += c.bytes.size() + 32;
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
  std::lock_guard lock(mu_);
  for (uint64_t c : contents) {
    auto it = pins_.find(c);
    if (it != pins_.end() && --it->second <= 0) pins_.erase(it);
  }
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
