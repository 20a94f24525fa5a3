// Dataset families: which dataset each RocksDB family holds, and the pool
// of spare families that makes creating a dataset cost the same at 10,000
// datasets as at 10 (see kFamilyDatasetKey in records.h).
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "coding.h"
#include "logging.h"
#include "records.h"
#include "store_impl.h"

namespace rowfs {

namespace {

// How many families one refill of the pool makes. Each refill rewrites the
// OPTIONS file (every family's options: about 4 KB each) once, so refills
// in proportion to the families there are keep the cost per dataset flat;
// the cap bounds what a pool of unused families costs (memory per family
// in RocksDB, and the pause of one refill).
size_t RefillSize(size_t families) {
  return std::clamp<size_t>(families / 8, 8, 1024);
}

}  // namespace

Status Store::Impl::AdoptFamilies(
    rocksdb::DB* instance, rocksdb::ColumnFamilyHandle* instance_meta_cf,
    const std::vector<std::string>& names,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles,
    const std::vector<std::shared_ptr<PolicyCell>>& policies,
    DatasetMap* loaded, std::vector<SpareFamily>* spares,
    std::vector<SpareFamily>* dropped, uint64_t* max_seq) {
  Status s;
  for (size_t i = 0; i < handles->size(); ++i) {
    rocksdb::ColumnFamilyHandle*& handle = (*handles)[i];
    if (handle == nullptr || handle == instance_meta_cf) continue;
    const auto seq = PooledFamilySeq(names[i]);
    if (seq) *max_seq = std::max(*max_seq, *seq);
    std::string dataset;
    rocksdb::Status gs = instance->Get(rocksdb::ReadOptions(), handle,
                                       ToSlice(kFamilyDatasetKey), &dataset);
    if (gs.IsNotFound() && !seq) {
      dataset = names[i];  // named after its dataset
    } else if (gs.IsNotFound() || (gs.ok() && dataset.empty())) {
      (gs.ok() ? dropped : spares)->push_back({handle, policies[i]});
      handle = nullptr;
      continue;
    } else if (s.ok() && !gs.ok()) {
      s = Status::FromRocksDB(
          gs, "reading the dataset of family " + EscapeForLog(names[i]));
    }
    DatasetPtr ds;
    if (s.ok() && loaded->count(dataset) != 0) {
      s = Status::Corruption("two families hold dataset " +
                             EscapeForLog(dataset) + " (" +
                             loaded->at(dataset)->cf->GetName() + " and " +
                             EscapeForLog(names[i]) + "): rowfs check DB_DIR");
    }
    if (s.ok()) {
      s = LoadDataset(dataset, instance, instance_meta_cf, handle, policies[i],
                      &ds);
    }
    if (!s.ok()) {
      // Keep going to release the rest: every handle is owned on return.
      instance->DestroyColumnFamilyHandle(handle);
      handle = nullptr;
      continue;
    }
    handle = nullptr;  // the Dataset owns it
    loaded->emplace(std::move(dataset), std::move(ds));
  }
  return s;
}

Status Store::Impl::TakeSpareFamily(SpareFamily* out) {
  if (spare_families.empty()) {
    size_t families = 0;
    {
      std::shared_lock lock(datasets_mu);
      families = datasets.size();
    }
    const size_t n = RefillSize(families);
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    std::vector<std::shared_ptr<PolicyCell>> policies;
    for (size_t i = 0; i < n; ++i) {
      policies.push_back(std::make_shared<PolicyCell>());
      descriptors.emplace_back(PooledFamilyName(next_family_seq + i),
                               DatasetCfOptions(policies.back()));
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status s = db->CreateColumnFamilies(descriptors, &handles);
    // Those made are usable even when a later one failed.
    next_family_seq += n;
    for (size_t i = 0; i < handles.size(); ++i) {
      spare_families.push_back({handles[i], policies[i]});
    }
    if (spare_families.empty()) {
      return Status::FromRocksDB(s, "making dataset families");
    }
    spdlog::debug("made {} spare dataset families", handles.size());
    // Taken from the back: the oldest name first.
    std::reverse(spare_families.begin(), spare_families.end());
  }
  *out = spare_families.back();
  spare_families.pop_back();
  return Status::OK();
}

Status Store::Impl::DropMarkedFamilies(size_t at_least) {
  if (dropped_families.empty() || dropped_families.size() < at_least) {
    return Status::OK();
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const DatasetPtr& ds : dropped_families) handles.push_back(ds->cf);
  rocksdb::Status s = db->DropColumnFamilies(handles);
  if (!s.ok()) {
    // Marked in their families: dropped by a later call or the next start.
    return Status::FromRocksDB(s, "dropping the families of dropped datasets");
  }
  // Each handle goes with its Dataset's last user.
  dropped_families.clear();
  return Status::OK();
}

Status Store::Impl::DropFamiliesAtOpen(std::vector<SpareFamily>* marked) {
  if (marked->empty()) return Status::OK();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const SpareFamily& f : *marked) handles.push_back(f.handle);
  rocksdb::Status s =
      read_only() ? rocksdb::Status::OK() : db->DropColumnFamilies(handles);
  if (read_only() || !s.ok()) {
    // Kept open, unused, until a later read-write start drops them.
    idle_families.insert(idle_families.end(), marked->begin(), marked->end());
    marked->clear();
    return s.ok() ? Status::OK()
                  : Status::FromRocksDB(s, "dropping marked families");
  }
  for (const SpareFamily& f : *marked) db->DestroyColumnFamilyHandle(f.handle);
  marked->clear();
  return Status::OK();
}

DatasetPtr Store::Impl::FindByFamily(std::string_view family) const {
  std::shared_lock lock(datasets_mu);
  for (const auto& [name, ds] : datasets) {
    if (ds->cf->GetName() == family) return ds;
  }
  return nullptr;
}

void Store::Impl::ReleaseSpareFamilies() {
  std::lock_guard lock(families_mu);
  for (auto* list : {&spare_families, &idle_families}) {
    for (const SpareFamily& f : *list) db->DestroyColumnFamilyHandle(f.handle);
    list->clear();
  }
}

}  // namespace rowfs
