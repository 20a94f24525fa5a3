// Opening a store: the database directory, RocksDB's families (one per
// dataset), each dataset's records, the on-disk format.
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "coding.h"
#include "format_upgrade.h"
#include "logging.h"
#include "records.h"
#include "rocks_options.h"
#include "rowfs/names.h"
#include "store_impl.h"
#include "wal_check.h"

namespace rowfs {

std::string Describe(std::string_view dataset, std::string_view row,
                     std::string_view column, std::optional<uint64_t> ts) {
  std::string out(dataset);
  if (!row.empty()) out.append("/").append(row);
  if (!column.empty()) out.append("/").append(column);
  if (ts) out.append("@").append(std::to_string(*ts));
  return out;
}

Status ParseOwnKey(const rocksdb::Slice& key, ParsedKey* parsed) {
  Status s = ParseKey(ToView(key), parsed);
  if (!s.ok()) {
    return Status::Corruption("undecodable key of " +
                              std::to_string(key.size()) +
                              " bytes: " + s.message());
  }
  return s;
}

FollowerInstance::~FollowerInstance() {
  for (const SpareFamily& spare : spares) {
    db->DestroyColumnFamilyHandle(spare.handle);
  }
  db->DestroyColumnFamilyHandle(meta_cf);
  db->Close().PermitUncheckedError();
  delete db;
}

Store::Impl::~Impl() {
  corruption_guard->Stop();  // it reaches datasets
  if (db != nullptr && follower_instance == nullptr &&
      options.mode == StoreOptions::Mode::kReadWrite) {
    // A clean close leaves nothing to replay: the next start reads table
    // files instead of the whole WAL.
    std::vector<rocksdb::ColumnFamilyHandle*> handles{meta_cf};
    for (const auto& [name, ds] : datasets) handles.push_back(ds->cf);
    db->Flush(rocksdb::FlushOptions(), handles).PermitUncheckedError();
    db->FlushWAL(/*sync=*/true).PermitUncheckedError();
    std::lock_guard lock(families_mu);
    Status dropped = DropMarkedFamilies(1);  // or at the next start
    if (!dropped.ok()) spdlog::warn("{}", dropped.ToString());
  }
  datasets.clear();
  dropped_families.clear();
  if (follower_instance != nullptr) return;  // closes with its last user
  if (db == nullptr) return;
  ReleaseSpareFamilies();
  if (meta_cf != nullptr) db->DestroyColumnFamilyHandle(meta_cf);
  db->Close().PermitUncheckedError();
  delete db;
}

Status Store::Impl::CheckWritable(std::string_view what) const {
  if (read_only()) {
    return Status::ReadOnly(std::string(what) + ": read-only store");
  }
  return Status::OK();
}

Status Store::Impl::CheckStoredTimestamp(uint64_t ts) const {
  if (ts > kMaxTimestamp) {
    return Status::InvalidArgument("timestamp out of range");
  }
  const uint64_t now = Now();
  if (ts > now && ts - now > options.max_future_ms) {
    return Status::InvalidArgument(
        "timestamp " + std::to_string(ts) + " is more than " +
        std::to_string(options.max_future_ms / 1000) + " s ahead of the clock");
  }
  return Status::OK();
}

rocksdb::ColumnFamilyOptions Store::Impl::DatasetCfOptions(
    const std::shared_ptr<PolicyCell>& policy) const {
  rocksdb::ColumnFamilyOptions o = cf_template;
  o.compaction_filter_factory =
      std::make_shared<PolicyFilterFactory>(policy, options.clock);
  return o;
}

void Store::Impl::DescribeFamilies(
    const std::vector<std::string>& names,
    std::vector<rocksdb::ColumnFamilyDescriptor>* descriptors,
    std::vector<std::shared_ptr<PolicyCell>>* policies) const {
  for (const std::string& name : names) {
    auto policy = std::make_shared<PolicyCell>();
    policy->set_ready(false);  // until the format is known (Store::Open)
    rocksdb::ColumnFamilyOptions o = cf_template;
    if (name != rocksdb::kDefaultColumnFamilyName) {
      o = DatasetCfOptions(policy);
      for (const auto& d : file_cfs) {
        if (d.name == name) {
          auto factory = o.compaction_filter_factory;
          o = d.options;
          o.compaction_filter_factory = factory;
        }
      }
    }
    descriptors->emplace_back(name, o);
    policies->push_back(std::move(policy));
  }
}

Status Store::Impl::LoadDataset(const std::string& name, rocksdb::DB* instance,
                                rocksdb::ColumnFamilyHandle* instance_meta_cf,
                                rocksdb::ColumnFamilyHandle* handle,
                                std::shared_ptr<PolicyCell> policy,
                                DatasetPtr* out) {
  // A family without a floor record (made by another tool) gets no fast
  // path: every server-timestamped put reads the column's latest.
  uint64_t floor = UINT64_MAX;
  std::string floor_record;
  rocksdb::Status fs = instance->Get(rocksdb::ReadOptions(), instance_meta_cf,
                                     FloorRecordKey(name), &floor_record);
  if (fs.ok() && floor_record.size() == 8) {
    floor = DecodeFixed64BE(floor_record.data());
  } else if (!fs.ok() && !fs.IsNotFound()) {
    return Status::FromRocksDB(fs, "reading floor record " + name);
  }
  // Defaults for a family without a record (e.g. created by another tool).
  Attrs attrs{0755, 0, 0, 0};
  std::string record;
  rocksdb::Status rs = instance->Get(rocksdb::ReadOptions(), instance_meta_cf,
                                     DatasetRecordKey(name), &record);
  if (rs.ok()) {
    Policy p;
    ROWFS_RETURN_IF_ERROR(DecodeDatasetRecord(record, &attrs, &p));
    policy->Store(p);
  } else if (!rs.IsNotFound()) {
    return Status::FromRocksDB(rs, "reading dataset record " + name);
  }
  auto ds = std::make_shared<Dataset>(name, instance, handle, policy, floor,
                                      iterator_pools.get());
  ds->attrs = attrs;
  std::string format;
  rocksdb::Status fms =
      PooledFamilySeq(handle->GetName())
          ? rocksdb::Status::NotFound()
          : instance->Get(rocksdb::ReadOptions(), handle,
                          ToSlice(kDatasetFormatKey), &format);
  if (!fms.ok() && !fms.IsNotFound()) {
    return Status::FromRocksDB(fms, "reading the format of " + name);
  }
  // A pooled family was made by format 2 (records.h, FamilyRecordKey).
  ds->format2 = fms.ok() || PooledFamilySeq(handle->GetName()).has_value();
  if (fms.ok() && format != std::to_string(Store::kFormat)) {
    return Status::NotSupported("dataset " + name + " has format " + format +
                                ", not one this rowfs reads");
  }
  *out = std::move(ds);
  return Status::OK();
}

Status Store::Impl::Find(std::string_view name, DatasetPtr* out) const {
  std::shared_lock lock(datasets_mu);
  auto it = datasets.find(name);
  if (it == datasets.end()) {
    return Status::NotFound("dataset '" + std::string(name) +
                            "' does not exist");
  }
  *out = it->second;
  return Status::OK();
}

Status Store::Impl::FindAll(std::string_view name,
                            std::vector<DatasetPtr>* out) const {
  out->clear();
  if (!name.empty()) {
    out->emplace_back();
    return Find(name, &out->back());
  }
  std::shared_lock lock(datasets_mu);
  for (const auto& kv : datasets) out->push_back(kv.second);
  return Status::OK();
}

namespace {

// Checks DB_DIR and creates it (private: 0700) when missing and allowed.
// An existing one that others can read is reported: its files hold every
// column's bytes whatever the columns' modes say.
Status PrepareDatabaseDirectory(const StoreOptions& options,
                                const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st)) {
    return Status::InvalidArgument(path + " is not a directory");
  }
  if (!std::filesystem::exists(st)) {
    if (options.mode != StoreOptions::Mode::kReadWrite ||
        !options.create_if_missing) {
      return Status::NotFound(path + " does not exist");
    }
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IOError("creating " + path + ": " + ec.message());
    if (chmod(path.c_str(), 0700) != 0) {
      return Status::FromErrno(errno, "chmod 0700 " + path);
    }
    return Status::OK();
  }
  using std::filesystem::perms;
  if ((st.permissions() & (perms::group_all | perms::others_all)) !=
      perms::none) {
    spdlog::warn(
        "database directory {} is accessible to other users (mode {:o}): "
        "they can read every column's bytes from its files; chmod 0700 it",
        path, static_cast<unsigned>(st.permissions()) & 0777);
  }
  return Status::OK();
}

