// POSIX parity, in the style of mergerfs' POSIX parity checks: every scenario
// is one function that runs a fixed sequence of system calls inside a base
// directory. It runs twice, once inside a rowfs directory (a row of a real
// mount, or a dataset for the directory scenarios) and once inside a
// directory on tmpfs, and the two records of what happened (return values,
// errno, file contents, stat fields) must be identical.
//
// Where rowfs differs from a local filesystem BY DESIGN, the scenario says so
// in code with Ctx::Documented(): the rowfs run must show the documented
// rowfs result, the tmpfs run the POSIX one, and the record holds only the
// note, so nothing is skipped silently. Every other difference fails the
// test, and is a bug.
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "mount_fixture.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

std::string ErrnoName(int e) {
  const char* n = strerrorname_np(e);
  return n != nullptr ? n : "errno " + std::to_string(e);
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

// File content as it appears in the record: short values escaped, long
// ones as their size, a hash and their first bytes.
std::string Show(std::string_view s) {
  auto escape = [](std::string_view v) {
    std::string out;
    for (unsigned char ch : v) {
      if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
        out.push_back(static_cast<char>(ch));
      } else {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", ch);
        out += buf;
      }
    }
    return out;
  };
  if (s.size() <= 64) return "\"" + escape(s) + "\"";
  std::ostringstream os;
  os << s.size() << " bytes, fnv " << std::hex << Fnv1a(s) << ", head \""
     << escape(s.substr(0, 16)) << "\"";
  return os.str();
}

// Deterministic non-zero bytes (zeros are what holes read as).
std::string Pattern(size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + seed * 13 + i / 26) % 26);
  }
  return s;
}

uint64_t Ms(const timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000 +
         static_cast<uint64_t>(t.tv_nsec) / 1000000;
}

uint64_t NowMs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return Ms(t);
}

// Times used by the utimens scenarios: whole milliseconds (rowfs keeps ms).
constexpr timespec kMtime = {1500000000, 123000000};
constexpr timespec kMtime2 = {1500000001, 456000000};
constexpr timespec kAtime = {1400000000, 456000000};
constexpr timespec kOmit = {0, UTIME_OMIT};
constexpr timespec kNow = {0, UTIME_NOW};
std::array<timespec, 2> Times(timespec atime, timespec mtime) {
  return {atime, mtime};
}
// Slack for "now": inode times come from a coarse clock on tmpfs.
constexpr uint64_t kNowSlackMs = 50;

// The outcome of one system call.
struct Res {
  long ret;
  int err;
};

// What a scenario sees: its base directory, which filesystem it runs on, and
// the record it appends to.
class Ctx {
 public:
  Ctx(std::string base, bool on_rowfs)
      : rowfs(on_rowfs), base_(std::move(base)) {}

  const bool rowfs;
  const char* fs_name() const { return rowfs ? "rowfs" : "tmpfs"; }
  const std::string& base() const { return base_; }

  // Absolute path of `rel` ("" = the base itself); valid for the Ctx's life.
  const char* P(const std::string& rel) {
    paths_.push_back(rel.empty() ? base_ : base_ + "/" + rel);
    return paths_.back().c_str();
  }

  // Records "label -> result". `fd_like`: any non-negative result is "fd".
  long Call(const std::string& label, Res r, bool fd_like) {
    std::string v;
    if (r.ret < 0) {
      v = std::to_string(r.ret) + " " + ErrnoName(r.err);
    } else {
      v = fd_like ? "fd" : std::to_string(r.ret);
    }
    log_.push_back(label + " -> " + v);
    return r.ret;
  }

  int CallFd(const std::string& label, Res r) {
    return static_cast<int>(Call(label, r, true));
  }

  void Value(const std::string& label, const std::string& v) {
    log_.push_back(label + " = " + v);
  }
  void Value(const std::string& label, long v) {
    Value(label, std::to_string(v));
  }
  void Value(const std::string& label, int v) {
    Value(label, std::to_string(v));
  }
  void Value(const std::string& label, bool v) {
    Value(label, std::string(v ? "true" : "false"));
  }

  // A documented difference: on rowfs `actual` must be `rowfs_expected`, on
  // tmpfs `posix_expected`; the record holds only the note.
  void Documented(const std::string& label, const std::string& actual,
                  const std::string& rowfs_expected,
                  const std::string& posix_expected, const std::string& why) {
    const std::string& want = rowfs ? rowfs_expected : posix_expected;
    EXPECT_EQ(actual, want) << "on " << fs_name() << ": " << label
                            << " (documented difference: " << why << ")";
    log_.push_back(label + " = [documented difference: " + why + "]");
  }
  void Documented(const std::string& label, long actual, long rowfs_expected,
                  long posix_expected, const std::string& why) {
    Documented(label, std::to_string(actual), std::to_string(rowfs_expected),
               std::to_string(posix_expected), why);
  }
  // The same for a call's outcome, e.g. "0" or "-1 EPERM".
  void DocumentedCall(const std::string& label, Res r,
                      const std::string& rowfs_expected,
                      const std::string& posix_expected,
                      const std::string& why) {
    const std::string v = r.ret < 0
                              ? std::to_string(r.ret) + " " + ErrnoName(r.err)
                              : std::to_string(r.ret);
    Documented(label, v, rowfs_expected, posix_expected, why);
  }

  // The whole file, or "<ENOENT>" etc.
  std::string Read(const std::string& rel) {
    std::string out;
    const int err = ReadWhole(P(rel), &out);
    return err == 0 ? out : "<" + ErrnoName(err) + ">";
  }
  // Records the file's content and its st_size.
  void Check(const std::string& rel) {
    const std::string content = Read(rel);
    Value("content(" + rel + ")",
          content.starts_with("<") ? content : Show(content));
    struct stat st;
    if (stat(P(rel), &st) != 0) {
      Value("size(" + rel + ")", "<" + ErrnoName(errno) + ">");
    } else {
      Value("size(" + rel + ")", static_cast<long>(st.st_size));
    }
  }
  // open(O_WRONLY|O_CREAT|O_TRUNC) + write + close, recorded as one result.
  void Write(const std::string& rel, const std::string& content) {
    Value("write_file(" + rel + ")", WriteQuiet(rel, content));
  }
  std::string WriteQuiet(const std::string& rel, const std::string& content) {
    const int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) return ErrnoName(errno);
    if (write(fd, content.data(), content.size()) !=
        static_cast<ssize_t>(content.size())) {
      const int err = errno;
      close(fd);
      return ErrnoName(err);
    }
    return close(fd) == 0 ? "ok" : ErrnoName(errno);
  }
  // Records the stat fields that both filesystems must agree on.
  void StatFields(const std::string& label, const struct stat& st) {
    const char* type = S_ISREG(st.st_mode)   ? "regular"
                       : S_ISDIR(st.st_mode) ? "directory"
                                             : "other";
    std::ostringstream os;
    os << type << " mode=" << std::oct << (st.st_mode & 07777) << std::dec
       << " uid=" << st.st_uid << " gid=" << st.st_gid;
    if (S_ISREG(st.st_mode)) {
      os << " size=" << st.st_size << " nlink=" << st.st_nlink;
    }
    Value(label, os.str());
  }
  void Stat(const std::string& rel) {
    struct stat st;
    if (stat(P(rel), &st) != 0) {
      Value("stat(" + rel + ")", "<" + ErrnoName(errno) + ">");
      return;
    }
    StatFields("stat(" + rel + ")", st);
  }
  // Raw directory entries without "." and "..", in readdir order.
  std::vector<std::string> RawList(const std::string& rel) {
    std::vector<std::string> names;
    DIR* d = opendir(P(rel));
    if (d == nullptr) return {"<" + ErrnoName(errno) + ">"};
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    return names;
  }
  // Records the sorted listing of `rel` (a row directory). rowfs also lists
  // each column's older versions as "col@ts" (SPEC, Namespace): on rowfs the
  // number of version entries of each column must be exactly
  // `rowfs_versions[col]` (absent: 0), and they are then left out of the
  // record; on tmpfs no such names may appear at all.
  void Listing(const std::string& rel,
               const std::map<std::string, int>& rowfs_versions = {}) {
    std::vector<std::string> plain;
    std::map<std::string, int> versions;
    for (const std::string& n : RawList(rel)) {
      EntryName e;
      if (ParseEntryName(n, &e).ok() && e.ts) {
        ++versions[std::string(e.column)];
      } else {
        plain.push_back(n);
      }
    }
    std::map<std::string, int> want =
        rowfs ? rowfs_versions : std::map<std::string, int>{};
    std::erase_if(want, [](const auto& kv) { return kv.second == 0; });
    EXPECT_EQ(versions, want)
        << "on " << fs_name() << ": version entries listed in " << rel
        << " (documented: each store of a column adds one col@ts entry)";
    std::sort(plain.begin(), plain.end());
    std::string joined;
    for (const auto& n : plain) joined += (joined.empty() ? "" : " ") + n;
    if (plain.size() > 16) {
      std::ostringstream os;
      os << plain.size() << " names, fnv " << std::hex << Fnv1a(joined);
      joined = os.str();
    }
    Value("listing(" + rel + ") without version entries", "[" + joined + "]");
  }

  const std::vector<std::string>& log() const { return log_; }

 private:
  std::string base_;
  std::deque<std::string> paths_;
  std::vector<std::string> log_;
};

// Records a system call returning a number (0, a byte count, an offset).
#define SYS(c, expr)                             \
  (c).Call(                                      \
      #expr,                                     \
      [&]() {                                    \
        errno = 0;                               \
        const long r_ = static_cast<long>(expr); \
        return Res{r_, r_ < 0 ? errno : 0};      \
      }(),                                       \
      false)
