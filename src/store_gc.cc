// Garbage collection of content chunks: mark every chunk a version record
// refers to (in the current state and in every live snapshot), sweep the
// others. Crash-safe by construction: it only deletes, only what no record
// refers to, and whatever a killed pass leaves the next one finds again.
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "records.h"
#include "store_impl.h"
#include "store_write_path.h"

namespace rowfs {
namespace {

// The chunks records refer to, per content object: sorted, merged runs of
// chunk indices [first, end).
class LiveChunks {
 public:
  void Add(const VersionRecord& r) {
    for (const ChunkRun& run : r.runs) {
      runs_[run.content].emplace_back(run.first,
                                      uint64_t{run.first} + run.count);
    }
  }
  void Finish() {
    for (auto& [content, v] : runs_) {
      std::sort(v.begin(), v.end());
      std::vector<std::pair<uint64_t, uint64_t>> merged;
      for (const auto& r : v) {
        if (!merged.empty() && r.first <= merged.back().second) {
          merged.back().second = std::max(merged.back().second, r.second);
        } else {
          merged.push_back(r);
        }
      }
      v.swap(merged);
    }
  }
  bool Contains(uint64_t content, uint32_t index) const {
    auto it = runs_.find(content);
    if (it == runs_.end()) return false;
    const auto& v = it->second;
    auto r = std::upper_bound(v.begin(), v.end(),
                              std::make_pair(uint64_t{index}, UINT64_MAX));
    return r != v.begin() && index < std::prev(r)->second;
  }
  // Every referenced chunk, in key order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [content, v] : runs_) {
      for (const auto& [first, end] : v) {
        for (uint64_t i = first; i < end; ++i) {
          fn(content, static_cast<uint32_t>(i));
        }
      }
    }
  }

 private:
  std::map<uint64_t, std::vector<std::pair<uint64_t, uint64_t>>> runs_;
};

// Adds every chunked record of the dataset, as `snapshot` sees it.
Status MarkRecords(const Dataset& ds, const rocksdb::Snapshot* snapshot,
                   LiveChunks* live, uint64_t* records) {
  RangeIterator it(ds.db, ds.cf, std::string(kRowSpaceBegin), std::string(),
                   snapshot);
  for (it->Seek(ToSlice(kRowSpaceBegin)); it->Valid(); it->Next()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (k.kind != KeyKind::kCell) continue;
    ++*records;
    const std::string_view value = ToView(it->value());
    if (value.empty() || value[0] != static_cast<char>(RecordKind::kChunked)) {
      continue;
    }
    VersionRecord r;
    ROWFS_RETURN_IF_ERROR(DecodeRecord(value, &r));
    live->Add(r);
  }
  return Status::FromRocksDB(it->status(), "marking content");
}

}  // namespace

Status Store::CollectGarbage(std::string_view dataset) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("collect garbage"));
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  std::shared_ptr<const Snapshot> mark;
  std::vector<uint64_t> pinned;
  uint64_t next = 0;
  {
    // Records read after this point existed in `mark`; contents read from
    // records before it are pinned in the copy.
    std::unique_lock protect(ds->content.protect_mu());
    mark = impl_->NewSnapshot();
    ROWFS_RETURN_IF_ERROR(ds->content.PinnedLocked(&pinned, &next));
  }
  const uint64_t removed_before =
      ds->removed_records.exchange(0) + ds->policy->TakeDropped();
  ds->last_gc_ms.store(impl_->Now(), std::memory_order_relaxed);
  LiveChunks live;
  uint64_t records = 0;
  // Snapshot views (and the mark itself) still show their records.
  for (const auto& snapshot : impl_->LiveSnapshots()) {
    ROWFS_RETURN_IF_ERROR(MarkRecords(*ds, snapshot->get(), &live, &records));
  }
  live.Finish();
  const std::unordered_set<uint64_t> pins(pinned.begin(), pinned.end());

  RangeIterator it(ds->db, ds->cf, ContentSpaceBegin(), ContentSpaceEnd(),
                   RocksSnapshot({mark}));
  rocksdb::WriteBatch wb;
  uint64_t removed = 0, kept = 0;
  auto flush = [&]() -> Status {
    if (wb.Count() == 0) return Status::OK();
    Status s = Status::FromRocksDB(
        WriteToRocksDB(ds->db, rocksdb::WriteOptions(), &wb), "sweeping");
    wb.Clear();
    return s;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t content = 0;
    uint32_t index = 0;
    if (!ParseContentKey(ToView(it->key()), &content, &index)) continue;
    // Newer than the mark, or still in a writer's or reader's hands.
    if (content >= next || pins.count(content) != 0 ||
        live.Contains(content, index)) {
      ++kept;
      continue;
    }
    wb.Delete(ds->cf, it->key());
    ++removed;
    if (wb.Count() >= 1024) ROWFS_RETURN_IF_ERROR(flush());
  }
  ROWFS_RETURN_IF_ERROR(
      Status::FromRocksDB(it->status(), "sweeping " + std::string(dataset)));
  ROWFS_RETURN_IF_ERROR(flush());
  if (removed != 0 || removed_before != 0) {
    spdlog::info("dataset {}: {} chunks collected, {} kept, {} records",
                 dataset, removed, kept, records);
  }
  return Status::OK();
}

