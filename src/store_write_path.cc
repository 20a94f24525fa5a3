#include "store_write_path.h"

#include <mutex>

namespace rowfs {

rocksdb::Status WriteToRocksDB(rocksdb::DB* db, const rocksdb::WriteOptions& wo,
                               rocksdb::WriteBatch* wb) {
#if defined(__SANITIZE_THREAD__)
  // Debian's librocksdb is not instrumented: ThreadSanitizer cannot see the
  // write thread's own synchronisation, through which concurrent writers
  // share the group commit's buffers. One write at a time makes the order
  // RocksDB provides visible to it (ThreadSanitizer builds only).
  static std::mutex tsan_write_mu;
  std::lock_guard lock(tsan_write_mu);
#endif
  return db->Write(wo, wb);
}

}  // namespace rowfs
