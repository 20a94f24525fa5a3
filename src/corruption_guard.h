// Keeps a database writable when a compaction meets a damaged table file.
//
// RocksDB 7.8 classifies a Corruption met by a background compaction as an
// unrecoverable error when paranoid_checks is on (db/error_handler.cc): it
// stops every write to every column family until the database is reopened,
// and after a reopen the next compaction of the same files stops them
// again. Yet the damage itself is contained: a failed compaction installs
// nothing, so its input files stay as they were; reads of the damaged
// blocks get Corruption (EIO), and everything else reads and writes
// normally. So this listener, for a Corruption met by a compaction:
//  - logs the failing file and its dataset (once per file, then at most
//    every 10 minutes with the number of failures since) and what to do;
//  - turns the error into OK for RocksDB's error handler: writes go on;
//  - switches the dataset's automatic compactions off (on its own thread,
//    through the family resolver), since RocksDB would otherwise retry the
//    same failing compaction every second, rereading its inputs. A family
//    without automatic compactions does not count towards write stalls
//    either, so the dataset's growing level 0 slows its own reads only.
//    Manual compactions (user.rowfs.ctl.compact) still run, and fail.
// Corruption met by flushes or writes, and every other error, keep
// RocksDB's own handling.
#ifndef ROWFS_SRC_CORRUPTION_GUARD_H_
#define ROWFS_SRC_CORRUPTION_GUARD_H_

#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace rowfs {

class CompactionCorruptionGuard : public rocksdb::EventListener {
 public:
  using FamilyFn =
      std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>;
  // Calls `fn` with the open family named `name` (kept alive during the
  // call) and returns true, or returns false when there is none.
  using FamilyResolver =
      std::function<bool(const std::string& name, const FamilyFn& fn)>;
  // What logs call the family named `name` (its dataset's name).
  using FamilyNamer = std::function<std::string(const std::string& name)>;

  CompactionCorruptionGuard() = default;
  ~CompactionCorruptionGuard() override { Stop(); }
  CompactionCorruptionGuard(const CompactionCorruptionGuard&) = delete;
  CompactionCorruptionGuard& operator=(const CompactionCorruptionGuard&) =
      delete;

  // Sets how to reach a family by name. Damage met before it is set is
  // acted on once it is.
  void SetFamilyResolver(FamilyResolver resolver, FamilyNamer namer);
  // Joins the guard's thread and forgets the resolver: later damage is
  // still logged and its error turned into OK. Call before anything the
  // resolver uses goes away. Idempotent.
  void Stop();

  void OnCompactionCompleted(rocksdb::DB* db,
                             const rocksdb::CompactionJobInfo& info) override;
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                         rocksdb::Status* bg_error) override;

 private:
  struct Seen {
    uint64_t logged_ms = 0;  // when the file was last logged
    uint64_t failures = 0;   // failures since
  };
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  FamilyResolver resolver_;                 // guarded by mu_
  FamilyNamer namer_;                       // guarded by mu_
  std::set<std::string> pending_;           // families to quarantine; mu_
  std::set<std::string> quarantined_;       // guarded by mu_
  std::map<std::string, Seen> seen_files_;  // guarded by mu_
  bool stop_ = false;                       // guarded by mu_
  std::thread thread_;                      // started at the first damage
};

}  // namespace rowfs

#endif  // ROWFS_SRC_CORRUPTION_GUARD_H_
