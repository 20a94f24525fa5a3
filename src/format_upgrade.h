// Upgrading a format-1 database (each cell's value is the version's raw
// bytes) to format 2 (each cell's value is a version record, large contents
// in chunks). Run by Store::Open on the first read-write open of a format-1
// database.
#ifndef ROWFS_SRC_FORMAT_UPGRADE_H_
#define ROWFS_SRC_FORMAT_UPGRADE_H_

#include "rowfs/status.h"
#include "store_impl.h"

namespace rowfs {

// First makes a checkpoint of the database as it is (DB_DIR.format1-<ms>,
// hard links; the way back), then rewrites every cell of every dataset, in
// atomic batches that also record how far it got, so an upgrade killed
// half-way resumes where it stopped (and never converts a cell twice).
// Last, records format 2. REQUIRES: opened read-write, no other user yet.
Status UpgradeFormat1(Store::Impl* impl);

}  // namespace rowfs

#endif  // ROWFS_SRC_FORMAT_UPGRADE_H_
