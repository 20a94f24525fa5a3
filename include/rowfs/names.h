// Names of datasets, rows and columns, and the one reserved syntax of the
// namespace: a trailing "@<digits>" inside a row directory names a version.
//
// These functions are the only place names are validated and the only place
// "column@ts" is split or built; the store and the filesystem both call them.
#ifndef ROWFS_NAMES_H_
#define ROWFS_NAMES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rowfs/status.h"

namespace rowfs {

// A file name's limit (NAME_MAX).
inline constexpr size_t kMaxNameBytes = 255;
// The longest "@<ts>" suffix: '@' and the 19 digits of kMaxTimestamp.
inline constexpr size_t kMaxVersionSuffixBytes = 20;
// A column must leave room for any version suffix within kMaxNameBytes.
inline constexpr size_t kMaxColumnNameBytes =
    kMaxNameBytes - kMaxVersionSuffixBytes;

// The column family that holds rowfs metadata; never a dataset.
inline constexpr std::string_view kMetaColumnFamily = "default";
// Names at the root that begin with it are views ("@snapshot", "@asof"),
// never datasets, so the two can never collide.
inline constexpr char kViewPrefix = '@';

// Each returns OK, InvalidArgument (empty, ".", "..", a '/' or NUL byte, a
// reserved name or pattern: "default" and a leading '@' for datasets) or
// NameTooLong.
Status ValidateDatasetName(std::string_view name);
Status ValidateRowName(std::string_view name);
// A column name additionally may not end in "@<digits>" (that would be a
// version's name) and is limited to kMaxColumnNameBytes.
Status ValidateColumnName(std::string_view name);

// Parses a canonical decimal timestamp: digits only, no leading zeros (but
// "0"), at most kMaxTimestamp. InvalidArgument otherwise.
Status ParseTimestamp(std::string_view digits, uint64_t* ts);

// A name inside a row directory: a column, or one version of a column.
struct EntryName {
  std::string_view column;     // points into the parsed name
  std::optional<uint64_t> ts;  // set for "column@ts"
};

// Returns OK; InvalidArgument for an invalid column, an empty column before
// '@', or a non-canonical or out-of-range timestamp; NameTooLong.
Status ParseEntryName(std::string_view name, EntryName* out);

// "column@ts". REQUIRES: ValidateColumnName(column).ok().
std::string VersionName(std::string_view column, uint64_t ts);

// A full path inside the mount: "/", "/ds", "/ds/row", "/ds/row/col[@ts]".
struct ParsedPath {
  enum class Level { kRoot, kDataset, kRow, kColumn };
  Level level = Level::kRoot;
  std::string_view dataset, row;  // point into the parsed path
  EntryName entry;                // for kColumn
};

// Accepts one leading '/', no empty components and no trailing '/'.
// Returns the first failing component's status, or InvalidArgument for a
// malformed path or one deeper than a column.
Status ParsePath(std::string_view path, ParsedPath* out);

}  // namespace rowfs

#endif  // ROWFS_NAMES_H_
