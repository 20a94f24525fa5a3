// Datasets (RocksDB column families), their policies, the root's
// attributes.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "coding.h"
#include "records.h"
#include "rowfs/names.h"
#include "store_impl.h"

namespace rowfs {

// ---------------------------------------------------------------- Datasets

Status Store::CreateDataset(std::string_view name, const Attrs& attrs) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("create dataset"));
  ROWFS_RETURN_IF_ERROR(ValidateDatasetName(name));
  std::unique_lock lock(impl_->datasets_mu);
  if (impl_->datasets.count(name) != 0) {
    return Status::AlreadyExists("dataset '" + std::string(name) + "' exists");
  }
  auto policy = std::make_shared<PolicyCell>();
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  rocksdb::Status s = impl_->db->CreateColumnFamily(
      impl_->DatasetCfOptions(policy), std::string(name), &handle);
  if (!s.ok())
    return Status::FromRocksDB(s, "creating dataset " + std::string(name));
  auto ds =
      std::make_shared<Dataset>(std::string(name), impl_->db, handle, policy,
                                /*floor=*/0, impl_->iterator_pools.get());
  ds->attrs = attrs;
  impl_->datasets.emplace(std::string(name), ds);
  rocksdb::WriteBatch wb;
  std::string floor;
  PutFixed64BE(&floor, 0);
  wb.Put(impl_->meta_cf, DatasetRecordKey(name),
         EncodeDatasetRecord(attrs, Policy{}));
  wb.Put(impl_->meta_cf, FloorRecordKey(name), floor);
  wb.Put(handle, ToSlice(kDatasetFormatKey), std::to_string(kFormat));
  return impl_->Commit(&wb, WriteOptions{.sync = true}, "create dataset");
}

Status Store::DropDataset(std::string_view name, bool force) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("drop dataset"));
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(name, &ds));
  std::unique_lock alive(ds->alive_mu);
  if (ds->dropped) return Status::NotFound("dataset was dropped");
  if (!force) {
    Status s;
    std::unique_ptr<RowCursor> cursor = NewRowCursor(name, {}, &s);
    if (!s.ok()) return s;
    RowInfo row;
    if (cursor->Next(&row)) {
      return Status::NotEmpty("dataset '" + std::string(name) + "' has rows");
    }
    ROWFS_RETURN_IF_ERROR(cursor->status());
  }
  rocksdb::Status s = impl_->db->DropColumnFamily(ds->cf);
  if (!s.ok()) return Status::FromRocksDB(s, "dropping " + std::string(name));
  ds->dropped = true;
  ds->iterators->Clear();  // idle iterators would keep the data alive
  {
    std::unique_lock lock(impl_->datasets_mu);
    impl_->datasets.erase(impl_->datasets.find(name));
  }
  rocksdb::WriteBatch wb;
  wb.Delete(impl_->meta_cf, DatasetRecordKey(name));
  wb.Delete(impl_->meta_cf, FloorRecordKey(name));
  return impl_->Commit(&wb, WriteOptions{.sync = true}, "drop dataset");
}

std::vector<DatasetInfo> Store::ListDatasets() const {
  std::shared_lock lock(impl_->datasets_mu);
  std::vector<DatasetInfo> out;
  out.reserve(impl_->datasets.size());
  for (const auto& [name, ds] : impl_->datasets) {
    out.push_back({name, ds->attrs, ds->policy->Load()});
  }
  return out;
}

Status Store::GetDataset(std::string_view name, DatasetInfo* info) const {
  std::shared_lock lock(impl_->datasets_mu);
  auto it = impl_->datasets.find(name);
  if (it == impl_->datasets.end()) {
    return Status::NotFound("dataset '" + std::string(name) +
                            "' does not exist");
  }
  *info = {it->first, it->second->attrs, it->second->policy->Load()};
  return Status::OK();
}

Status Store::SetDatasetAttrs(std::string_view name, const Attrs& attrs) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("set dataset attributes"));
  std::unique_lock lock(impl_->datasets_mu);
  auto it = impl_->datasets.find(name);
  if (it == impl_->datasets.end()) {
    return Status::NotFound("dataset '" + std::string(name) +
                            "' does not exist");
  }
  ROWFS_RETURN_IF_ERROR(impl_->WriteMetaRecord(
      DatasetRecordKey(name),
      EncodeDatasetRecord(attrs, it->second->policy->Load())));
  it->second->attrs = attrs;
  return Status::OK();
}

Status Store::SetDatasetPolicy(std::string_view name, const Policy& policy) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("set dataset policy"));
  if (policy.ttl_seconds > kMaxTimestamp / 1000 ||
      policy.keep_deleted_seconds > kMaxTimestamp / 1000) {
    return Status::InvalidArgument("policy time out of range");
  }
  std::unique_lock lock(impl_->datasets_mu);
  auto it = impl_->datasets.find(name);
  if (it == impl_->datasets.end()) {
    return Status::NotFound("dataset '" + std::string(name) +
                            "' does not exist");
  }
  ROWFS_RETURN_IF_ERROR(impl_->WriteMetaRecord(
      DatasetRecordKey(name), EncodeDatasetRecord(it->second->attrs, policy)));
  it->second->policy->Store(policy);
  return Status::OK();
}

Status Store::GetRootAttrs(Attrs* attrs) const {
  std::string record;
  rocksdb::Status s;
  {
    std::shared_lock lock(impl_->datasets_mu);  // a follower may reopen
    s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta_cf,
                       ToSlice(kRootRecordKey), &record);
  }
  if (s.IsNotFound()) return Status::NotFound("root has no attributes yet");
  if (!s.ok()) return Status::FromRocksDB(s, "reading root attributes");
  return DecodeAttrs(record, attrs);
}

Status Store::SetRootAttrs(const Attrs& attrs) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("set root attributes"));
  return impl_->WriteMetaRecord(kRootRecordKey, EncodeAttrs(attrs));
}

}  // namespace rowfs
