// Writes: batches, rows, attributes, deletion markers, and the commit every
// mutation ends with.
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "coding.h"
#include "records.h"
#include "rowfs/clock.h"
#include "rowfs/names.h"
#include "store_impl.h"
#include "store_write_path.h"

namespace rowfs {

// ---------------------------------------------------------------- Batch

void Batch::Put(std::string_view dataset, std::string_view row,
                std::string_view column, std::string_view value, uint64_t ts,
                const Attrs* attrs) {
  Op op{OpType::kPut,        std::string(dataset), std::string(row),
        std::string(column), std::string(value),   ts,
        std::nullopt};
  if (attrs != nullptr) op.attrs = *attrs;
  ops_.push_back(std::move(op));
}

void Batch::DeleteVersion(std::string_view dataset, std::string_view row,
                          std::string_view column, uint64_t ts) {
  ops_.push_back({OpType::kDeleteVersion,
                  std::string(dataset),
                  std::string(row),
                  std::string(column),
                  {},
                  ts,
                  std::nullopt});
}

void Batch::DeleteColumn(std::string_view dataset, std::string_view row,
                         std::string_view column) {
  ops_.push_back({OpType::kDeleteColumn,
                  std::string(dataset),
                  std::string(row),
                  std::string(column),
                  {},
                  0,
                  std::nullopt});
}

void Batch::DeleteRow(std::string_view dataset, std::string_view row) {
  ops_.push_back({OpType::kDeleteRow,
                  std::string(dataset),
                  std::string(row),
                  {},
                  {},
                  0,
                  std::nullopt});
}

// ---------------------------------------------------------------- locking

void DatasetGuard::Add(const DatasetPtr& ds) {
  for (const auto& held : held_) {
    if (held.get() == ds.get()) return;
  }
  held_.push_back(ds);
}

Status DatasetGuard::Lock() {
  std::sort(held_.begin(), held_.end(),
            [](const DatasetPtr& a, const DatasetPtr& b) {
              return a->name < b->name;
            });
  for (const DatasetPtr& ds : held_) {
    std::shared_lock lock(ds->alive_mu);
    if (ds->dropped) {
      return Status::NotFound("dataset '" + ds->name + "' was dropped");
    }
    locks_.push_back(std::move(lock));
  }
  return Status::OK();
}

Status Store::Impl::Prepare(std::string_view what,
                            std::initializer_list<LockTarget> targets,
                            Locked* l) {
  ROWFS_RETURN_IF_ERROR(CheckWritable(what));
  size_t i = 0;
  for (const LockTarget& t : targets) {
    ROWFS_RETURN_IF_ERROR(ValidateRowName(t.row));
    if (t.column) ROWFS_RETURN_IF_ERROR(ValidateColumnName(*t.column));
    ROWFS_RETURN_IF_ERROR(Find(t.dataset, &l->ds[i++]));
    if (t.column) {
      l->locks.AddColumn(t.dataset, t.row, *t.column);
    } else {
      l->locks.AddRowExclusive(t.dataset, t.row);
    }
  }
  l->locks.Lock();
  for (size_t j = 0; j < i; ++j) l->guard.Add(l->ds[j]);
  return l->guard.Lock();
}

// ---------------------------------------------------------------- commit

Status Store::Impl::Commit(rocksdb::WriteBatch* wb, const WriteOptions& wo,
                           std::string_view what,
                           const std::vector<ColumnChange>& changes) {
  std::map<Dataset*, uint64_t> max_ts;
  for (const ColumnChange& c : changes) {
    uint64_t& m = max_ts[c.ds];
    m = std::max(m, c.ts);
  }
  std::vector<std::unique_lock<std::mutex>> floor_locks;
  std::vector<std::pair<Dataset*, uint64_t>> floors;
  for (const auto& [ds, m] : max_ts) {  // map order: a global lock order
    if (!ds->bound.FloorToPersist(m)) continue;
    floor_locks.emplace_back(ds->floor_mu);
    if (std::optional<uint64_t> floor = ds->bound.FloorToPersist(m)) {
      std::string value;
      PutFixed64BE(&value, *floor);
      wb->Put(meta_cf, FloorRecordKey(ds->name), value);
      floors.emplace_back(ds, *floor);
    }
  }
  rocksdb::WriteOptions rwo;
  rwo.sync = wo.sync;
  Status s = Status::FromRocksDB(WriteToRocksDB(db, rwo, wb), what);
  if ((s.code() == Status::Code::kIOError ||
       s.code() == Status::Code::kNoSpace) &&
      ResumeAfterBackgroundError()) {
    s = Status::FromRocksDB(WriteToRocksDB(db, rwo, wb), what);
  }
  if (!s.ok()) return s;
  for (const auto& [ds, floor] : floors) ds->bound.SetPersisted(floor);
  for (const ColumnChange& c : changes) {
    if (c.put) {
      c.ds->bound.RecordPut(c.column_key, c.ts);
    } else {
      c.ds->bound.RecordOther(c.column_key, c.ts);
    }
  }
  return s;
}

Status Store::Impl::WriteMetaRecord(std::string_view key,
                                    std::string_view value) {
  rocksdb::WriteBatch wb;
  wb.Put(meta_cf, ToSlice(key), ToSlice(value));
  // Structure changes are rare and must survive a crash: synced.
  return Commit(&wb, WriteOptions{.sync = true}, "writing metadata");
}

bool Store::Impl::ResumeAfterBackgroundError() {
  // A background error (a flush or compaction that met EIO or a full
  // disk) stops every write until RocksDB is told to resume, even once the
  // cause is gone.
  const uint64_t now = Clock::Real()->NowMs();
  uint64_t last = last_resume_ms.load(std::memory_order_relaxed);
  if (now - last < 1000 || !last_resume_ms.compare_exchange_strong(last, now)) {
    return false;
  }
  rocksdb::Status s = db->Resume();
  if (s.ok()) {
    spdlog::warn("writes resumed after a background error");
    return true;
  }
  spdlog::error("cannot resume writes yet: {}", s.ToString());
  return false;
}

// ---------------------------------------------------------------- staging

Status Store::Impl::NextTimestamp(Dataset& ds, std::string_view row,
                                  std::string_view column,
                                  const std::vector<ColumnChange>& earlier,
                                  uint64_t* ts) {
  const std::string column_key = ColumnBegin(row, column);
  const uint64_t now = Now();
  std::optional<uint64_t> next = ds.bound.Next(column_key, now);
  if (!next) {
    std::optional<uint64_t> latest;
    ROWFS_RETURN_IF_ERROR(LatestPhysicalTs(ds, row, column, &latest));
    next = latest && *latest >= now ? *latest + 1 : now;
  }
  // After earlier entries of the same column in this batch.
  for (const ColumnChange& c : earlier) {
    if (c.ds == &ds && c.column_key == column_key && c.ts >= *next) {
      next = c.ts + 1;
    }
  }
  if (*next > kMaxTimestamp) {
    return Status::InvalidArgument("no timestamp left after the latest");
  }
  *ts = *next;
  return Status::OK();
}

namespace {

// Deletes a row's keys `kvs` (its whole range) in `wb`, each column's as a
// change the commit records.
void StageRowDeletion(
    Dataset& ds, const std::vector<std::pair<std::string, std::string>>& kvs,
    rocksdb::WriteBatch* wb, std::vector<ColumnChange>* changes) {
  for (const auto& kv : kvs) {
    wb->Delete(ds.cf, kv.first);
    ParsedKey k;
    if (ParseKey(kv.first, &k).ok() && k.kind != KeyKind::kRowMeta) {
      changes->push_back({&ds, ColumnBegin(k.row, k.column), false, 0});
    }
  }
  ds.removed_records.fetch_add(kvs.size(), std::memory_order_relaxed);
}

}  // namespace

Status RecordForValue(Dataset& ds, std::string_view value,
                      rocksdb::WriteBatch* wb, VersionRecord* record,
                      uint64_t* content) {
  *content = 0;
  *record = VersionRecord{};
  record->size = value.size();
  if (value.size() <= kMaxInlineBytes) {
    record->data.assign(value);
    return Status::OK();
  }
  // Chunks of a new content object, in the same batch as the record.
  record->kind = RecordKind::kChunked;
  record->chunk_shift =
      value.size() >= (4u << 20) ? kLargeChunkShift : kSmallChunkShift;
  ROWFS_RETURN_IF_ERROR(ds.content.NewContent(content));
  const uint64_t cs = record->chunk_size();
  const auto count = static_cast<uint32_t>((value.size() + cs - 1) / cs);
  for (uint32_t i = 0; i < count; ++i) {
    wb->Put(ds.cf, ContentKey(*content, i),
            ToSlice(value.substr(uint64_t{i} * cs, cs)));
  }
  record->runs = {{0, count, *content}};
  return Status::OK();
}

Status Store::Impl::StageValue(Dataset& ds, std::string_view row,
                               std::string_view column, uint64_t ts,
                               std::string_view value, uint64_t expires_ms,
                               rocksdb::WriteBatch* wb, std::string* encoded,
                               uint64_t* pinned_content) {
  VersionRecord record;
  ROWFS_RETURN_IF_ERROR(RecordForValue(ds, value, wb, &record, pinned_content));
  record.expires_ms = expires_ms;
  *encoded = EncodeRecord(record);
  wb->Put(ds.cf, CellKey(row, column, ts), *encoded);
  return Status::OK();
}

Status Store::Impl::StageRevive(Dataset& ds, std::string_view row,
                                std::string_view column, uint64_t new_ts,
                                rocksdb::WriteBatch* wb, uint64_t* new_expiry) {
  *new_expiry = 0;
  ColumnState state;
  ROWFS_RETURN_IF_ERROR(ReadColumn(ds, row, column, {}, true, &state));
  EntryFilter filter(ds.policy->Load(), Now());
  std::optional<size_t> newest;
  for (size_t i = 0; i < state.entries.size(); ++i) {
    if (!filter.Dead(state.entries[i].ts, state.entries[i].record)) {
      newest = i;
      break;
    }
  }
  if (!newest || !state.entries[*newest].record.is_deletion()) {
    return Status::OK();  // not deleted (or nothing of it left)
  }
  const ColumnEntry& marker = state.entries[*newest];
  if (new_ts < marker.ts) {
    // A backfill into a deleted column's history: it goes with it.
    *new_expiry = marker.record.expires_ms;
    return Status::OK();
  }
  // The column comes back: its history continues, nothing of it expires.
  for (ColumnEntry& e : state.entries) {
    if (e.record.expires_ms == 0) continue;
    e.record.expires_ms = 0;
    wb->Put(ds.cf, CellKey(row, column, e.ts), EncodeRecord(e.record));
  }
  wb->Put(ds.cf, ColumnMetaKey(row, column),
          EncodeColumnMeta(state.attrs, /*deleted=*/false));
  return Status::OK();
}

Status Store::Impl::ColumnDeleted(Dataset& ds, std::string_view row,
                                  std::string_view column, bool* deleted) {
  *deleted = false;
  std::string value;
  rocksdb::Status s = ds.db->Get(rocksdb::ReadOptions(), ds.cf,
                                 ColumnMetaKey(row, column), &value);
  if (s.IsNotFound()) return Status::OK();
  if (!s.ok()) return Status::FromRocksDB(s, "reading a column's meta");
  std::optional<Attrs> attrs;
  return DecodeColumnMeta(value, &attrs, deleted);
}

Status Store::Impl::StageDeleteColumn(Dataset& ds, std::string_view row,
                                      std::string_view column,
                                      const std::vector<ColumnChange>& earlier,
                                      const std::vector<PendingEntry>& pending,
                                      rocksdb::WriteBatch* wb,
                                      uint64_t* marker_ts) {
  *marker_ts = 0;
  const Policy policy = ds.policy->Load();
  const std::string begin = ColumnBegin(row, column);
  const std::string end = ColumnEnd(row, column);
  if (policy.keep_deleted_seconds == 0) {
    // Removed at once, history and all.
    std::vector<std::pair<std::string, std::string>> kvs;
    ROWFS_RETURN_IF_ERROR(CollectRange(ds, begin, end, &kvs, false));
    for (const PendingEntry& p : pending) {
      if (p.ds == &ds && p.key >= begin && p.key < end)
        kvs.push_back({p.key, {}});
    }
    for (const auto& kv : kvs) wb->Delete(ds.cf, kv.first);
    ds.removed_records.fetch_add(kvs.size(), std::memory_order_relaxed);
    return Status::OK();
  }
  ColumnState state;
  ROWFS_RETURN_IF_ERROR(ReadColumn(ds, row, column, {}, true, &state));
  uint64_t ts = 0;
  ROWFS_RETURN_IF_ERROR(NextTimestamp(ds, row, column, earlier, &ts));
  const uint64_t now = Now();
  const uint64_t keep_ms = policy.keep_deleted_seconds * 1000;
  const uint64_t expires =
      keep_ms > kMaxTimestamp - now ? kMaxTimestamp : now + keep_ms;
  // Every entry now expires with the marker (unless it comes back first).
  auto expire = [&](VersionRecord* r) {
    if (r->expires_ms == 0 || r->expires_ms > expires) r->expires_ms = expires;
  };
  for (ColumnEntry& e : state.entries) {
    expire(&e.record);
    wb->Put(ds.cf, CellKey(row, column, e.ts), EncodeRecord(e.record));
  }
  for (const PendingEntry& p : pending) {
    if (p.ds != &ds || p.key < begin || p.key >= end) continue;
    VersionRecord r;
    ROWFS_RETURN_IF_ERROR(DecodeRecord(p.value, &r));
    expire(&r);
    wb->Put(ds.cf, p.key, EncodeRecord(r));
  }
  VersionRecord marker;
  marker.kind = RecordKind::kDeletion;
  marker.expires_ms = expires;
  wb->Put(ds.cf, CellKey(row, column, ts), EncodeRecord(marker));
  wb->Put(ds.cf, ColumnMetaKey(row, column),
          EncodeColumnMeta(state.attrs, /*deleted=*/true));
  *marker_ts = ts;
  return Status::OK();
}

// ---------------------------------------------------------------- Write

Status Store::Write(const Batch& batch, const WriteOptions& options,
                    std::vector<uint64_t>* timestamps) {
  using OpType = Batch::OpType;
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("write"));
  // Validate everything before taking any lock.
  std::vector<DatasetPtr> datasets;
  datasets.reserve(batch.ops_.size());
  for (const Batch::Op& op : batch.ops_) {
    DatasetPtr ds;
    ROWFS_RETURN_IF_ERROR(ValidateDatasetName(op.dataset));
    ROWFS_RETURN_IF_ERROR(ValidateRowName(op.row));
    if (op.type != OpType::kDeleteRow) {
      ROWFS_RETURN_IF_ERROR(ValidateColumnName(op.column));
    }
    if (op.type == OpType::kPut && op.ts != kServerTimestamp) {
      ROWFS_RETURN_IF_ERROR(impl_->CheckStoredTimestamp(op.ts));
    }
    if (op.type == OpType::kDeleteVersion && op.ts > kMaxTimestamp) {
      return Status::InvalidArgument("timestamp out of range");
    }
    ROWFS_RETURN_IF_ERROR(impl_->Find(op.dataset, &ds));
    datasets.push_back(std::move(ds));
  }

