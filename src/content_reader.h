// Reads a version's bytes by range: an inline record from itself, a
// chunked one chunk by chunk, loading only the chunks a read covers (a
// 4 KiB read of a 1 GiB file reads one chunk). Holes and the part of a
// chunk past its stored bytes read as zeros.
#ifndef ROWFS_SRC_CONTENT_READER_H_
#define ROWFS_SRC_CONTENT_READER_H_

#include <cstdint>
#include <string>

#include "chunk_io.h"
#include "rowfs/status.h"
#include "version_record.h"

namespace rowfs {

// Up to `n` bytes of `record`'s content at `offset` into *out (short at
// the end). REQUIRES: the record's contents are pinned or otherwise safe
// from garbage collection while this runs.
Status ReadRecordRange(ChunkIO* io, const VersionRecord& record,
                       uint64_t offset, size_t n, std::string* out);

}  // namespace rowfs

#endif  // ROWFS_SRC_CONTENT_READER_H_
