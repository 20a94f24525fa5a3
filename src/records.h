// Encodings of the values rowfs keeps besides cell bytes: the meta records
// of rows and columns (Attrs) and, in the "default" column family, each
// dataset's Attrs and Policy and the root's Attrs. Every record starts with
// a format byte so that later versions can extend it.
#ifndef ROWFS_SRC_RECORDS_H_
#define ROWFS_SRC_RECORDS_H_

#include <string>
#include <string_view>

#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rowfs {

std::string EncodeAttrs(const Attrs& attrs);
// Corruption when `data` is not an encoded Attrs.
Status DecodeAttrs(std::string_view data, Attrs* attrs);

std::string EncodeDatasetRecord(const Attrs& attrs, const Policy& policy);
Status DecodeDatasetRecord(std::string_view data, Attrs* attrs, Policy* policy);

// Keys in the "default" column family.
std::string DatasetRecordKey(std::string_view dataset);
// The dataset's persisted timestamp floor (see latest_bound.h): 8 bytes BE.
std::string FloorRecordKey(std::string_view dataset);
inline constexpr std::string_view kRootRecordKey = "root";

}  // namespace rowfs

#endif  // ROWFS_SRC_RECORDS_H_