  LockSet locks(&impl_->locks);
  for (const Batch::Op& op : batch.ops_) {
    if (op.type == OpType::kDeleteRow) {
      locks.AddRowExclusive(op.dataset, op.row);
    } else {
      locks.AddColumn(op.dataset, op.row, op.column);
    }
  }
  locks.Lock();
  DatasetGuard guard;
  for (const DatasetPtr& ds : datasets) guard.Add(ds);
  ROWFS_RETURN_IF_ERROR(guard.Lock());

  // Entries this batch puts, so that a later delete in it covers them.
  std::vector<Impl::PendingEntry> pending;
  std::vector<ColumnChange> changes;
  std::vector<std::pair<Dataset*, uint64_t>> pinned;  // released below
  size_t reserve = 256;  // the floor record Commit may add
  for (const Batch::Op& op : batch.ops_) {
    reserve += op.value.size() + 2 * (op.row.size() + op.column.size()) + 256;
  }
  rocksdb::WriteBatch wb(reserve);
  std::vector<uint64_t> assigned;
  Status s;
  for (size_t i = 0; i < batch.ops_.size() && s.ok(); ++i) {
    const Batch::Op& op = batch.ops_[i];
    Dataset& ds = *datasets[i];
    switch (op.type) {
      case OpType::kPut: {
        std::string column_key = ColumnBegin(op.row, op.column);
        uint64_t ts = op.ts;
        if (ts == kServerTimestamp) {
          s = impl_->NextTimestamp(ds, op.row, op.column, changes, &ts);
          if (!s.ok()) break;
        }
        // A put to a deleted column brings it back (its history with it).
        uint64_t expires = 0;
        bool deleted = false;
        if (!ds.bound.KnownPut(column_key)) {
          s = impl_->ColumnDeleted(ds, op.row, op.column, &deleted);
          if (s.ok() && deleted) {
            s = impl_->StageRevive(ds, op.row, op.column, ts, &wb, &expires);
          }
          if (!s.ok()) break;
        }
        uint64_t content = 0;
        std::string encoded;
        s = impl_->StageValue(ds, op.row, op.column, ts, op.value, expires, &wb,
                              &encoded, &content);
        if (content != 0) pinned.emplace_back(&ds, content);
        if (!s.ok()) break;
        if (op.attrs) {
          wb.Put(ds.cf, ColumnMetaKey(op.row, op.column),
                 EncodeColumnMeta(*op.attrs, /*deleted=*/false));
        }
        std::string key = CellKey(op.row, op.column, ts);
        pending.push_back({&ds, std::move(key), std::move(encoded)});
        changes.push_back({&ds, std::move(column_key), true, ts});
        assigned.push_back(ts);
        break;
      }
      case OpType::kDeleteVersion:
        wb.Delete(ds.cf, CellKey(op.row, op.column, op.ts));
        ds.removed_records.fetch_add(1, std::memory_order_relaxed);
        changes.push_back({&ds, ColumnBegin(op.row, op.column), false, 0});
        break;
      case OpType::kDeleteColumn: {
        uint64_t marker_ts = 0;
        s = impl_->StageDeleteColumn(ds, op.row, op.column, changes, pending,
                                     &wb, &marker_ts);
        changes.push_back(
            {&ds, ColumnBegin(op.row, op.column), false, marker_ts});
        break;
      }
      case OpType::kDeleteRow: {
        std::vector<std::pair<std::string, std::string>> kvs;
        s = impl_->CollectRange(ds, RowBegin(op.row), RowEnd(op.row), &kvs,
                                false);
        for (const Impl::PendingEntry& p : pending) {
          if (p.ds == &ds && p.key >= RowBegin(op.row) &&
              p.key < RowEnd(op.row)) {
            kvs.push_back({p.key, {}});
          }
        }
        StageRowDeletion(ds, kvs, &wb, &changes);
        break;
      }
    }
  }
  if (s.ok()) s = impl_->Commit(&wb, options, "write batch", changes);
  for (const auto& [ds, content] : pinned) ds->content.Unpin({content});
  ROWFS_RETURN_IF_ERROR(s);
  if (timestamps != nullptr) *timestamps = std::move(assigned);
  return Status::OK();
}

