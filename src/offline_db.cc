#include "offline_db.h"

#include <rocksdb/db.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "iterator_pool.h"
#include "logging.h"
#include "records.h"
#include "rocks_options.h"
#include "rowfs/store_options.h"
#include "wal_check.h"

namespace rowfs {
namespace {

// /proc/self/mountinfo writes space, tab, newline and backslash as \ooo.
std::string UnescapeMountField(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(),
                      [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>(std::stoi(oct, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The mountpoint of the rowfs mount serving `db_path` (rowfs mounts with
// fsname = the absolute DB_DIR), or "" when there is none here.
std::string RowfsMountOf(const std::string& db_path) {
  std::error_code ec;
  const std::string absolute =
      std::filesystem::absolute(db_path, ec).lexically_normal().string();
  const std::string canonical =
      std::filesystem::weakly_canonical(db_path, ec).string();
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent dev root mountpoint options [optional...] - fstype source
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint, field, fstype, source;
    fields >> id >> parent >> dev >> root >> mountpoint;
    while (fields >> field && field != "-") {
    }
    fields >> fstype >> source;
    source = UnescapeMountField(source);
    if (fstype == "fuse.rowfs" && (source == absolute || source == canonical)) {
      return UnescapeMountField(mountpoint);
    }
  }
  return "";
}

std::string Basename(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

Status RefuseIfInUse(const std::string& db_path) {
  pid_t pid = 0;
  const bool locked = DatabaseLockHolder(db_path, &pid);
  const std::string mountpoint = RowfsMountOf(db_path);
  if (!locked && !mountpoint.empty()) {
    // Read-only and follower mounts hold no LOCK, yet read the files a
    // repair rewrites.
    return Status::Busy(db_path + " is mounted at " + mountpoint +
                        " (read-only or as a follower): unmount it first "
                        "(fusermount3 -u " +
                        mountpoint + ")");
  }
  if (!locked) return Status::OK();
  if (!mountpoint.empty()) {
    return Status::Busy(db_path + " is in use by the rowfs mounted at " +
                        mountpoint + " (process " + std::to_string(pid) +
                        "): unmount it first (fusermount3 -u " + mountpoint +
                        ")");
  }
  return Status::Busy(db_path + " is in use by process " + std::to_string(pid) +
                      " (a running rowfs?): unmount it first");
}

void CapturedLog::Logv(rocksdb::InfoLogLevel level, const char* format,
                       va_list ap) {
  if (level < GetInfoLogLevel()) return;
  char buf[4096];
  vsnprintf(buf, sizeof(buf), format, ap);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) {
    line.pop_back();
  }
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> CapturedLog::Take() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.swap(lines_);
  return out;
}

Status OfflineOptions(const std::string& db_path,
                      const std::shared_ptr<CapturedLog>& log,
                      rocksdb::DBOptions* db,
                      rocksdb::ColumnFamilyOptions* cf) {
  StoreOptions options;
  options.create_if_missing = false;
  std::vector<rocksdb::ColumnFamilyDescriptor> unused;
  ROWFS_RETURN_IF_ERROR(BuildRocksOptions(options, db_path, db, cf, &unused));
  db->info_log = log;
  db->create_if_missing = false;
  return Status::OK();
}

std::string HumanBytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%llu bytes",
                  static_cast<unsigned long long>(bytes));
  } else if (bytes < (1u << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", bytes / 1024.0);
  } else if (bytes < (1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / 1048576.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f GiB", bytes / 1073741824.0);
  }
  return buf;
}

Status InspectDatabase(const std::string& db_path,
                       std::vector<DamagedFile>* damaged,
                       std::string* summary) {
  damaged->clear();
  auto log = std::make_shared<CapturedLog>(rocksdb::InfoLogLevel::WARN_LEVEL);
  rocksdb::DBOptions db_options;
  rocksdb::ColumnFamilyOptions cf;
  ROWFS_RETURN_IF_ERROR(OfflineOptions(db_path, log, &db_options, &cf));
  // Get as far as the files allow: each one is verified on its own below.
  db_options.paranoid_checks = false;
  std::error_code ec;

  // CURRENT and the MANIFEST it names: the open tells.
  std::vector<std::string> names;
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      rocksdb::DB::ListColumnFamilies(db_options, db_path, &names);
  if (!s.ok()) {
    const bool present = std::filesystem::exists(db_path + "/CURRENT", ec);
    damaged->push_back(
        {"CURRENT", std::string(present ? "does not name a readable MANIFEST"
                                        : "missing") +
                        ", the database cannot be opened (" + s.ToString() +
                        ")"});
  } else {
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) descriptors.emplace_back(name, cf);
    s = rocksdb::DB::OpenForReadOnly(db_options, db_path, descriptors, &handles,
                                     &db);
    if (!s.ok()) {
      damaged->push_back(
          {"MANIFEST", "the database does not open: " + s.ToString()});
    }
  }

  // Table files: the live ones with their dataset, or every one there is.
  struct Table {
    std::string path, where;
  };
  std::vector<Table> tables;
  if (db != nullptr) {
    std::vector<rocksdb::LiveFileMetaData> live;
    db->GetLiveFilesMetaData(&live);
    FamilyRecords records;
    for (size_t i = 0; i < handles.size(); ++i) {
      if (names[i] == rocksdb::kDefaultColumnFamilyName) {
        // Unreadable records: families are called by their names.
        if (!ReadFamilyRecords(db, handles[i], &records).ok()) records = {};
      }
    }
    std::map<std::string, std::string> labels;
    for (const std::string& name : names) {
      labels[name] = FamilyLabel(records, name);
    }
    for (const auto& f : live) {
      const std::string where =
          labels[f.column_family_name] + ", level " + std::to_string(f.level);
      tables.push_back({f.db_path + "/" + Basename(f.name), where});
    }
  } else {
    for (const auto& e : std::filesystem::directory_iterator(db_path, ec)) {
      if (e.path().extension() == ".sst") {
        tables.push_back({e.path().string(), "not in a readable MANIFEST"});
      }
    }
  }
  std::sort(tables.begin(), tables.end(),
            [](const Table& a, const Table& b) { return a.path < b.path; });
  const rocksdb::Options options(db_options, cf);
  uint64_t bytes = 0;
  size_t table_damage = 0;
  for (const Table& t : tables) {
    rocksdb::SstFileReader reader(options);
    s = reader.Open(t.path);
    if (s.ok()) s = reader.VerifyChecksum();
    if (!s.ok()) {
      damaged->push_back(
          {Basename(t.path), s.ToString() + " (" + t.where + ")"});
      ++table_damage;
    }
    std::error_code size_ec;
    const uintmax_t size = std::filesystem::file_size(t.path, size_ec);
    if (!size_ec) bytes += size;
  }

  // Blob files (-o blob_min): RocksDB verifies them with the whole
  // database only, so only once the tables are known to be sound.
  size_t blobs = 0;
  for (const auto& e : std::filesystem::directory_iterator(db_path, ec)) {
    if (e.path().extension() == ".blob") ++blobs;
  }
  if (db != nullptr && blobs > 0 && table_damage == 0) {
    s = db->VerifyChecksum();
    if (!s.ok()) damaged->push_back({"blob files", s.ToString()});
  }
  if (db != nullptr) {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close().PermitUncheckedError();
    delete db;
  }

  // Write-ahead logs.
  std::vector<WalDamage> wal;
  Status ws = FindWalDamage(
      db_options.wal_dir.empty() ? db_path : db_options.wal_dir, &wal);
  if (!ws.ok()) damaged->push_back({"WAL", ws.message()});
  for (const WalDamage& d : wal) {
    std::string reason =
        d.whole_file ? "dropped whole by point-in-time recovery: " + d.reason
                     : d.reason + " at offset " + std::to_string(d.offset) +
                           " of " + std::to_string(d.offset + d.bytes);
    reason += " (" + std::to_string(d.bytes) + " bytes dropped by recovery, " +
              std::to_string(d.intact_records) +
              (d.intact_records == 1 ? " intact write" : " intact writes") +
              " among them)";
    damaged->push_back({Basename(d.file), reason});
  }
  size_t logs = 0;
  for (const auto& e : std::filesystem::directory_iterator(
           db_options.wal_dir.empty() ? db_path : db_options.wal_dir, ec)) {
    if (e.path().extension() == ".log") ++logs;
  }
  if (summary != nullptr) {
    *summary = "verified " + std::to_string(tables.size()) + " table files (" +
               HumanBytes(bytes) + "), " + std::to_string(blobs) +
               " blob files and " + std::to_string(logs) + " write-ahead logs";
  }
  return Status::OK();
}

}  // namespace rowfs
