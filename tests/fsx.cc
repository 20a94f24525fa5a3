#include "fsx.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <sstream>
#include <string_view>
#include <vector>

namespace rowfs {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

// splitmix64: the same sequence on every platform (std distributions are
// implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); 0 when n == 0.
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }

 private:
  uint64_t state_;
};

struct Failure {
  std::string what;
};

std::string ErrnoText(int e) {
  const char* name = strerrorname_np(e);
  return std::string(name != nullptr ? name : "?") + " (" + strerror(e) + ")";
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex(std::string_view s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof(buf), "%02x", c);
    out += buf;
  }
  return out;
}

std::string FlagsName(int flags) {
  std::string s;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      s = "r";
      break;
    case O_WRONLY:
      s = "w";
      break;
    default:
      s = "rw";
      break;
  }
  if (flags & O_APPEND) s += "+append";
  if (flags & O_TRUNC) s += "+trunc";
  if (flags & O_CREAT) s += "+creat";
  return s;
}

bool Readable(int flags) { return (flags & O_ACCMODE) != O_WRONLY; }
bool Writable(int flags) { return (flags & O_ACCMODE) != O_RDONLY; }

struct Desc {
  int fd;
  int flags;
};

// One version the model expects rowfs to have stored.
struct Stored {
  uint64_t hash;
  uint64_t size;
  uint64_t op;  // the operation that stored it
  // Stored by the release of the last descriptor (a creation or O_TRUNC
  // not written since, or changes no close of a writable descriptor
  // stored). FUSE sends that release asynchronously: an open of the
  // same file that reaches rowfs first shares the still-open content, and
  // the store then merges into the next one. Such a version may be absent.
  bool uncertain;
};

struct File {
  std::string name, path;
  std::string data;  // the model: the file's content
  std::vector<Desc> fds;
  // FsxOptions::hold_open: a read-only descriptor held from creation to the
  // end, so that no close is the last one before then.
  int anchor = -1;
  // rowfs' pending state (README): written or truncated since the last
  // store (stored at any close), and created or truncated at open without a
  // write since (stored at the last close, or at fsync).
  bool dirty = false;
  bool deferred = false;
  std::vector<Stored> stored;
};

enum class Need {
  kAny,
  kReadable,
  kWritable,
  kAppend,
  kReadWrite,
  kMapWritable,  // O_RDWR without O_APPEND
  kMapReadable,  // readable, and not O_RDWR|O_APPEND
};

class Fsx {
 public:
  Fsx(std::string dir, uint64_t seed, uint64_t ops, const FsxOptions& o)
      : dir_(std::move(dir)), seed_(seed), ops_(ops), o_(o), rng_(seed) {
    page_ = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }

  FsxResult Run() {
    FsxResult r;
    const auto start = std::chrono::steady_clock::now();
    try {
      Setup();
      for (op_ = 1; op_ <= ops_; ++op_) {
        Step();
        r.ops_done = op_;
        if (o_.progress_every != 0 && o_.log != nullptr &&
            op_ % o_.progress_every == 0) {
          const double secs = std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
          *o_.log << "fsx: " << op_ << " of " << ops_ << " operations, " << secs
                  << " s\n"
                  << std::flush;
        }
      }
      op_ = ops_ + 1;
      Finish();
      r.ok = true;
      for (const File& f : files_) r.final_contents[f.name] = f.data;
    } catch (const Failure& f) {
      r.ok = false;
      r.report = Report(f.what);
      CloseAll();
    }
    r.versions_checked = versions_;
    r.checkpoints = checkpoints_;
    for (const File& f : files_) r.versions_stored += f.stored.size();
    r.op_counts = counts_;
    return r;
  }

 private:
  // ------------------------------------------------------------ plumbing

  [[noreturn]] void Fail(const std::string& what) { throw Failure{what}; }

  void Log(const std::string& text) {
    std::ostringstream os;
    os << "#" << op_ << " " << text;
    history_.push_back(os.str());
    while (history_.size() > std::max<size_t>(o_.history, 1)) {
      history_.pop_front();
    }
  }

