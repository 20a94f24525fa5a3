// Maintenance: WAL sync, flushes, compaction, statistics, raw access for
// tools and tests.
#include <rocksdb/db.h>
#include <rocksdb/statistics.h>

#include "store_impl.h"

namespace rowfs {

Status Store::GetStats(std::string_view dataset, Stats* stats) const {
  std::vector<DatasetPtr> targets;
  ROWFS_RETURN_IF_ERROR(impl_->FindAll(dataset, &targets));
  *stats = Stats{};
  for (const auto& ds : targets) {
    auto add = [&](const rocksdb::Slice& property, uint64_t* sum) {
      uint64_t v = 0;
      if (ds->db->GetIntProperty(ds->cf, property, &v)) *sum += v;
    };
    add(rocksdb::DB::Properties::kEstimateLiveDataSize,
        &stats->live_data_bytes);
    add(rocksdb::DB::Properties::kTotalSstFilesSize, &stats->sst_bytes);
    add(rocksdb::DB::Properties::kTotalBlobFileSize, &stats->blob_bytes);
    add(rocksdb::DB::Properties::kCurSizeAllMemTables, &stats->memtable_bytes);
    add(rocksdb::DB::Properties::kEstimateNumKeys, &stats->keys);
    add(rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
        &stats->pending_compaction_bytes);
  }
  stats->dirty_bytes = impl_->dirty_budget.used();
  std::shared_lock lock(impl_->datasets_mu);  // a follower may reopen
  if (const auto& st = impl_->db->GetOptions().statistics) {
    stats->block_cache_hits = st->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
    stats->block_cache_misses = st->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
  }
  uint64_t usage = 0;
  if (impl_->db->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage,
                                &usage)) {
    stats->block_cache_bytes = usage;
  }
  return Status::OK();
}

Status Store::SyncWal() {
  if (impl_->read_only()) return Status::OK();
  return Status::FromRocksDB(impl_->db->FlushWAL(/*sync=*/true), "syncing WAL");
}

Status Store::Flush() {
  if (impl_->read_only()) return Status::OK();
  std::vector<DatasetPtr> all;
  ROWFS_RETURN_IF_ERROR(impl_->FindAll("", &all));
  std::vector<rocksdb::ColumnFamilyHandle*> handles{impl_->meta_cf};
  for (const auto& ds : all) handles.push_back(ds->cf);
  return Status::FromRocksDB(impl_->db->Flush(rocksdb::FlushOptions(), handles),
                             "flush");
}

Status Store::CompactDataset(std::string_view dataset) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("compact"));
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  // Records first (the policy filter drops what expired), then the chunks
  // no record refers to any more, then the space of those chunks.
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      ds->db->CompactRange(options, ds->cf, nullptr, nullptr),
      "compacting " + std::string(dataset)));
  ROWFS_RETURN_IF_ERROR(CollectGarbage(dataset));
  const std::string begin = ContentSpaceBegin(), end = ContentSpaceEnd();
  const rocksdb::Slice b(begin), e(end);
  return Status::FromRocksDB(
      ds->db->CompactRange(options, ds->cf, &b, &e),
      "compacting the content of " + std::string(dataset));
}

Status Store::RawKeys(std::string_view dataset, size_t limit,
                      std::vector<std::string>* keys) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  keys->clear();
  RangeIterator it(ds->db, ds->cf, std::string(), std::string());
  for (it->SeekToFirst(); it->Valid() && (limit == 0 || keys->size() < limit);
       it->Next()) {
    keys->push_back(it->key().ToString());
  }
  return Status::FromRocksDB(it->status());
}

Status Store::GetProperty(std::string_view dataset, std::string_view property,
                          std::string* value) const {
  std::vector<DatasetPtr> targets;
  ROWFS_RETURN_IF_ERROR(impl_->FindAll(dataset, &targets));
  if (targets.size() == 1) {
    if (!targets[0]->db->GetProperty(targets[0]->cf, ToSlice(property),
                                     value)) {
      return Status::NotFound("no property " + std::string(property));
    }
    return Status::OK();
  }
  uint64_t sum = 0;
  for (const auto& ds : targets) {
    uint64_t v = 0;
    if (!ds->db->GetIntProperty(ds->cf, ToSlice(property), &v)) {
      return Status::NotFound("no integer property " + std::string(property));
    }
    sum += v;
  }
  *value = std::to_string(sum);
  return Status::OK();
}

}  // namespace rowfs
