// The key layout inside a dataset's column family.
//
//   cell           row 0x00 column 0x00 inv(ts)      inv(ts) = UINT64_MAX - ts,
//   column meta    row 0x00 column 0x00 inv = 0      8 bytes, big-endian
//   row meta       row 0x00        0x00 inv = 0      (the column is empty)
//   content chunk  0x00 'c' BE64(content) BE32(index)
//
// A cell holds a version record or a deletion marker (version_record.h);
// content chunks live in a space that sorts before every row (row names are
// never empty and never hold 0x00), so rows start at kRowSpaceBegin.
//
// Row and column names never contain 0x00 (names.h enforces it), so
//  * one row is the contiguous range [RowBegin(row), RowEnd(row));
//  * one column is the contiguous range [ColumnBegin, ColumnEnd) inside it,
//    its meta record first, then its versions newest first;
//  * the row meta record is the first key of its row.
// Decoding peels the fixed 8-byte suffix first and never looks for a
// separator inside it, so timestamps whose bytes are 0x00 decode correctly.
//
// The builders REQUIRE valid names (see names.h); ParseKey validates.
#ifndef ROWFS_KEY_CODEC_H_
#define ROWFS_KEY_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "rowfs/status.h"

namespace rowfs {

// Timestamps are milliseconds since the Unix epoch. The largest one keeps the
// inverted suffix of a cell non-zero (zero marks meta records) and fits a
// signed 64-bit time_t in milliseconds.
inline constexpr uint64_t kMaxTimestamp = INT64_MAX;

enum class KeyKind { kCell, kColumnMeta, kRowMeta };

struct ParsedKey {
  KeyKind kind = KeyKind::kCell;
  std::string_view row;     // points into the parsed key
  std::string_view column;  // empty for kRowMeta
  uint64_t ts = 0;          // only meaningful for kCell
};

std::string CellKey(std::string_view row, std::string_view column, uint64_t ts);
std::string ColumnMetaKey(std::string_view row, std::string_view column);
std::string RowMetaKey(std::string_view row);

// Bounds of one row / one column: begin is inclusive, end exclusive.
std::string RowBegin(std::string_view row);
std::string RowEnd(std::string_view row);
std::string ColumnBegin(std::string_view row, std::string_view column);
std::string ColumnEnd(std::string_view row, std::string_view column);

// The first key any row can have.
inline constexpr std::string_view kRowSpaceBegin = "\x01";

// Chunk `index` of content object `content`, and the bounds of all chunks
// of one content object and of every content object.
std::string ContentKey(uint64_t content, uint32_t index);
std::string ContentBegin(uint64_t content);
std::string ContentEnd(uint64_t content);
std::string ContentSpaceBegin();
std::string ContentSpaceEnd();
// False for anything ContentKey cannot produce.
bool ParseContentKey(std::string_view key, uint64_t* content, uint32_t* index);

// Splits a key into its parts. Returns InvalidArgument (and leaves *out
// unspecified) for anything the builders above cannot produce: too short,
// no separator before the suffix, an empty row, 0x00 inside a name, an empty
// column on a cell, or a cell timestamp above kMaxTimestamp.
Status ParseKey(std::string_view key, ParsedKey* out);

}  // namespace rowfs

#endif  // ROWFS_KEY_CODEC_H_
