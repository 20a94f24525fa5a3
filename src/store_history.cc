// A column's entries as stored and as readers see them, and utimens
// (SetVersionTime): a version's shown time is separate from its place in
// history.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "content_reader.h"
#include "records.h"
#include "store_impl.h"

namespace rowfs {

const rocksdb::Snapshot* RocksSnapshot(const ReadView& view) {
  return view.snapshot == nullptr
             ? nullptr
             : static_cast<const SnapshotImpl&>(*view.snapshot).get();
}

std::vector<size_t> VisibleVersions(const ColumnState& column,
                                    const Policy& policy, uint64_t now_ms,
                                    uint64_t as_of) {
  EntryFilter filter(policy, now_ms);
  std::vector<size_t> out;
  bool decided = false;
  for (size_t i = 0; i < column.entries.size(); ++i) {
    const ColumnEntry& e = column.entries[i];
    if (filter.Dead(e.ts, e.record) || e.ts > as_of) continue;
    if (!decided) {
      decided = true;
      // A deleted column: nothing of it is seen.
      if (e.record.is_deletion()) return out;
    }
    if (!e.record.is_deletion()) out.push_back(i);
  }
  return out;
}

RangeIterator Store::Impl::ColumnIterator(const Dataset& ds,
                                          std::string_view row,
                                          std::string_view column,
                                          const ReadView& view) const {
  if (view.snapshot == nullptr) {
    return RangeIterator(ds.iterators.get(), ColumnBegin(row, column),
                         ColumnEnd(row, column));
  }
  return RangeIterator(ds.db, ds.cf, ColumnBegin(row, column),
                       ColumnEnd(row, column), RocksSnapshot(view));
}

RangeIterator Store::Impl::RowIterator(const Dataset& ds, std::string_view row,
                                       const ReadView& view) const {
  return RangeIterator(ds.db, ds.cf, RowBegin(row), RowEnd(row),
                       RocksSnapshot(view));
}

Status Store::Impl::ReadColumn(const Dataset& ds, std::string_view row,
                               std::string_view column, const ReadView& view,
                               bool content, ColumnState* state) const {
  state->attrs.reset();
  state->entries.clear();
  RangeIterator it = ColumnIterator(ds, row, column, view);
  for (it->Seek(ToSlice(it.lower())); it->Valid(); it->Next()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (k.kind == KeyKind::kColumnMeta) {
      bool deleted = false;
      ROWFS_RETURN_IF_ERROR(
          DecodeColumnMeta(ToView(it->value()), &state->attrs, &deleted));
      continue;
    }
    if (k.kind != KeyKind::kCell) {
      return Status::Corruption("row meta record inside column " +
                                std::string(column));
    }
    ColumnEntry e;
    e.ts = k.ts;
    ROWFS_RETURN_IF_ERROR(
        content ? DecodeRecord(ToView(it->value()), &e.record)
                : DecodeRecordHeader(ToView(it->value()), &e.record));
    state->entries.push_back(std::move(e));
  }
  return Status::FromRocksDB(it->status(), "reading " + std::string(column));
}

Status Store::Impl::LatestPhysicalTs(const Dataset& ds, std::string_view row,
                                     std::string_view column,
                                     std::optional<uint64_t>* ts) const {
  ts->reset();
  RangeIterator it = ColumnIterator(ds, row, column);
  for (it->Seek(ColumnBegin(row, column)); it->Valid(); it->Next()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (k.kind == KeyKind::kCell) {
      *ts = k.ts;
      break;
    }
  }
  return Status::FromRocksDB(it->status());
}

Status Store::Impl::CollectRange(
    const Dataset& ds, std::string begin, std::string end,
    std::vector<std::pair<std::string, std::string>>* kvs,
    bool with_values) const {
  RangeIterator it(ds.db, ds.cf, begin, end);
  for (it->Seek(begin); it->Valid(); it->Next()) {
    kvs->emplace_back(it->key().ToString(),
                      with_values ? it->value().ToString() : std::string());
  }
  return Status::FromRocksDB(it->status());
}

Status Store::Impl::SameContent(Dataset& ds, const VersionRecord& a,
                                const VersionRecord& b, bool* same) const {
  *same = false;
  if (a.size != b.size || a.is_deletion() || b.is_deletion()) {
    return Status::OK();
  }
  if (a.kind == RecordKind::kInline && b.kind == RecordKind::kInline) {
    *same = a.data == b.data;
    return Status::OK();
  }
  if (a.kind == RecordKind::kChunked && b.kind == RecordKind::kChunked &&
      a.chunk_shift == b.chunk_shift && a.runs == b.runs) {
    *same = true;  // the same chunks
    return Status::OK();
  }
  constexpr size_t kStep = 1 << 20;
  std::string x, y;
  for (uint64_t off = 0; off < a.size; off += kStep) {
    ROWFS_RETURN_IF_ERROR(ReadRecordRange(&ds.content, a, off, kStep, &x));
    ROWFS_RETURN_IF_ERROR(ReadRecordRange(&ds.content, b, off, kStep, &y));
    if (x != y) return Status::OK();
  }
  *same = true;
  return Status::OK();
}

Status Store::Impl::ReadPinned(Dataset& ds, std::string_view row,
                               std::string_view column,
                               std::optional<uint64_t> ts, const ReadView& view,
                               uint64_t* found_ts,
                               VersionRecord* record) const {
  std::shared_lock protect(ds.content.protect_mu());
  ColumnState state;
  ROWFS_RETURN_IF_ERROR(ReadColumn(ds, row, column, view, true, &state));
  for (size_t i :
       VisibleVersions(state, ds.policy->Load(), Now(), view.as_of)) {
    const ColumnEntry& e = state.entries[i];
    if (ts && e.ts != *ts) continue;
    *found_ts = e.ts;
    *record = e.record;
    ds.content.Pin(ContentsOf(*record));
    return Status::OK();
  }
  if (!ts) return Status::NotFound("no column " + Describe(row, column));
  return Status::NotFound("no version " + Describe(ds.name, row, column, ts));
}

namespace {

bool IsWholeSecond(uint64_t ms) { return ms % 1000 == 0; }
bool SameSecond(uint64_t a, uint64_t b) { return a / 1000 == b / 1000; }

// GNU tar's default format carries whole seconds: a whole-second time given
// back to a version of that very second is its own time, truncated.
bool IsPrecisionLoss(uint64_t version_ts, uint64_t to_ms) {
  return IsWholeSecond(to_ms) && SameSecond(version_ts, to_ms);
}

}  // namespace

Status Store::SetVersionTime(std::string_view dataset, std::string_view row,
                             std::string_view column,
                             std::optional<uint64_t> from, uint64_t to,
                             uint64_t* ts_out) {
  if ((from && *from > kMaxTimestamp) || to > kMaxTimestamp) {
    return Status::InvalidArgument("timestamp out of range");
  }
  std::optional<uint64_t> restored;
  ROWFS_RETURN_IF_ERROR(
      SetVersionTimeOnce(dataset, row, column, from, to, ts_out, &restored));
  // A deleted column re-created with its last content and another time: it
  // was restored as it was, and that version now gets the time.
  if (restored) {
    ROWFS_RETURN_IF_ERROR(SetVersionTimeOnce(dataset, row, column, *restored,
                                             to, ts_out, &restored));
  }
  return Status::OK();
}

Status Store::SetVersionTimeOnce(std::string_view dataset, std::string_view row,
                                 std::string_view column,
                                 std::optional<uint64_t> from, uint64_t to,
                                 uint64_t* ts_out,
                                 std::optional<uint64_t>* restored) {
  restored->reset();
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(
      impl_->Prepare("set time", {{dataset, row, column}}, &l));
  Dataset& ds = *l.ds[0];
  ColumnState state;
  ROWFS_RETURN_IF_ERROR(impl_->ReadColumn(ds, row, column, {}, true, &state));
  const Policy policy = ds.policy->Load();
  const uint64_t now = impl_->Now();
  const std::vector<size_t> visible =
      VisibleVersions(state, policy, now, UINT64_MAX);
  size_t target = SIZE_MAX;
  for (size_t i : visible) {
    if (!from || state.entries[i].ts == *from) {
      target = i;
      break;
    }
  }
  if (target == SIZE_MAX) {
    return Status::NotFound("no version " +
                            Describe(dataset, row, column, from));
  }
  // The live entries around it (markers count: a version must not move
  // past a deletion).
  EntryFilter filter(policy, now);
  std::vector<bool> live(state.entries.size());
  for (size_t i = 0; i < state.entries.size(); ++i) {
    live[i] = !filter.Dead(state.entries[i].ts, state.entries[i].record);
  }
  std::optional<size_t> newer, older, older_version;
  for (size_t i = target; i-- > 0;) {
    if (live[i]) {
      newer = i;
      break;
    }
  }
  for (size_t i = target + 1; i < state.entries.size(); ++i) {
    if (!live[i]) continue;
    if (!older) older = i;
    if (!state.entries[i].record.is_deletion()) {
      older_version = i;
      break;
    }
  }
  ColumnEntry& entry = state.entries[target];
  const uint64_t ts = entry.ts;
  if (ts_out != nullptr) *ts_out = ts;
  rocksdb::WriteBatch wb;
  std::vector<ColumnChange> changes{{&ds, ColumnBegin(row, column), false, 0}};

  // A restore of what the column held (tar -x over an existing file, with
  // or without unlinking it first; extracting an archive twice): this
  // version is a copy of the one before it, markers aside, with that one's
  // time. It goes, with the markers, and the column is as it was. After a
  // deletion (markers between), a copy of the same bytes with another time
  // is that restore too, followed by a change of time (an incremental
  // archive's newer time of an unchanged file).
  if (!newer && older_version) {
    const ColumnEntry& before = state.entries[*older_version];
    const uint64_t before_mtime = before.record.ShownMtime(before.ts);
    const bool same_time =
        to == before_mtime || IsPrecisionLoss(before_mtime, to);
    const bool deleted_between = older != older_version;
    bool same = false;
    if (same_time || deleted_between) {
      ROWFS_RETURN_IF_ERROR(
          impl_->SameContent(ds, entry.record, before.record, &same));
    }
    if (same) {
      if (!same_time) *restored = before.ts;
      // Revive first: the deletes below must win over its rewrites.
      uint64_t unused = 0;
      ROWFS_RETURN_IF_ERROR(
          impl_->StageRevive(ds, row, column, UINT64_MAX, &wb, &unused));
      for (size_t i = 0; i < *older_version; ++i) {
        wb.Delete(ds.cf, CellKey(row, column, state.entries[i].ts));
      }
      if (ts_out != nullptr) *ts_out = before.ts;
      ds.removed_records.fetch_add(1, std::memory_order_relaxed);
      return impl_->Commit(&wb, {}, "restore", changes);
    }
  }

  if (to == ts || (from && IsPrecisionLoss(ts, to))) {
    // Its own time (or, from a second-precision archive, its own second):
    // nothing to record but the time itself.
    if (entry.record.mtime_ms == 0) return Status::OK();
    entry.record.mtime_ms = 0;
    entry.record.ctime_ms = now;
    wb.Put(ds.cf, CellKey(row, column, ts), EncodeRecord(entry.record));
    return impl_->Commit(&wb, {}, "set time", changes);
  }
  // The name to take. A whole second given to the latest version comes from
  // a second-precision archive (GNU tar's default format), whose older
  // versions of that second arrive by their exact names, before or after:
  // the latest takes the second's last millisecond, so that it stays the
  // latest either way, and shows the whole second.
  uint64_t name = to;
  if (!newer && IsWholeSecond(to) && to + 999 <= kMaxTimestamp) {
    name = to + 999;
  }
  const bool keeps_place = (!older || name > state.entries[*older].ts) &&
                           (!newer || name < state.entries[*newer].ts) &&
                           impl_->CheckStoredTimestamp(name).ok();
  if (keeps_place && name != ts) {
    // Renamed to the time: restores reproduce `col@ts` names exactly.
    entry.record.mtime_ms = name == to ? 0 : to;
    entry.record.ctime_ms = now == name ? 0 : now;
    wb.Delete(ds.cf, CellKey(row, column, ts));
    wb.Put(ds.cf, CellKey(row, column, name), EncodeRecord(entry.record));
    changes[0].ts = name;
    if (ts_out != nullptr) *ts_out = name;
    return impl_->Commit(&wb, {}, "set time", changes);
  }
  // Elsewhere in history: the version keeps its place (the content last
  // written stays the latest), and shows the time.
  entry.record.mtime_ms = to == 0 ? 1 : to;
  entry.record.ctime_ms = now;
  wb.Put(ds.cf, CellKey(row, column, ts), EncodeRecord(entry.record));
  return impl_->Commit(&wb, {}, "set time", changes);
}

}  // namespace rowfs
