// Translation of StoreOptions into RocksDB options (internal).
#ifndef ROWFS_SRC_ROCKS_OPTIONS_H_
#define ROWFS_SRC_ROCKS_OPTIONS_H_

#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "rowfs/status.h"
#include "rowfs/store_options.h"

namespace rowfs {

// RocksDB's info log, sent to the daemon's log instead of a LOG file in the
// database directory: nothing to rotate, and nothing written there when that
// filesystem is full (Debian's librocksdb asserts on a failed LOG write).
// Quiet (everything at trace) while the database opens: errors then come
// back as the Status of Open, reported once.
class SpdlogLogger : public rocksdb::Logger {
 public:
  explicit SpdlogLogger(bool quiet)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), quiet_(quiet) {}
  using rocksdb::Logger::Logv;
  void Logv(rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override;
  void SetQuiet(bool quiet) { quiet_.store(quiet); }

 private:
  std::atomic<bool> quiet_;
};

// The prefix extractor for row_prefix_bloom: a key's row and its separator.
const rocksdb::SliceTransform* RowPrefixTransform();

// The write buffer used unless one is configured: 64 MiB, at most an eighth
// of the filesystem holding `path`.
uint64_t DefaultWriteBuffer(const std::string& path);

// The table files kept open unless configured: bounded by the process's
// open-file limit (read when the store opens).
int DefaultMaxOpenFiles();

// The memtable budget of all datasets unless configured: a 32nd of the
// machine's memory, between 64 MiB and 1 GiB.
uint64_t DefaultMemoryBudget();

// Builds the DBOptions and the template for every dataset's column-family
// options (the caller adds the per-dataset compaction filter factory). When
// options.options_file is set, it is loaded first; `file_cfs` then receives
// its per-family options by name so that existing families keep them, with
// every explicitly given option (and the write-buffer cap) applied on top.
Status BuildRocksOptions(
    const StoreOptions& options, const std::string& path,
    rocksdb::DBOptions* db_options, rocksdb::ColumnFamilyOptions* cf_template,
    std::vector<rocksdb::ColumnFamilyDescriptor>* file_cfs);

}  // namespace rowfs

#endif  // ROWFS_SRC_ROCKS_OPTIONS_H_
