// The one function through which rowfs hands writes to RocksDB.
#ifndef ROWFS_SRC_STORE_WRITE_PATH_H_
#define ROWFS_SRC_STORE_WRITE_PATH_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

namespace rowfs {

// db->Write, made visible to ThreadSanitizer in its builds (see the .cc).
rocksdb::Status WriteToRocksDB(rocksdb::DB* db, const rocksdb::WriteOptions& wo,
                               rocksdb::WriteBatch* wb);

}  // namespace rowfs

#endif  // ROWFS_SRC_STORE_WRITE_PATH_H_