  std::string Report(const std::string& what) const {
    std::ostringstream os;
    os << "fsx: FAILED with seed " << seed_ << " at operation " << op_;
    if (op_ > ops_) os << " (final checks)";
    os << " of " << ops_ << " in " << dir_ << "\n  " << what << "\n"
       << "last " << history_.size() << " operations:\n";
    for (const std::string& h : history_) os << "  " << h << "\n";
    os << "files:";
    for (const File& f : files_) {
      os << " " << f.name << "=" << f.data.size() << "B/" << f.fds.size()
         << "fd/" << f.stored.size() << "v";
    }
    os << "\nrerun: rowfs_fsx DIR --seed " << seed_ << " --ops " << ops_
       << " --files " << o_.files << " --fds " << o_.max_fds << " --maxlen "
       << o_.max_len << " --maxio " << o_.max_io
       << (o_.mmap ? "" : " --no-mmap")
       << (o_.append_mmap ? "" : " --no-append-mmap")
       << (o_.hold_open ? " --hold-open" : "")
       << (o_.settle_before_listing ? " --settle-before-listing" : "") << "\n";
    return os.str();
  }

  // The first difference between the model and what was read.
  void Compare(std::string_view want, std::string_view got, uint64_t file_off,
               const std::string& what) {
    if (want == got) return;
    size_t i = 0;
    while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
    const size_t from = i >= 8 ? i - 8 : 0;
    std::ostringstream os;
    os << what << ": " << got.size() << " bytes read, " << want.size()
       << " expected; first difference at file offset " << file_off + i
       << "\n    expected @" << file_off + from << ": "
       << Hex(want.substr(from, 24)) << "\n    read     @" << file_off + from
       << ": " << Hex(got.substr(std::min(from, got.size()), 24));
    Fail(os.str());
  }

