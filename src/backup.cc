#include "rowfs/backup.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/utilities/checkpoint.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <system_error>

namespace rowfs {
namespace {

constexpr uint64_t kProgressEvery = 4 << 20;

// Backups and checkpoints hold every column's bytes: only their owner may
// enter them, whatever the umask.
Status MakePrivate(const std::string& dir) {
  if (chmod(dir.c_str(), 0700) != 0) {
    return Status::FromErrno(errno, "chmod 0700 " + dir);
  }
  return Status::OK();
}

// Opens the engine on `dir`; `create` allows making the directory.
template <typename Engine>
Status OpenEngine(const std::string& dir, bool create,
                  std::unique_ptr<Engine>* engine) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (!create) return Status::NotFound(dir + " is not a backup directory");
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
    ROWFS_RETURN_IF_ERROR(MakePrivate(dir));
  }
  rocksdb::BackupEngineOptions options(dir);
  options.share_table_files = true;
  options.share_files_with_checksum = true;
  options.callback_trigger_interval_size = kProgressEvery;
  options.max_background_operations = 2;
  Engine* raw = nullptr;
  rocksdb::IOStatus s = Engine::Open(options, rocksdb::Env::Default(), &raw);
  if (!s.ok()) return Status::FromRocksDB(s, "opening backups in " + dir);
  engine->reset(raw);
  return Status::OK();
}

bool IsEmptyOrMissing(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return true;
  return std::filesystem::is_directory(dir, ec) &&
         std::filesystem::is_empty(dir, ec);
}

}  // namespace

Status CreateBackup(Store* store, const std::string& backup_dir,
                    const BackupProgress& progress, uint32_t* id) {
  std::unique_ptr<rocksdb::BackupEngine> engine;
  ROWFS_RETURN_IF_ERROR(OpenEngine(backup_dir, /*create=*/true, &engine));
  rocksdb::CreateBackupOptions options;
  // Flushed first: the backup is table files (shared with the previous
  // backups when unchanged) and a short WAL, not the whole WAL copied again
  // every time. (It also keeps chunks stored without the WAL: see
  // ContentSpace::WriteChunks.)
  options.flush_before_backup = true;
  uint64_t copied = 0;
  if (progress) {
    options.progress_callback = [&] {
      copied += kProgressEvery;
      progress(copied);
    };
  }
  rocksdb::BackupID new_id = 0;
  rocksdb::IOStatus s = engine->CreateNewBackupWithMetadata(
      options, store->db(),
      std::string("rowfs ") + ROWFS_VERSION + ", " + store->path(), &new_id);
  if (!s.ok()) return Status::FromRocksDB(s, "backing up to " + backup_dir);
  if (id != nullptr) *id = new_id;
  return Status::OK();
}

Status ListBackups(const std::string& backup_dir,
                   std::vector<BackupEntry>* backups) {
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine;
  ROWFS_RETURN_IF_ERROR(OpenEngine(backup_dir, /*create=*/false, &engine));
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  backups->clear();
  for (const auto& info : infos) {
    backups->push_back({info.backup_id, info.timestamp, info.size,
                        info.number_files, info.app_metadata});
  }
  if (backups->empty()) return Status::NotFound("no backups in " + backup_dir);
  return Status::OK();
}

Status VerifyBackup(const std::string& backup_dir, uint32_t id) {
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine;
  ROWFS_RETURN_IF_ERROR(OpenEngine(backup_dir, /*create=*/false, &engine));
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  if (infos.empty()) return Status::NotFound("no backups in " + backup_dir);
  bool found = false;
  for (const auto& info : infos) {
    if (id != 0 && info.backup_id != id) continue;
    found = true;
    rocksdb::IOStatus s =
        engine->VerifyBackup(info.backup_id, /*verify_with_checksum=*/true);
    if (!s.ok()) {
      return Status::Corruption("backup " + std::to_string(info.backup_id) +
                                ": " + s.ToString());
    }
  }
  if (!found) return Status::NotFound("no backup " + std::to_string(id));
  return Status::OK();
}

Status RestoreBackup(const std::string& backup_dir, uint32_t id,
                     const std::string& db_dir) {
  if (!IsEmptyOrMissing(db_dir)) {
    return Status::AlreadyExists(db_dir +
                                 " is not empty: restore into a new "
                                 "or empty directory");
  }
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine;
  ROWFS_RETURN_IF_ERROR(OpenEngine(backup_dir, /*create=*/false, &engine));
  std::error_code ec;
  const bool existed = std::filesystem::exists(db_dir, ec);
  if (!existed) {
    std::filesystem::create_directories(db_dir, ec);
    if (ec) return Status::IOError("creating " + db_dir + ": " + ec.message());
  }
  ROWFS_RETURN_IF_ERROR(MakePrivate(db_dir));
  rocksdb::IOStatus s =
      id == 0 ? engine->RestoreDBFromLatestBackup(rocksdb::RestoreOptions(),
                                                  db_dir, db_dir)
              : engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), id,
                                            db_dir, db_dir);
  if (!s.ok()) {
    // The engine's copying threads may still be writing files after a
    // failed restore returned; its destructor joins them.
    engine.reset();
    // A half-restored directory is a database without its CURRENT or with
    // missing files: leave nothing that could be mistaken for one.
    if (existed) {
      for (const auto& entry :
           std::filesystem::directory_iterator(db_dir, ec)) {
        std::filesystem::remove_all(entry.path(), ec);
      }
    } else {
      std::filesystem::remove_all(db_dir, ec);
    }
  }
  return Status::FromRocksDB(
      s, "restoring into " + db_dir + " (nothing was left there)");
}

Status PurgeBackups(const std::string& backup_dir, uint32_t keep) {
  if (keep == 0) return Status::InvalidArgument("--keep must be at least 1");
  std::unique_ptr<rocksdb::BackupEngine> engine;
  ROWFS_RETURN_IF_ERROR(OpenEngine(backup_dir, /*create=*/false, &engine));
  return Status::FromRocksDB(engine->PurgeOldBackups(keep), "purging backups");
}

Status CreateCheckpoint(Store* store, const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return Status::AlreadyExists(dir +
                                 " exists: a checkpoint needs a new "
                                 "directory");
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(store->db(), &raw);
  if (!s.ok()) return Status::FromRocksDB(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(checkpoint->CreateCheckpoint(dir),
                                            "checkpoint into " + dir));
  return MakePrivate(dir);
}

}  // namespace rowfs