// Records a system call returning a descriptor; returns the descriptor.
#define FD(c, expr)                          \
  (c).CallFd(#expr, [&]() {                  \
    errno = 0;                               \
    const long r_ = static_cast<long>(expr); \
    return Res{r_, r_ < 0 ? errno : 0};      \
  }())
// The outcome of a call without recording it (for Documented*).
#define RES(expr)                            \
  [&]() {                                    \
    errno = 0;                               \
    const long r_ = static_cast<long>(expr); \
    return Res{r_, r_ < 0 ? errno : 0};      \
  }()

// pread of `n` bytes at `off`, recorded with the bytes read.
void PreadRec(Ctx& c, const std::string& label, int fd, size_t n, off_t off) {
  std::string buf(n, '\0');
  const ssize_t got = pread(fd, buf.data(), n, off);
  if (got < 0) {
    c.Value(label, "-1 " + ErrnoName(errno));
    return;
  }
  buf.resize(static_cast<size_t>(got));
  c.Value(label, std::to_string(got) + " " + Show(buf));
}
void ReadRec(Ctx& c, const std::string& label, int fd, size_t n) {
  std::string buf(n, '\0');
  const ssize_t got = read(fd, buf.data(), n);
  if (got < 0) {
    c.Value(label, "-1 " + ErrnoName(errno));
    return;
  }
  buf.resize(static_cast<size_t>(got));
  c.Value(label, std::to_string(got) + " " + Show(buf));
}

void FstatRec(Ctx& c, const std::string& label, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    c.Value(label, "<" + ErrnoName(errno) + ">");
    return;
  }
  c.StatFields(label, st);
}

// mtime of `rel` in ms, or 0.
uint64_t MtimeOf(Ctx& c, const std::string& rel) {
  struct stat st;
  if (stat(c.P(rel), &st) != 0) return 0;
  return Ms(st.st_mtim);
}

// ------------------------------------------------------------------ open

void CreatNew(Ctx& c) {
  const int fd = FD(c, open(c.P("f"), O_CREAT | O_WRONLY, 0666));
  FstatRec(c, "fstat after create", fd);
  SYS(c, close(fd));
  c.Stat("f");
  c.Check("f");
  // creat(2) is open(O_CREAT|O_WRONLY|O_TRUNC).
  const int fd2 = FD(c, creat(c.P("g"), 0640));
  SYS(c, write(fd2, "data", 4));
  SYS(c, close(fd2));
  c.Stat("g");
  c.Check("g");
  c.Listing("");
}

void CreatExcl(Ctx& c) {
  const int fd = FD(c, open(c.P("f"), O_CREAT | O_EXCL | O_RDWR, 0644));
  SYS(c, write(fd, "first", 5));
  SYS(c, close(fd));
  FD(c, open(c.P("f"), O_CREAT | O_EXCL | O_RDWR, 0644));  // EEXIST
  FD(c, open(c.P("f"), O_CREAT | O_EXCL | O_RDONLY, 0644));
  // O_CREAT alone opens the existing file without truncating it.
  const int fd2 = FD(c, open(c.P("f"), O_CREAT | O_WRONLY, 0644));
  SYS(c, close(fd2));
  c.Check("f");
  // creat(2) on an existing file truncates it.
  const int fd3 = FD(c, creat(c.P("f"), 0644));
  SYS(c, close(fd3));
  c.Check("f");
  // O_EXCL on a name just unlinked creates it again.
  SYS(c, unlink(c.P("f")));
  const int fd4 = FD(c, open(c.P("f"), O_CREAT | O_EXCL | O_WRONLY, 0644));
  SYS(c, close(fd4));
  c.Check("f");
  // A file still being created (open, nothing written, not closed) exists.
  const int fd5 = FD(c, open(c.P("new"), O_CREAT | O_EXCL | O_WRONLY, 0644));
  FD(c, open(c.P("new"), O_CREAT | O_EXCL | O_WRONLY, 0644));  // EEXIST
  c.Stat("new");
  SYS(c, close(fd5));
  c.Check("new");
  // The base directory exists: O_CREAT|O_EXCL on it is EEXIST.
  FD(c, open(c.P(""), O_CREAT | O_EXCL | O_RDONLY, 0644));
}

void OpenErrors(Ctx& c) {
  FD(c, open(c.P("missing"), O_RDONLY));
  FD(c, open(c.P("missing"), O_WRONLY));
  FD(c, open(c.P("missing"), O_RDWR | O_TRUNC));
  c.Write("f", "hello");
  FD(c, open(c.P("f"), O_RDONLY | O_DIRECTORY));  // ENOTDIR
  FD(c, open(c.P("f/x"), O_RDONLY));              // ENOTDIR
  FD(c, open(c.P("f/x"), O_CREAT | O_WRONLY, 0644));
  FD(c, open(c.P(""), O_WRONLY));  // EISDIR
  FD(c, open(c.P(""), O_RDWR));
  const int d = FD(c, open(c.P(""), O_RDONLY | O_DIRECTORY));
  SYS(c, close(d));
  FD(c, open(c.P(std::string(256, 'n')), O_CREAT | O_WRONLY,
             0644));  // ENAMETOOLONG
  c.Check("f");
  c.Listing("");
}

void OpenTrunc(Ctx& c) {
  c.Write("f", "hello world");
  const int fd = FD(c, open(c.P("f"), O_WRONLY | O_TRUNC));
  FstatRec(c, "fstat after O_TRUNC", fd);
  SYS(c, close(fd));
  c.Check("f");
  c.Write("g", "old content");
  const int fd2 = FD(c, open(c.P("g"), O_RDWR | O_TRUNC));
  SYS(c, write(fd2, "new", 3));
  SYS(c, lseek(fd2, 0, SEEK_SET));
  ReadRec(c, "read back", fd2, 100);
  SYS(c, close(fd2));
  c.Check("g");
  // Each store is one version: "hello world", then the truncation.
  c.Listing("", {{"f", 1}, {"g", 1}});
}

void OpenTruncReadOnly(Ctx& c) {
  // Linux truncates on O_RDONLY|O_TRUNC too (the result is unspecified by
  // POSIX, but Linux filesystems all truncate).
  c.Write("f", "hello world");
  const int fd = FD(c, open(c.P("f"), O_RDONLY | O_TRUNC));
  FstatRec(c, "fstat after O_RDONLY|O_TRUNC", fd);
  ReadRec(c, "read", fd, 100);
  SYS(c, close(fd));
  c.Check("f");
}

void ReadOnlyAndWriteOnlyDescriptors(Ctx& c) {
  c.Write("f", "content");
  const int ro = FD(c, open(c.P("f"), O_RDONLY));
  SYS(c, write(ro, "x", 1));      // EBADF
  SYS(c, pwrite(ro, "x", 1, 0));  // EBADF
  SYS(c, ftruncate(ro, 0));       // EINVAL: not open for writing
  ReadRec(c, "read O_RDONLY", ro, 100);
  SYS(c, close(ro));
  const int wo = FD(c, open(c.P("f"), O_WRONLY));
  ReadRec(c, "read O_WRONLY", wo, 100);  // EBADF
  SYS(c, pwrite(wo, "C", 1, 0));
  SYS(c, close(wo));
  c.Check("f");
  SYS(c, close(wo));  // EBADF: closed twice
}

void AppendMode(Ctx& c) {
  c.Write("f", "abc");
  const int fd = FD(c, open(c.P("f"), O_WRONLY | O_APPEND));
  SYS(c, lseek(fd, 0, SEEK_SET));
  SYS(c, write(fd, "XYZ", 3));
  SYS(c, lseek(fd, 0, SEEK_CUR));  // the offset is the new end: 6
  // Linux: pwrite on an O_APPEND descriptor appends, whatever the offset.
  SYS(c, pwrite(fd, "!!", 2, 0));
  FstatRec(c, "fstat", fd);
  SYS(c, close(fd));
  c.Check("f");
  // O_RDWR|O_APPEND: reads follow the offset, writes go to the end.
  const int rw = FD(c, open(c.P("f"), O_RDWR | O_APPEND));
  ReadRec(c, "read from 0", rw, 4);
  SYS(c, write(rw, "end", 3));
  SYS(c, lseek(rw, 0, SEEK_CUR));
  PreadRec(c, "pread all", rw, 100, 0);
  SYS(c, close(rw));
  c.Check("f");
  // O_APPEND on a new file.
  const int nf = FD(c, open(c.P("g"), O_WRONLY | O_CREAT | O_APPEND, 0644));
  SYS(c, write(nf, "1", 1));
  SYS(c, write(nf, "2", 1));
  SYS(c, close(nf));
  c.Check("g");
}

void AppendTwoDescriptors(Ctx& c) {
  c.Write("f", "");
  const int a = FD(c, open(c.P("f"), O_WRONLY | O_APPEND));
  const int b = FD(c, open(c.P("f"), O_WRONLY | O_APPEND));
  for (int i = 0; i < 5; ++i) {
    SYS(c, write(a, "aa", 2));
    SYS(c, write(b, "b", 1));
  }
  // A plain descriptor writing at offset 0 in between.
  const int p = FD(c, open(c.P("f"), O_WRONLY));
  SYS(c, write(p, "P", 1));
  SYS(c, write(a, "A", 1));
  SYS(c, close(p));
  SYS(c, close(a));
  SYS(c, write(b, "B", 1));
  SYS(c, close(b));
  c.Check("f");
}

// ------------------------------------------------------------------ read/write

