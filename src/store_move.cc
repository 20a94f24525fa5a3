// Renames. A column renamed onto another is rename by name: its content
// becomes the target's newest version and the source is deleted as by rm,
// so history stays with the names (editors, rsync, sed -i). Within a
// dataset the content is shared; across datasets it is copied into the
// target's content space.
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "content_reader.h"
#include "records.h"
#include "store_impl.h"

namespace rowfs {
namespace {

bool SameRef(const CellRef& a, const CellRef& b) {
  return a.dataset == b.dataset && a.row == b.row && a.column == b.column &&
         a.ts == b.ts;
}

// Unpins what a move pinned for the content it copied, when it ends.
class CopiedContents {
 public:
  ~CopiedContents() {
    for (const auto& [ds, content] : pinned_) ds->content.Unpin({content});
  }
  void Add(Dataset* ds, uint64_t content) { pinned_.emplace_back(ds, content); }

 private:
  std::vector<std::pair<Dataset*, uint64_t>> pinned_;
};

}  // namespace

Status Store::Impl::CopyContent(Dataset& from, Dataset& to,
                                const VersionRecord& record,
                                rocksdb::WriteBatch* wb, VersionRecord* out) {
  *out = record;
  if (&from == &to || record.kind != RecordKind::kChunked) {
    return Status::OK();
  }
  uint64_t content = 0;
  ROWFS_RETURN_IF_ERROR(to.content.NewContent(&content));
  std::string chunk;
  ChunkMapBuilder map;
  for (const ChunkRun& run : record.runs) {
    for (uint32_t i = run.first; i < run.first + run.count; ++i) {
      ROWFS_RETURN_IF_ERROR(from.content.ReadChunk(run.content, i, &chunk));
      wb->Put(to.cf, ContentKey(content, i), chunk);
      map.Add(i, content);
    }
  }
  out->runs = map.Finish();
  // The caller's batch makes the record that protects it; until then it is
  // pinned (NewContent), and the caller unpins it after the commit.
  return Status::OK();
}

Status Store::MoveColumn(const CellRef& src, const CellRef& dst,
                         MoveMode mode) {
  if (src.ts && *src.ts > kMaxTimestamp) {
    return Status::InvalidArgument("timestamp out of range");
  }
  if (dst.ts) ROWFS_RETURN_IF_ERROR(impl_->CheckStoredTimestamp(*dst.ts));
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare(
      "rename",
      {{src.dataset, src.row, src.column}, {dst.dataset, dst.row, dst.column}},
      &l));
  Dataset& sds = *l.ds[0];
  Dataset& dds = *l.ds[1];
  const uint64_t now = impl_->Now();

  // What src holds: the named version, or the latest.
  ColumnState sstate;
  ROWFS_RETURN_IF_ERROR(
      impl_->ReadColumn(sds, src.row, src.column, {}, true, &sstate));
  const std::vector<size_t> svisible =
      VisibleVersions(sstate, sds.policy->Load(), now, UINT64_MAX);
  std::optional<size_t> sidx;
  for (size_t i : svisible) {
    if (!src.ts || sstate.entries[i].ts == *src.ts) {
      sidx = i;
      break;
    }
  }
  if (!sidx) {
    return Status::NotFound("rename source " +
                            Describe(src.dataset, src.row, src.column, src.ts) +
                            " does not exist");
  }
  if (SameRef(src, dst)) return Status::OK();
  const ColumnEntry source = sstate.entries[*sidx];

  // What dst holds. (A move within one column reads the same state.)
  ColumnState dstate;
  ROWFS_RETURN_IF_ERROR(
      impl_->ReadColumn(dds, dst.row, dst.column, {}, true, &dstate));
  const std::vector<size_t> dvisible =
      VisibleVersions(dstate, dds.policy->Load(), now, UINT64_MAX);
  std::optional<size_t> didx;
  for (size_t i : dvisible) {
    if (!dst.ts || dstate.entries[i].ts == *dst.ts) {
      didx = i;
      break;
    }
  }
  const bool dst_exists = didx.has_value();
  const bool dst_column_exists = !dvisible.empty();
  const std::string dst_name =
      Describe(dst.dataset, dst.row, dst.column, dst.ts);
  if (mode == MoveMode::kNoReplace && dst_exists) {
    return Status::AlreadyExists("rename target " + dst_name + " exists");
  }

