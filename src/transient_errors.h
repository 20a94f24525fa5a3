// RocksDB stops every write after a background error (a flush that could
// not open its table file, a WAL that could not be created), and with
// paranoid checks a plain IOError there is fatal: only a reopen clears it.
// Running out of descriptors (EMFILE, ENFILE) is transient: once files are
// closed the same call succeeds. This file system marks those errors
// retryable, which makes RocksDB treat them as recoverable and retry the
// failed flush by itself (every bgerror_resume_retry_interval) until it
// works; writes then resume without a remount. (A full disk, ENOSPC, has
// RocksDB's own recovery.)
#ifndef ROWFS_SRC_TRANSIENT_ERRORS_H_
#define ROWFS_SRC_TRANSIENT_ERRORS_H_

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <memory>

namespace rowfs {

// The Env every rowfs database opens with: the default one, with
// descriptor exhaustion reported as retryable. Lives for the process.
rocksdb::Env* TransientErrorEnv();

}  // namespace rowfs

#endif  // ROWFS_SRC_TRANSIENT_ERRORS_H_
