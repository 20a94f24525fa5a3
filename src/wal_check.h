// Damage in RocksDB's write-ahead logs, found before RocksDB replays them.
//
// RocksDB's point-in-time recovery (kPointInTimeRecovery, rowfs's default)
// replays the logs up to the first record it cannot read, drops everything
// after it (the rest of that log and every later log that does not continue
// its sequence numbers), flushes what it replayed and deletes the logs. It
// reports the drop only in its info log, which rowfs keeps quiet while the
// database opens: a bit flip or a truncated log would lose synced writes
// without a trace. So rowfs reads the logs itself first, in the format
// RocksDB documents (32 KiB blocks of records, each with a masked CRC32C
// of its type and payload), and says what recovery will drop.
#ifndef ROWFS_SRC_WAL_CHECK_H_
#define ROWFS_SRC_WAL_CHECK_H_

#include <rocksdb/options.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rowfs/status.h"
#include "rowfs/store_options.h"

namespace rowfs {

// What point-in-time recovery drops from one log file.
struct WalDamage {
  std::string file;         // path of the log
  bool whole_file = false;  // dropped whole: it comes after the damage
  uint64_t offset = 0;      // first byte dropped
  uint64_t bytes = 0;       // bytes dropped, from `offset` to the end
  // Writes (WriteBatch records) dropped that were intact: after the damage
  // in a damaged log, all of them in a log dropped whole.
  uint64_t intact_records = 0;
  std::string reason;  // what is wrong at `offset`, or why it is dropped

  // One line naming the file, the offset, the bytes and the records.
  std::string Describe() const;
};

// Reads every log file ("NNNNNN.log") in `wal_dir` in number order and
// returns what point-in-time recovery would drop, in that order; empty when
// every log reads to its end. IOError when a log cannot be read.
// Limitation: a log RocksDB no longer needs (left by a crash while it was
// being deleted) is not told apart from a live one.
Status FindWalDamage(const std::string& wal_dir,
                     std::vector<WalDamage>* damage);

// Called by Store::Open before RocksDB opens a read-write or read-only
// store. When the logs are damaged: with options.strict_wal_recovery,
// returns Corruption with a one-line message and nothing is opened;
// otherwise logs one warning per log naming what recovery drops and (read-
// write) keeps a hard link of each damaged log in DB_DIR/lost/, where the
// deletion that follows recovery cannot reach it. Strict mode also sets
// `db_options`' recovery mode to kAbsoluteConsistency, so that RocksDB
// refuses whatever this reader would miss. Skipped (OK) for followers and
// while another process holds the database's LOCK (its logs are live; the
// open reports the lock).
Status CheckWalBeforeOpen(const StoreOptions& options, const std::string& path,
                          rocksdb::DBOptions* db_options);

// Whether another process holds DB_DIR/LOCK (RocksDB's fcntl lock: a
// running rowfs, or any RocksDB user). Sets *pid to its id when it does.
bool DatabaseLockHolder(const std::string& db_path, pid_t* pid);

}  // namespace rowfs

#endif  // ROWFS_SRC_WAL_CHECK_H_