void ReadWriteOffsets(Ctx& c) {
  c.Write("f", Pattern(100));
  const int fd = FD(c, open(c.P("f"), O_RDWR));
  PreadRec(c, "pread 10@0", fd, 10, 0);
  PreadRec(c, "pread 10@50", fd, 10, 50);
  PreadRec(c, "pread 10@95 (short)", fd, 10, 95);
  PreadRec(c, "pread 10@100 (EOF)", fd, 10, 100);
  PreadRec(c, "pread 10@1000 (past EOF)", fd, 10, 1000);
  PreadRec(c, "pread 10@-1", fd, 10, -1);  // EINVAL
  ReadRec(c, "read 30", fd, 30);
  ReadRec(c, "read 30", fd, 30);
  SYS(c, lseek(fd, 0, SEEK_CUR));
  SYS(c, lseek(fd, -10, SEEK_END));
  ReadRec(c, "read from END-10", fd, 30);
  ReadRec(c, "read at EOF", fd, 30);
  SYS(c, lseek(fd, -5, SEEK_CUR));
  ReadRec(c, "read after SEEK_CUR -5", fd, 30);
  SYS(c, lseek(fd, -1000, SEEK_SET));  // EINVAL
  SYS(c, lseek(fd, 0, 42));            // EINVAL: bad whence
  // A file without holes: data everywhere, the only hole is at the end.
  SYS(c, lseek(fd, 0, SEEK_DATA));
  SYS(c, lseek(fd, 0, SEEK_HOLE));
  SYS(c, lseek(fd, 200, SEEK_DATA));  // ENXIO
  SYS(c, lseek(fd, 200, SEEK_HOLE));  // ENXIO
  // Overwrite in the middle, then at the current offset.
  SYS(c, pwrite(fd, "MIDDLE", 6, 40));
  SYS(c, lseek(fd, 10, SEEK_SET));
  SYS(c, write(fd, "ten", 3));
  SYS(c, lseek(fd, 0, SEEK_CUR));
  ReadRec(c, "read continues after the write", fd, 5);
  SYS(c, write(fd, "", 0));
  SYS(c, pwrite(fd, "x", 1, -1));  // EINVAL
  SYS(c, close(fd));
  c.Check("f");
}

void WritePastEofMakesHoles(Ctx& c) {
  const int fd = FD(c, open(c.P("f"), O_RDWR | O_CREAT | O_TRUNC, 0644));
  SYS(c, pwrite(fd, "X", 1, 10000));
  FstatRec(c, "fstat after pwrite at 10000", fd);
  PreadRec(c, "pread 16@9992", fd, 16, 9992);
  PreadRec(c, "pread 4@0 (hole)", fd, 4, 0);
  SYS(c, pwrite(fd, "Y", 1, 5000));
  PreadRec(c, "pread 3@4999", fd, 3, 4999);
  // The descriptor's offset is unaffected by pwrite.
  SYS(c, lseek(fd, 0, SEEK_CUR));
  // lseek past EOF, then write: a hole across several pages.
  SYS(c, lseek(fd, 70000, SEEK_SET));
  SYS(c, write(fd, "end", 3));
  FstatRec(c, "fstat after write at 70000", fd);
  PreadRec(c, "pread 8@69998", fd, 8, 69998);
  SYS(c, close(fd));
  c.Check("f");
  // Reopened: the holes read as zeros.
  const int fd2 = FD(c, open(c.P("f"), O_RDONLY));
  PreadRec(c, "pread 4@20000", fd2, 4, 20000);
  PreadRec(c, "pread 4@70001", fd2, 4, 70001);
  SYS(c, close(fd2));
  // lseek past EOF without writing changes nothing.
  c.Write("g", "abc");
  const int fd3 = FD(c, open(c.P("g"), O_WRONLY));
  SYS(c, lseek(fd3, 5000, SEEK_SET));
  SYS(c, close(fd3));
  c.Check("g");
}

void LargeWrite(Ctx& c) {
  const std::string big = Pattern((1 << 20) + 123, 3);
  const int fd = FD(c, open(c.P("f"), O_RDWR | O_CREAT | O_TRUNC, 0644));
  SYS(c, write(fd, big.data(), big.size()));
  PreadRec(c, "pread 10@131070", fd, 10, 131070);
  PreadRec(c, "pread 300000@700000", fd, 300000, 700000);
  SYS(c, pwrite(fd, big.data(), 200000, 500001));
  SYS(c, close(fd));
  c.Check("f");
}

void SharedDescriptors(Ctx& c) {
  c.Write("f", "0123456789");
  const int a = FD(c, open(c.P("f"), O_RDWR));
  const int b = FD(c, open(c.P("f"), O_RDWR));
  const int r = FD(c, open(c.P("f"), O_RDONLY));
  SYS(c, pwrite(a, "AB", 2, 2));
  PreadRec(c, "b sees a's write", b, 20, 0);
  PreadRec(c, "r sees a's write", r, 20, 0);
  SYS(c, ftruncate(b, 4));
  FstatRec(c, "fstat a after b's ftruncate", a);
  PreadRec(c, "r after ftruncate", r, 20, 0);
  SYS(c, pwrite(b, "Z", 1, 8));
  PreadRec(c, "a after b's write past EOF", a, 20, 0);
  SYS(c, close(a));
  PreadRec(c, "r after a closed", r, 20, 0);
  SYS(c, pwrite(b, "!", 1, 0));
  PreadRec(c, "r sees b's write", r, 20, 0);
  SYS(c, close(b));
  PreadRec(c, "r after all writers closed", r, 20, 0);
  SYS(c, close(r));
  c.Check("f");
  // Two closes with changes: "0123456789" was the first version, then a's
  // close stored one, then b's close one.
  c.Listing("", {{"f", 2}});
}

void DupLikeAShell(Ctx& c) {
  // `echo x > f`: open, dup2, close the first descriptor, write, close.
  c.Write("f", "old\n");
  const int fd = FD(c, open(c.P("f"), O_WRONLY | O_CREAT | O_TRUNC, 0666));
  const int fd2 = FD(c, dup(fd));
  SYS(c, close(fd));
  SYS(c, write(fd2, "x\n", 2));
  SYS(c, close(fd2));
  c.Check("f");
  // `: > g` creates an empty file; `: > f` empties one.
  const int g = FD(c, open(c.P("g"), O_WRONLY | O_CREAT | O_TRUNC, 0666));
  SYS(c, close(g));
  c.Check("g");
  // README: truncation at open is stored at the last close, so the shell
  // pattern stores exactly one version ("x\n"), no empty one in between.
  c.Listing("", {{"f", 1}});
}

void ZeroLengthAndEmptyFiles(Ctx& c) {
  const int fd = FD(c, open(c.P("e"), O_RDWR | O_CREAT, 0644));
  ReadRec(c, "read empty", fd, 10);
  SYS(c, write(fd, "", 0));
  SYS(c, close(fd));
  c.Check("e");
  c.Write("f", "");
  c.Check("f");
  c.Listing("");
}

// ------------------------------------------------------------------ truncate

void FtruncateGrowShrink(Ctx& c) {
  const int fd = FD(c, open(c.P("f"), O_RDWR | O_CREAT | O_TRUNC, 0644));
  SYS(c, write(fd, "abcdef", 6));
  SYS(c, ftruncate(fd, 3));
  PreadRec(c, "after shrink", fd, 20, 0);
  SYS(c, ftruncate(fd, 10));
  PreadRec(c, "after grow", fd, 20, 0);
  FstatRec(c, "fstat after grow", fd);
  SYS(c, pwrite(fd, "Z", 1, 12));
  PreadRec(c, "write past grown end", fd, 20, 0);
  SYS(c, ftruncate(fd, 0));
  // The offset is still 6: the next write leaves a hole.
  SYS(c, write(fd, "q", 1));
  PreadRec(c, "write at the old offset", fd, 20, 0);
  SYS(c, ftruncate(fd, -1));  // EINVAL
  SYS(c, ftruncate(fd, 100000));
  SYS(c, ftruncate(fd, 4097));
  SYS(c, close(fd));
  c.Check("f");
}

void FtruncateSameSize(Ctx& c) {
  // Linux (tmpfs) marks the mtime on a truncate to the same size, as on any
  // truncate; rowfs treats it as a change too and stores a version at close.
  c.Write("f", "abc");
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kAtime, kMtime).data(), 0));
  const int fd = FD(c, open(c.P("f"), O_RDWR));
  SYS(c, ftruncate(fd, 3));
  SYS(c, close(fd));
  c.Value("mtime unchanged by a same-size ftruncate",
          MtimeOf(c, "f") == Ms(kMtime));
  c.Check("f");
  // README: truncate(2) without an open file stores a version "unless the
  // size is unchanged", so the time stays where it was.
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kAtime, kMtime2).data(), 0));
  SYS(c, truncate(c.P("f"), 3));
  c.Documented("mtime unchanged by a same-size truncate(2)",
               std::to_string(MtimeOf(c, "f") == Ms(kMtime2)), "1", "0",
               "truncate(2) to the same size stores nothing (README)");
  c.Check("f");
  // The ftruncate + close stored a second version (now re-stamped to
  // kMtime2); the first, re-stamped to kMtime, is the older entry.
  c.Listing("", {{"f", 1}});
}