  rocksdb::WriteBatch wb;
  CopiedContents copied;
  std::vector<ColumnChange> changes;
  uint64_t max_ts = 0;
  auto put = [&](Dataset& ds, std::string_view row, std::string_view column,
                 uint64_t ts, const VersionRecord& record,
                 Dataset& from) -> Status {
    VersionRecord r;
    ROWFS_RETURN_IF_ERROR(impl_->CopyContent(from, ds, record, &wb, &r));
    if (&from != &ds && r.kind == RecordKind::kChunked) {
      copied.Add(&ds, r.runs.front().content);
    }
    wb.Put(ds.cf, CellKey(row, column, ts), EncodeRecord(r));
    max_ts = std::max(max_ts, ts);
    return Status::OK();
  };
  auto commit = [&](std::string_view what) {
    changes.push_back({&sds, ColumnBegin(src.row, src.column), false, max_ts});
    changes.push_back({&dds, ColumnBegin(dst.row, dst.column), false, max_ts});
    return impl_->Commit(&wb, {}, what, changes);
  };

  if (mode == MoveMode::kExchange) {
    if (!dst_exists) {
      return Status::NotFound("exchange target " + dst_name +
                              " does not exist");
    }
    if (src.ts.has_value() != dst.ts.has_value()) {
      return Status::InvalidArgument("cannot exchange a column with a version");
    }
    if (src.ts) {
      const ColumnEntry target = dstate.entries[*didx];
      ROWFS_RETURN_IF_ERROR(
          put(sds, src.row, src.column, *src.ts, target.record, dds));
      ROWFS_RETURN_IF_ERROR(
          put(dds, dst.row, dst.column, *dst.ts, source.record, sds));
      return commit("exchange versions");
    }
    // Two columns swap every key (meta and entries), re-keyed.
    for (const ColumnEntry& e : sstate.entries) {
      wb.Delete(sds.cf, CellKey(src.row, src.column, e.ts));
    }
    for (const ColumnEntry& e : dstate.entries) {
      wb.Delete(dds.cf, CellKey(dst.row, dst.column, e.ts));
    }
    for (const ColumnEntry& e : sstate.entries) {
      ROWFS_RETURN_IF_ERROR(put(dds, dst.row, dst.column, e.ts, e.record, sds));
    }
    for (const ColumnEntry& e : dstate.entries) {
      ROWFS_RETURN_IF_ERROR(put(sds, src.row, src.column, e.ts, e.record, dds));
    }
    wb.Delete(sds.cf, ColumnMetaKey(src.row, src.column));
    wb.Delete(dds.cf, ColumnMetaKey(dst.row, dst.column));
    if (dstate.attrs) {
      wb.Put(sds.cf, ColumnMetaKey(src.row, src.column),
             EncodeColumnMeta(dstate.attrs, false));
    }
    if (sstate.attrs) {
      wb.Put(dds.cf, ColumnMetaKey(dst.row, dst.column),
             EncodeColumnMeta(sstate.attrs, false));
    }
    return commit("exchange columns");
  }

  // The newest entry of dst, live or not: a new version goes above it.
  const uint64_t dst_newest = dstate.entries.empty() ? 0 : dstate.entries[0].ts;
  uint64_t new_ts = source.ts;
  if (!dst.ts && !dstate.entries.empty() && new_ts <= dst_newest) {
    new_ts = dst_newest + 1;
  }
  if (new_ts > kMaxTimestamp) {
    return Status::InvalidArgument("no timestamp left after the latest");
  }
  VersionRecord record = source.record;
  record.expires_ms = 0;
  const uint64_t shown = source.record.ShownMtime(source.ts);

