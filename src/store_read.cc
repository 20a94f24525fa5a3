// Reads: versions, columns, rows, listings, row cursors and snapshots. Stat
// and listings read version records only, never content.
#include <algorithm>

#include "content_reader.h"
#include "records.h"
#include "store_impl.h"

namespace rowfs {
namespace {

VersionInfo InfoOf(const ColumnEntry& e) {
  return {e.ts, e.record.size, e.record.ShownMtime(e.ts),
          e.record.ShownCtime(e.ts)};
}

// The column as `view` sees it: its attrs and its visible versions in
// [query.min_ts, query.max_ts], at most query.limit. NotFound when the
// column does not exist then.
Status ReadVisible(const Store::Impl& impl, const Dataset& ds,
                   std::string_view row, std::string_view column,
                   const ReadView& view, bool content,
                   const VersionQuery& query, ColumnInfo* info,
                   std::vector<ColumnEntry>* entries) {
  ColumnState state;
  ROWFS_RETURN_IF_ERROR(
      impl.ReadColumn(ds, row, column, view, content, &state));
  info->name.assign(column);
  info->attrs = state.attrs;
  info->versions.clear();
  if (entries != nullptr) entries->clear();
  const std::vector<size_t> visible =
      VisibleVersions(state, ds.policy->Load(), impl.Now(), view.as_of);
  if (visible.empty()) {
    return Status::NotFound("no column " + Describe(ds.name, row, column));
  }
  for (size_t i : visible) {
    ColumnEntry& e = state.entries[i];
    if (e.ts > query.max_ts) continue;
    if (e.ts < query.min_ts) break;
    info->versions.push_back(InfoOf(e));
    if (entries != nullptr) entries->push_back(std::move(e));
    if (query.limit != 0 && info->versions.size() >= query.limit) break;
  }
  return Status::OK();
}

// Positions `it` on the first key at or after `from` and decides whether the
// row found there is visible: it has a meta record, or one of its columns
// exists (its newest live entry at or before as_of is a version). Columns
// are skipped with one seek each. On return *row_name names the row found
// (empty at the end of the data) and *visible/*attrs describe it.
Status ProbeRow(rocksdb::Iterator* it, const std::string& from,
                const Policy& policy, uint64_t now_ms, uint64_t as_of,
                std::string* row_name, bool* visible,
                std::optional<Attrs>* attrs) {
  row_name->clear();
  *visible = false;
  attrs->reset();
  it->Seek(from);
  std::string column;
  EntryFilter filter(policy, now_ms);
  while (it->Valid()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (row_name->empty()) {
      row_name->assign(k.row);
    } else if (k.row != *row_name) {
      return Status::OK();  // left the row without finding anything visible
    }
    if (k.kind == KeyKind::kRowMeta) {
      Attrs a;
      ROWFS_RETURN_IF_ERROR(DecodeAttrs(ToView(it->value()), &a));
      *attrs = a;
      *visible = true;
      return Status::OK();
    }
    if (k.column != column) {
      column.assign(k.column);
      filter.Reset();
    }
    if (k.kind == KeyKind::kColumnMeta) {
      it->Next();
      continue;
    }
    VersionRecord header;
    ROWFS_RETURN_IF_ERROR(DecodeRecordHeader(ToView(it->value()), &header));
    if (filter.Dead(k.ts, header)) {
      it->Next();
      continue;
    }
    if (k.ts > as_of) {
      // Entries after the view's time do not exist in it: skip to the
      // first one at or before it.
      it->Seek(CellKey(k.row, k.column, as_of));
      continue;
    }
    if (!header.is_deletion()) {
      *visible = true;
      return Status::OK();
    }
    // A deleted column: on to the next one.
    it->Seek(ColumnEnd(k.row, k.column));
  }
  return Status::FromRocksDB(it->status(), "scanning rows");
}

class RowCursorImpl : public RowCursor {
 public:
  RowCursorImpl(DatasetPtr ds, uint64_t now_ms, std::string start_after,
                ReadView view)
      : ds_(std::move(ds)),
        view_(std::move(view)),
        policy_(ds_->policy->Load()),
        now_ms_(now_ms),
        it_(ds_->db, ds_->cf, std::string(kRowSpaceBegin), std::string(),
            RocksSnapshot(view_)),
        next_from_(start_after.empty() ? std::string(kRowSpaceBegin)
                                       : RowEnd(start_after)) {}