void TruncatePath(Ctx& c) {
  c.Write("f", "hello world");
  SYS(c, truncate(c.P("f"), 5));
  c.Check("f");
  SYS(c, truncate(c.P("f"), 8));
  c.Check("f");
  SYS(c, truncate(c.P("f"), 0));
  c.Check("f");
  SYS(c, truncate(c.P("missing"), 0));  // ENOENT
  SYS(c, truncate(c.P("f"), -1));       // EINVAL
  SYS(c, truncate(c.P(""), 0));         // EISDIR
  SYS(c, truncate(c.P("f/x"), 0));      // ENOTDIR
  // truncate(2) while a descriptor is open: the descriptor sees it.
  c.Write("g", "0123456789");
  const int fd = FD(c, open(c.P("g"), O_RDWR));
  SYS(c, truncate(c.P("g"), 4));
  PreadRec(c, "fd sees truncate(2)", fd, 20, 0);
  SYS(c, pwrite(fd, "X", 1, 6));
  SYS(c, close(fd));
  c.Check("g");
  // SPEC: truncate(2) without an open file stores one version per change.
  c.Listing("", {{"f", 3}, {"g", 1}});
}

// ------------------------------------------------------------------ unlink

void Unlink(Ctx& c) {
  c.Write("f", "x");
  SYS(c, unlink(c.P("f")));
  c.Stat("f");
  FD(c, open(c.P("f"), O_RDONLY));
  SYS(c, unlink(c.P("f")));        // ENOENT
  SYS(c, unlink(c.P("missing")));  // ENOENT
  c.Write("g", "y");
  SYS(c, unlink(c.P("g/")));   // ENOTDIR
  SYS(c, unlink(c.P("g/x")));  // ENOTDIR
  SYS(c, unlink(c.P("")));     // EISDIR
  // A column rewritten several times goes with all its versions.
  c.Write("h", "1");
  c.Write("h", "2");
  c.Write("h", "3");
  SYS(c, unlink(c.P("h")));
  c.Listing("");
  // The name can be created again, empty.
  const int fd = FD(c, open(c.P("f"), O_CREAT | O_EXCL | O_RDWR, 0644));
  SYS(c, close(fd));
  c.Check("f");
}

void UnlinkOpenFile(Ctx& c) {
  c.Write("f", "data");
  const int fd = FD(c, open(c.P("f"), O_RDWR));
  SYS(c, unlink(c.P("f")));
  struct stat st = {};
  SYS(c, fstat(fd, &st));
  c.Value("fstat nlink of an unlinked open file",
          static_cast<long>(st.st_nlink));
  c.Value("fstat size of an unlinked open file", static_cast<long>(st.st_size));
  PreadRec(c, "read an unlinked open file", fd, 10, 0);
  SYS(c, pwrite(fd, "more", 4, 4));
  PreadRec(c, "read after writing to it", fd, 10, 0);
  SYS(c, close(fd));
  c.Stat("f");
  c.Listing("");
  // A new file of the same name is a new, empty file.
  const int fd2 = FD(c, open(c.P("f"), O_CREAT | O_EXCL | O_RDWR, 0644));
  SYS(c, close(fd2));
  c.Check("f");
}

void NoDirectoriesInsideARow(Ctx& c) {
  // SPEC: "a directory inside a row is refused (EPERM)".
  c.DocumentedCall("mkdir(sub)", RES(mkdir(c.P("sub"), 0755)), "-1 EPERM", "0",
                   "rows hold no directories (SPEC: EPERM)");
  c.DocumentedCall("rmdir(sub)", RES(rmdir(c.P("sub"))), "-1 ENOENT", "0",
                   "so there is none to remove");
  SYS(c, rmdir(c.P("missing")));  // ENOENT
  c.Write("f", "x");
  SYS(c, rmdir(c.P("f")));        // ENOTDIR
  SYS(c, mkdir(c.P("f"), 0755));  // EEXIST
  c.Listing("");
}

void OtherFileTypesRefused(Ctx& c) {
  // SPEC: nothing but datasets, rows and columns exists; links, symlinks
  // and special files are refused with EPERM.
  c.Write("f", "x");
  c.DocumentedCall("link(f, hard)", RES(link(c.P("f"), c.P("hard"))),
                   "-1 EPERM", "0", "no hard links (SPEC: EPERM)");
  c.DocumentedCall("symlink(f, sym)", RES(symlink("f", c.P("sym"))), "-1 EPERM",
                   "0", "no symlinks (SPEC: EPERM)");
  c.DocumentedCall("mkfifo(fifo)", RES(mkfifo(c.P("fifo"), 0644)), "-1 EPERM",
                   "0", "no special files (SPEC: EPERM)");
  c.DocumentedCall("mknod(chr)",
                   RES(mknod(c.P("chr"), S_IFCHR | 0644, makedev(1, 3))),
                   "-1 EPERM", "0", "no special files (SPEC: EPERM)");
  // mknod(S_IFREG) makes an empty regular file on both.
  SYS(c, mknod(c.P("reg"), S_IFREG | 0644, 0));
  c.Stat("reg");
  c.Check("reg");
  c.Check("f");
  // On tmpfs these names exist; remove them so the listings compare.
  if (!c.rowfs) {
    unlink(c.P("hard"));
    unlink(c.P("sym"));
    unlink(c.P("fifo"));
    unlink(c.P("chr"));
  }
  c.Listing("");
}

// ------------------------------------------------------------------ rename

void RenameToNewName(Ctx& c) {
  c.Write("a", "A content");
  SYS(c, rename(c.P("a"), c.P("b")));
  c.Check("a");
  c.Check("b");
  SYS(c, rename(c.P("a"), c.P("c")));  // ENOENT
  SYS(c, rename(c.P("b"), c.P("b")));  // same name: nothing happens
  c.Check("b");
  SYS(c, rename(c.P("b"), c.P("b/x")));  // ENOTDIR
  SYS(c, rename(c.P("b/x"), c.P("c")));  // ENOTDIR
  SYS(c, rename(c.P("b"), c.P("")));     // EISDIR... or ENOTEMPTY/EBUSY
  // History belongs to the name (SPEC, Structure changes): the latest
  // content moves; h's history stays under h, hidden like a deleted
  // column's, and comes back when h is written again.
  c.Write("h", "1");
  c.Write("h", "2");
  SYS(c, rename(c.P("h"), c.P("moved")));
  c.Check("moved");
  c.Listing("");
  c.Write("h", "3");
  c.Listing("", {{"h", 2}});
}

void RenameOverExisting(Ctx& c) {
  c.Write("a", "AAA");
  c.Write("b", "B");
  struct stat before;
  stat(c.P("a"), &before);
  SYS(c, rename(c.P("a"), c.P("b")));
  c.Check("a");
  c.Check("b");
  c.Stat("b");
  struct stat after;
  stat(c.P("b"), &after);
  c.Value("st_ino kept by rename",
          std::to_string(before.st_ino == after.st_ino));
  // SPEC: the target's history is kept; a's content is b's newest version.
  c.Listing("", {{"b", 1}});
}

void RenameNoReplace(Ctx& c) {
  c.Write("a", "A");
  c.Write("b", "B");
  SYS(c, renameat2(AT_FDCWD, c.P("a"), AT_FDCWD, c.P("b"), RENAME_NOREPLACE));
  c.Check("a");
  c.Check("b");
  SYS(c, renameat2(AT_FDCWD, c.P("a"), AT_FDCWD, c.P("n"), RENAME_NOREPLACE));
  c.Check("a");
  c.Check("n");
  SYS(c, renameat2(AT_FDCWD, c.P("x"), AT_FDCWD, c.P("y"), RENAME_NOREPLACE));
  SYS(c, renameat2(AT_FDCWD, c.P("n"), AT_FDCWD, c.P("b"),
                   RENAME_NOREPLACE | RENAME_EXCHANGE));  // EINVAL
  c.Listing("");
}

void RenameExchange(Ctx& c) {
  c.Write("a", "AAAA");
  c.Write("b", "B");
  SYS(c, renameat2(AT_FDCWD, c.P("a"), AT_FDCWD, c.P("b"), RENAME_EXCHANGE));
  c.Check("a");
  c.Check("b");
  c.Stat("a");
  c.Stat("b");
  SYS(c, renameat2(AT_FDCWD, c.P("a"), AT_FDCWD, c.P("missing"),
                   RENAME_EXCHANGE));  // ENOENT
  SYS(c, renameat2(AT_FDCWD, c.P("a"), AT_FDCWD, c.P("a"), RENAME_EXCHANGE));
  c.Check("a");
  // README: two columns swap their whole histories.
  c.Write("h", "h1");
  c.Write("h", "h2");
  SYS(c, renameat2(AT_FDCWD, c.P("a"), AT_FDCWD, c.P("h"), RENAME_EXCHANGE));
  c.Check("a");
  c.Check("h");
  c.Listing("", {{"a", 1}});
}

void RenameOpenFiles(Ctx& c) {
  // Writes through a descriptor follow the file to its new name.
  const int fd = FD(c, open(c.P("x"), O_RDWR | O_CREAT | O_TRUNC, 0644));
  SYS(c, write(fd, "1", 1));
  SYS(c, rename(c.P("x"), c.P("y")));
  SYS(c, write(fd, "2", 1));
  PreadRec(c, "read through the renamed descriptor", fd, 10, 0);
  SYS(c, close(fd));
  c.Check("x");
  c.Check("y");
  // A descriptor on a replaced target keeps reading the old content.
  c.Write("a", "new");
  c.Write("b", "old");
  const int old_fd = FD(c, open(c.P("b"), O_RDONLY));
  SYS(c, rename(c.P("a"), c.P("b")));
  PreadRec(c, "read the replaced file", old_fd, 10, 0);
  SYS(c, close(old_fd));
  c.Check("b");
  // A target with unsaved writes through an open descriptor: replaced, its
  // pending data goes with the old file.
  c.Write("s", "source");
  c.Write("t", "target");
  const int t_fd = FD(c, open(c.P("t"), O_RDWR));
  SYS(c, pwrite(t_fd, "PENDING", 7, 0));
  SYS(c, rename(c.P("s"), c.P("t")));
  PreadRec(c, "read the replaced file's pending data", t_fd, 10, 0);
  SYS(c, close(t_fd));
  c.Check("t");
  c.Check("s");
  // The renamed file was stored once before the move ("1") and once at
  // close ("12"); b and t keep their history under the new content.
  c.Listing("", {{"y", 1}, {"b", 1}, {"t", 1}});
}