// The format recorded in "default": 0 when none is (a new database, or
// one of format 1).
Status ReadFormat(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
                  int* format) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta_cf,
                              ToSlice(kFormatRecordKey), &value);
  if (s.IsNotFound()) {
    *format = 0;
    return Status::OK();
  }
  if (!s.ok()) return Status::FromRocksDB(s, "reading the format");
  *format = std::atoi(value.c_str());
  if (*format <= 0) return Status::Corruption("format record '" + value + "'");
  return Status::OK();
}

}  // namespace

Status Store::Open(const StoreOptions& options, const std::string& path,
                   std::unique_ptr<Store>* store) {
  using Mode = StoreOptions::Mode;
  if (options.clock == nullptr) return Status::InvalidArgument("null clock");
  if (options.mode == Mode::kSecondary && options.secondary_path.empty()) {
    return Status::InvalidArgument("a follower needs a secondary path");
  }
  ROWFS_RETURN_IF_ERROR(PrepareDatabaseDirectory(options, path));

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->path = path;
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> file_cfs;
  ROWFS_RETURN_IF_ERROR(BuildRocksOptions(options, path, &db_options,
                                          &impl->cf_template, &file_cfs));
  db_options.listeners.push_back(impl->iterator_pools);
  db_options.listeners.push_back(impl->corruption_guard);
  impl->dirty_budget.SetLimit(options.max_dirty_bytes);

  std::vector<std::string> names;
  rocksdb::Status ls =
      rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (!ls.ok()) {
    if (options.mode != Mode::kReadWrite) {
      return Status::FromRocksDB(ls, "opening " + path);
    }
    // Only an empty directory may become a new database. One that holds
    // anything without a readable CURRENT (lost, or a half-made copy) is a
    // damaged database: RocksDB would create a new one there and delete
    // every table file and log it does not know.
    std::error_code ec;
    if (!std::filesystem::is_empty(path, ec)) {
      return Status::Corruption(
          path + " holds files but no database: its CURRENT file is " +
          (std::filesystem::exists(path + "/CURRENT", ec) ? "unreadable"
                                                          : "missing") +
          " (" + ls.ToString() +
          "); refusing to create a database there. Restore CURRENT "
          "(rowfs repair DB_DIR), or use an empty directory");
    }
    names = {rocksdb::kDefaultColumnFamilyName};
  }

  impl->file_cfs = file_cfs;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<std::shared_ptr<PolicyCell>> policies;
  impl->DescribeFamilies(names, &descriptors, &policies);

  ROWFS_RETURN_IF_ERROR(CheckWalBeforeOpen(options, path, &db_options));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s;
  switch (options.mode) {
    case Mode::kReadWrite:
      s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &impl->db);
      break;
    case Mode::kReadOnly:
      s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles,
                                       &impl->db);
      break;
    case Mode::kSecondary: {
      std::error_code ec;
      std::filesystem::create_directories(options.secondary_path, ec);
      db_options.max_open_files = -1;  // required by secondary instances
      s = rocksdb::DB::OpenAsSecondary(db_options, path, options.secondary_path,
                                       descriptors, &handles, &impl->db);
      break;
    }
  }
  if (!s.ok()) {
    Status st2 = Status::FromRocksDB(s, "opening " + path);
    if (st2.code() == Status::Code::kBusy) {
      return Status::Busy(path + " is in use by another process (" +
                          s.ToString() + ")");
    }
    return st2;
  }

  impl->db_options = db_options;
  if (options.mode == Mode::kReadWrite) {
    // Tables a previous run staged and never ingested: no record refers to
    // them (the database's lock is ours, so no writer is using them).
    std::error_code ec;
    std::filesystem::remove_all(ContentSpace::StagingDir(path), ec);
  }
  for (size_t i = 0; i < handles.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      impl->meta_cf = handles[i];
    }
  }
  uint64_t max_seq = 0;
  std::vector<SpareFamily> marked;
  Status adopted = impl->AdoptFamilies(
      impl->db, impl->meta_cf, names, &handles, policies, &impl->datasets,
      options.mode == Mode::kReadWrite ? &impl->spare_families
                                       : &impl->idle_families,
      &marked, &max_seq);
  if (!adopted.ok()) {
    // ~Impl releases the handles in these lists.
    impl->idle_families.insert(impl->idle_families.end(), marked.begin(),
                               marked.end());
    return adopted;
  }
  // Refused before anything is changed (dropping marked families below).
  int format = 0;
  Status readable = ReadFormat(impl->db, impl->meta_cf, &format);
  if (readable.ok() && format > kFormat) {
    readable = Status::NotSupported(
        path + " has database format " + std::to_string(format) +
        ", newer than this rowfs reads (" + std::to_string(kFormat) +
        "): use a newer rowfs");
  }
  if (!readable.ok()) {
    impl->idle_families.insert(impl->idle_families.end(), marked.begin(),
                               marked.end());
    return readable;
  }
  Status dropped = impl->DropFamiliesAtOpen(&marked);
  if (!dropped.ok()) spdlog::warn("{}", dropped.ToString());
  impl->next_family_seq = max_seq + 1;
  for (const SpareFamily& spare : impl->spare_families) {
    spare.policy->set_ready(true);  // empty; nothing to misread
  }
  bool format1 = false;
  for (const auto& [name, ds] : impl->datasets) format1 |= !ds->format2;
  if (format1) {
    if (options.mode != Mode::kReadWrite) {
      return Status::NotSupported(
          path +
          " has database format 1: mount it read-write once (rowfs upgrades "
          "it to format 2 after a checkpoint of it) before mounting it "
          "read-only or as a follower");
    }
    ROWFS_RETURN_IF_ERROR(UpgradeFormat1(impl.get()));
  } else if (format != kFormat && options.mode == Mode::kReadWrite) {
    ROWFS_RETURN_IF_ERROR(
        impl->WriteMetaRecord(kFormatRecordKey, std::to_string(kFormat)));
  }

  for (auto& [name, ds] : impl->datasets) ds->policy->set_ready(true);

  if (options.mode == Mode::kSecondary) {
    impl->follower_instance =
        std::make_shared<FollowerInstance>(impl->db, impl->meta_cf);
    impl->follower_instance->spares.swap(impl->idle_families);
    for (auto& [name, ds] : impl->datasets) {
      ds->instance = impl->follower_instance;
    }
    ROWFS_RETURN_IF_ERROR(impl->DatasetRecords(&impl->follower_records));
  }
  impl->corruption_guard->SetFamilyResolver(
      [i = impl.get()](const std::string& name, const auto& fn) {
        if (name == rocksdb::kDefaultColumnFamilyName) {
          fn(i->db, i->meta_cf);
          return true;
        }
        DatasetPtr ds = i->FindByFamily(name);
        if (ds == nullptr) return false;
        fn(ds->db, ds->cf);
        return true;
      },
      [i = impl.get()](const std::string& family) {
        DatasetPtr ds = i->FindByFamily(family);
        return ds != nullptr ? EscapeForLog(ds->name) : family;
      });
  if (auto* logger = dynamic_cast<SpdlogLogger*>(db_options.info_log.get())) {
    logger->SetQuiet(false);  // open: from now on RocksDB's errors are news
  }
  store->reset(new Store(std::move(impl)));
  return Status::OK();
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const { return impl_->path; }
bool Store::read_only() const { return impl_->read_only(); }
const StoreOptions& Store::options() const { return impl_->options; }
rocksdb::DB* Store::db() const { return impl_->db; }

}  // namespace rowfs