Status Store::DropDanglingVersions(std::string_view dataset,
                                   uint64_t* dropped) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("drop dangling versions"));
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  *dropped = 0;
  RangeIterator it(ds->db, ds->cf, std::string(kRowSpaceBegin), std::string());
  rocksdb::WriteBatch wb;
  std::string chunk;
  for (it->Seek(ToSlice(kRowSpaceBegin)); it->Valid(); it->Next()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (k.kind != KeyKind::kCell) continue;
    VersionRecord r;
    ROWFS_RETURN_IF_ERROR(DecodeRecord(ToView(it->value()), &r));
    bool missing = false;
    for (const ChunkRun& run : r.runs) {
      for (uint64_t i = run.first; i < run.first + run.count && !missing; ++i) {
        const Status s = ds->content.ReadChunk(
            run.content, static_cast<uint32_t>(i), &chunk);
        if (s.code() == Status::Code::kCorruption) {
          missing = true;
        } else {
          ROWFS_RETURN_IF_ERROR(s);
        }
      }
    }
    if (!missing) continue;
    wb.Delete(ds->cf, it->key());
    ++*dropped;
  }
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(it->status(), "checking records"));
  if (wb.Count() == 0) return Status::OK();
  return impl_->Commit(&wb, {}, "dropping dangling versions");
}

Status Store::CollectDueGarbage(uint64_t min_interval_ms) {
  if (impl_->read_only()) return Status::OK();
  {
    // Dropped datasets' families still waiting for a batch go now.
    std::lock_guard lock(impl_->families_mu);
    const Status s = impl_->DropMarkedFamilies(1);
    // Collection goes on: the families stay marked for a later pass.
    if (!s.ok()) spdlog::warn("garbage collection: {}", s.ToString());
  }
  std::vector<DatasetPtr> all;
  ROWFS_RETURN_IF_ERROR(impl_->FindAll("", &all));
  const uint64_t now = impl_->Now();
  for (const DatasetPtr& ds : all) {
    const uint64_t last = ds->last_gc_ms.load(std::memory_order_relaxed);
    if (now - last < min_interval_ms) continue;
    // The hint is kept if collection fails (a write error): next time.
    if (ds->removed_records.load(std::memory_order_relaxed) == 0) {
      const uint64_t dropped = ds->policy->TakeDropped();
      if (dropped == 0) continue;
      ds->removed_records.fetch_add(dropped, std::memory_order_relaxed);
    }
    Status s = CollectGarbage(ds->name);
    if (!s.ok() && !s.IsNotFound()) return s;  // NotFound: dropped meanwhile
  }
  return Status::OK();
}

Status Store::CheckContent(std::string_view dataset,
                           ContentReport* report) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  *report = ContentReport{};
  std::shared_ptr<const Snapshot> view = impl_->NewSnapshot();
  const rocksdb::Snapshot* snapshot = RocksSnapshot({view});
  LiveChunks live;
  ROWFS_RETURN_IF_ERROR(MarkRecords(*ds, snapshot, &live, &report->records));
  live.Finish();
  RangeIterator it(ds->db, ds->cf, ContentSpaceBegin(), ContentSpaceEnd(),
                   snapshot);
  it->SeekToFirst();
  // Walk referenced chunks and stored chunks together, both in key order.
  live.ForEach([&](uint64_t content, uint32_t index) {
    const std::string want = ContentKey(content, index);
    while (it->Valid() && ToView(it->key()) < want) {
      ++report->chunks;
      ++report->unreferenced;
      report->chunk_bytes += it->value().size();
      it->Next();
    }
    if (it->Valid() && ToView(it->key()) == want) {
      ++report->chunks;
      report->chunk_bytes += it->value().size();
      it->Next();
    } else {
      ++report->dangling;
    }
  });
  for (; it->Valid(); it->Next()) {
    ++report->chunks;
    ++report->unreferenced;
    report->chunk_bytes += it->value().size();
  }
  return Status::FromRocksDB(it->status(), "checking content");
}

}  // namespace rowfs
