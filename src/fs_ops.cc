// Filesystem: the libfuse operation table; no exception passes it.
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "access.h"
#include "errno_map.h"
#include "fs_counters.h"
#include "fs_internal.h"
#include "rowfs/backup.h"
#include "rowfs/clock.h"

namespace rowfs {

using namespace fs;  // NOLINT: the fs_*.cc files' shared helpers

// ---------------------------------------------------------------- trampolines

namespace {

Filesystem* FS(fuse_req_t req) {
  return static_cast<Filesystem*>(fuse_req_userdata(req));
}

// Runs a handler; an exception becomes EIO instead of unwinding into C.
template <typename Fn>
void Guard(fuse_req_t req, FsOp op, Fn&& fn) {
  try {
    FS(req)->CountOp(op);
    fn();
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", FsOpName(op), e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    spdlog::error("{}: unknown internal error", FsOpName(op));
    fuse_reply_err(req, EIO);
  }
}

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = [](void* userdata, fuse_conn_info* conn) {
    try {
      static_cast<Filesystem*>(userdata)->Init(conn);
    } catch (...) {
    }
  };
  ops.lookup = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kLookup, [&] { FS(r)->Lookup(r, p, n); });
  };
  ops.forget = [](fuse_req_t r, fuse_ino_t i, uint64_t n) {
    try {
      FS(r)->CountOp(FsOp::kForget);
      FS(r)->Forget(i, n);
    } catch (...) {
    }
    fuse_reply_none(r);
  };
  ops.forget_multi = [](fuse_req_t r, size_t count, fuse_forget_data* forgets) {
    try {
      for (size_t i = 0; i < count; ++i) {
        FS(r)->Forget(forgets[i].ino, forgets[i].nlookup);
      }
    } catch (...) {
    }
    fuse_reply_none(r);
  };
  ops.getattr = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kGetattr, [&] { FS(r)->GetAttr(r, i, fi); });
  };
  ops.setattr = [](fuse_req_t r, fuse_ino_t i, struct stat* a, int to_set,
                   fuse_file_info* fi) {
    Guard(r, FsOp::kSetattr, [&] { FS(r)->SetAttr(r, i, a, to_set, fi); });
  };
  ops.mkdir = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m) {
    Guard(r, FsOp::kMkdir, [&] { FS(r)->Mkdir(r, p, n, m); });
  };
  ops.mknod = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m, dev_t d) {
    Guard(r, FsOp::kMknod, [&] { FS(r)->Mknod(r, p, n, m, d); });
  };
  ops.unlink = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kUnlink, [&] { FS(r)->Unlink(r, p, n); });
  };
  ops.rmdir = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kRmdir, [&] { FS(r)->Rmdir(r, p, n); });
  };
  ops.symlink = [](fuse_req_t r, const char*, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kOther, [&] { FS(r)->NotPermitted(r, "symlink", p, n); });
  };
  ops.link = [](fuse_req_t r, fuse_ino_t, fuse_ino_t p, const char* n) {
    Guard(r, FsOp::kOther, [&] { FS(r)->NotPermitted(r, "link", p, n); });
  };
  ops.rename = [](fuse_req_t r, fuse_ino_t p, const char* n, fuse_ino_t np,
                  const char* nn, unsigned int flags) {
    Guard(r, FsOp::kRename, [&] { FS(r)->Rename(r, p, n, np, nn, flags); });
  };
  ops.create = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m,
                  fuse_file_info* fi) {
    Guard(r, FsOp::kCreate, [&] { FS(r)->Create(r, p, n, m, fi); });
  };
  ops.open = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kOpen, [&] { FS(r)->Open(r, i, fi); });
  };
  ops.read = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
                fuse_file_info* fi) {
    Guard(r, FsOp::kRead, [&] { FS(r)->Read(r, i, s, o, fi); });
  };
  ops.write = [](fuse_req_t r, fuse_ino_t i, const char* b, size_t s, off_t o,
                 fuse_file_info* fi) {
    Guard(r, FsOp::kWrite, [&] { FS(r)->Write(r, i, b, s, o, fi); });
  };
  ops.flush = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kFlush, [&] { FS(r)->Flush(r, i, fi); });
  };
  ops.fsync = [](fuse_req_t r, fuse_ino_t i, int d, fuse_file_info* fi) {
    Guard(r, FsOp::kFsync, [&] { FS(r)->Fsync(r, i, d, fi); });
  };
  ops.release = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kRelease, [&] { FS(r)->Release(r, i, fi); });
  };
  ops.opendir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kOpendir, [&] { FS(r)->OpenDir(r, i, fi); });
  };
  ops.readdir = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
                   fuse_file_info* fi) {
    Guard(r, FsOp::kReaddir, [&] { FS(r)->ReadDir(r, i, s, o, fi, false); });
  };
  ops.readdirplus = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
                       fuse_file_info* fi) {
    Guard(r, FsOp::kReaddir, [&] { FS(r)->ReadDir(r, i, s, o, fi, true); });
  };
  ops.releasedir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
    Guard(r, FsOp::kReleasedir, [&] { FS(r)->ReleaseDir(r, i, fi); });
  };
  ops.fsyncdir = [](fuse_req_t r, fuse_ino_t i, int, fuse_file_info*) {
    Guard(r, FsOp::kFsync, [&] { FS(r)->FsyncDir(r, i); });
  };
  ops.statfs = [](fuse_req_t r, fuse_ino_t i) {
    Guard(r, FsOp::kStatfs, [&] { FS(r)->StatFs(r, i); });
  };
  ops.setxattr = [](fuse_req_t r, fuse_ino_t i, const char* n, const char* v,
                    size_t s, int f) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->SetXattr(r, i, n, v, s, f); });
  };
  ops.getxattr = [](fuse_req_t r, fuse_ino_t i, const char* n, size_t s) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->GetXattr(r, i, n, s); });
  };
  ops.listxattr = [](fuse_req_t r, fuse_ino_t i, size_t s) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->ListXattr(r, i, s); });
  };
  ops.removexattr = [](fuse_req_t r, fuse_ino_t i, const char* n) {
    Guard(r, FsOp::kXattr, [&] { FS(r)->RemoveXattr(r, i, n); });
  };
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& Filesystem::Operations() {
  static const fuse_lowlevel_ops ops = MakeOperations();
  return ops;
}

}  // namespace rowfs