Status Store::Put(std::string_view dataset, std::string_view row,
                  std::string_view column, std::string_view value, uint64_t ts,
                  uint64_t* ts_out, const WriteOptions& options) {
  Batch batch;
  batch.Put(dataset, row, column, value, ts);
  std::vector<uint64_t> timestamps;
  ROWFS_RETURN_IF_ERROR(Write(batch, options, &timestamps));
  if (ts_out != nullptr) *ts_out = timestamps[0];
  return Status::OK();
}

// ---------------------------------------------------------------- rows

Status Store::CreateRow(std::string_view dataset, std::string_view row,
                        const Attrs& attrs) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare("create row", {{dataset, row}}, &l));
  const DatasetPtr& ds = l.ds[0];
  RowInfo existing;
  Status s = StatRow(dataset, row, &existing);
  if (s.ok()) {
    return Status::AlreadyExists("row " + Describe(dataset, row) + " exists");
  }
  if (!s.IsNotFound()) return s;
  rocksdb::WriteBatch wb;
  wb.Put(ds->cf, RowMetaKey(row), EncodeAttrs(attrs));
  return impl_->Commit(&wb, {}, "create row");
}

Status Store::SetRowAttrs(std::string_view dataset, std::string_view row,
                          const Attrs& attrs) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(
      impl_->Prepare("set row attributes", {{dataset, row}}, &l));
  const DatasetPtr& ds = l.ds[0];
  RowInfo existing;
  ROWFS_RETURN_IF_ERROR(StatRow(dataset, row, &existing));
  rocksdb::WriteBatch wb;
  wb.Put(ds->cf, RowMetaKey(row), EncodeAttrs(attrs));
  return impl_->Commit(&wb, {}, "set row attributes");
}

