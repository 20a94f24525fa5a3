// Keeps the readable part of damaged table files through a repair.
//
// RocksDB's repairer drops a table file it cannot read whole: one bad
// 16 KiB block would cost a 64 MiB table, although a mount still reads
// everything else in it. So before the repairer runs, with the database
// open, the readable entries of each damaged table (read forwards up to
// the damage, and backwards from its end) are written again as new writes,
// with the value the database shows for each key, and every key that an
// older table of the family still holds but the database shows as deleted
// (a deletion that may live in the damaged table) is deleted again. Once
// the repairer has dropped the damaged table, the database then shows what
// it showed before, except for the keys in the unreadable part.
#ifndef ROWFS_SRC_TABLE_SALVAGE_H_
#define ROWFS_SRC_TABLE_SALVAGE_H_

#include <rocksdb/db.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "rowfs/status.h"

namespace rowfs {

// `damaged`: the file names ("000012.sst") of the damaged live tables of
// `db`, whose families are all in `families`. Appends a line per table to
// `report` (what was kept, what could not be read).
Status SalvageDamagedTables(
    rocksdb::DB* db,
    const std::map<std::string, rocksdb::ColumnFamilyHandle*>& families,
    const std::set<std::string>& damaged, std::vector<std::string>* report);

}  // namespace rowfs

#endif  // ROWFS_SRC_TABLE_SALVAGE_H_
