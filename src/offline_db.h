// What `rowfs check` and `rowfs repair` share: refusing a database in use,
// RocksDB options for a database nobody serves, RocksDB's log kept for the
// report, and the verification of every file.
#ifndef ROWFS_SRC_OFFLINE_DB_H_
#define ROWFS_SRC_OFFLINE_DB_H_

#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <cstdarg>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rowfs/status.h"

namespace rowfs {

// Busy, with a one-line message naming the process (and the rowfs mount)
// and telling to unmount first, when another process holds DB_DIR's LOCK
// or a rowfs mount (read-only and followers included) serves it.
Status RefuseIfInUse(const std::string& db_path);

// RocksDB's info log for offline tools: the lines at `min_level` and above,
// kept in order for the report instead of being printed as they come.
class CapturedLog : public rocksdb::Logger {
 public:
  explicit CapturedLog(rocksdb::InfoLogLevel min_level)
      : rocksdb::Logger(min_level) {}
  using rocksdb::Logger::Logv;
  void Logv(rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  // The lines kept since the last call, and forgets them.
  std::vector<std::string> Take();

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
};

// rowfs's own RocksDB options (as a mount with no -o tuning would use) for
// working on `db_path` offline: `cf` is every family's options (without the
// dataset policy filter, which only compactions of a mount apply).
// `log` receives RocksDB's log.
Status OfflineOptions(const std::string& db_path,
                      const std::shared_ptr<CapturedLog>& log,
                      rocksdb::DBOptions* db, rocksdb::ColumnFamilyOptions* cf);

// One damaged file: its name in DB_DIR and what is wrong with it.
struct DamagedFile {
  std::string name;
  std::string reason;
};

// What `rowfs check` verifies, with `db_path` not in use: that CURRENT
// names a readable MANIFEST, every table file's checksums (each live one,
// or every *.sst when the MANIFEST cannot be read), the blob files'
// checksums, and that each WAL reads to its end. `summary` (optional)
// receives a line about what was verified.
Status InspectDatabase(const std::string& db_path,
                       std::vector<DamagedFile>* damaged, std::string* summary);

// "12.3 MiB".
std::string HumanBytes(uint64_t bytes);

}  // namespace rowfs

#endif  // ROWFS_SRC_OFFLINE_DB_H_
