// Encodings of the values rowfs keeps besides cell bytes: the meta records
// of rows and columns (Attrs) and, in the "default" column family, each
// dataset's Attrs and Policy and the root's Attrs. Every record starts with
// a format byte so that later versions can extend it.
#ifndef ROWFS_SRC_RECORDS_H_
#define ROWFS_SRC_RECORDS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

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
// sequence number ('@' begins no dataset name); FamilyRecordKey(dataset)
// names the pooled family a dataset holds. DroppedFamilyKey(family) marks
// the family of a dropped dataset, dropped from RocksDB later, several at
// once. A pooled family neither named nor marked is a spare. A family with
// any other name (made by format 1, or by a repair) is the dataset of its
// name. Making or dropping a dataset writes nothing into its family: an
// unused dataset then costs no flush (and RocksDB's work per flush grows
// with the number of families). Pooled families are format 2 by birth.
std::string FamilyRecordKey(std::string_view dataset);
std::string DroppedFamilyKey(std::string_view family);
std::string PooledFamilyName(uint64_t seq);
// The sequence number of a pooled family's name; nullopt for other names.
std::optional<uint64_t> PooledFamilySeq(std::string_view family);

// Which pooled family holds which dataset, and the families of dropped
// datasets not yet dropped from RocksDB. (Defined in store_families.cc.)
struct FamilyRecords {
  std::map<std::string, std::string> dataset_of;  // family -> dataset
  std::set<std::string> dropped;
};
Status ReadFamilyRecords(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
                         FamilyRecords* out);
// What a family holds, for reports: "rowfs's records", "dataset NAME", "a
// dropped dataset's family" or "family @N (no dataset)".
std::string FamilyLabel(const FamilyRecords& records,
                        const std::string& family);
// Where an interrupted format upgrade resumes (the last key converted).
inline constexpr std::string_view kUpgradeProgressKey = "upgrade/progress";
// The dataset's next unused content id block: 8 bytes BE. Ids below it may
// have been handed out; ids from it on never were.
std::string ContentCounterKey(std::string_view dataset);

}  // namespace rowfs

#endif  // ROWFS_SRC_RECORDS_H_
