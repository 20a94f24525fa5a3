// Options for opening a Store: access mode and RocksDB tuning.
#ifndef ROWFS_STORE_OPTIONS_H_
#define ROWFS_STORE_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rowfs/clock.h"
#include "rowfs/status.h"

namespace rowfs {

struct StoreOptions {
  enum class Mode {
    kReadWrite,  // the one writer; holds RocksDB's LOCK file
    kReadOnly,   // a frozen read-only view (DB::OpenForReadOnly)
    kSecondary,  // a follower of a live writer (DB::OpenAsSecondary)
  };
  Mode mode = Mode::kReadWrite;
  // kSecondary only: a directory of the follower's own (info log, MANIFEST
  // tail state). Created when missing.
  std::string secondary_path;
  // kReadWrite only: create the database directory and database if missing.
  bool create_if_missing = true;

  // RocksDB tuning. Unset values take rowfs's defaults, or the values of
  // `options_file` when one is given; set values always win.
  std::optional<uint64_t> block_cache_bytes;   // default 256 MiB, shared
  std::optional<int> bloom_bits_per_key;       // default 10; 0 = no filter
  std::optional<bool> row_prefix_bloom;        // default false; see README
  std::optional<uint64_t> write_buffer_bytes;  // default 8 MiB per dataset
  // All datasets' memtables together (RocksDB WriteBufferManager), and the
  // WAL's bound; default a 32nd of the machine's memory, 64 MiB to 1 GiB.
  std::optional<uint64_t> memory_bytes;
  std::optional<int> max_open_files;       // default -1 (unlimited)
  std::optional<std::string> compression;  // none|snappy|lz4|zstd|zlib
  // Values of at least this many bytes go to RocksDB blob files (integrated
  // BlobDB) instead of SST blocks; 0 keeps every value in SST files.
  // Default 0 (measured: no gain for large files, see README); with an
  // options file and no value here, the file's blob settings stand.
  std::optional<uint64_t> blob_min_bytes;
  // A RocksDB OPTIONS file (as RocksDB writes into every database directory)
  // whose DBOptions and per-column-family options are loaded first.
  std::string options_file;
  // kReadWrite/kReadOnly: what opening does when the WAL is damaged (see
  // src/wal_check.h). false: RocksDB's point-in-time recovery replays the
  // log up to the damage and drops the rest, and rowfs logs a warning naming
  // what was dropped. true: the open is refused with a one-line message.
  bool strict_wal_recovery = false;

  // Versions stamped more than this far ahead of the clock are refused
  // (InvalidArgument): nobody may stamp history into the future or leave no
  // timestamp for later writes ("latest + 1").
  uint64_t max_future_ms = 24ull * 3600 * 1000;

  // Bytes written to open files and not yet stored that all writers
  // together may hold; past it each writer stores its complete chunks
  // before buffering more.
  uint64_t max_dirty_bytes = 64ull << 20;

  // Source of server timestamps and TTL "now". Not owned; must outlive the
  // Store. Never null.
  Clock* clock = Clock::Real();
};

// Sets one tuning option from "key" and a textual value, the form used by
// the daemon's `-o key=value`. Keys: block_cache, bloom_bits,
// row_prefix_bloom, write_buffer, memory, dirty_max, max_open_files,
// compression, blob_min, options_file, wal_recovery (point_in_time or
// strict).
// Sizes accept K/M/G suffixes (powers of 1024).
// Returns NotFound for an unknown key (so callers can try other option
// sets), InvalidArgument for a bad value.
Status SetStoreOption(StoreOptions* options, std::string_view key,
                      std::string_view value);

// Parses "123", "64K", "256M", "1G" into bytes. InvalidArgument otherwise.
Status ParseByteSize(std::string_view text, uint64_t* bytes);

}  // namespace rowfs

#endif  // ROWFS_STORE_OPTIONS_H_