  // Removing the source: first, so that a put to the same key below (a
  // move within one column) wins, as WriteBatch applies in order.
  if (src.ts) {
    wb.Delete(sds.cf, CellKey(src.row, src.column, *src.ts));
    sds.removed_records.fetch_add(1, std::memory_order_relaxed);
  } else if (svisible.size() == 1 && sstate.entries.size() == 1 &&
             !(src.dataset == dst.dataset && src.row == dst.row &&
               src.column == dst.column)) {
    // A single version that lives on as dst's newest (an editor's or
    // rsync's temporary file): nothing of src is left behind.
    wb.Delete(sds.cf, CellKey(src.row, src.column, source.ts));
    wb.Delete(sds.cf, ColumnMetaKey(src.row, src.column));
  } else {
    uint64_t marker_ts = 0;
    ROWFS_RETURN_IF_ERROR(impl_->StageDeleteColumn(sds, src.row, src.column, {},
                                                   {}, &wb, &marker_ts));
    max_ts = std::max(max_ts, marker_ts);
  }

  if (dst.ts) {
    // Onto exactly a version.
    record.mtime_ms = 0;
    ROWFS_RETURN_IF_ERROR(put(dds, dst.row, dst.column, *dst.ts, record, sds));
    if (!dst_column_exists && sstate.attrs && !dstate.attrs) {
      wb.Put(dds.cf, ColumnMetaKey(dst.row, dst.column),
             EncodeColumnMeta(sstate.attrs, false));
    }
    return commit("rename version");
  }

  // Onto a column: src's content becomes dst's newest version.
  std::optional<size_t> before;  // dst's last version, markers aside
  for (size_t i = 0; i < dstate.entries.size(); ++i) {
    if (!dstate.entries[i].record.is_deletion()) {
      if (dstate.entries[i].record.expires_ms == 0 ||
          dstate.entries[i].record.expires_ms > now) {
        before = i;
      }
      break;
    }
  }
  if (before) {
    const ColumnEntry& b = dstate.entries[*before];
    bool same = false;
    // (Across datasets only inline contents compare: chunks are not
    // shared there.)
    const bool comparable =
        &sds == &dds || (record.kind == RecordKind::kInline &&
                         b.record.kind == RecordKind::kInline);
    if (comparable && b.record.ShownMtime(b.ts) == shown) {
      ROWFS_RETURN_IF_ERROR(impl_->SameContent(sds, record, b.record, &same));
    }
    if (same) {
      // dst already ends with this content and time (a second rsync of an
      // unchanged file, mv a b; mv b a): nothing is added, and a deleted
      // dst is simply restored.
      // Revive first: the deletes below must win over its rewrites.
      uint64_t unused = 0;
      if (*before != 0) {
        ROWFS_RETURN_IF_ERROR(impl_->StageRevive(dds, dst.row, dst.column,
                                                 UINT64_MAX, &wb, &unused));
      }
      for (size_t i = 0; i < *before; ++i) {
        wb.Delete(dds.cf, CellKey(dst.row, dst.column, dstate.entries[i].ts));
      }
      if (sstate.attrs) {
        wb.Put(dds.cf, ColumnMetaKey(dst.row, dst.column),
               EncodeColumnMeta(sstate.attrs, false));
      }
      return commit("rename column");
    }
  }
  if (!dstate.entries.empty()) {
    uint64_t unused = 0;
    ROWFS_RETURN_IF_ERROR(
        impl_->StageRevive(dds, dst.row, dst.column, new_ts, &wb, &unused));
  }
  record.mtime_ms = shown == new_ts ? 0 : shown;
  record.ctime_ms = 0;  // a new version: changed at its own time
  ROWFS_RETURN_IF_ERROR(put(dds, dst.row, dst.column, new_ts, record, sds));
  // A rename gives the target the source's owner and mode, as rename(2)
  // keeps a file's attributes.
  if (sstate.attrs) {
    wb.Put(dds.cf, ColumnMetaKey(dst.row, dst.column),
           EncodeColumnMeta(sstate.attrs, false));
  }
  return commit("rename column");
}

