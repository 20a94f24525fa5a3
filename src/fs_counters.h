// rowfs's own operation counters, and the text of the statistics readable
// through `getfattr -n user.rowfs.stats` and dumped to the log on SIGUSR1.
//
// Thread-safety: counters are relaxed atomics; any thread may update them.
#ifndef ROWFS_SRC_FS_COUNTERS_H_
#define ROWFS_SRC_FS_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "rowfs/store.h"

namespace rowfs {

enum class FsOp : uint8_t {
  kLookup,
  kForget,
  kGetattr,
  kSetattr,
  kMkdir,
  kMknod,
  kUnlink,
  kRmdir,
  kRename,
  kCreate,
  kOpen,
  kRead,
  kWrite,
  kFlush,
  kFsync,
  kRelease,
  kOpendir,
  kReaddir,
  kReleasedir,
  kStatfs,
  kXattr,
  kOther,
  kCount  // not an operation
};
const char* FsOpName(FsOp op);

class FsCounters {
 public:
  void Op(FsOp op) { Add(&ops_[static_cast<size_t>(op)], 1); }
  void Error() { Add(&errors_, 1); }
  void BytesRead(uint64_t n) { Add(&bytes_read_, n); }
  void BytesWritten(uint64_t n) { Add(&bytes_written_, n); }
  void VersionStored() { Add(&versions_written_, 1); }

  uint64_t ops(FsOp op) const { return ops_[static_cast<size_t>(op)].load(); }
  uint64_t errors() const { return errors_.load(); }
  uint64_t bytes_read() const { return bytes_read_.load(); }
  uint64_t bytes_written() const { return bytes_written_.load(); }
  uint64_t versions_written() const { return versions_written_.load(); }

 private:
  static void Add(std::atomic<uint64_t>* c, uint64_t n) {
    c->fetch_add(n, std::memory_order_relaxed);
  }
  std::array<std::atomic<uint64_t>, static_cast<size_t>(FsOp::kCount)> ops_{};
  std::atomic<uint64_t> errors_{0}, bytes_read_{0}, bytes_written_{0},
      versions_written_{0};
};

// "key=value" lines: the store's figures for `dataset` (all datasets when
// empty), then, when `counters` is given, the daemon's counters.
std::string FormatStats(const Store& store, std::string_view dataset,
                        const FsCounters* counters);

}  // namespace rowfs

#endif  // ROWFS_SRC_FS_COUNTERS_H_
