// Datasets (RocksDB column families), their policies, the root's
// attributes.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "coding.h"
#include "records.h"
#include "rowfs/names.h"
#include "store_impl.h"

namespace rowfs {

// ---------------------------------------------------------------- Datasets

namespace {

// Rewrites the dataset's record with `attrs` and/or `policy` (null: as
// they are), then makes them current.
Status UpdateDataset(Store::Impl* impl, std::string_view name,
                     const Attrs* attrs, const Policy* policy) {
  DatasetPtr found;
  ROWFS_RETURN_IF_ERROR(impl->Find(name, &found));
  // Not while it is dropped: its record would come back.
  std::shared_lock alive(found->alive_mu);
  if (found->dropped) return Status::NotFound("dataset was dropped");
  std::unique_lock lock(impl->datasets_mu);
  Dataset& ds = *found;
  const Attrs new_attrs = attrs != nullptr ? *attrs : ds.attrs;
  const Policy new_policy = policy != nullptr ? *policy : ds.policy->Load();
  ROWFS_RETURN_IF_ERROR(impl->WriteMetaRecord(
      DatasetRecordKey(name), EncodeDatasetRecord(new_attrs, new_policy)));
  ds.attrs = new_attrs;
  ds.policy->Store(new_policy);
  return Status::OK();
}

}  // namespace

Status Store::CreateDataset(std::string_view name, const Attrs& attrs) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("create dataset"));
  ROWFS_RETURN_IF_ERROR(ValidateDatasetName(name));
  std::lock_guard making(impl_->families_mu);
  DatasetPtr existing;
  if (impl_->Find(name, &existing).ok()) {
    return Status::AlreadyExists("dataset '" + std::string(name) + "' exists");
  }
  SpareFamily family;
  ROWFS_RETURN_IF_ERROR(impl_->TakeSpareFamily(&family));
  family.policy->Store(Policy{});
  family.policy->set_ready(true);
  rocksdb::WriteBatch wb;
  std::string floor;
  PutFixed64BE(&floor, 0);
  wb.Put(impl_->meta_cf, DatasetRecordKey(name),
         EncodeDatasetRecord(attrs, Policy{}));
  wb.Put(impl_->meta_cf, FloorRecordKey(name), floor);
  // Nothing in the family itself (records.h, FamilyRecordKey).
  wb.Put(impl_->meta_cf, FamilyRecordKey(name), family.handle->GetName());
  Status s = impl_->Commit(&wb, WriteOptions{.sync = true}, "create dataset");
  if (!s.ok()) {
    // The record may still reach the disk (a failed sync of a written
    // log): handing the family out again could give two datasets one
    // family. Held unused; the next start sees whether it is mapped.
    impl_->idle_families.push_back(family);
    return s;
  }
  auto ds = std::make_shared<Dataset>(std::string(name), impl_->db,
                                      family.handle, family.policy,
                                      /*floor=*/0, impl_->iterator_pools.get());
  ds->attrs = attrs;
  std::unique_lock lock(impl_->datasets_mu);
  impl_->datasets.emplace(std::string(name), std::move(ds));
  return Status::OK();
}

Status Store::DropDataset(std::string_view name, bool force) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("drop dataset"));
  std::lock_guard dropping(impl_->families_mu);
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
  // The family is marked, and dropped from RocksDB later with others
  // (dropping one rewrites the OPTIONS file, as making one does).
  rocksdb::WriteBatch wb;
  wb.Delete(impl_->meta_cf, DatasetRecordKey(name));
  wb.Delete(impl_->meta_cf, FloorRecordKey(name));
  wb.Delete(impl_->meta_cf, FamilyRecordKey(name));
  wb.Put(impl_->meta_cf, DroppedFamilyKey(ds->cf->GetName()), "");
  ROWFS_RETURN_IF_ERROR(
      impl_->Commit(&wb, WriteOptions{.sync = true}, "drop dataset"));
  ds->dropped = true;
  ds->iterators->Clear();  // idle iterators would keep the data alive
  size_t remaining = 0;
  {
    std::unique_lock lock(impl_->datasets_mu);
    impl_->datasets.erase(impl_->datasets.find(name));
    remaining = impl_->datasets.size();
  }
  impl_->dropped_families.push_back(std::move(ds));
  alive.unlock();
  // Few families: dropped at once (cheap), so the space is free at once.
  // Many: in batches, at the latest by the next maintenance pass.
  Status s = impl_->DropMarkedFamilies(
      remaining < 256 ? 1 : std::min<size_t>(remaining / 16, 256));
  if (!s.ok()) spdlog::warn("{}", s.ToString());
  return Status::OK();
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
  return UpdateDataset(impl_.get(), name, &attrs, nullptr);
}

Status Store::SetDatasetPolicy(std::string_view name, const Policy& policy) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("set dataset policy"));
  if (policy.ttl_seconds > kMaxTimestamp / 1000 ||
      policy.keep_deleted_seconds > kMaxTimestamp / 1000) {
    return Status::InvalidArgument("policy time out of range");
  }
  return UpdateDataset(impl_.get(), name, nullptr, &policy);
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
