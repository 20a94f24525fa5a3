#include "table_salvage.h"

#include <rocksdb/sst_file_reader.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "records.h"
#include "rowfs/key_codec.h"

namespace rowfs {
namespace {

constexpr size_t kBatchBytes = 8 << 20;

// "row/column@ts" for a key of a dataset, the bytes otherwise.
std::string ShowKey(const std::string& key) {
  ParsedKey k;
  if (!ParseKey(key, &k).ok()) return "key '" + key + "'";
  switch (k.kind) {
    case KeyKind::kCell:
      return std::string(k.row) + "/" + std::string(k.column) + "@" +
             std::to_string(k.ts);
    case KeyKind::kColumnMeta:
      return std::string(k.row) + "/" + std::string(k.column);
    case KeyKind::kRowMeta:
      break;
  }
  return std::string(k.row);
}

// Calls `visit` with each key of the table file `path` that reads:
// forwards up to the first unreadable block, then backwards from the end
// down to the last one. Returns the first error met (OK when the whole
// file reads); `before`/`after` receive the readable keys around the
// unreadable part.
rocksdb::Status ReadableKeys(
    const rocksdb::Options& options, const std::string& path,
    const std::function<void(const std::string&)>& visit, std::string* before,
    std::string* after) {
  rocksdb::SstFileReader reader(options);
  rocksdb::Status s = reader.Open(path);
  if (!s.ok()) return s;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    *before = it->key().ToString();
    visit(*before);
  }
  if (it->status().ok()) return it->status();
  const rocksdb::Status error = it->status();
  it.reset(reader.NewIterator(ro));
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    if (!before->empty() && it->key().ToString() <= *before) break;
    *after = it->key().ToString();
    visit(*after);
  }
  return error;
}

// Writes `batch` when it is big enough (or `force`).
rocksdb::Status Drain(rocksdb::DB* db, rocksdb::WriteBatch* batch, bool force) {
  if (batch->Count() == 0 || (!force && batch->GetDataSize() < kBatchBytes)) {
    return rocksdb::Status::OK();
  }
  rocksdb::WriteOptions wo;
  wo.sync = force;
  rocksdb::Status s = db->Write(wo, batch);
  batch->Clear();
  return s;
}

}  // namespace

Status SalvageDamagedTables(
    rocksdb::DB* db,
    const std::map<std::string, rocksdb::ColumnFamilyHandle*>& families,
    const std::set<std::string>& damaged, std::vector<std::string>* report) {
  std::vector<rocksdb::LiveFileMetaData> live;
  db->GetLiveFilesMetaData(&live);
  FamilyRecords records;  // for naming datasets; by family name if unread
  if (auto meta = families.find(rocksdb::kDefaultColumnFamilyName);
      meta == families.end() ||
      !ReadFamilyRecords(db, meta->second, &records).ok()) {
    records = {};
  }
  for (const rocksdb::LiveFileMetaData& t : live) {
    const std::string name = std::filesystem::path(t.name).filename();
    if (damaged.count(name) == 0) continue;
    auto family = families.find(t.column_family_name);
    if (family == families.end()) continue;
    rocksdb::ColumnFamilyHandle* cf = family->second;
    const rocksdb::Options options = db->GetOptions(cf);
    const std::string where = FamilyLabel(records, t.column_family_name);

    // 1. Its readable keys, written again with the value the database
    // shows (from this table or a newer write).
    rocksdb::WriteBatch batch;
    rocksdb::Status s;
    uint64_t kept = 0, unreadable = 0;
    std::string before, after, value;
    rocksdb::Status read = ReadableKeys(
        options, t.db_path + "/" + name,
        [&](const std::string& key) {
          if (!s.ok()) return;
          rocksdb::Status g = db->Get(rocksdb::ReadOptions(), cf, key, &value);
          if (g.ok()) {
            s = batch.Put(cf, key, value);
            ++kept;
          } else if (!g.IsNotFound()) {
            ++unreadable;
          }
          if (s.ok()) s = Drain(db, &batch, false);
        },
        &before, &after);
    if (!s.ok()) return Status::FromRocksDB(s, "salvaging " + name);

    // 2. Deletions it may hold: what an older table of the family has in
    // its key range but the database shows as deleted is deleted again.
    uint64_t deleted = 0;
    for (const rocksdb::LiveFileMetaData& o : live) {
      if (o.column_family_name != t.column_family_name || o.name == t.name ||
          o.largestkey < t.smallestkey || o.smallestkey > t.largestkey) {
        continue;
      }
      std::string unused1, unused2;
      ReadableKeys(
          options,
          o.db_path + "/" + std::filesystem::path(o.name).filename().string(),
          [&](const std::string& key) {
            if (!s.ok() || key < t.smallestkey || key > t.largestkey) return;
            rocksdb::Status g =
                db->Get(rocksdb::ReadOptions(), cf, key, &value);
            if (g.IsNotFound()) {
              s = batch.Delete(cf, key);
              ++deleted;
            }
            if (s.ok()) s = Drain(db, &batch, false);
          },
          &unused1, &unused2)
          .PermitUncheckedError();  // a damaged one is salvaged on its own
      if (!s.ok()) return Status::FromRocksDB(s, "salvaging " + name);
    }
    s = Drain(db, &batch, true);
    if (s.ok()) s = db->Flush(rocksdb::FlushOptions(), cf);
    if (!s.ok()) return Status::FromRocksDB(s, "salvaging " + name);

    std::string line = name + " (" + where + "): kept " + std::to_string(kept) +
                       " readable entries";
    if (deleted > 0) {
      line += ", deleted again " + std::to_string(deleted) +
              " keys it may have deleted";
    }
    if (read.ok()) {
      line += "; it read whole here";
    } else if (before.empty() && after.empty()) {
      line += "; nothing of it reads (" + read.ToString() + ")";
    } else {
      line += "; unreadable: the entries " +
              (before.empty() ? std::string("from its start")
                              : "after " + ShowKey(before)) +
              (after.empty() ? std::string(" to its end")
                             : " and before " + ShowKey(after));
    }
    if (unreadable > 0) {
      line += " (" + std::to_string(unreadable) +
              " more keys unreadable through other damage)";
    }
    report->push_back(line);
  }
  return Status::OK();
}

}  // namespace rowfs
