// `rowfs repair DB_DIR`.
//
// RocksDB's repairer (rocksdb::RepairDB) rewrites the directory: it moves
// the MANIFESTs, the logs and every table file it cannot read whole into
// DB_DIR/lost/, turns the logs into table files (skipping unreadable
// records) and writes a new MANIFEST listing every table at level 0. Its
// limits that matter to rowfs are worked around here:
//  - it learns a column family's id and name from the table files only,
//    so the logged writes of a dataset that has no table file yet (the
//    usual state of a small dataset: its writes are in the WAL and the
//    memtable) would be dropped. A first pass therefore opens the database
//    (when a MANIFEST is readable and lists exactly the table files there,
//    after pointing a lost CURRENT at it), replaying the logs into table
//    files, before the repairer runs;
//  - it drops a table file with one bad block whole: the first pass also
//    writes again what reads of each damaged table (table_salvage.h);
//  - it recreates no empty family and leaves rowfs's records as they were,
//    so afterwards the datasets without tables are made again, each
//    dataset's timestamp floor (latest_bound.h) is raised above every
//    version still stored (a floor from a dropped table could be lower,
//    and new versions could then overwrite old ones), and a compaction
//    takes every family out of level 0.
// The damaged state is saved first (DB_DIR.damaged-<time>, 0700, hard
// links), since all of this rewrites the directory.
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "check_cli.h"
#include "cli_report.h"
#include "coding.h"
#include "iterator_pool.h"
#include "offline_db.h"
#include "records.h"
#include "rowfs/key_codec.h"
#include "rowfs/status.h"
#include "rowfs/store.h"
#include "table_salvage.h"

namespace rowfs {
namespace {

namespace fs = std::filesystem;

// Prints RocksDB's lines, each run of lines alike but for their numbers
// (one per 32 KiB block of a damaged log) as its first and a count.
void PrintRocksLog(const std::shared_ptr<CapturedLog>& log, const char* stage) {
  std::string shape, first;
  size_t alike = 0;
  auto flush = [&] {
    if (alike == 0) return;
    std::printf("  rocksdb (%s): %s", stage, first.c_str());
    if (alike > 1) std::printf(" (and %zu more like it)", alike - 1);
    std::printf("\n");
  };
  for (const std::string& line : log->Take()) {
    std::string s = line;
    std::erase_if(s, [](char c) { return c >= '0' && c <= '9'; });
    if (alike > 0 && s == shape) {
      ++alike;
      continue;
    }
    flush();
    shape = std::move(s);
    first = line;
    alike = 1;
  }
  flush();
}

// Makes `db_path`.damaged-<time> (0700) holding a hard link to every file
// of the database directory (a copy where a link is refused): RocksDB
// never writes into an existing file of a closed database, it only adds,
// renames and deletes, so the links keep the damaged state as it is.
Status SaveDamagedState(const std::string& db_path, std::string* copy,
                        size_t* files) {
  char stamp[32];
  const time_t now = std::time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  std::string target = db_path + ".damaged-" + stamp;
  for (int n = 2; mkdir(target.c_str(), 0700) != 0; ++n) {
    if (errno != EEXIST || n > 100) {
      return Status::FromErrno(errno, "mkdir " + target);
    }
    target = db_path + ".damaged-" + stamp + "-" + std::to_string(n);
  }
  chmod(target.c_str(), 0700);
  *copy = target;
  *files = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(db_path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string to =
        (fs::path(target) / it->path().lexically_relative(db_path)).string();
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      if (mkdir(to.c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::FromErrno(errno, "mkdir " + to);
      }
    } else if (it->is_regular_file(type_ec)) {
      if (link(it->path().c_str(), to.c_str()) != 0) {
        std::error_code copy_ec;
        fs::copy_file(it->path(), to, copy_ec);
        if (copy_ec) {
          return Status::IOError("copying " + it->path().string() + ": " +
                                 copy_ec.message());
        }
        chmod(to.c_str(), 0600);
      }
      ++*files;
    }
  }
  if (ec) return Status::IOError("reading " + db_path + ": " + ec.message());
  const int fd = open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    syncfs(fd);
    close(fd);
  }
  return Status::OK();
}

// MANIFEST-NNNNNN files, newest first.
std::vector<std::string> Manifests(const std::string& db_path) {
  std::vector<std::pair<uint64_t, std::string>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(db_path, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("MANIFEST-")) continue;
    uint64_t number = 0;
    auto [p, err] =
        std::from_chars(name.data() + 9, name.data() + name.size(), number);
    if (err == std::errc() && p == name.data() + name.size()) {
      found.emplace_back(number, name);
    }
  }
  std::sort(found.rbegin(), found.rend());
  std::vector<std::string> names;
  for (auto& f : found) names.push_back(std::move(f.second));
  return names;
}