// ------------------------------------------------------------------ times

void UtimensExplicit(Ctx& c) {
  c.Write("f", "x");
  const uint64_t t0 = NowMs();
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kAtime, kMtime).data(), 0));
  struct stat st;
  stat(c.P("f"), &st);
  c.Value("mtime == the given time", Ms(st.st_mtim) == Ms(kMtime));
  c.Value("mtime ns", static_cast<long>(st.st_mtim.tv_nsec));
  // A version's ctime is when it or its time last changed (tar -g and
  // find -cnewer rely on it).
  c.Value("ctime is the time of the change",
          std::to_string(Ms(st.st_ctim) + kNowSlackMs >= t0));
  c.Check("f");
  // Setting the same time again changes nothing.
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kAtime, kMtime).data(), 0));
  c.Value("mtime after setting it twice", MtimeOf(c, "f") == Ms(kMtime));
  // A later write makes the mtime "now".
  const int fd = FD(c, open(c.P("f"), O_WRONLY | O_APPEND));
  SYS(c, write(fd, "y", 1));
  SYS(c, close(fd));
  c.Value("mtime after a write is now", MtimeOf(c, "f") + kNowSlackMs >= t0);
  SYS(c, utimensat(AT_FDCWD, c.P("missing"), Times(kAtime, kMtime).data(),
                   0));  // ENOENT
  const timespec bad[2] = {{0, UTIME_OMIT}, {0, 1000000000}};
  SYS(c, utimensat(AT_FDCWD, c.P("f"), bad, 0));  // EINVAL
  c.Check("f");
  // Re-stamping moved the version; the write added one.
  c.Listing("", {{"f", 1}});
}

void UtimensAtime(Ctx& c) {
  c.Write("f", "x");
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kAtime, kMtime).data(), 0));
  struct stat st;
  stat(c.P("f"), &st);
  c.Documented("atime == the given atime",
               std::string(Ms(st.st_atim) == Ms(kAtime) ? "true" : "false"),
               "false", "true",
               "rowfs keeps no access time: atime reports the mtime (the "
               "version's timestamp) and setting it alone is accepted and "
               "ignored");
  c.Value("mtime == the given mtime", Ms(st.st_mtim) == Ms(kMtime));
}

void UtimensNowAndOmit(Ctx& c) {
  c.Write("f", "x");
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kOmit, kMtime).data(), 0));
  c.Value("mtime set with atime omitted", MtimeOf(c, "f") == Ms(kMtime));
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kAtime, kOmit).data(), 0));
  c.Value("mtime kept when omitted", MtimeOf(c, "f") == Ms(kMtime));
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kOmit, kOmit).data(), 0));
  c.Value("mtime kept when both omitted", MtimeOf(c, "f") == Ms(kMtime));
  uint64_t t0 = NowMs();
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kNow, kNow).data(), 0));
  uint64_t t1 = NowMs();
  uint64_t m = MtimeOf(c, "f");
  c.Value("UTIME_NOW sets now", m + kNowSlackMs >= t0 && m <= t1 + kNowSlackMs);
  // Back to the past, then NULL times: now.
  SYS(c, utimensat(AT_FDCWD, c.P("f"), Times(kAtime, kMtime).data(), 0));
  t0 = NowMs();
  SYS(c, utimensat(AT_FDCWD, c.P("f"), nullptr, 0));
  t1 = NowMs();
  m = MtimeOf(c, "f");
  c.Value("NULL times set now", m + kNowSlackMs >= t0 && m <= t1 + kNowSlackMs);
  // futimens through a descriptor.
  const int fd = FD(c, open(c.P("f"), O_RDONLY));
  SYS(c, futimens(fd, Times(kOmit, kMtime).data()));
  SYS(c, close(fd));
  c.Value("futimens", MtimeOf(c, "f") == Ms(kMtime));
  c.Check("f");
  c.Listing("");
}

