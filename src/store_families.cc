// Dataset families: which dataset each RocksDB family holds, and the pool
// of spare families that makes creating a dataset cost the same at 10,000
// datasets as at 10 (see FamilyRecordKey in records.h).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

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

Status ReadFamilyRecords(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
                         FamilyRecords* out) {
  *out = FamilyRecords{};
  for (const bool dropped : {false, true}) {
    const std::string begin =
        dropped ? DroppedFamilyKey("") : FamilyRecordKey("");
    std::string end = begin;
    ++end.back();  // just past every key with the prefix
    RangeIterator it(db, meta_cf, begin, std::move(end));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string name(ToView(it->key()).substr(begin.size()));
      if (dropped) {
        out->dropped.insert(name);
      } else {
        out->dataset_of[std::string(ToView(it->value()))] = name;
      }
    }
    ROWFS_RETURN_IF_ERROR(
        Status::FromRocksDB(it->status(), "reading the family records"));
  }
  return Status::OK();
}

std::string FamilyLabel(const FamilyRecords& records,
                        const std::string& family) {
  if (family == rocksdb::kDefaultColumnFamilyName) return "rowfs's records";
  if (records.dropped.count(family) != 0) return "a dropped dataset's family";
  auto it = records.dataset_of.find(family);
  if (it != records.dataset_of.end())
    return "dataset " + EscapeForLog(it->second);
  if (PooledFamilySeq(family)) return "family " + family + " (no dataset)";
  return "dataset " + EscapeForLog(family);
}

namespace {

bool FamilyIsEmpty(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf));
  it->SeekToFirst();
  return !it->Valid() && it->status().ok();
}

// Whether a dataset of the records, or a family named after its dataset,
// has `name`.
bool NameTaken(const FamilyRecords& records,
               const std::vector<std::string>& families,
               const std::string& name) {
  for (const auto& [family, dataset] : records.dataset_of) {
    if (dataset == name) return true;
  }
  return std::find(families.begin(), families.end(), name) != families.end();
}

}  // namespace

Status Store::Impl::AdoptFamilies(
    rocksdb::DB* instance, rocksdb::ColumnFamilyHandle* instance_meta_cf,
    const std::vector<std::string>& names,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles,
    const std::vector<std::shared_ptr<PolicyCell>>& policies,
    DatasetMap* loaded, std::vector<SpareFamily>* spares,
    std::vector<SpareFamily>* dropped, uint64_t* max_seq) {
  FamilyRecords records;
  Status s = ReadFamilyRecords(instance, instance_meta_cf, &records);
  // A name that a record still mentions is never made again: a stale
  // marker would drop the new family at the next start.
  for (const std::string& f : records.dropped) {
    if (const auto seq = PooledFamilySeq(f))
      *max_seq = std::max(*max_seq, *seq);
  }
  for (const auto& [f, dataset] : records.dataset_of) {
    if (const auto seq = PooledFamilySeq(f))
      *max_seq = std::max(*max_seq, *seq);
  }
  for (size_t i = 0; i < handles->size(); ++i) {
    rocksdb::ColumnFamilyHandle*& handle = (*handles)[i];
    if (handle == nullptr || handle == instance_meta_cf) continue;
    const auto seq = PooledFamilySeq(names[i]);
    if (seq) *max_seq = std::max(*max_seq, *seq);
    std::string dataset = names[i];  // a family named after its dataset
    if (records.dropped.count(names[i]) != 0) {
      dropped->push_back({handle, policies[i]});
      handle = nullptr;
      continue;
    }
    if (auto it = records.dataset_of.find(names[i]);
        it != records.dataset_of.end()) {
      dataset = it->second;
    } else if (seq) {
      if (FamilyIsEmpty(instance, handle)) {
        spares->push_back({handle, policies[i]});
        handle = nullptr;
        continue;
      }
      // Data, but no dataset names it ("default" lost its record, in a
      // repair): shown rather than hidden or reused, under a name no
      // dataset has.
      dataset = "recovered." + std::to_string(*seq);
      while (NameTaken(records, names, dataset)) dataset += "_";
      spdlog::error(
          "family {} holds data but no dataset names it: shown as dataset {}",
          names[i], dataset);
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
  std::vector<std::string> families;
  if (s.ok()) {
    for (auto* h : handles) families.push_back(h->GetName());
    // Each handle goes with its Dataset's last user.
    dropped_families.clear();
  } else {
    // RocksDB drops them one at a time: those before the failure are gone
    // (and would fail every later batch as "already dropped").
    std::vector<DatasetPtr> left;
    for (DatasetPtr& ds : dropped_families) {
      const rocksdb::Status one = db->DropColumnFamily(ds->cf);
      if (one.ok() ||
          one.ToString().find("already dropped") != std::string::npos) {
        families.push_back(ds->cf->GetName());
      } else {
        left.push_back(std::move(ds));
      }
    }
    // Still marked: dropped by a later call or the next start.
    dropped_families.swap(left);
  }
  const Status forgotten = ForgetDroppedFamilies(families);
  if (!s.ok() && !dropped_families.empty()) {
    return Status::FromRocksDB(s, "dropping the families of dropped datasets");
  }
  return forgotten;
}

Status Store::Impl::ForgetDroppedFamilies(
    const std::vector<std::string>& families) {
  if (families.empty()) return Status::OK();
  rocksdb::WriteBatch wb;
  for (const std::string& f : families) wb.Delete(meta_cf, DroppedFamilyKey(f));
  // A marker left by a crash names no family at the next start: forgotten
  // then.
  return Commit(&wb, WriteOptions{.sync = true}, "forgetting dropped families");
}

Status Store::Impl::DropFamiliesAtOpen(std::vector<SpareFamily>* marked) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const SpareFamily& f : *marked) handles.push_back(f.handle);
  rocksdb::Status s = read_only() || handles.empty()
                          ? rocksdb::Status::OK()
                          : db->DropColumnFamilies(handles);
  if (read_only() || !s.ok()) {
    // Kept open, unused, until a later read-write start drops them.
    idle_families.insert(idle_families.end(), marked->begin(), marked->end());
    marked->clear();
    return s.ok() ? Status::OK()
                  : Status::FromRocksDB(s, "dropping marked families");
  }
  for (const SpareFamily& f : *marked) db->DestroyColumnFamilyHandle(f.handle);
  marked->clear();
  // Every marker now names a family that is gone (dropped here, or by a
  // run that crashed before forgetting it).
  FamilyRecords records;
  ROWFS_RETURN_IF_ERROR(ReadFamilyRecords(db, meta_cf, &records));
  return ForgetDroppedFamilies(
      {records.dropped.begin(), records.dropped.end()});
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