Status WriteCurrent(const std::string& db_path, const std::string& manifest) {
  const std::string tmp = db_path + "/CURRENT.rowfs-repair";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << manifest << "\n";
    if (!out.flush()) return Status::IOError("writing " + tmp);
  }
  if (rename(tmp.c_str(), (db_path + "/CURRENT").c_str()) != 0) {
    return Status::FromErrno(errno, "rename " + tmp);
  }
  return Status::OK();
}

// The families the MANIFEST names; when CURRENT is missing or names no
// readable MANIFEST, CURRENT is pointed at the newest one that reads (and
// *guessed is set). Leaves `names` empty when no MANIFEST reads.
void KnownFamilies(const std::string& db_path,
                   const rocksdb::DBOptions& options,
                   std::vector<std::string>* names, bool* guessed) {
  names->clear();
  *guessed = false;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, db_path, names);
  if (s.ok()) return;
  *guessed = true;
  std::printf("CURRENT does not name a readable MANIFEST (%s)\n",
              s.ToString().c_str());
  for (const std::string& manifest : Manifests(db_path)) {
    if (!WriteCurrent(db_path, manifest).ok()) break;
    names->clear();
    if (rocksdb::DB::ListColumnFamilies(options, db_path, names).ok()) {
      std::printf("CURRENT now names %s, which reads\n", manifest.c_str());
      return;
    }
  }
  names->clear();
  std::error_code ec;
  fs::remove(db_path + "/CURRENT", ec);
  std::printf(
      "no MANIFEST reads: the datasets are found from their table files\n");
}

std::vector<rocksdb::ColumnFamilyDescriptor> Describe(
    const std::vector<std::string>& names,
    const rocksdb::ColumnFamilyOptions& cf) {
  std::vector<rocksdb::ColumnFamilyDescriptor> out = {
      {rocksdb::kDefaultColumnFamilyName, cf}};
  for (const std::string& name : names) {
    if (name != rocksdb::kDefaultColumnFamilyName) out.emplace_back(name, cf);
  }
  return out;
}

// An open database and its families by name; closed on destruction.
struct OpenDb {
  rocksdb::DB* db = nullptr;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> families;
  ~OpenDb() {
    if (db == nullptr) return;
    for (auto& [name, h] : families) db->DestroyColumnFamilyHandle(h);
    db->Close().PermitUncheckedError();
    delete db;
  }
};

// Opens with every family in `names` (with `cf`).
rocksdb::Status OpenAll(const rocksdb::DBOptions& options,
                        const rocksdb::ColumnFamilyOptions& cf,
                        const std::string& db_path,
                        const std::vector<std::string>& names, OpenDb* out) {
  const auto descriptors = Describe(names, cf);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      rocksdb::DB::Open(options, db_path, descriptors, &handles, &out->db);
  if (!s.ok()) return s;
  for (size_t i = 0; i < handles.size(); ++i) {
    out->families[descriptors[i].name] = handles[i];
  }
  return s;
}