  bool Next(RowInfo* row) override {
    if (!status_.ok() || done_) return false;
    while (true) {
      bool visible = false;
      status_ = ProbeRow(it_.get(), next_from_, policy_, now_ms_, view_.as_of,
                         &row->name, &visible, &row->attrs);
      if (!status_.ok() || row->name.empty()) {
        done_ = true;
        return false;
      }
      next_from_ = RowEnd(row->name);
      if (visible) return true;
    }
  }
  Status status() const override { return status_; }

 private:
  DatasetPtr ds_;
  const ReadView view_;  // keeps the snapshot alive
  const Policy policy_;
  const uint64_t now_ms_;
  RangeIterator it_;
  std::string next_from_;
  Status status_;
  bool done_ = false;
};

}  // namespace

Status Store::GetLatest(std::string_view dataset, std::string_view row,
                        std::string_view column, Version* version,
                        const ReadView& view) const {
  std::unique_ptr<VersionReader> reader;
  ROWFS_RETURN_IF_ERROR(
      OpenVersion(dataset, row, column, std::nullopt, view, &reader));
  version->ts = reader->ts();
  version->mtime_ms = reader->mtime_ms();
  return reader->ReadAt(0, reader->size(), &version->value);
}

Status Store::GetVersion(std::string_view dataset, std::string_view row,
                         std::string_view column, uint64_t ts,
                         std::string* value, const ReadView& view) const {
  std::unique_ptr<VersionReader> reader;
  ROWFS_RETURN_IF_ERROR(OpenVersion(dataset, row, column, ts, view, &reader));
  return reader->ReadAt(0, reader->size(), value);
}

Status Store::ListVersions(std::string_view dataset, std::string_view row,
                           std::string_view column, const VersionQuery& query,
                           std::vector<Version>* versions,
                           const ReadView& view) const {
  versions->clear();
  ColumnInfo info;
  Status s = StatColumn(dataset, row, column, &info, 0, view);
  if (s.IsNotFound()) return Status::OK();
  ROWFS_RETURN_IF_ERROR(s);
  for (const VersionInfo& v : info.versions) {
    if (v.ts > query.max_ts) continue;
    if (v.ts < query.min_ts) break;
    Version out;
    out.ts = v.ts;
    out.mtime_ms = v.mtime_ms;
    s = GetVersion(dataset, row, column, v.ts, &out.value, view);
    if (s.IsNotFound()) continue;  // removed meanwhile
    ROWFS_RETURN_IF_ERROR(s);
    versions->push_back(std::move(out));
    if (query.limit != 0 && versions->size() >= query.limit) break;
  }
  return Status::OK();
}

Status Store::StatColumn(std::string_view dataset, std::string_view row,
                         std::string_view column, ColumnInfo* info,
                         size_t max_versions, const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  return ReadVisible(*impl_, *ds, row, column, view, false,
                     {.limit = max_versions}, info, nullptr);
}

Status Store::StatVersion(std::string_view dataset, std::string_view row,
                          std::string_view column, uint64_t ts,
                          ColumnInfo* info, const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  Status s =
      ReadVisible(*impl_, *ds, row, column, view, false,
                  {.limit = 1, .min_ts = ts, .max_ts = ts}, info, nullptr);
  if (s.ok() && info->versions.empty()) s = Status::NotFound("");
  if (s.IsNotFound()) {
    return Status::NotFound("no version " + Describe(dataset, row, column, ts));
  }
  return s;
}

Status Store::StatRow(std::string_view dataset, std::string_view row,
                      RowInfo* info, const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  RangeIterator it = impl_->RowIterator(*ds, row, view);
  bool visible = false;
  ROWFS_RETURN_IF_ERROR(ProbeRow(it.get(), RowBegin(row), ds->policy->Load(),
                                 impl_->Now(), view.as_of, &info->name,
                                 &visible, &info->attrs));
  if (!visible) {
    return Status::NotFound("row " + Describe(dataset, row) +
                            " does not exist");
  }
  return Status::OK();
}

Status Store::ListColumns(std::string_view dataset, std::string_view row,
                          std::vector<ColumnInfo>* columns,
                          const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  columns->clear();
  const Policy policy = ds->policy->Load();
  const uint64_t now = impl_->Now();
  RangeIterator it = impl_->RowIterator(*ds, row, view);
  bool row_exists = false;
  std::string name;
  ColumnState state;
  auto finish = [&]() {
    if (name.empty()) return;
    const std::vector<size_t> visible =
        VisibleVersions(state, policy, now, view.as_of);
    if (!visible.empty()) {
      ColumnInfo info;
      info.name = name;
      info.attrs = state.attrs;
      info.versions.reserve(visible.size());
      for (size_t i : visible)
        info.versions.push_back(InfoOf(state.entries[i]));
      columns->push_back(std::move(info));
    }
    state.attrs.reset();
    state.entries.clear();
  };
  for (it->Seek(RowBegin(row)); it->Valid(); it->Next()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (k.kind == KeyKind::kRowMeta) {
      row_exists = true;
      continue;
    }
    if (k.column != name) {
      finish();
      name.assign(k.column);
    }
    if (k.kind == KeyKind::kColumnMeta) {
      bool deleted = false;
      ROWFS_RETURN_IF_ERROR(
          DecodeColumnMeta(ToView(it->value()), &state.attrs, &deleted));
      continue;
    }
    ColumnEntry e;
    e.ts = k.ts;
    ROWFS_RETURN_IF_ERROR(DecodeRecordHeader(ToView(it->value()), &e.record));
    state.entries.push_back(std::move(e));
  }
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(it->status(), "listing row"));
  finish();
  if (!row_exists && columns->empty()) {
    return Status::NotFound("row " + Describe(dataset, row) +
                            " does not exist");
  }
  return Status::OK();
}