  std::string Fill(size_t n) const {
    std::string s(n, '\0');
    const uint64_t salt = op_ * 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; ++i) {
      s[i] = static_cast<char>(1 + ((salt >> 17) + i * 131 + (i >> 8)) % 255);
    }
    return s;
  }

  // ------------------------------------------------------------ the model

  void Store(File& f, bool uncertain) {
    f.stored.push_back({Fnv1a(f.data), f.data.size(), op_, uncertain});
    f.dirty = f.deferred = false;
  }

  void ModelWrite(File& f, uint64_t off, std::string_view bytes) {
    if (off + bytes.size() > f.data.size())
      f.data.resize(off + bytes.size(), '\0');
    std::copy(bytes.begin(), bytes.end(),
              f.data.begin() + static_cast<long>(off));
    f.dirty = true;
  }

  void ModelTruncate(File& f, uint64_t size) {
    f.data.resize(size, '\0');
    f.dirty = true;
  }

  // A descriptor of `f` with `flags` was closed. rowfs stores pending writes
  // at the close (FLUSH) of a descriptor open for writing (read-only ones
  // are opened FOPEN_NOFLUSH: their close sends none), and whatever is
  // pending, a creation or O_TRUNC included, at the release of the last
  // descriptor.
  void ModelClose(File& f, int flags) {
    if (f.dirty && Writable(flags)) {
      Store(f, false);
    } else if ((f.dirty || f.deferred) && f.fds.empty() && f.anchor < 0) {
      Store(f, true);
    }
  }

  // ------------------------------------------------------------ descriptors

  bool Fits(const Desc& d, Need need) const {
    switch (need) {
      case Need::kAny:
        return true;
      case Need::kReadable:
        return Readable(d.flags);
      case Need::kWritable:
        return Writable(d.flags);
      case Need::kAppend:
        return Writable(d.flags) && (d.flags & O_APPEND);
      case Need::kReadWrite:
        return (d.flags & O_ACCMODE) == O_RDWR;
      case Need::kMapWritable:
        return (d.flags & O_ACCMODE) == O_RDWR && !(d.flags & O_APPEND);
      case Need::kMapReadable:
        return Readable(d.flags) &&
               !(Writable(d.flags) && (d.flags & O_APPEND));
    }
    return false;
  }

  int RandomFlags(Need need) {
    int acc;
    switch (need) {
      case Need::kReadable:
        acc = rng_.OneIn(2) ? O_RDONLY : O_RDWR;
        break;
      case Need::kWritable:
      case Need::kAppend:
        acc = rng_.OneIn(2) ? O_WRONLY : O_RDWR;
        break;
      case Need::kReadWrite:
        acc = O_RDWR;
        break;
      case Need::kMapWritable:
        return O_RDWR;
      case Need::kMapReadable:
        return rng_.OneIn(2) ? O_RDONLY : O_RDWR;
      default: {
        const uint64_t r = rng_.Below(3);
        acc = r == 0 ? O_RDONLY : r == 1 ? O_WRONLY : O_RDWR;
      }
    }
    int flags = acc;
    if (need == Need::kAppend || (Writable(acc) && rng_.OneIn(4))) {
      flags |= O_APPEND;
    }
    return flags;
  }

  // A descriptor of `f` fitting `need`, opening one when there is none.
  Desc& Pick(File& f, Need need) {
    std::vector<size_t> fitting;
    for (size_t i = 0; i < f.fds.size(); ++i) {
      if (Fits(f.fds[i], need)) fitting.push_back(i);
    }
    if (!fitting.empty()) return f.fds[fitting[rng_.Below(fitting.size())]];
    return OpenDesc(f, RandomFlags(need));
  }

  Desc& OpenDesc(File& f, int flags) {
    if (static_cast<int>(f.fds.size()) >= o_.max_fds) {
      CloseDesc(f, rng_.Below(f.fds.size()));
    }
    const int fd = open(f.path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
      Fail("open(" + f.name + ", " + FlagsName(flags) +
           "): " + ErrnoText(errno));
    }
    f.fds.push_back({fd, flags});
    if (flags & O_TRUNC) {
      f.data.clear();
      f.deferred = true;
    }
    Log("open " + f.name + " " + FlagsName(flags) + " -> fd " +
        std::to_string(fd));
    return f.fds.back();
  }

  void CloseDesc(File& f, size_t idx) {
    const Desc d = f.fds[idx];
    f.fds.erase(f.fds.begin() + static_cast<long>(idx));
    Log("close " + f.name + " fd " + std::to_string(d.fd) + " (" +
        FlagsName(d.flags) + "), " + std::to_string(f.fds.size()) + " left");
    if (close(d.fd) != 0) {
      Fail("close(" + f.name + " fd " + std::to_string(d.fd) +
           "): " + ErrnoText(errno));
    }
    ModelClose(f, d.flags);
    ReadBack(f, "after close");
  }

  // The whole file through a new descriptor must be the model.
  void ReadBack(File& f, const char* when) {
    const int fd = open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Fail("read-back open(" + f.name + "): " + ErrnoText(errno));
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) got.append(buf, n);
    const int err = n < 0 ? errno : 0;
    struct stat st;
    const int st_rc = fstat(fd, &st);
    close(fd);
    if (err != 0) Fail("read-back read(" + f.name + "): " + ErrnoText(err));
    // The read-back descriptor's close is a close too.
    ModelClose(f, O_RDONLY);
    Compare(f.data, got, 0, std::string("read-back of ") + f.name + " " + when);
    if (st_rc != 0 || static_cast<uint64_t>(st.st_size) != f.data.size()) {
      Fail("read-back fstat(" + f.name + "): size " +
           (st_rc != 0 ? ErrnoText(errno) : std::to_string(st.st_size)) +
           ", model " + std::to_string(f.data.size()));
    }
  }

  void CloseAll() {
    for (File& f : files_) {
      for (const Desc& d : f.fds) close(d.fd);
      f.fds.clear();
      if (f.anchor >= 0) close(f.anchor);
      f.anchor = -1;
    }
  }

  // ------------------------------------------------------------ set-up

  void Setup() {
    struct statfs sf;
    if (statfs(dir_.c_str(), &sf) != 0) {
      Fail("statfs(" + dir_ + "): " + ErrnoText(errno));
    }
    versions_ = o_.versions == FsxOptions::Versions::kOn ||
                (o_.versions == FsxOptions::Versions::kAuto &&
                 static_cast<long>(sf.f_type) == kFuseSuperMagic);
    if (versions_) {
      // A dataset policy keeps only the newest max_versions versions.
      const std::string dataset = dir_ + "/..";
      char buf[32];
      const ssize_t n = getxattr(dataset.c_str(), "user.rowfs.max_versions",
                                 buf, sizeof(buf));
      if (n > 0) {
        std::from_chars(buf, buf + n, version_limit_);
      }
    }
    const int files = std::clamp(o_.files, 1, 16);
    op_ = 0;
    for (int i = 0; i < files; ++i) {
      File f;
      f.name = "fsx" + std::to_string(i);
      f.path = dir_ + "/" + f.name;
      if (unlink(f.path.c_str()) != 0 && errno != ENOENT) {
        Fail("unlink(" + f.path + "): " + ErrnoText(errno));
      }
      files_.push_back(std::move(f));
    }
    for (File& f : files_) {
      const int flags = O_RDWR | O_CREAT | O_EXCL;
      const int fd = open(f.path.c_str(), flags | O_CLOEXEC, 0644);
      if (fd < 0) Fail("create " + f.path + ": " + ErrnoText(errno));
      f.fds.push_back({fd, O_RDWR});
      f.deferred = true;
      Log("create " + f.name + " -> fd " + std::to_string(fd));
      if (o_.hold_open) {
        f.anchor = open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (f.anchor < 0) Fail("open " + f.path + ": " + ErrnoText(errno));
        Log("hold " + f.name + " open: fd " + std::to_string(f.anchor));
      }
    }
  }

  void Finish() {
    Log("final: close everything and check");
    for (File& f : files_) {
      while (!f.fds.empty()) CloseDesc(f, f.fds.size() - 1);
      if (f.anchor >= 0) {
        Log("close " + f.name + " held fd " + std::to_string(f.anchor));
        if (close(f.anchor) != 0) Fail("close: " + ErrnoText(errno));
        f.anchor = -1;
        ModelClose(f, O_RDONLY);
      }
    }
    for (File& f : files_) {
      ReadBack(f, "at the end");
      if (versions_) Checkpoint(f);
    }
  }

  // ------------------------------------------------------------ operations

  // One random operation on a random file. Weights out of 100.
  void Step() {
    File& f = files_[rng_.Below(files_.size())];
    const uint64_t r = rng_.Below(100);
    struct Kind {
      uint64_t below;
      const char* name;
      void (Fsx::*fn)(File&);
    };
    static constexpr Kind kKinds[] = {
        {17, "read", &Fsx::DoRead},
        {21, "read_seq", &Fsx::DoReadSeq},
        {37, "write", &Fsx::DoWrite},
        {41, "write_seq", &Fsx::DoWriteSeq},
        {49, "append", &Fsx::DoAppend},
        {55, "truncate", &Fsx::DoTruncate},
        {57, "truncate_path", &Fsx::DoTruncatePath},
        {62, "map_read", &Fsx::DoMapRead},
        {66, "map_write", &Fsx::DoMapWrite},
        {70, "fsync", &Fsx::DoFsync},
        {78, "close", &Fsx::DoClose},
        {85, "open", &Fsx::DoOpen},
        {92, "reopen", &Fsx::DoReopen},
        {99, "stat", &Fsx::DoStat},
        {100, "stat_or_checkpoint", &Fsx::MaybeCheckpoint},
    };
    for (const Kind& k : kKinds) {
      if (r < k.below) {
        ++counts_[k.name];
        (this->*k.fn)(f);
        return;
      }
    }
  }

  // 1% of the operations: a version checkpoint every checkpoint_every
  // operations on average, otherwise a stat.
  void MaybeCheckpoint(File& f) {
    if (versions_ && o_.checkpoint_every != 0 &&
        rng_.OneIn(std::max<uint64_t>(o_.checkpoint_every / 100, 1))) {
      return Checkpoint(f);
    }
    DoStat(f);
  }

  std::string At(const File& f, const Desc& d) const {
    return f.name + " fd " + std::to_string(d.fd) + " (" + FlagsName(d.flags) +
           ")";
  }

  // `got` from a read of `len` bytes at `off` must be the model's bytes.
  void CheckRead(const File& f, uint64_t off, uint64_t len,
                 const std::string& got, const std::string& what) {
    const std::string_view want =
        off >= f.data.size() ? std::string_view()
                             : std::string_view(f.data).substr(off, len);
    Compare(want, got, off, what);
  }

  void DoRead(File& f) {
    Desc& d = Pick(f, Need::kReadable);
    const uint64_t size = f.data.size();
    // Now and then past the end.
    const uint64_t off =
        rng_.OneIn(10) ? size + rng_.Below(4096) : rng_.Below(size + 1);
    const uint64_t len = 1 + rng_.Below(o_.max_io);
    Log("pread " + At(f, d) + " off " + std::to_string(off) + " len " +
        std::to_string(len) + " (size " + std::to_string(size) + ")");
    std::string buf(len, '\0');
    const ssize_t n = pread(d.fd, buf.data(), len, static_cast<off_t>(off));
    if (n < 0) Fail("pread: " + ErrnoText(errno));
    buf.resize(static_cast<size_t>(n));
    CheckRead(f, off, len, buf, "pread");
  }

  void DoReadSeq(File& f) {
    Desc& d = Pick(f, Need::kReadable);
    const uint64_t size = f.data.size();
    const uint64_t off = rng_.Below(size + 1);
    const uint64_t len = 1 + rng_.Below(o_.max_io);
    Log("lseek+read " + At(f, d) + " off " + std::to_string(off) + " len " +
        std::to_string(len) + " (size " + std::to_string(size) + ")");
    const off_t pos = lseek(d.fd, static_cast<off_t>(off), SEEK_SET);
    if (pos != static_cast<off_t>(off)) Fail("lseek: " + ErrnoText(errno));
    std::string buf(len, '\0');
    const ssize_t n = read(d.fd, buf.data(), len);
    if (n < 0) Fail("read: " + ErrnoText(errno));
    buf.resize(static_cast<size_t>(n));
    CheckRead(f, off, len, buf, "read");
    const off_t now = lseek(d.fd, 0, SEEK_CUR);
    if (now != static_cast<off_t>(off + static_cast<uint64_t>(n))) {
      Fail("offset after read: " + std::to_string(now) + ", expected " +
           std::to_string(off + static_cast<uint64_t>(n)));
    }
  }

  // Offset and length of a write within max_len. An O_APPEND descriptor
  // writes at the end: when that would pass max_len, the file is shrunk
  // first (through the same descriptor).
  std::pair<uint64_t, uint64_t> WriteRange(File& f, const Desc& d) {
    const uint64_t len = 1 + rng_.Below(std::min(o_.max_io, o_.max_len));
    if (!(d.flags & O_APPEND)) return {rng_.Below(o_.max_len - len + 1), len};
    if (f.data.size() + len > o_.max_len) {
      const uint64_t size = rng_.Below(o_.max_len - len + 1);
      Log("ftruncate " + At(f, d) + " to " + std::to_string(size) + " (size " +
          std::to_string(f.data.size()) + ") to make room");
      if (ftruncate(d.fd, static_cast<off_t>(size)) != 0) {
        Fail("ftruncate: " + ErrnoText(errno));
      }
      ModelTruncate(f, size);
    }
    return {f.data.size(), len};
  }

  void DoWrite(File& f) {
    Desc& d = Pick(f, Need::kWritable);
    const auto [off, len] = WriteRange(f, d);
    // pwrite on an O_APPEND descriptor appends (Linux), whatever the offset.
    const uint64_t asked = (d.flags & O_APPEND) ? rng_.Below(o_.max_len) : off;
    Log("pwrite " + At(f, d) + " off " + std::to_string(asked) + " len " +
        std::to_string(len) + " (size " + std::to_string(f.data.size()) +
        ((d.flags & O_APPEND) ? ", appends" : "") + ")");
    const std::string bytes = Fill(len);
    const ssize_t n =
        pwrite(d.fd, bytes.data(), len, static_cast<off_t>(asked));
    if (n != static_cast<ssize_t>(len)) {
      Fail("pwrite returned " + std::to_string(n) +
           (n < 0 ? ": " + ErrnoText(errno) : ""));
    }
    ModelWrite(f, off, bytes);
  }

  void DoWriteSeq(File& f) {
    Desc& d = Pick(f, Need::kWritable);
    const auto [off, len] = WriteRange(f, d);
    Log("lseek+write " + At(f, d) + " off " + std::to_string(off) + " len " +
        std::to_string(len) + " (size " + std::to_string(f.data.size()) + ")");
    if (lseek(d.fd, static_cast<off_t>(off), SEEK_SET) !=
        static_cast<off_t>(off)) {
      Fail("lseek: " + ErrnoText(errno));
    }
    const std::string bytes = Fill(len);
    const ssize_t n = write(d.fd, bytes.data(), len);
    if (n != static_cast<ssize_t>(len)) {
      Fail("write returned " + std::to_string(n) +
           (n < 0 ? ": " + ErrnoText(errno) : ""));
    }
    ModelWrite(f, off, bytes);
    const off_t now = lseek(d.fd, 0, SEEK_CUR);
    if (now != static_cast<off_t>(off + len)) {
      Fail("offset after write: " + std::to_string(now) + ", expected " +
           std::to_string(off + len));
    }
  }

  void DoAppend(File& f) {
    Desc& d = Pick(f, Need::kAppend);
    const auto [off, len] = WriteRange(f, d);
    Log("append " + At(f, d) + " len " + std::to_string(len) + " (size " +
        std::to_string(off) + ")");
    const std::string bytes = Fill(len);
    const ssize_t n = write(d.fd, bytes.data(), len);
    if (n != static_cast<ssize_t>(len)) {
      Fail("write returned " + std::to_string(n) +
           (n < 0 ? ": " + ErrnoText(errno) : ""));
    }
    ModelWrite(f, off, bytes);
    const off_t now = lseek(d.fd, 0, SEEK_CUR);
    if (now != static_cast<off_t>(f.data.size())) {
      Fail("offset after an O_APPEND write: " + std::to_string(now) +
           ", expected the size " + std::to_string(f.data.size()));
    }
  }

  uint64_t NewSize(const File& f) {
    const uint64_t size = f.data.size();
    if (rng_.OneIn(10)) return 0;
    if (rng_.OneIn(2)) return rng_.Below(size + 1);  // shrink (or same)
    return size + rng_.Below(o_.max_len - std::min(size, o_.max_len) + 1);
  }

  void DoTruncate(File& f) {
    Desc& d = Pick(f, Need::kWritable);
    const uint64_t size = NewSize(f);
    Log("ftruncate " + At(f, d) + " to " + std::to_string(size) + " (size " +
        std::to_string(f.data.size()) + ")");
    if (ftruncate(d.fd, static_cast<off_t>(size)) != 0) {
      Fail("ftruncate: " + ErrnoText(errno));
    }
    ModelTruncate(f, size);
  }

  void DoTruncatePath(File& f) {
    // truncate(2) while a descriptor is open: the open file takes it, like a
    // ftruncate. (Without one, rowfs stores at once and only if the size
    // changes: not modelled, as a closing descriptor may still be open.)
    if (f.fds.empty()) return DoTruncate(f);
    const uint64_t size = NewSize(f);
    Log("truncate " + f.name + " to " + std::to_string(size) + " (size " +
        std::to_string(f.data.size()) + ", " + std::to_string(f.fds.size()) +
        " fds open)");
    if (truncate(f.path.c_str(), static_cast<off_t>(size)) != 0) {
      Fail("truncate: " + ErrnoText(errno));
    }
    ModelTruncate(f, size);
  }

  void DoMapRead(File& f) {
    if (!o_.mmap) return DoRead(f);
    const uint64_t size = f.data.size();
    if (size == 0) {
      Log("mapread " + f.name + ": skipped, empty");
      return;
    }
    // A shared mapping of a writable descriptor may write back through it
    // (the kernel picks any descriptor mapped writable).
    Desc& d = Pick(f, o_.append_mmap ? Need::kReadable : Need::kMapReadable);
    const uint64_t off = rng_.Below(size);
    const uint64_t len = 1 + rng_.Below(std::min(o_.max_io, size - off));
    const uint64_t pg = off - off % page_;
    const size_t map_len = static_cast<size_t>(off + len - pg);
    Log("mapread " + At(f, d) + " off " + std::to_string(off) + " len " +
        std::to_string(len) + " (size " + std::to_string(size) + ")");
    void* p = mmap(nullptr, map_len, PROT_READ, MAP_SHARED, d.fd,
                   static_cast<off_t>(pg));
    if (p == MAP_FAILED) Fail("mmap(PROT_READ): " + ErrnoText(errno));
    const std::string got(static_cast<char*>(p) + (off - pg), len);
    munmap(p, map_len);
    CheckRead(f, off, len, got, "mapread");
  }

  void DoMapWrite(File& f) {
    if (!o_.mmap) return DoWrite(f);
    Desc& d = Pick(f, o_.append_mmap ? Need::kReadWrite : Need::kMapWritable);
    const uint64_t off = rng_.Below(o_.max_len);
    const uint64_t len = 1 + rng_.Below(std::min(o_.max_io, o_.max_len - off));
    const uint64_t pg = off - off % page_;
    const size_t map_len = static_cast<size_t>(off + len - pg);
    Log("mapwrite " + At(f, d) + " off " + std::to_string(off) + " len " +
        std::to_string(len) + " (size " + std::to_string(f.data.size()) + ")");
    if (off + len > f.data.size()) {
      // A mapping reaches only to the end of the file: grow it first.
      Log("  ftruncate fd " + std::to_string(d.fd) + " to " +
          std::to_string(off + len) + " for the mapping");
      if (ftruncate(d.fd, static_cast<off_t>(off + len)) != 0) {
        Fail("ftruncate before mapwrite: " + ErrnoText(errno));
      }
      ModelTruncate(f, off + len);
    }
    void* p = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, d.fd,
                   static_cast<off_t>(pg));
    if (p == MAP_FAILED) Fail("mmap(PROT_WRITE): " + ErrnoText(errno));
    const std::string bytes = Fill(len);
    std::memcpy(static_cast<char*>(p) + (off - pg), bytes.data(), len);
    const int rc = msync(p, map_len, MS_SYNC);
    const int err = errno;
    munmap(p, map_len);
    if (rc != 0) Fail("msync: " + ErrnoText(err));
    ModelWrite(f, off, bytes);
    // msync(MS_SYNC) ends in an fsync of the file: rowfs stores then.
    Store(f, false);
  }

  void DoFsync(File& f) {
    Desc& d = Pick(f, Need::kAny);
    const bool data_only = rng_.OneIn(2);
    Log(std::string(data_only ? "fdatasync " : "fsync ") + At(f, d));
    if ((data_only ? fdatasync(d.fd) : fsync(d.fd)) != 0) {
      Fail("fsync: " + ErrnoText(errno));
    }
    // rowfs stores whatever is pending, creation and O_TRUNC included.
    if (f.dirty || f.deferred) Store(f, false);
  }

  void DoClose(File& f) {
    if (f.fds.empty()) return DoOpen(f);
    CloseDesc(f, rng_.Below(f.fds.size()));
  }

  void DoOpen(File& f) {
    int flags = RandomFlags(Need::kAny);
    if (Writable(flags) && rng_.OneIn(10)) flags |= O_TRUNC;
    OpenDesc(f, flags);
  }

  void DoReopen(File& f) {
    if (f.fds.empty()) return DoOpen(f);
    const size_t idx = rng_.Below(f.fds.size());
    int flags = f.fds[idx].flags & ~O_TRUNC;
    CloseDesc(f, idx);
    if (Writable(flags) && rng_.OneIn(4)) flags |= O_TRUNC;
    OpenDesc(f, flags);
  }

  void DoStat(File& f) {
    struct stat st;
    if (!f.fds.empty()) {
      const Desc& d = f.fds[rng_.Below(f.fds.size())];
      Log("fstat " + At(f, d) + " (size " + std::to_string(f.data.size()) +
          ")");
      if (fstat(d.fd, &st) != 0) Fail("fstat: " + ErrnoText(errno));
    } else {
      Log("stat " + f.name + " (size " + std::to_string(f.data.size()) + ")");
      if (stat(f.path.c_str(), &st) != 0) Fail("stat: " + ErrnoText(errno));
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        static_cast<uint64_t>(st.st_size) != f.data.size()) {
      std::ostringstream os;
      os << "stat: mode " << std::oct << st.st_mode << std::dec << " nlink "
         << st.st_nlink << " size " << st.st_size << ", model size "
         << f.data.size();
      Fail(os.str());
    }
  }

  // ------------------------------------------------------------ versions

  std::string ReadAll(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Fail("open(" + path + "): " + ErrnoText(errno));
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) got.append(buf, n);
    const int err = n < 0 ? errno : 0;
    close(fd);
    if (err != 0) Fail("read(" + path + "): " + ErrnoText(err));
    return got;
  }

  // Whether the listed versions (newest first) are, in order, the model's
  // stores (newest first) with only uncertain ones left out.
  static bool Matches(const std::vector<uint64_t>& listed, size_t i,
                      const std::vector<Stored>& want, size_t j, int budget) {
    if (i == listed.size()) return true;
    if (j == want.size() || budget < 0) return false;
    if (want[j].hash == listed[i] &&
        Matches(listed, i + 1, want, j + 1, budget)) {
      return true;
    }
    return want[j].uncertain && Matches(listed, i, want, j + 1, budget - 1);
  }

  // Settles `f` (fsync, close everything) and checks its versions: their
  // number, their order and the content of the newest few.
  void Checkpoint(File& f) {
    ++checkpoints_;
    Log("checkpoint " + f.name + ": " + std::to_string(f.stored.size()) +
        " stores so far");
    if (!f.fds.empty() || f.anchor >= 0) {
      const int fd = f.anchor >= 0 ? f.anchor : f.fds.front().fd;
      if (fsync(fd) != 0) Fail("fsync: " + ErrnoText(errno));
      if (f.dirty || f.deferred) Store(f, false);
      while (!f.fds.empty()) CloseDesc(f, f.fds.size() - 1);
    }
    // A store at the release of the last descriptor may still be on its
    // way (FUSE releases asynchronously); an fsync through a new
    // descriptor stores it now if so.
    const int fd = open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Fail("checkpoint open: " + ErrnoText(errno));
    const int rc = fsync(fd);
    const int err = errno;
    close(fd);
    if (rc != 0) Fail("checkpoint fsync: " + ErrnoText(err));

    if (o_.settle_before_listing) {
      for (File& other : files_) {
        const int ofd = other.anchor >= 0   ? other.anchor
                        : other.fds.empty() ? -1
                                            : other.fds.front().fd;
        if (&other == &f || ofd < 0 || !(other.dirty || other.deferred))
          continue;
        Log("fsync " + other.name + " fd " + std::to_string(ofd) +
            " before listing");
        if (fsync(ofd) != 0) Fail("fsync: " + ErrnoText(errno));
        Store(other, false);
      }
    }
    // The listing: "name" and "name@ts", newest first.
    DIR* dir = opendir(dir_.c_str());
    if (dir == nullptr) Fail("opendir: " + ErrnoText(errno));
    bool has_latest = false;
    std::vector<uint64_t> ts;
    const std::string prefix = f.name + "@";
    while (dirent* e = readdir(dir)) {
      const std::string_view n = e->d_name;
      if (n == f.name) {
        has_latest = true;
      } else if (n.starts_with(prefix)) {
        uint64_t t = 0;
        const std::string_view digits = n.substr(prefix.size());
        auto [p, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), t);
        if (ec != std::errc() || p != digits.data() + digits.size()) {
          Fail("unexpected entry " + std::string(n));
        }
        ts.push_back(t);
      }
    }
    closedir(dir);
    if (!has_latest) Fail(f.name + " is not listed");
    for (size_t i = 1; i < ts.size(); ++i) {
      if (ts[i] >= ts[i - 1]) {
        Fail("versions of " + f.name + " not listed newest first: " +
             std::to_string(ts[i - 1]) + " then " + std::to_string(ts[i]));
      }
    }
    size_t uncertain = 0;
    for (const Stored& s : f.stored) uncertain += s.uncertain ? 1 : 0;
    uint64_t hi = f.stored.size();
    uint64_t lo = hi - uncertain;
    if (version_limit_ != 0) {
      hi = std::min(hi, version_limit_);
      lo = std::min(lo, version_limit_);
    }
    const uint64_t count = 1 + ts.size();
    if (count < lo || count > hi) {
      std::ostringstream os;
      os << f.name << " has " << count << " versions, expected " << lo;
      if (hi != lo) os << " to " << hi;
      os << " (" << f.stored.size() << " stores, " << uncertain
         << " of them at a last close)";
      Fail(os.str());
    }
    // The latest is the model; its time is after every older version.
    const std::string latest = ReadAll(f.path);
    Compare(f.data, latest, 0, "checkpoint: " + f.name);
    struct stat st;
    if (stat(f.path.c_str(), &st) != 0) Fail("stat: " + ErrnoText(errno));
    const uint64_t mtime = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000 +
                           static_cast<uint64_t>(st.st_mtim.tv_nsec) / 1000000;
    if (!ts.empty() && mtime <= ts[0]) {
      Fail(f.name + " mtime " + std::to_string(mtime) +
           " is not after its newest older version " + std::to_string(ts[0]));
    }
    // The newest few versions hold the model's last stores, in order.
    std::vector<uint64_t> listed = {Fnv1a(latest)};
    std::vector<uint64_t> sizes = {latest.size()};
    for (size_t i = 0; i < ts.size() && i < 6; ++i) {
      const std::string v = ReadAll(f.path + "@" + std::to_string(ts[i]));
      listed.push_back(Fnv1a(v));
      sizes.push_back(v.size());
    }
    std::vector<Stored> want(f.stored.rbegin(), f.stored.rend());
    if (!Matches(listed, 0, want, 0, 64)) {
      std::ostringstream os;
      os << "versions of " << f.name
         << " (newest first) are not the stored contents:\n    listed sizes:";
      for (uint64_t s : sizes) os << " " << s;
      os << "\n    stored sizes:";
      for (size_t i = 0; i < want.size() && i < 10; ++i) {
        os << " " << want[i].size << (want[i].uncertain ? "?" : "") << "(#"
           << want[i].op << ")";
      }
      Fail(os.str());
    }
  }

  const std::string dir_;
  const uint64_t seed_, ops_;
  const FsxOptions o_;
  Rng rng_;
  uint64_t page_ = 4096;
  uint64_t op_ = 0;
  bool versions_ = false;
  uint64_t version_limit_ = 0;
  uint64_t checkpoints_ = 0;
  std::vector<File> files_;
  std::deque<std::string> history_;
  std::map<std::string, uint64_t> counts_;
};

}  // namespace

FsxResult RunFsx(const std::string& dir, uint64_t seed, uint64_t ops,
                 const FsxOptions& options) {
  Fsx fsx(dir, seed, ops, options);
  return fsx.Run();
}

}  // namespace rowfs