Status Store::SetColumnAttrs(std::string_view dataset, std::string_view row,
                             std::string_view column, const Attrs& attrs) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(
      impl_->Prepare("set column attributes", {{dataset, row, column}}, &l));
  const DatasetPtr& ds = l.ds[0];
  ColumnInfo info;
  ROWFS_RETURN_IF_ERROR(StatColumn(dataset, row, column, &info));
  rocksdb::WriteBatch wb;
  wb.Put(ds->cf, ColumnMetaKey(row, column),
         EncodeColumnMeta(attrs, /*deleted=*/false));
  return impl_->Commit(&wb, {}, "set column attributes");
}

// ---------------------------------------------------------------- deletes

Status Store::DeleteVersion(std::string_view dataset, std::string_view row,
                            std::string_view column, uint64_t ts) {
  ColumnInfo info;
  ROWFS_RETURN_IF_ERROR(StatVersion(dataset, row, column, ts, &info));
  Batch batch;
  batch.DeleteVersion(dataset, row, column, ts);
  // The check above ran before the lock; a racing delete makes this a no-op,
  // which is the same outcome.
  return Write(batch);
}

Status Store::DeleteColumn(std::string_view dataset, std::string_view row,
                           std::string_view column) {
  ColumnInfo info;
  ROWFS_RETURN_IF_ERROR(StatColumn(dataset, row, column, &info));
  Batch batch;
  batch.DeleteColumn(dataset, row, column);
  return Write(batch);
}

