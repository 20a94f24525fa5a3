// Storage format 2: the value of a version key (row, column, inverted ts).
//
// A version is a small record: its size, the mtime it shows, and where its
// bytes are. Small contents stay inline in the record (one key per small
// file, as fast as format 1); larger ones are a chunk map: the file is cut
// into chunks of 2^shift bytes, and chunk i is chunk i of some content
// object of the dataset (ContentKey(content, i), content_key.h) or a hole
// (zeros). A new version shares every chunk it did not change with the
// version it was written from, so it costs the changed chunks, not a copy.
//
// A deletion marker is a record too: `rm col` writes one as the column's
// newest entry. The column is hidden while its newest entry is a marker;
// its older versions stay (expiring with the marker after the dataset's
// keep_deleted) and come back when the column is written again.
//
//   u8      kind           1 inline, 2 chunked, 3 deletion marker
//   u8      flags          bit 0: mtime follows, bit 1: expiry follows
//   varint  size           bytes of the version's content
//   varint  mtime_ms       (flag 0) the time it shows; else its timestamp
//   varint  expires_ms     (flag 1) removed from then on (deleted columns)
//   varint  ctime_ms       (flag 2) when its time was last set; else its
//                          timestamp (tar -g and find -cnewer see changes
//                          that carry an older mtime by it)
//   inline:  the content's bytes, `size` of them
//   chunked: u8 shift, varint run count, then per run:
//            varint first chunk (delta from the previous run's end),
//            varint chunk count, varint content id
//
// Chunks not covered by a run are holes. Thread-safety: values.
#ifndef ROWFS_SRC_VERSION_RECORD_H_
#define ROWFS_SRC_VERSION_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rowfs/status.h"

namespace rowfs {

enum class RecordKind : uint8_t { kInline = 1, kChunked = 2, kDeletion = 3 };

// Chunks [first, first + count) of a version are chunks [first, first +
// count) of content object `content` (never 0).
struct ChunkRun {
  uint32_t first = 0;
  uint32_t count = 0;
  uint64_t content = 0;
  bool operator==(const ChunkRun&) const = default;
};

struct VersionRecord {
  RecordKind kind = RecordKind::kInline;
  uint64_t size = 0;
  uint64_t mtime_ms = 0;       // 0: the version's own timestamp
  uint64_t expires_ms = 0;     // 0: never
  uint64_t ctime_ms = 0;       // 0: the version's own timestamp
  std::string data;            // kInline: the content
  uint8_t chunk_shift = 0;     // kChunked: chunk size is 1 << chunk_shift
  std::vector<ChunkRun> runs;  // kChunked: sorted, disjoint

  bool is_deletion() const { return kind == RecordKind::kDeletion; }
  uint64_t chunk_size() const { return uint64_t{1} << chunk_shift; }
  // The mtime to show for the version stored at `ts`.
  uint64_t ShownMtime(uint64_t ts) const {
    return mtime_ms != 0 ? mtime_ms : ts;
  }
  uint64_t ShownCtime(uint64_t ts) const {
    return ctime_ms != 0 ? ctime_ms : ts;
  }
  bool operator==(const VersionRecord&) const = default;
};

// The smallest and largest chunk sizes (see ChooseChunkShift).
inline constexpr uint8_t kSmallChunkShift = 12;  // 4 KiB: a database page
inline constexpr uint8_t kLargeChunkShift = 16;  // 64 KiB
// Contents up to this size are stored inline.
inline constexpr uint64_t kMaxInlineBytes = 4096;

std::string EncodeRecord(const VersionRecord& record);
// Corruption for anything EncodeRecord cannot produce.
Status DecodeRecord(std::string_view value, VersionRecord* record);
// As DecodeRecord, without the inline content or the chunk map (listings
// and stat need only size and times).
Status DecodeRecordHeader(std::string_view value, VersionRecord* record);

// The content object holding chunk `index` of a version, or 0 for a hole.
uint64_t ChunkContent(const std::vector<ChunkRun>& runs, uint32_t index);

// Builds the runs of a chunk map from chunk -> content assignments given
// in increasing chunk order (0 = hole, skipped). Adjacent chunks of the
// same content merge into one run.
class ChunkMapBuilder {
 public:
  // REQUIRES: index greater than every index added before.
  void Add(uint32_t index, uint64_t content);
  std::vector<ChunkRun> Finish() { return std::move(runs_); }

 private:
  std::vector<ChunkRun> runs_;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_VERSION_RECORD_H_