Status Store::MoveRow(std::string_view src_dataset, std::string_view src_row,
                      std::string_view dst_dataset, std::string_view dst_row,
                      MoveMode mode) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare(
      "rename row", {{src_dataset, src_row}, {dst_dataset, dst_row}}, &l));
  Dataset& sds = *l.ds[0];
  Dataset& dds = *l.ds[1];

  RowInfo info;
  ROWFS_RETURN_IF_ERROR(StatRow(src_dataset, src_row, &info));
  if (src_dataset == dst_dataset && src_row == dst_row) return Status::OK();
  Status s = StatRow(dst_dataset, dst_row, &info);
  if (!s.ok() && !s.IsNotFound()) return s;
  const bool dst_exists = s.ok();
  const std::string dst_name = Describe(dst_dataset, dst_row);
  if (mode == MoveMode::kNoReplace && dst_exists) {
    return Status::AlreadyExists("rename target " + dst_name + " exists");
  }
  if (mode == MoveMode::kExchange && !dst_exists) {
    return Status::NotFound("exchange target " + dst_name + " does not exist");
  }
  if (mode == MoveMode::kReplace && dst_exists) {
    std::vector<ColumnInfo> columns;
    ROWFS_RETURN_IF_ERROR(ListColumns(dst_dataset, dst_row, &columns));
    if (!columns.empty()) {
      return Status::NotEmpty("rename target " + dst_name + " is not empty");
    }
  }
  std::vector<std::pair<std::string, std::string>> skv, dkv;
  ROWFS_RETURN_IF_ERROR(
      impl_->CollectRange(sds, RowBegin(src_row), RowEnd(src_row), &skv, true));
  // The target's keys (an empty row's meta and kept history) are replaced.
  ROWFS_RETURN_IF_ERROR(
      impl_->CollectRange(dds, RowBegin(dst_row), RowEnd(dst_row), &dkv, true));
  rocksdb::WriteBatch wb;
  CopiedContents copied;
  std::vector<ColumnChange> changes;
  // Moves `kvs` from `from` (row `from_row`) to `to` (row `to_row`).
  auto move = [&](const std::vector<std::pair<std::string, std::string>>& kvs,
                  Dataset& from, std::string_view from_row, Dataset& to,
                  std::string_view to_row) -> Status {
    for (const auto& [key, value] : kvs) {
      ParsedKey k;
      ROWFS_RETURN_IF_ERROR(ParseOwnKey(key, &k));
      // Re-keying swaps the row prefix; the rest of the key is unchanged.
      std::string out(to_row);
      out.append(key, from_row.size());
      std::string stored = value;
      if (k.kind == KeyKind::kCell && &from != &to) {
        VersionRecord r, copy;
        ROWFS_RETURN_IF_ERROR(DecodeRecord(value, &r));
        ROWFS_RETURN_IF_ERROR(impl_->CopyContent(from, to, r, &wb, &copy));
        if (copy.kind == RecordKind::kChunked && !copy.runs.empty()) {
          copied.Add(&to, copy.runs.front().content);
        }
        stored = EncodeRecord(copy);
      }
      wb.Put(to.cf, out, stored);
      if (k.kind != KeyKind::kRowMeta) {
        changes.push_back({&from, ColumnBegin(from_row, k.column), false, 0});
        changes.push_back({&to, ColumnBegin(to_row, k.column), false,
                           k.kind == KeyKind::kCell ? k.ts : 0});
      }
    }
    return Status::OK();
  };
  for (const auto& kv : skv) wb.Delete(sds.cf, kv.first);
  for (const auto& kv : dkv) wb.Delete(dds.cf, kv.first);
  ROWFS_RETURN_IF_ERROR(move(skv, sds, src_row, dds, dst_row));
  if (mode == MoveMode::kExchange) {
    ROWFS_RETURN_IF_ERROR(move(dkv, dds, dst_row, sds, src_row));
  } else {
    dds.removed_records.fetch_add(dkv.size(), std::memory_order_relaxed);
  }
  if (&sds != &dds) {
    sds.removed_records.fetch_add(skv.size(), std::memory_order_relaxed);
  }
  return impl_->Commit(&wb, {}, "rename row", changes);
}

}  // namespace rowfs