// Why opening the database read-write could lose a table file, or "" when
// it cannot. An open deletes every table file its MANIFEST does not list
// and numbers new files from it: harmless with the database's own MANIFEST
// (what it does not list is what a crash left, an unfinished flush or
// compaction, also moved to lost/ here into `strays`, so that no new file
// reuses their names), but a stale MANIFEST, guessed after CURRENT was
// lost, would take newer table files away. So with a guessed MANIFEST an
// unlisted table file that reads blocks the open. Read-only opens change
// nothing.
std::string FirstPassBlocker(const std::string& db_path,
                             rocksdb::DBOptions options,
                             const rocksdb::ColumnFamilyOptions& cf,
                             const std::vector<std::string>& names,
                             bool guessed, std::vector<std::string>* strays) {
  options.paranoid_checks = false;
  const auto descriptors = Describe(names, cf);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, db_path,
                                                   descriptors, &handles, &db);
  if (!s.ok()) return "the MANIFEST does not open: " + s.ToString();
  std::vector<rocksdb::LiveFileMetaData> live;
  db->GetLiveFilesMetaData(&live);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  db->Close().PermitUncheckedError();
  delete db;
  std::set<std::string> listed, present;
  for (const auto& f : live) listed.insert(fs::path(f.name).filename());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(db_path, ec)) {
    if (e.path().extension() == ".sst") present.insert(e.path().filename());
  }
  for (const std::string& name : listed) {
    if (present.count(name) == 0) return "the MANIFEST lists missing " + name;
  }
  for (const std::string& name : present) {
    if (listed.count(name) != 0) continue;
    if (guessed && rocksdb::SstFileReader(rocksdb::Options(options, cf))
                       .Open(db_path + "/" + name)
                       .ok()) {
      return "the MANIFEST CURRENT now names may be stale: it does not list " +
             name + ", which reads";
    }
    strays->push_back(name);
  }
  return "";
}

// Replays the logs into table files, skipping unreadable records as the
// repairer would, so that every family with logged writes has a table file
// the repairer can learn it from. Only where the MANIFEST matches the
// directory (FirstPassBlocker).
void FirstPass(const std::string& db_path, rocksdb::DBOptions options,
               const rocksdb::ColumnFamilyOptions& cf,
               const std::vector<std::string>& names, bool guessed,
               const std::set<std::string>& damaged_tables,
               const std::shared_ptr<CapturedLog>& log) {
  std::vector<std::string> strays;
  const std::string blocker =
      FirstPassBlocker(db_path, options, cf, names, guessed, &strays);
  log->Take();  // the read-only open's replay: the open below tells again
  if (!blocker.empty()) {
    std::printf(
        "first pass skipped (%s): the writes still only in the logs of "
        "datasets without a table file may be lost\n",
        blocker.c_str());
    return;
  }
  for (const std::string& name : strays) {
    std::error_code ec;
    fs::create_directories(db_path + "/lost", ec);
    fs::rename(db_path + "/" + name, db_path + "/lost/" + name, ec);
    std::printf(
        "moved %s to %s/lost/: the MANIFEST does not list it (a crash left "
        "it)\n",
        name.c_str(), db_path.c_str());
  }
  options.paranoid_checks = false;
  options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  options.avoid_flush_during_recovery = false;
  // No compaction may read the damaged tables before they are salvaged.
  rocksdb::ColumnFamilyOptions quiet = cf;
  quiet.disable_auto_compactions = true;
  OpenDb open;
  rocksdb::Status s = OpenAll(options, quiet, db_path, names, &open);
  if (!s.ok()) {
    std::printf(
        "first pass: the database does not open (%s); the writes still "
        "only in the logs of datasets without a table file may be lost\n",
        s.ToString().c_str());
    return;
  }
  for (auto& [name, h] : open.families) {
    s = open.db->Flush(rocksdb::FlushOptions(), h);
    if (!s.ok()) {
      std::printf("first pass: flushing %s: %s\n", name.c_str(),
                  s.ToString().c_str());
    }
  }
  std::printf("first pass: replayed the write-ahead logs into table files\n");
  if (damaged_tables.empty()) return;
  std::vector<std::string> report;
  Status salvage =
      SalvageDamagedTables(open.db, open.families, damaged_tables, &report);
  for (const std::string& line : report) {
    std::printf("first pass: %s\n", line.c_str());
  }
  if (!salvage.ok()) {
    std::printf("first pass: %s\n", salvage.ToString().c_str());
  }
}

