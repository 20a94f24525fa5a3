// Translation of StoreOptions into RocksDB options (internal).
#ifndef ROWFS_SRC_ROCKS_OPTIONS_H_
#define ROWFS_SRC_ROCKS_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>

#include "rowfs/status.h"
#include "rowfs/store_options.h"

namespace rowfs {

// The prefix extractor for row_prefix_bloom: a key's row and its separator.
const rocksdb::SliceTransform* RowPrefixTransform();

// The write buffer used unless one is configured: 64 MiB, at most an eighth
// of the filesystem holding `path`.
uint64_t DefaultWriteBuffer(const std::string& path);

// Builds the DBOptions and the template for every dataset's column-family
// options (the caller adds the per-dataset compaction filter factory). When
// options.options_file is set, it is loaded first; `file_cfs` then receives
// its per-family options by name so that existing families keep them.
Status BuildRocksOptions(const StoreOptions& options, const std::string& path,
                         rocksdb::DBOptions* db_options,
                         rocksdb::ColumnFamilyOptions* cf_template,
                         std::vector<rocksdb::ColumnFamilyDescriptor>* file_cfs);

}  // namespace rowfs

#endif  // ROWFS_SRC_ROCKS_OPTIONS_H_