void FutimensWhileWriting(Ctx& c) {
  // tar and cp -p set the time after the last write, before close.
  const int fd = FD(c, open(c.P("f"), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  SYS(c, write(fd, "payload", 7));
  SYS(c, futimens(fd, Times(kAtime, kMtime).data()));
  struct stat st;
  SYS(c, fstat(fd, &st));
  c.Value("fstat mtime before close", Ms(st.st_mtim) == Ms(kMtime));
  SYS(c, close(fd));
  c.Value("mtime after close", MtimeOf(c, "f") == Ms(kMtime));
  c.Check("f");
  // A write after the time was set makes it "now" again.
  const uint64_t t0 = NowMs();
  const int fd2 = FD(c, open(c.P("f"), O_WRONLY));
  SYS(c, futimens(fd2, Times(kAtime, kMtime).data()));
  SYS(c, pwrite(fd2, "P", 1, 0));
  SYS(c, close(fd2));
  c.Value("a write after futimens sets now",
          MtimeOf(c, "f") + kNowSlackMs >= t0);
  c.Check("f");
  c.Listing("", {{"f", 1}});
}

// ------------------------------------------------------------------ stat

void StatFields(Ctx& c) {
  c.Write("f", "hello");
  struct stat st;
  SYS(c, stat(c.P("f"), &st));
  c.StatFields("stat(f)", st);
  // README: st_blocks is the size in 512-byte blocks; tmpfs counts pages.
  c.Documented("st_blocks of a 5-byte file", static_cast<long>(st.st_blocks), 1,
               8, "st_blocks = ceil(size / 512) (README, Sizes)");
  c.Value("st_blksize > 0", st.st_blksize > 0);
  struct stat again;
  stat(c.P("f"), &again);
  c.Value("st_ino stable between stats", st.st_ino == again.st_ino);
  const int fd = FD(c, open(c.P("f"), O_RDONLY));
  struct stat fst;
  SYS(c, fstat(fd, &fst));
  c.Value("fstat st_ino == stat st_ino", fst.st_ino == st.st_ino);
  c.Value("fstat st_dev == stat st_dev", fst.st_dev == st.st_dev);
  SYS(c, close(fd));
  // A bigger file, and a sparse one.
  c.Write("big", Pattern(10000));
  stat(c.P("big"), &st);
  c.StatFields("stat(big)", st);
  c.Documented("st_blocks of a 10000-byte file",
               static_cast<long>(st.st_blocks), 20, 24,
               "st_blocks = ceil(size / 512) (README, Sizes)");
  // Modes: the umask (022) applies at creation; chmod/fchmod change them.
  const int m = FD(c, open(c.P("m"), O_CREAT | O_WRONLY, 0777));
  SYS(c, fchmod(m, 0640));
  SYS(c, close(m));
  c.Stat("m");
  SYS(c, chmod(c.P("m"), 04711));
  c.Stat("m");
  SYS(c, chown(c.P("m"), 0, 0));
  SYS(c, lchown(c.P("m"), 0, 0));
  c.Stat("m");
  SYS(c, chmod(c.P("missing"), 0644));  // ENOENT
  SYS(c, access(c.P("f"), R_OK | W_OK));
  SYS(c, access(c.P("missing"), F_OK));  // ENOENT
  // The base directory: a directory with the mode it was made with.
  struct stat dst;
  SYS(c, stat(c.P(""), &dst));
  c.StatFields("stat(base)", dst);
  SYS(c, lstat(c.P("f"), &st));
  c.StatFields("lstat(f)", st);
  SYS(c, stat(c.P("f/"), &st));  // ENOTDIR
}

// ------------------------------------------------------------------ readdir

// Reads `dir` once, recording telldir before every entry; then seekdir to
// several of those positions must continue with the same entries.
void SeekTellDir(Ctx& c, const std::string& rel, size_t expected_entries) {
  DIR* d = opendir(c.P(rel));
  c.Value("opendir", d != nullptr);
  if (d == nullptr) return;
  std::vector<std::string> names;
  std::vector<long> pos;
  while (true) {
    const long p = telldir(d);
    errno = 0;
    dirent* e = readdir(d);
    if (e == nullptr) {
      c.Value("readdir end errno", std::string(ErrnoName(errno)));
      break;
    }
    pos.push_back(p);
    names.push_back(e->d_name);
  }
  const long end_pos = telldir(d);
  std::set<std::string> unique(names.begin(), names.end());
  c.Value("each entry once", unique.size() == names.size());
  c.Value(". and .. listed", unique.count(".") == 1 && unique.count("..") == 1);
  size_t plain = 0;
  for (const std::string& n : names) {
    if (n != "." && n != ".." && n.find('@') == std::string::npos) ++plain;
  }
  c.Value("entries without versions", static_cast<long>(plain));
  c.Value("entries as expected", plain == expected_entries);
  // Positions by name, as the entry count differs (rowfs lists versions).
  const std::pair<const char*, size_t> points[] = {
      {"0", 0},
      {"1", 1},
      {"2", 2},
      {"37", 37},
      {"150", 150},
      {"the middle", names.size() / 2},
      {"the third-last", names.size() - 3},
      {"the last", names.size() - 1}};
  for (const auto& [point, k] : points) {
    if (k >= names.size()) {
      c.Value(std::string("entry ") + point, "<missing>");
      continue;
    }
    seekdir(d, pos[k]);
    bool same = true;
    size_t read = 0;
    for (size_t i = k; i < std::min(names.size(), k + 12); ++i) {
      dirent* e = readdir(d);
      ++read;
      if (e == nullptr || names[i] != e->d_name) {
        same = false;
        break;
      }
    }
    c.Value(std::string("seekdir(telldir before entry ") + point +
                ") continues with the same entries",
            same && read > 0);
  }
  // Back to the end: nothing more.
  seekdir(d, end_pos);
  c.Value("readdir after seekdir(end)", readdir(d) == nullptr);
  // Back to an earlier position after reaching the end.
  if (names.size() > 20) {
    seekdir(d, pos[20]);
    dirent* e = readdir(d);
    c.Value("seekdir back after the end",
            e != nullptr && names[20] == e->d_name);
  }
  rewinddir(d);
  dirent* first = readdir(d);
  c.Value("rewinddir restarts", first != nullptr && names[0] == first->d_name);
  // Reading the whole directory again yields the same sequence.
  rewinddir(d);
  std::vector<std::string> again;
  while (dirent* e = readdir(d)) again.push_back(e->d_name);
  c.Value("a second pass gives the same sequence", again == names);
  c.Value("closedir", static_cast<long>(closedir(d)));
}

void ReaddirSeekTell(Ctx& c) {
  // 300 columns with long names, so the listing spans many readdir replies;
  // five of them rewritten, so rowfs also lists five version entries.
  std::string failures;
  for (int i = 0; i < 300; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "entry-%03d-with-a-longer-name-%d", i,
                  i * 7);
    const std::string r = c.WriteQuiet(name, std::to_string(i));
    if (r != "ok") failures += std::string(name) + ":" + r + " ";
  }
  std::map<std::string, int> versions;
  for (int i = 0; i < 300; i += 60) {
    char name[64];
    std::snprintf(name, sizeof(name), "entry-%03d-with-a-longer-name-%d", i,
                  i * 7);
    const std::string r = c.WriteQuiet(name, "rewritten");
    if (r != "ok") failures += std::string(name) + ":" + r + " ";
    versions[name] = 1;
  }
  c.Value("300 files written", failures.empty() ? "ok" : failures);
  SeekTellDir(c, "", 300);
  c.Listing("", versions);
}

void ReaddirEmptyAndChanging(Ctx& c) {
  c.Listing("");
  DIR* d = opendir(c.P(""));
  int n = 0;
  while (readdir(d) != nullptr) ++n;
  c.Value("entries in an empty directory", n);
  closedir(d);
  c.Write("a", "1");
  c.Write("b", "2");
  // A file created after opendir+rewinddir is seen (POSIX: rewinddir
  // refreshes the directory).
  DIR* d2 = opendir(c.P(""));
  c.Write("c", "3");
  rewinddir(d2);
  std::set<std::string> names;
  while (dirent* e = readdir(d2)) names.insert(e->d_name);
  c.Value("rewinddir sees a file created after opendir", names.count("c") == 1);
  closedir(d2);
  SYS(c, unlink(c.P("a")));
  c.Listing("");
}

// ------------------------------------------------------------------ sync

void FsyncAndFdatasync(Ctx& c) {
  c.Write("f", "a");
  const int fd = FD(c, open(c.P("f"), O_RDWR | O_APPEND));
  SYS(c, write(fd, "b", 1));
  SYS(c, fsync(fd));
  c.Check("f");  // visible to another open at once
  SYS(c, close(fd));
  const int fd2 = FD(c, open(c.P("f"), O_RDWR | O_APPEND));
  SYS(c, write(fd2, "c", 1));
  SYS(c, fdatasync(fd2));
  SYS(c, write(fd2, "d", 1));
  SYS(c, fsync(fd2));
  SYS(c, fsync(fd2));  // nothing new
  SYS(c, close(fd2));
  c.Check("f");
  const int ro = FD(c, open(c.P("f"), O_RDONLY));
  SYS(c, fsync(ro));
  SYS(c, fdatasync(ro));
  SYS(c, close(ro));
  const int dir = FD(c, open(c.P(""), O_RDONLY | O_DIRECTORY));
  SYS(c, fsync(dir));
  SYS(c, fdatasync(dir));
  SYS(c, close(dir));
  SYS(c, fsync(-1));  // EBADF
  sync();
  SYS(c, syncfs(fd));  // EBADF: closed
  // "a", then one store per fsync with changes: "ab", "abc", "abcd"; the
  // closes after an fsync had nothing new to store.
  c.Listing("", {{"f", 3}});
}

void Statfs(Ctx& c) {
  struct statfs sf;
  SYS(c, statfs(c.P(""), &sf));
  // Inside a row a name must leave room for "@<ts>" (README, name limits).
  c.Documented("f_namelen", static_cast<long>(sf.f_namelen), 235L, 255L,
               "a column name leaves room for its @<ts> suffix");
  c.Value("f_bsize > 0", sf.f_bsize > 0);
  c.Value("f_frsize > 0", sf.f_frsize > 0);
  c.Value("f_bavail <= f_bfree <= f_blocks",
          sf.f_bavail <= sf.f_bfree && sf.f_bfree <= sf.f_blocks);
  c.Documented("f_type", static_cast<long>(sf.f_type),
               static_cast<long>(FUSE_SUPER_MAGIC),
               static_cast<long>(TMPFS_MAGIC),
               "a FUSE filesystem; sizes are DB_DIR's filesystem (README)");
  c.Write("f", "x");
  const int fd = FD(c, open(c.P("f"), O_RDONLY));
  struct statfs fsf;
  SYS(c, fstatfs(fd, &fsf));
  c.Documented("fstatfs f_namelen", static_cast<long>(fsf.f_namelen), 235L,
               255L, "a column name leaves room for its @<ts> suffix");
  SYS(c, close(fd));
  struct statvfs sv;
  SYS(c, statvfs(c.P("f"), &sv));
  c.Documented("statvfs f_namemax", static_cast<long>(sv.f_namemax), 235L, 255L,
               "a column name leaves room for its @<ts> suffix");
  SYS(c, statfs(c.P("missing"), &sf));  // ENOENT
}

// ------------------------------------------------------------------ more I/O

void MmapReadWrite(Ctx& c) {
  const std::string content = Pattern(10000, 5);
  c.Write("f", content);
  const int fd = FD(c, open(c.P("f"), O_RDWR));
  void* p = mmap(nullptr, 10000, PROT_READ, MAP_SHARED, fd, 0);
  c.Value("mmap read-only", p != MAP_FAILED);
  if (p != MAP_FAILED) {
    c.Value("mapped bytes", Show(std::string(static_cast<char*>(p), 10000)));
    munmap(p, 10000);
  }
  void* w = mmap(nullptr, 10000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  c.Value("mmap shared writable", w != MAP_FAILED);
  if (w != MAP_FAILED) {
    std::memcpy(static_cast<char*>(w) + 100, "MMAP", 4);
    std::memcpy(static_cast<char*>(w) + 9000, "TAIL", 4);
    SYS(c, msync(w, 10000, MS_SYNC));
    PreadRec(c, "pread sees the mapped write", fd, 8, 98);
    // A change left for munmap + close to write back.
    std::memcpy(static_cast<char*>(w) + 5000, "LATE", 4);
    SYS(c, munmap(w, 10000));
  }
  SYS(c, close(fd));
  c.Check("f");
  const std::string now = c.Read("f");
  c.Value("bytes at 5000",
          now.size() >= 5004 ? now.substr(5000, 4) : "<short>");
  // A write through a descriptor is seen by an existing mapping.
  const int fd2 = FD(c, open(c.P("f"), O_RDWR));
  void* r = mmap(nullptr, 10000, PROT_READ, MAP_SHARED, fd2, 0);
  SYS(c, pwrite(fd2, "PWRITE", 6, 200));
  if (r != MAP_FAILED) {
    c.Value("mapping sees pwrite", std::string(static_cast<char*>(r) + 200, 6));
    munmap(r, 10000);
  }
  SYS(c, close(fd2));
  c.Check("f");
}

void MmapThroughAppendDescriptor(Ctx& c) {
  // A shared mapping writes at its own offsets, also when the descriptor it
  // was made through has O_APPEND (the kernel writes the pages back with
  // their offsets).
  c.Write("f", std::string(8192, '.'));
  const int fd = FD(c, open(c.P("f"), O_RDWR | O_APPEND));
  void* w = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  c.Value("mmap shared writable", w != MAP_FAILED);
  if (w != MAP_FAILED) {
    std::memcpy(static_cast<char*>(w) + 100, "MAPPED", 6);
    SYS(c, msync(w, 8192, MS_SYNC));
    SYS(c, munmap(w, 8192));
  }
  FstatRec(c, "fstat after msync", fd);
  PreadRec(c, "pread 6@100", fd, 6, 100);
  SYS(c, write(fd, "end", 3));
  SYS(c, lseek(fd, 0, SEEK_CUR));
  SYS(c, close(fd));
  c.Check("f");
}

void ListingWhileChangesArePending(Ctx& c) {
  // ls (READDIRPLUS) while a descriptor holds changes that are not stored
  // yet: the listing must not bring back the old size.
  c.Write("f", "0123456789");
  const int fd = FD(c, open(c.P("f"), O_RDWR | O_APPEND));
  SYS(c, ftruncate(fd, 3));
  FstatRec(c, "fstat after ftruncate", fd);
  c.Listing("");
  FstatRec(c, "fstat after the listing", fd);
  c.Stat("f");
  SYS(c, write(fd, "X", 1));
  SYS(c, lseek(fd, 0, SEEK_CUR));
  PreadRec(c, "pread all", fd, 20, 0);
  // The same with a write that grows the file.
  SYS(c, pwrite(fd, "more", 4, 0));
  c.Listing("");
  FstatRec(c, "fstat after a second listing", fd);
  SYS(c, close(fd));
  c.Check("f");
  c.Listing("", {{"f", 1}});
}

void QuickReopenSharesContent(Ctx& c) {
  // Every descriptor of a file shares one content, also right after the
  // last descriptor was closed (FUSE sends that release asynchronously, so
  // it may reach rowfs after the next open).
  c.Write("f", "start");
  int diverged = 0;
  int first = -1;
  for (int i = 0; i < 1000; ++i) {
    const int x = open(c.P("f"), O_RDWR);
    close(x);
    const int a = open(c.P("f"), O_RDWR);
    const int b = open(c.P("f"), O_RDWR);
    const off_t end = lseek(b, 0, SEEK_END);
    const bool wrote = pwrite(b, "X", 1, end) == 1;
    char ch = 0;
    if (!wrote || pread(a, &ch, 1, end) != 1 || ch != 'X') {
      ++diverged;
      if (first < 0) first = i;
    }
    close(a);
    close(b);
  }
  c.Value("rounds where one descriptor missed another's write", diverged);
  c.Value("the first such round (-1: none)", first);
  struct stat st;
  stat(c.P("f"), &st);
  c.Value("size after 1000 one-byte appends", static_cast<long>(st.st_size));
}

void CopyFileRange(Ctx& c) {
  c.Write("src", Pattern(100000, 9));
  const int in = FD(c, open(c.P("src"), O_RDONLY));
  const int out = FD(c, open(c.P("dst"), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  loff_t off_in = 1000, off_out = 0;
  SYS(c, copy_file_range(in, &off_in, out, &off_out, 50000, 0));
  c.Value("offsets after copy",
          std::to_string(off_in) + " " + std::to_string(off_out));
  SYS(c, close(out));
  SYS(c, close(in));
  c.Check("dst");
  // sendfile between two files.
  const int in2 = FD(c, open(c.P("src"), O_RDONLY));
  const int out2 = FD(c, open(c.P("dst2"), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  off_t so = 10;
  SYS(c, sendfile(out2, in2, &so, 30000));
  SYS(c, close(out2));
  SYS(c, close(in2));
  c.Check("dst2");
}

void PosixFallocate(Ctx& c) {
  c.Write("f", "abc");
  const int fd = FD(c, open(c.P("f"), O_RDWR));
  // posix_fallocate returns an error number rather than setting errno.
  c.Value("posix_fallocate(0, 10000)",
          std::string(ErrnoName(posix_fallocate(fd, 0, 10000))));
  FstatRec(c, "fstat after posix_fallocate", fd);
  PreadRec(c, "allocated bytes read as zeros", fd, 6, 0);
  SYS(c, close(fd));
  c.Check("f");
}

void Locks(Ctx& c) {
  c.Write("f", "x");
  const int fd = FD(c, open(c.P("f"), O_RDWR));
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  SYS(c, fcntl(fd, F_SETLK, &fl));
  fl.l_type = F_UNLCK;
  SYS(c, fcntl(fd, F_SETLK, &fl));
  SYS(c, flock(fd, LOCK_EX | LOCK_NB));
  SYS(c, flock(fd, LOCK_UN));
  SYS(c, close(fd));
  c.Check("f");
}

void Xattrs(Ctx& c) {
  c.Write("f", "x");
  SYS(c, getxattr(c.P("f"), "user.missing", nullptr, 0));  // ENODATA
  SYS(c, listxattr(c.P("f"), nullptr, 0));
  // README: setxattr answers ENOTSUP (cp, tar, rsync then carry on).
  c.DocumentedCall(
      "setxattr(user.k)", RES(setxattr(c.P("f"), "user.k", "v", 1, 0)),
      "-1 EOPNOTSUPP", "0", "rowfs stores no user xattrs on columns (README)");
  SYS(c, removexattr(c.P("f"), "user.missing"));  // ENODATA
  c.Check("f");
}

void ListedWhileBeingWritten(Ctx& c) {
  // A file exists from open(O_CREAT) on: listings show it while it is being
  // created and written, before any close.
  const int fd = FD(c, open(c.P("f"), O_CREAT | O_WRONLY, 0644));
  c.Listing("");
  SYS(c, write(fd, "partial", 7));
  c.Listing("");
  c.Stat("f");
  SYS(c, close(fd));
  c.Listing("");
  c.Check("f");
}

// ------------------------------------------------------------------
// directories These run in a dataset, whose subdirectories are rows.

void MkdirRmdir(Ctx& c) {
  SYS(c, mkdir(c.P("d"), 0777));
  c.Stat("d");
  SYS(c, mkdir(c.P("d"), 0755));  // EEXIST
  SYS(c, mkdir(c.P("m"), 0700));
  c.Stat("m");
  c.Write("d/f", "x");
  SYS(c, rmdir(c.P("d")));             // ENOTEMPTY
  SYS(c, unlink(c.P("d")));            // EISDIR
  SYS(c, rmdir(c.P("d/f")));           // ENOTDIR
  SYS(c, mkdir(c.P("d/f"), 0755));     // EEXIST
  SYS(c, mkdir(c.P("d/f/x"), 0755));   // ENOTDIR
  SYS(c, mkdir(c.P("nope/x"), 0755));  // ENOENT
  SYS(c, rmdir(c.P("d/.")));           // EINVAL
  SYS(c, unlink(c.P("d/f")));
  SYS(c, rmdir(c.P("d")));
  SYS(c, rmdir(c.P("d")));  // ENOENT
  c.Stat("d");
  // A directory with only versions of a column is not empty either.
  SYS(c, mkdir(c.P("v"), 0755));
  c.Write("v/c", "1");
  c.Write("v/c", "2");
  SYS(c, rmdir(c.P("v")));  // ENOTEMPTY
  SYS(c, unlink(c.P("v/c")));
  SYS(c, rmdir(c.P("v")));
  // The link count of a directory with files and no subdirectories.
  SYS(c, mkdir(c.P("n"), 0755));
  c.Write("n/f", "x");
  struct stat st;
  stat(c.P("n"), &st);
  c.Value("nlink of a directory without subdirectories",
          static_cast<long>(st.st_nlink));
  c.Listing("n");
  // README: datasets report st_nlink 1 ("unknown") as they may hold millions
  // of rows; tmpfs counts 2 + subdirectories ("r", "m", "n").
  stat(c.P(""), &st);
  c.Documented("nlink of the base directory", static_cast<long>(st.st_nlink), 1,
               5, "datasets report st_nlink 1 (README)");
  c.Listing("");
}

void DirectoryTimes(Ctx& c) {
  SYS(c, mkdir(c.P("d"), 0755));
  SYS(c, utimensat(AT_FDCWD, c.P("d"), Times(kAtime, kMtime).data(), 0));
  c.Value("directory mtime set", MtimeOf(c, "d") == Ms(kMtime));
  // README: directory mtimes are stored but not bumped when entries change.
  c.Write("d/f", "x");
  c.Documented("directory mtime bumped by a new entry",
               std::to_string(MtimeOf(c, "d") != Ms(kMtime)), "0", "1",
               "directory mtimes are not bumped (README)");
  SYS(c, utimensat(AT_FDCWD, c.P("d"), Times(kAtime, kMtime).data(), 0));
  c.Value("directory mtime set again", MtimeOf(c, "d") == Ms(kMtime));
  SYS(c, chmod(c.P("d"), 0711));
  c.Stat("d");
  SYS(c, chmod(c.P("d"), 0755));
  c.Listing("d");
}

void RenameDirectories(Ctx& c) {
  SYS(c, mkdir(c.P("a"), 0755));
  c.Write("a/f", "in a");
  SYS(c, rename(c.P("a"), c.P("b")));
  c.Stat("a");
  c.Check("b/f");
  // Onto an empty directory: replaced.
  SYS(c, mkdir(c.P("e"), 0755));
  SYS(c, rename(c.P("b"), c.P("e")));
  c.Check("e/f");
  c.Stat("b");
  // Onto a non-empty one: ENOTEMPTY (or EEXIST).
  SYS(c, mkdir(c.P("full"), 0755));
  c.Write("full/g", "g");
  SYS(c, rename(c.P("e"), c.P("full")));
  c.Check("e/f");
  c.Check("full/g");
  SYS(c,
      renameat2(AT_FDCWD, c.P("e"), AT_FDCWD, c.P("full"), RENAME_NOREPLACE));
  SYS(c, renameat2(AT_FDCWD, c.P("e"), AT_FDCWD, c.P("full"), RENAME_EXCHANGE));
  c.Check("e/g");
  c.Check("full/f");
  SYS(c, rename(c.P("e"), c.P("e/inside")));  // EINVAL: into itself
  SYS(c, rename(c.P("e/g"), c.P("full")));    // EISDIR: file onto a directory
  SYS(c, rename(c.P("full"), c.P("e/g")));    // ENOTDIR: directory onto a file
  // Files move between directories.
  SYS(c, rename(c.P("e/g"), c.P("full/g")));
  c.Check("full/g");
  c.Listing("e");
  c.Listing("full");
  c.Listing("");
}

void RmdirWhileAFileIsBeingWritten(Ctx& c) {
  // A directory holding a file that is still open is not empty.
  SYS(c, mkdir(c.P("d"), 0755));
  const int fd = FD(c, open(c.P("d/f"), O_CREAT | O_WRONLY, 0644));
  SYS(c, rmdir(c.P("d")));  // ENOTEMPTY
  SYS(c, write(fd, "x", 1));
  SYS(c, rmdir(c.P("d")));  // ENOTEMPTY
  SYS(c, close(fd));
  c.Check("d/f");
  c.Stat("d");
  c.Listing("d");
}

void RenameDirectoryWithOpenFile(Ctx& c) {
  // Writes through a descriptor follow the file when its directory moves.
  SYS(c, mkdir(c.P("d"), 0755));
  c.Write("d/f", "1");
  const int fd = FD(c, open(c.P("d/f"), O_WRONLY | O_APPEND));
  SYS(c, write(fd, "2", 1));
  SYS(c, rename(c.P("d"), c.P("e")));
  SYS(c, write(fd, "3", 1));
  SYS(c, close(fd));
  c.Check("d/f");
  c.Check("e/f");
  // "1", then "12" stored when the row moved... or at close: either way
  // the directory holds f and its older versions.
  c.Listing("e", {{"f", 1}});
}

void ReaddirSeekTellDirectories(Ctx& c) {
  // 300 subdirectories: rowfs streams rows from a cursor (seekdir restarts
  // it); the fixture's row "r" is the 301st entry on both.
  std::string failures;
  for (int i = 0; i < 300; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "dir-%03d-with-a-longer-name-%d", i,
                  i * 3);
    if (mkdir(c.P(name), 0755) != 0) failures += std::string(name) + " ";
  }
  c.Value("300 directories made", failures.empty() ? "ok" : failures);
  SeekTellDir(c, "", 301);
}

// ------------------------------------------------------------------ the table

enum class Level { kRow, kDataset };

struct Scenario {
  const char* name;
  Level level;
  void (*fn)(Ctx&);
};

std::ostream& operator<<(std::ostream& os, const Scenario& s) {
  return os << s.name;
}

const Scenario kScenarios[] = {
    {"CreatNew", Level::kRow, CreatNew},
    {"CreatExcl", Level::kRow, CreatExcl},
    {"OpenErrors", Level::kRow, OpenErrors},
    {"OpenTrunc", Level::kRow, OpenTrunc},
    {"OpenTruncReadOnly", Level::kRow, OpenTruncReadOnly},
    {"ReadOnlyAndWriteOnlyDescriptors", Level::kRow,
     ReadOnlyAndWriteOnlyDescriptors},
    {"AppendMode", Level::kRow, AppendMode},
    {"AppendTwoDescriptors", Level::kRow, AppendTwoDescriptors},
    {"ReadWriteOffsets", Level::kRow, ReadWriteOffsets},
    {"WritePastEofMakesHoles", Level::kRow, WritePastEofMakesHoles},
    {"LargeWrite", Level::kRow, LargeWrite},
    {"SharedDescriptors", Level::kRow, SharedDescriptors},
    {"DupLikeAShell", Level::kRow, DupLikeAShell},
    {"ZeroLengthAndEmptyFiles", Level::kRow, ZeroLengthAndEmptyFiles},
    {"FtruncateGrowShrink", Level::kRow, FtruncateGrowShrink},
    {"FtruncateSameSize", Level::kRow, FtruncateSameSize},
    {"TruncatePath", Level::kRow, TruncatePath},
    {"Unlink", Level::kRow, Unlink},
    {"UnlinkOpenFile", Level::kRow, UnlinkOpenFile},
    {"NoDirectoriesInsideARow", Level::kRow, NoDirectoriesInsideARow},
    {"OtherFileTypesRefused", Level::kRow, OtherFileTypesRefused},
    {"RenameToNewName", Level::kRow, RenameToNewName},
    {"RenameOverExisting", Level::kRow, RenameOverExisting},
    {"RenameNoReplace", Level::kRow, RenameNoReplace},
    {"RenameExchange", Level::kRow, RenameExchange},
    {"RenameOpenFiles", Level::kRow, RenameOpenFiles},
    {"UtimensExplicit", Level::kRow, UtimensExplicit},
    {"UtimensAtime", Level::kRow, UtimensAtime},
    {"UtimensNowAndOmit", Level::kRow, UtimensNowAndOmit},
    {"FutimensWhileWriting", Level::kRow, FutimensWhileWriting},
    {"StatFields", Level::kRow, StatFields},
    {"ReaddirSeekTell", Level::kRow, ReaddirSeekTell},
    {"ReaddirEmptyAndChanging", Level::kRow, ReaddirEmptyAndChanging},
    {"FsyncAndFdatasync", Level::kRow, FsyncAndFdatasync},
    {"Statfs", Level::kRow, Statfs},
    {"MmapReadWrite", Level::kRow, MmapReadWrite},
    {"MmapThroughAppendDescriptor", Level::kRow, MmapThroughAppendDescriptor},
    {"ListingWhileChangesArePending", Level::kRow,
     ListingWhileChangesArePending},
    {"QuickReopenSharesContent", Level::kRow, QuickReopenSharesContent},
    {"CopyFileRange", Level::kRow, CopyFileRange},
    {"PosixFallocate", Level::kRow, PosixFallocate},
    {"Locks", Level::kRow, Locks},
    {"Xattrs", Level::kRow, Xattrs},
    {"ListedWhileBeingWritten", Level::kRow, ListedWhileBeingWritten},
    {"MkdirRmdir", Level::kDataset, MkdirRmdir},
    {"DirectoryTimes", Level::kDataset, DirectoryTimes},
    {"RenameDirectories", Level::kDataset, RenameDirectories},
    {"RmdirWhileAFileIsBeingWritten", Level::kDataset,
     RmdirWhileAFileIsBeingWritten},
    {"RenameDirectoryWithOpenFile", Level::kDataset,
     RenameDirectoryWithOpenFile},
    {"ReaddirSeekTellDirectories", Level::kDataset, ReaddirSeekTellDirectories},
};

// A fresh rowfs mount with dataset "ds" and row "ds/r", and a fresh tmpfs
// with the same two directories.
class PosixParityTest : public MountTest,
                        public ::testing::WithParamInterface<Scenario> {
 protected:
  void SetUp() override {
    old_umask_ = umask(022);
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0) << strerror(errno);
    ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0) << strerror(errno);
    tmpfs_ = dir_.Sub("tmpfs");
    ASSERT_EQ(mkdir(tmpfs_.c_str(), 0755), 0) << strerror(errno);
    if (mount("tmpfs", tmpfs_.c_str(), "tmpfs", 0, "size=64m,mode=0755") == 0) {
      tmpfs_mounted_ = true;
    } else {
      // No permission to mount: /dev/shm is tmpfs too.
      char tmpl[] = "/dev/shm/rowfs-parity-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
      tmpfs_ = tmpl;
      shm_dir_ = tmpl;
    }
    struct statfs sf;
    ASSERT_EQ(statfs(tmpfs_.c_str(), &sf), 0);
    ASSERT_EQ(sf.f_type, TMPFS_MAGIC) << tmpfs_ << " is not on tmpfs";
    ASSERT_EQ(mkdir((tmpfs_ + "/ds").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((tmpfs_ + "/ds/r").c_str(), 0755), 0);
  }

  void TearDown() override {
    if (tmpfs_mounted_ && umount(tmpfs_.c_str()) != 0) {
      ADD_FAILURE() << "umount " << tmpfs_ << ": " << strerror(errno);
      umount2(tmpfs_.c_str(), MNT_DETACH);
    }
    if (!shm_dir_.empty()) RunShell("rm -rf " + ShellQuote(shm_dir_));
    MountTest::TearDown();
    umask(old_umask_);
  }

  std::string tmpfs_, shm_dir_;
  bool tmpfs_mounted_ = false;
  mode_t old_umask_ = 022;
};

TEST_P(PosixParityTest, SameAsTmpfs) {
  const Scenario& s = GetParam();
  const std::string sub = s.level == Level::kRow ? "/ds/r" : "/ds";
  Ctx ref(tmpfs_ + sub, /*on_rowfs=*/false);
  s.fn(ref);
  Ctx got(mnt_ + sub, /*on_rowfs=*/true);
  s.fn(got);
  // A line diff (longest common subsequence), so that an extra or missing
  // record shows as one line, not as a shift of all the following ones.
  const auto& a = ref.log();
  const auto& b = got.log();
  std::vector<std::vector<int>> lcs(a.size() + 1,
                                    std::vector<int>(b.size() + 1));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1
                               : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::ostringstream diff;
  int mismatches = 0;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      diff << "    " << a[i] << "\n";
      ++i;
      ++j;
    } else if (j == b.size() ||
               (i < a.size() && lcs[i + 1][j] >= lcs[i][j + 1])) {
      ++mismatches;
      diff << "  - tmpfs: " << a[i++] << "\n";
    } else {
      ++mismatches;
      diff << "  + rowfs: " << b[j++] << "\n";
    }
  }
  if (std::getenv("ROWFS_PARITY_VERBOSE") != nullptr) {
    std::cout << "scenario " << s.name << ":\n" << diff.str();
  }
  EXPECT_EQ(mismatches, 0) << "scenario " << s.name
                           << ": rowfs differs from tmpfs (- tmpfs, + rowfs):\n"
                           << diff.str();
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, PosixParityTest, ::testing::ValuesIn(kScenarios),
    [](const ::testing::TestParamInfo<Scenario>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace rowfs
