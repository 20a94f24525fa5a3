// A follower: a RocksDB secondary instance that catches up with the primary
// and reopens when the primary's datasets change.
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "records.h"
#include "store_impl.h"

namespace rowfs {

Status Store::Impl::DatasetRecords(DatasetRecordMap* records) const {
  records->clear();
  std::string end = DatasetRecordKey("");
  ++end.back();  // just past every "dataset/..." key
  RangeIterator it(db, meta_cf, DatasetRecordKey(""), std::move(end));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    records->emplace(ToView(it->key()).substr(DatasetRecordKey("").size()),
                     ToView(it->value()));
  }
  ROWFS_RETURN_IF_ERROR(
      Status::FromRocksDB(it->status(), "listing dataset records"));
  // And each one's family: a dataset dropped and made again with the same
  // record lives in another family.
  FamilyRecords families;
  ROWFS_RETURN_IF_ERROR(ReadFamilyRecords(db, meta_cf, &families));
  for (const auto& [family, dataset] : families.dataset_of) {
    (*records)[dataset] += std::string(1, '\0') + family;
  }
  return Status::OK();
}

Status Store::Impl::ReopenFollower(DatasetRecordMap records) {
  std::vector<std::string> names;
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      rocksdb::DB::ListColumnFamilies(db_options, path, &names),
      "listing the primary's datasets"));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<std::shared_ptr<PolicyCell>> policies;
  DescribeFamilies(names, &descriptors, &policies);
  // Each instance keeps its own info LOG; the previous one may still be
  // open (its datasets in use), so every generation gets a directory.
  const int generation = follower_generation + 1;
  const std::string dir =
      options.secondary_path + "/gen-" + std::to_string(generation);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* opened = nullptr;
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      rocksdb::DB::OpenAsSecondary(db_options, path, dir, descriptors, &handles,
                                   &opened),
      "reopening the follower"));
  rocksdb::ColumnFamilyHandle* opened_meta = nullptr;
  for (size_t i = 0; i < handles.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      opened_meta = handles[i];
      handles[i] = nullptr;
    }
  }
  auto instance = std::make_shared<FollowerInstance>(opened, opened_meta);
  DatasetMap loaded;
  uint64_t max_seq = 0;
  Status s =
      AdoptFamilies(opened, opened_meta, names, &handles, policies, &loaded,
                    &instance->spares, &instance->spares, &max_seq);
  if (!s.ok()) return s;  // `loaded` and `instance` go; the current stays
  for (auto& [name, ds] : loaded) ds->instance = instance;
  {
    std::unique_lock lock(datasets_mu);
    datasets.swap(loaded);
    db = opened;
    meta_cf = opened_meta;
    follower_instance = std::move(instance);
  }
  // Not the datasets opened: a record without a family (a drop that crashed
  // halfway) must not cause a reopen at every catch-up.
  follower_records = std::move(records);
  // The generation before the previous one has been closed or is closing;
  // its directory holds only its log.
  if (generation >= 3) {
    std::filesystem::remove_all(
        options.secondary_path + "/gen-" + std::to_string(generation - 2), ec);
  }
  follower_generation = generation;
  spdlog::info("follower reopened on {} datasets (the primary's changed)",
               loaded.size());
  return Status::OK();  // the old datasets go as their last users finish
}

Status Store::CatchUp() {
  if (impl_->options.mode != StoreOptions::Mode::kSecondary) {
    return Status::NotSupported("only a follower catches up");
  }
  std::lock_guard catching_up(impl_->catch_up_mu);
  // Only this function changes impl_->db, under catch_up_mu.
  Status s = Status::FromRocksDB(impl_->db->TryCatchUpWithPrimary(),
                                 "catching up with the primary");
  DatasetRecordMap records;
  if (s.ok()) s = impl_->DatasetRecords(&records);
  // A failed catch-up: most likely the primary dropped a family this
  // instance never knew (created after it opened), which a secondary cannot
  // get past. A new instance can.
  if (!s.ok() || records != impl_->follower_records) {
    if (!s.ok()) {
      // The records are unknown: the next catch-up reads them again (and
      // reopens once more when there are any).
      spdlog::info("follower reopens after: {}", s.ToString());
      records.clear();
    }
    ROWFS_RETURN_IF_ERROR(impl_->ReopenFollower(records));
  }
  std::unique_lock lock(impl_->datasets_mu);
  // Attributes and policies from the records just read (after a reopen
  // they are the new datasets' already).
  for (auto& [name, ds] : impl_->datasets) {
    auto record = records.find(name);
    if (record == records.end()) continue;  // never described
    Policy policy;
    if (DecodeDatasetRecord(record->second, &ds->attrs, &policy).ok()) {
      ds->policy->Store(policy);
    }
  }
  return Status::OK();
}

}  // namespace rowfs
