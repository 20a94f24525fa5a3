// Native backups of a rowfs database: RocksDB's BackupEngine (incremental,
// checksummed, restorable into an empty directory) and Checkpoint (an
// instant copy made of hard links, itself a database rowfs can mount).
//
// Thread-safety: each function may be called from any thread; concurrent
// calls on the same backup directory are not supported (BackupEngine's own
// rule).
#ifndef ROWFS_BACKUP_H_
#define ROWFS_BACKUP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rowfs {

struct BackupEntry {
  uint32_t id = 0;
  int64_t timestamp = 0;  // seconds since the epoch
  uint64_t size = 0;      // bytes of the files it references
  uint32_t files = 0;
  std::string metadata;  // "rowfs <version>, <db path>"
};

// Called now and then with the bytes copied so far.
using BackupProgress = std::function<void(uint64_t bytes_copied)>;

// Adds a backup of the live database to `backup_dir` (created if missing),
// sharing unchanged table files with earlier backups. The backup is a
// consistent point in time: table files, MANIFEST and WAL. Works while the
// store serves reads and writes. *id (when not null) gets the new id.
Status CreateBackup(Store* store, const std::string& backup_dir,
                    const BackupProgress& progress, uint32_t* id);

// The backups in `backup_dir`, oldest first. NotFound if it holds none.
Status ListBackups(const std::string& backup_dir,
                   std::vector<BackupEntry>* backups);

// Checks that every file of backup `id` (0 = every backup) exists with the
// recorded size and checksum. Corruption names the first bad file.
Status VerifyBackup(const std::string& backup_dir, uint32_t id);

// Restores backup `id` (0 = the latest) into `db_dir`, which must not exist
// or be empty (AlreadyExists otherwise). Offline: nothing may use db_dir.
Status RestoreBackup(const std::string& backup_dir, uint32_t id,
                     const std::string& db_dir);

// Deletes all but the newest `keep` backups (keep >= 1).
Status PurgeBackups(const std::string& backup_dir, uint32_t keep);

// Makes an instant checkpoint of the live database in `dir`, which must not
// exist: hard links to the table files (copies across filesystems) plus a
// fresh MANIFEST and WAL.
Status CreateCheckpoint(Store* store, const std::string& dir);

}  // namespace rowfs

#endif  // ROWFS_BACKUP_H_
