#include "format_upgrade.h"

#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>

#include "records.h"
#include "rowfs/clock.h"
#include "store_write_path.h"

namespace rowfs {
namespace {

constexpr size_t kBatchBytes = 4 << 20;

Status MakeCheckpoint(Store::Impl* impl, std::string* dir) {
  *dir = impl->path + ".format1-" + std::to_string(Clock::Real()->NowMs());
  rocksdb::Checkpoint* raw = nullptr;
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      rocksdb::Checkpoint::Create(impl->db, &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      checkpoint->CreateCheckpoint(*dir),
      "making a checkpoint before the format upgrade in " + *dir));
  chmod(dir->c_str(), 0700);
  return Status::OK();
}

// A format-1 value as a format-2 record, large ones chunked into `wb`.
Status Convert(Dataset& ds, std::string_view value, rocksdb::WriteBatch* wb,
               std::vector<uint64_t>* pinned, std::string* record_out) {
  VersionRecord record;
  uint64_t content = 0;
  ROWFS_RETURN_IF_ERROR(RecordForValue(ds, value, wb, &record, &content));
  if (content != 0) pinned->push_back(content);
  *record_out = EncodeRecord(record);
  return Status::OK();
}

}  // namespace

Status UpgradeFormat1(Store::Impl* impl) {
  std::string progress;
  rocksdb::Status ps = impl->db->Get(rocksdb::ReadOptions(), impl->meta_cf,
                                     ToSlice(kUpgradeProgressKey), &progress);
  if (!ps.ok() && !ps.IsNotFound()) {
    return Status::FromRocksDB(ps, "reading the upgrade's progress");
  }
  bool started = ps.ok();
  for (const auto& [name, ds] : impl->datasets) started |= ds->format2;
  if (!started) {
    std::string dir;
    ROWFS_RETURN_IF_ERROR(MakeCheckpoint(impl, &dir));
    spdlog::warn(
        "{}: upgrading database format 1 to 2; the database as it was is in "
        "{} (remove it once the upgrade is known good)",
        impl->path, dir);
  } else {
    spdlog::warn("{}: resuming the upgrade to format 2", impl->path);
  }
  // progress = dataset 0x00 last converted key
  const size_t sep = progress.find('\0');
  const std::string done_ds =
      sep == std::string::npos ? std::string() : progress.substr(0, sep);
  const std::string done_key =
      sep == std::string::npos ? std::string() : progress.substr(sep + 1);
  uint64_t cells = 0;
  for (auto& [name, ds] : impl->datasets) {
    if (ds->format2) continue;  // converted (or made in format 2)
    const bool resume = name == done_ds;
    RangeIterator it(ds->db, ds->cf, std::string(kRowSpaceBegin),
                     std::string());
    if (resume) {
      it->Seek(done_key);
      if (it->Valid() && ToView(it->key()) == done_key) it->Next();
    } else {
      it->Seek(ToSlice(kRowSpaceBegin));
    }
    rocksdb::WriteBatch wb;
    std::vector<uint64_t> pinned;
    std::string last;
    auto flush = [&]() -> Status {
      if (last.empty()) return Status::OK();
      wb.Put(impl->meta_cf, ToSlice(kUpgradeProgressKey), name + '\0' + last);
      Status s = Status::FromRocksDB(
          WriteToRocksDB(impl->db, rocksdb::WriteOptions(), &wb), "upgrading");
      ds->content.Unpin(pinned);
      pinned.clear();
      wb.Clear();
      last.clear();
      return s;
    };
    for (; it->Valid(); it->Next()) {
      ParsedKey k;
      ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
      if (k.kind != KeyKind::kCell) continue;
      std::string record;
      ROWFS_RETURN_IF_ERROR(
          Convert(*ds, ToView(it->value()), &wb, &pinned, &record));
      wb.Put(ds->cf, it->key(), record);
      last = it->key().ToString();
      ++cells;
      if (wb.GetDataSize() >= kBatchBytes) ROWFS_RETURN_IF_ERROR(flush());
    }
    ROWFS_RETURN_IF_ERROR(
        Status::FromRocksDB(it->status(), "upgrading " + name));
    ROWFS_RETURN_IF_ERROR(flush());
    // Done with this family: it says so itself, atomically with forgetting
    // where the conversion was.
    rocksdb::WriteBatch done;
    done.Put(ds->cf, ToSlice(kDatasetFormatKey),
             std::to_string(Store::kFormat));
    done.Delete(impl->meta_cf, ToSlice(kUpgradeProgressKey));
    ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
        WriteToRocksDB(impl->db, rocksdb::WriteOptions(), &done),
        "upgrading " + name));
    ds->format2 = true;
  }
  rocksdb::WriteBatch wb;
  wb.Put(impl->meta_cf, ToSlice(kFormatRecordKey),
         std::to_string(Store::kFormat));
  wb.Delete(impl->meta_cf, ToSlice(kUpgradeProgressKey));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(WriteToRocksDB(impl->db, wo, &wb),
                                            "recording format 2"));
  spdlog::warn("{}: upgraded to format 2 ({} versions converted)", impl->path,
               cells);
  return Status::OK();
}

}  // namespace rowfs
