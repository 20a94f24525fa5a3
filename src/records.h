// Encodings of the values rowfs keeps besides cell bytes: the meta records
// of rows and columns (Attrs) and, in the "default" column family, each
// dataset's Attrs and Policy and the root's Attrs. Every record starts with
// a format byte so that later versions can extend it.
#ifndef ROWFS_SRC_RECORDS_H_
#define ROWFS_SRC_RECORDS_H_

#include <optional>
#include <string>
#include <string_view>

#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rowfs {

std::string EncodeAttrs(const Attrs& attrs);
// Corruption when `data` is not an encoded Attrs.
Status DecodeAttrs(std::string_view data, Attrs* attrs);

// A column's meta record: its Attrs and whether the column is deleted
// (its newest entry is a deletion marker). The flag lets a write find out
// with one point read whether it brings a deleted column back.
// A column stored without attributes (by the library, or a format-1 cell)
// gets a meta record only to carry the flag: `attrs` unset.
std::string EncodeColumnMeta(const std::optional<Attrs>& attrs, bool deleted);
Status DecodeColumnMeta(std::string_view data, std::optional<Attrs>* attrs,
                        bool* deleted);

std::string EncodeDatasetRecord(const Attrs& attrs, const Policy& policy);
Status DecodeDatasetRecord(std::string_view data, Attrs* attrs, Policy* policy);

// Keys in the "default" column family.
std::string DatasetRecordKey(std::string_view dataset);
// The dataset's persisted timestamp floor (see latest_bound.h): 8 bytes BE.
std::string FloorRecordKey(std::string_view dataset);
inline constexpr std::string_view kRootRecordKey = "root";
// The database's format (Store::kFormat as decimal text); absent in a
// format-1 database.
inline constexpr std::string_view kFormatRecordKey = "format";
// In each dataset's own family (0x00 'f': no row key starts with 0x00):
// the format its entries are in, so that a family is never misread whatever
// happens to "default" (a repair that lost it, a restore). Absent: format 1.
inline constexpr std::string_view kDatasetFormatKey = {"\0f", 2};
// Families are made ahead of need in batches (creating one rewrites
// RocksDB's OPTIONS file, which lists every family: one at a time, making
// the n-th dataset would cost O(n)). A pooled family is named '@' and a
// sequence number ('@' begins no dataset name) and belongs to the dataset
// named by its kFamilyDatasetKey; one without that key is a spare. A family
// with any other name (made by format 1, or by a repair) and no such key is
// the dataset of its name. An empty value marks a dropped dataset's family,
// which is dropped from RocksDB later, several at once (as they are made).
inline constexpr std::string_view kFamilyDatasetKey = {"\0d", 2};
std::string PooledFamilyName(uint64_t seq);
// The sequence number of a pooled family's name; nullopt for other names.
std::optional<uint64_t> PooledFamilySeq(std::string_view family);
// Where an interrupted format upgrade resumes (the last key converted).
inline constexpr std::string_view kUpgradeProgressKey = "upgrade/progress";
// The dataset's next unused content id block: 8 bytes BE. Ids below it may
// have been handed out; ids from it on never were.
std::string ContentCounterKey(std::string_view dataset);

}  // namespace rowfs

#endif  // ROWFS_SRC_RECORDS_H_