Status Store::PurgeColumn(std::string_view dataset, std::string_view row,
                          std::string_view column) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare("purge", {{dataset, row, column}}, &l));
  Dataset& ds = *l.ds[0];
  ColumnState state;
  ROWFS_RETURN_IF_ERROR(impl_->ReadColumn(ds, row, column, {}, false, &state));
  if (state.entries.empty()) {
    return Status::NotFound(Describe(dataset, row, column) +
                            " has no history to purge");
  }
  if (!VisibleVersions(state, ds.policy->Load(), impl_->Now(), UINT64_MAX)
           .empty()) {
    return Status::NotEmpty(Describe(dataset, row, column) +
                            " exists: delete it first, then purge");
  }
  std::vector<std::pair<std::string, std::string>> kvs;
  ROWFS_RETURN_IF_ERROR(impl_->CollectRange(
      ds, ColumnBegin(row, column), ColumnEnd(row, column), &kvs, false));
  rocksdb::WriteBatch wb;
  for (const auto& kv : kvs) wb.Delete(ds.cf, kv.first);
  ds.removed_records.fetch_add(kvs.size(), std::memory_order_relaxed);
  return impl_->Commit(&wb, {}, "purge",
                       {{&ds, ColumnBegin(row, column), false, 0}});
}

Status Store::DeleteRow(std::string_view dataset, std::string_view row,
                        bool only_if_empty) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare("delete row", {{dataset, row}}, &l));
  Dataset& ds = *l.ds[0];
  RowInfo info;
  ROWFS_RETURN_IF_ERROR(StatRow(dataset, row, &info));
  if (only_if_empty) {
    std::vector<ColumnInfo> columns;
    ROWFS_RETURN_IF_ERROR(ListColumns(dataset, row, &columns));
    if (!columns.empty()) {
      return Status::NotEmpty("row " + Describe(dataset, row) + " has columns");
    }
  }
  // Deleted columns' kept history goes with the row: a row is removed
  // only once empty, and its name may be reused for another.
  std::vector<std::pair<std::string, std::string>> kvs;
  ROWFS_RETURN_IF_ERROR(
      impl_->CollectRange(ds, RowBegin(row), RowEnd(row), &kvs, false));
  rocksdb::WriteBatch wb;
  std::vector<ColumnChange> changes;
  StageRowDeletion(ds, kvs, &wb, &changes);
  return impl_->Commit(&wb, {}, "delete row", changes);
}

}  // namespace rowfs