// What the repaired database holds, made consistent for rowfs (see the
// top of this file). Prints what it did.
Status AfterRepair(const std::string& db_path,
                   const rocksdb::DBOptions& options,
                   const rocksdb::ColumnFamilyOptions& cf,
                   const std::vector<std::string>& names_before) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, db_path, &names);
  if (!s.ok()) return Status::FromRocksDB(s, "the repaired database");
  OpenDb open;
  s = OpenAll(options, cf, db_path, names, &open);
  if (!s.ok()) return Status::FromRocksDB(s, "opening the repaired database");
  rocksdb::ColumnFamilyHandle* meta =
      open.families[rocksdb::kDefaultColumnFamilyName];

  // Datasets: the MANIFEST's families, or else the records in "default".
  std::set<std::string> wanted(names_before.begin(), names_before.end());
  std::set<std::string> records;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        open.db->NewIterator(rocksdb::ReadOptions(), meta));
    const std::string prefix = DatasetRecordKey("");
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      records.insert(it->key().ToString().substr(prefix.size()));
    }
  }
  if (names_before.empty()) wanted.insert(records.begin(), records.end());
  wanted.erase(rocksdb::kDefaultColumnFamilyName);
  FamilyRecords family_records;
  if (!ReadFamilyRecords(open.db, meta, &family_records).ok()) {
    family_records = {};
  }
  for (const auto& [family, dataset] : family_records.dataset_of) {
    // A dataset held by a pooled family: that family (made again, empty,
    // when it lost every table file), never one named after the dataset.
    wanted.erase(dataset);
    wanted.insert(family);
  }
  for (const std::string& family : family_records.dropped) {
    wanted.erase(family);
  }
  for (const std::string& name : wanted) {
    if (open.families.count(name) != 0) continue;
    rocksdb::ColumnFamilyHandle* h = nullptr;
    s = open.db->CreateColumnFamily(cf, name, &h);
    if (!s.ok()) return Status::FromRocksDB(s, "making dataset " + name);
    open.families[name] = h;
    std::printf("%s: no table file left, made again (empty)\n",
                FamilyLabel(family_records, name).c_str());
  }

  // Format 2 (the database says so in "default" or in any dataset): every
  // dataset family must say so itself, or the next start would take one
  // whose mark was lost for format 1 and convert its records again.
  bool format2 = false;
  {
    std::string value;
    format2 = open.db
                  ->Get(rocksdb::ReadOptions(), meta, ToSlice(kFormatRecordKey),
                        &value)
                  .ok() &&
              value == std::to_string(Store::kFormat);
    for (auto& [name, h] : open.families) {
      if (name == rocksdb::kDefaultColumnFamilyName) continue;
      format2 |= PooledFamilySeq(name).has_value();  // made by format 2
      format2 |= open.db
                     ->Get(rocksdb::ReadOptions(), h,
                           ToSlice(kDatasetFormatKey), &value)
                     .ok();
    }
  }
  rocksdb::WriteBatch fixes;
  if (format2) {
    fixes.Put(meta, ToSlice(kFormatRecordKey), std::to_string(Store::kFormat));
  }
  for (auto& [family, h] : open.families) {
    if (family == rocksdb::kDefaultColumnFamilyName) continue;
    if (family_records.dropped.count(family) != 0) continue;
    std::string name = family;  // the dataset's
    if (PooledFamilySeq(family)) {
      // Format 2 by birth; a spare stays empty.
      auto held = family_records.dataset_of.find(family);
      if (held == family_records.dataset_of.end()) continue;
      name = held->second;
    } else if (format2) {
      fixes.Put(h, ToSlice(kDatasetFormatKey), std::to_string(Store::kFormat));
    }
    if (records.count(name) == 0) {
      std::printf(
          "dataset %s: its record (owner, mode, policies) is lost; it shows "
          "as root's, mode 0755, until chown and chmod\n",
          name.c_str());
    }
    // Every version must stay below the persisted floor.
    uint64_t max_ts = 0;
    bool any = false;
    std::unique_ptr<rocksdb::Iterator> it(
        open.db->NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ParsedKey key;
      const rocksdb::Slice k = it->key();
      if (ParseKey({k.data(), k.size()}, &key).ok() &&
          key.kind == KeyKind::kCell) {
        max_ts = std::max(max_ts, key.ts);
        any = true;
      }
    }
    if (!it->status().ok()) {
      return Status::FromRocksDB(it->status(), "reading dataset " + name);
    }
    std::string floor;
    s = open.db->Get(rocksdb::ReadOptions(), meta, FloorRecordKey(name),
                     &floor);
    const uint64_t old =
        s.ok() && floor.size() == 8 ? DecodeFixed64BE(floor.data()) : 0;
    const uint64_t need = any ? max_ts + 1 : 0;
    if (!s.ok() || floor.size() != 8 || old < need) {
      std::string value;
      PutFixed64BE(&value, std::max(old, need));
      fixes.Put(meta, FloorRecordKey(name), value);
    }
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  s = open.db->Write(sync, &fixes);
  if (!s.ok()) return Status::FromRocksDB(s, "writing timestamp floors");

  // The repairer puts every table at level 0: compact, so that the first
  // mount does not stall writes behind a level 0 of hundreds of files.
  for (auto& [name, h] : open.families) {
    s = open.db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr,
                              nullptr);
    if (!s.ok()) return Status::FromRocksDB(s, "compacting " + name);
    uint64_t keys = 0;
    open.db->GetIntProperty(h, "rocksdb.estimate-num-keys", &keys);
    rocksdb::ColumnFamilyMetaData meta_data;
    open.db->GetColumnFamilyMetaData(h, &meta_data);
    std::printf("recovered %s: about %llu keys, %s in %zu table files\n",
                name == rocksdb::kDefaultColumnFamilyName
                    ? "rowfs's records (default)"
                    : ("dataset " + name).c_str(),
                static_cast<unsigned long long>(keys),
                HumanBytes(meta_data.size).c_str(), meta_data.file_count);
  }
  return Status::OK();
}