std::unique_ptr<RowCursor> Store::NewRowCursor(std::string_view dataset,
                                               std::string_view start_after,
                                               Status* status,
                                               const ReadView& view) const {
  DatasetPtr ds;
  *status = impl_->Find(dataset, &ds);
  if (!status->ok()) return nullptr;
  return std::make_unique<RowCursorImpl>(std::move(ds), impl_->Now(),
                                         std::string(start_after), view);
}

Status Store::ListRows(std::string_view dataset, std::string_view start_after,
                       size_t limit, std::vector<RowInfo>* rows,
                       std::string* next_start_after,
                       const ReadView& view) const {
  Status s;
  std::unique_ptr<RowCursor> cursor =
      NewRowCursor(dataset, start_after, &s, view);
  if (!s.ok()) return s;
  rows->clear();
  next_start_after->clear();
  RowInfo row;
  while ((limit == 0 || rows->size() < limit) && cursor->Next(&row)) {
    rows->push_back(std::move(row));
  }
  ROWFS_RETURN_IF_ERROR(cursor->status());
  if (limit != 0 && rows->size() == limit && cursor->Next(&row)) {
    *next_start_after = rows->back().name;
  }
  return cursor->status();
}

std::shared_ptr<const Snapshot> Store::Impl::NewSnapshot() const {
  auto snapshot = std::make_shared<SnapshotImpl>(db, Now());
  std::lock_guard lock(snapshots_mu);
  std::erase_if(snapshots, [](const auto& w) { return w.expired(); });
  snapshots.push_back(snapshot);
  return snapshot;
}

std::vector<std::shared_ptr<const SnapshotImpl>> Store::Impl::LiveSnapshots()
    const {
  std::vector<std::shared_ptr<const SnapshotImpl>> out;
  std::lock_guard lock(snapshots_mu);
  for (const auto& w : snapshots) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

std::shared_ptr<const Snapshot> Store::NewSnapshot() const {
  return impl_->NewSnapshot();
}

}  // namespace rowfs