// Versions whose content chunks were in a dropped block would answer EIO to
// every read: they go, as the cells of a dropped block do, and say so.
Status DropDanglingVersions(const std::string& db_path) {
  std::unique_ptr<Store> store;
  StoreOptions o;
  o.create_if_missing = false;
  ROWFS_RETURN_IF_ERROR(Store::Open(o, db_path, &store));
  for (const DatasetInfo& d : store->ListDatasets()) {
    uint64_t dropped = 0;
    ROWFS_RETURN_IF_ERROR(store->DropDanglingVersions(d.name, &dropped));
    ROWFS_RETURN_IF_ERROR(store->CollectGarbage(d.name));
    if (dropped != 0) {
      std::printf(
          "dataset %s: %llu versions dropped, their content was in what "
          "was lost\n",
          d.name.c_str(), static_cast<unsigned long long>(dropped));
    }
  }
  return Status::OK();
}

std::set<std::string> LostFiles(const std::string& db_path) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(db_path + "/lost", ec)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

}  // namespace

int RunRepair(const std::string& db_path) {
  std::error_code ec;
  size_t blobs = 0;
  for (const auto& e : fs::directory_iterator(db_path, ec)) {
    if (e.path().extension() == ".blob") ++blobs;
  }
  if (blobs > 0) {
    // rocksdb::RepairDB keeps no blob file: their values would be lost.
    return ReportFailure(Status::NotSupported(
        db_path + " keeps values in blob files (-o blob_min), which " +
        "RocksDB's repairer drops; restore a backup instead " +
        "(rowfs backup restore)"));
  }
  std::vector<DamagedFile> damaged;
  std::string summary;
  Status s = InspectDatabase(db_path, &damaged, &summary);
  if (!s.ok()) return ReportFailure(s);
  std::printf("%s: %s\n", db_path.c_str(), summary.c_str());
  for (const DamagedFile& d : damaged) {
    std::printf("damaged: %s: %s\n", d.name.c_str(), d.reason.c_str());
  }
  if (damaged.empty()) {
    std::printf("no damage found; rebuilding anyway\n");
  }

  std::string copy;
  size_t files = 0;
  s = SaveDamagedState(db_path, &copy, &files);
  if (!s.ok()) {
    return ReportFailure(
        Status::IOError("cannot save the damaged state, nothing "
                        "changed: " +
                        s.message()));
  }
  std::printf("saved the damaged state (%zu files, hard links) in %s\n", files,
              copy.c_str());

  auto log = std::make_shared<CapturedLog>(rocksdb::InfoLogLevel::WARN_LEVEL);
  rocksdb::DBOptions options;
  rocksdb::ColumnFamilyOptions cf;
  s = OfflineOptions(db_path, log, &options, &cf);
  if (!s.ok()) return ReportFailure(s);
  std::vector<std::string> names;
  bool guessed = false;
  KnownFamilies(db_path, options, &names, &guessed);
  std::set<std::string> damaged_tables;
  for (const DamagedFile& d : damaged) {
    if (d.name.ends_with(".sst")) damaged_tables.insert(d.name);
  }
  if (!names.empty()) {
    FirstPass(db_path, options, cf, names, guessed, damaged_tables, log);
  }
  PrintRocksLog(log, "first pass");

  const std::set<std::string> lost_before = LostFiles(db_path);
  rocksdb::Status rs =
      rocksdb::RepairDB(db_path, options, Describe(names, cf), cf);
  PrintRocksLog(log, "repair");
  if (!rs.ok()) {
    return ReportFailure(Status::FromRocksDB(
        rs,
        "repairing " + db_path + " (the damaged state is in " + copy + ")"));
  }
  for (const std::string& name : LostFiles(db_path)) {
    if (lost_before.count(name) == 0 && name.ends_with(".sst")) {
      std::printf(
          "dropped %s: it does not read whole (moved to %s/lost/; what "
          "the first pass kept of it is above)\n",
          name.c_str(), db_path.c_str());
    }
  }
  s = AfterRepair(db_path, options, cf, names);
  PrintRocksLog(log, "after the repair");
  if (s.ok()) s = DropDanglingVersions(db_path);
  if (!s.ok()) {
    return ReportFailure(Status::IOError(
        s.message() + " (the damaged state is in " + copy + ")"));
  }

  std::vector<DamagedFile> left;
  s = InspectDatabase(db_path, &left, &summary);
  if (!s.ok()) return ReportFailure(s);
  for (const DamagedFile& d : left) {
    std::printf("still damaged: %s: %s\n", d.name.c_str(), d.reason.c_str());
  }
  if (!left.empty()) {
    return ReportFailure(
        Status::Corruption("the repaired database is still damaged; "
                           "the damaged state is in " +
                           copy));
  }
  std::printf(
      "repaired %s: %s. What the dropped files and log records held is "
      "lost; the damaged state stays in %s (delete it once the data is "
      "verified)\n",
      db_path.c_str(), summary.c_str(), copy.c_str());
  return 0;
}

}  // namespace rowfs
