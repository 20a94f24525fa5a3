// fs_bench: the file-system driver of scripts/bench-fs.sh. It runs one phase
// of plain system calls against one directory and prints one result line, so
// that the same binary measures rowfs, libfuse's passthrough_ll, ext4 and
// tmpfs. It knows nothing about rowfs: only --stats reads rowfs's
// user.rowfs.stats attribute (with getxattr) around the timed part, to count
// the FUSE requests of each kind that the phase caused.
//
//   fs_bench PHASE DIR [options]
//
// Shapes (the files a phase works on):
//   --shape row    DIR/c0000 .. : --files files (default 10000) in DIR
//                  (rowfs: DIR is a row, the files are its columns)
//   --shape grid   DIR/r000/c000 .. : --dirs directories (default 100) of
//                  --files files each (default 100) (rowfs: DIR is a dataset,
//                  the directories are rows)
//
// Phases (single-threaded unless said otherwise):
//   mkdir       makes the --dirs directories of the grid shape (ops/s)
//   create      open(O_CREAT|O_EXCL|O_WRONLY) + write --value-bytes + close
//   stat        lstat of every file
//   cat         open(O_RDONLY) + read until EOF + close of every file; checks
//               the size
//   overwrite   open(O_WRONLY|O_TRUNC) + write (new bytes) + close
//   unlink      unlink of every file
//   readdir     names only: getdents64 over each directory (entries/s);
//               checks the count
//   ls-l        getdents64 + lstat of every entry, as `ls -l` (entries/s)
//   seqwrite    creates DIR/seq with --size-mib MiB in --block-kib requests,
//               timed up to and including close (MiB/s); no fsync; also
//               prints the time of the close alone (close_seconds=)
//   seqread     reads DIR/seq in --block-kib requests (MiB/s); checks the size
//   par-create  --threads threads (default 4), each creating --files/threads
//               files in its own directory DIR/t<i> (made untimed first);
//               total ops/s from a common start to the last thread's end
//
// Options:
//   --warmup         one untimed pass of the same operation first (warm runs)
//   --value-bytes N  file size for create/overwrite (default 100)
//   --stats PATH     getxattr(PATH, "user.rowfs.stats") before and after the
//                    timed part; prints the differences of the ops_* counters
//                    as req_<kind>=N (one getxattr is not counted)
//
// Output, one line on stdout:
//   phase=create ops=10000 seconds=1.234567 rate=8100.3 unit=ops/s [req_...]
// (ops counts operations, entries or requests; rate is per second of the
// unit, which for seqwrite/seqread is MiB)
// Any failed call prints the path and errno on stderr and exits 1.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Config {
  std::string phase;
  std::string dir;
  std::string shape = "row";
  uint64_t dirs = 100;
  uint64_t files = 0;  // 0: the shape's default
  uint64_t threads = 4;
  uint64_t size_mib = 256;
  uint64_t block_kib = 1024;
  uint64_t value_bytes = 100;
  bool warmup = false;
  std::string stats;
};

[[noreturn]] void Die(const std::string& what, const std::string& path,
                      int err) {
  std::fprintf(stderr, "fs_bench: %s %s: %s\n", what.c_str(), path.c_str(),
               std::strerror(err));
  std::exit(1);
}

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr,
               "fs_bench: %s\n"
               "usage: fs_bench PHASE DIR [--shape row|grid] [--dirs N] "
               "[--files N] [--threads N]\n"
               "       [--size-mib N] [--block-kib N] [--value-bytes N] "
               "[--warmup] [--stats PATH]\n"
               "phases: mkdir create stat cat overwrite unlink readdir ls-l "
               "seqwrite seqread par-create\n",
               msg);
  std::exit(2);
}

uint64_t ParseCount(const char* flag, const char* v) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n == 0) {
    std::fprintf(stderr, "fs_bench: %s needs a positive number, got '%s'\n",
                 flag, v);
    std::exit(2);
  }
  return n;
}

Config ParseArgs(int argc, char** argv) {
  Config c;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage("missing value after an option");
      return argv[++i];
    };
    if (a == "--shape") {
      c.shape = value();
    } else if (a == "--dirs") {
      c.dirs = ParseCount("--dirs", value());
    } else if (a == "--files") {
      c.files = ParseCount("--files", value());
    } else if (a == "--threads") {
      c.threads = ParseCount("--threads", value());
    } else if (a == "--size-mib") {
      c.size_mib = ParseCount("--size-mib", value());
    } else if (a == "--block-kib") {
      c.block_kib = ParseCount("--block-kib", value());
    } else if (a == "--value-bytes") {
      c.value_bytes = ParseCount("--value-bytes", value());
    } else if (a == "--warmup") {
      c.warmup = true;
    } else if (a == "--stats") {
      c.stats = value();
    } else if (a.starts_with("--")) {
      Usage("unknown option");
    } else {
      positional.emplace_back(a);
    }
  }
  if (positional.size() != 2) Usage("need PHASE and DIR");
  c.phase = positional[0];
  c.dir = positional[1];
  if (c.shape != "row" && c.shape != "grid") Usage("--shape is row or grid");
  if (c.files == 0) c.files = c.shape == "grid" ? 100 : 10000;
  return c;
}

// Zero-padded names, as wide as the largest index needs (at least 3 digits),
// so that listings come back in creation order on ordered filesystems.
std::string Name(char prefix, uint64_t i, uint64_t count) {
  size_t width = 3;
  for (uint64_t n = count - 1; n >= 1000; n /= 10) ++width;
  const std::string digits = std::to_string(i);
  std::string out(1, prefix);
  if (digits.size() < width) out.append(width - digits.size(), '0');
  return out + digits;
}

std::vector<std::string> Dirs(const Config& c) {
  std::vector<std::string> out;
  if (c.shape == "row") {
    out.push_back(c.dir);
  } else {
    for (uint64_t d = 0; d < c.dirs; ++d)
      out.push_back(c.dir + "/" + Name('r', d, c.dirs));
  }
  return out;
}

std::vector<std::string> Files(const Config& c) {
  std::vector<std::string> names;
  names.reserve(c.files);
  for (uint64_t f = 0; f < c.files; ++f) names.push_back(Name('c', f, c.files));
  std::vector<std::string> out;
  for (const std::string& d : Dirs(c)) {
    for (const std::string& n : names) out.push_back(d + "/" + n);
  }
  return out;
}

// db_bench-like content: 50 random printable bytes repeated (compresses to
// about half), so neither side profits from trivially compressible data.
std::string Content(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> printable(' ', '~');
  std::string out;
  out.reserve(size + 100);
  while (out.size() < size) {
    std::string piece(50, ' ');
    for (char& ch : piece) ch = static_cast<char>(printable(rng));
    out += piece;
    out += piece;
  }
  out.resize(size);
  return out;
}

void WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("write", path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void WriteFile(const std::string& path, int flags, const std::string& value) {
  const int fd = open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) Die("open", path, errno);
  WriteAll(fd, value.data(), value.size(), path);
  if (close(fd) != 0) Die("close", path, errno);
}

// Reads the whole file; returns its size.
uint64_t ReadFile(const std::string& path, std::vector<char>* buf) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open", path, errno);
  uint64_t total = 0;
  while (true) {
    const ssize_t n = read(fd, buf->data(), buf->size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("read", path, errno);
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
  }
  if (close(fd) != 0) Die("close", path, errno);
  return total;
}

// struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type,
// then the NUL-terminated name.
constexpr size_t kDirentReclen = 16;
constexpr size_t kDirentName = 19;

// Calls fn(name) for every entry of dir except "." and ".." using raw
// getdents64 with a 32 KiB buffer (glibc's readdir buffer size). fn gets the
// directory's descriptor too. Returns the number of entries.
uint64_t ListDir(const std::string& dir,
                 const std::function<void(int, const char*)>& fn) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) Die("open", dir, errno);
  alignas(8) static char buf[32768];
  uint64_t count = 0;
  while (true) {
    const long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("getdents64", dir, errno);
    }
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      unsigned short reclen;
      std::memcpy(&reclen, buf + pos + kDirentReclen, sizeof reclen);
      const char* name = buf + pos + kDirentName;
      pos += reclen;
      if (name[0] == '.' &&
          (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
        continue;
      }
      ++count;
      if (fn) fn(fd, name);
    }
  }
  if (close(fd) != 0) Die("close", dir, errno);
  return count;
}

// rowfs's per-kind request counters (ops_<kind>=N lines of user.rowfs.stats).
std::map<std::string, int64_t> ReadStats(const std::string& path) {
  std::map<std::string, int64_t> out;
  if (path.empty()) return out;
  std::string buf(65536, '\0');
  const ssize_t n =
      getxattr(path.c_str(), "user.rowfs.stats", buf.data(), buf.size());
  if (n < 0) Die("getxattr user.rowfs.stats", path, errno);
  buf.resize(static_cast<size_t>(n));
  size_t pos = 0;
  while (pos < buf.size()) {
    size_t end = buf.find('\n', pos);
    if (end == std::string::npos) end = buf.size();
    const std::string line = buf.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = line.find('=');
    if (line.rfind("ops_", 0) != 0 || eq == std::string::npos) continue;
    out[line.substr(4, eq - 4)] =
        std::strtoll(line.c_str() + eq + 1, nullptr, 10);
  }
  return out;
}

using Clock = std::chrono::steady_clock;

struct Result {
  explicit Result(uint64_t n = 0) : ops(n) {}
  uint64_t ops;
  double seconds = 0;
  const char* unit = "ops/s";
  double amount = 0;  // what the rate counts (ops, entries or MiB)
  std::string extra;  // more " key=value" fields
};

// Runs `pass` untimed first when warming up, then once timed between two
// reads of the stats counters; prints the result line.
void Measure(const Config& c, const std::function<Result()>& pass) {
  if (c.warmup) pass();
  const auto before = ReadStats(c.stats);
  const auto start = Clock::now();
  Result r = pass();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto after = ReadStats(c.stats);
  if (r.amount == 0) r.amount = static_cast<double>(r.ops);
  std::printf("phase=%s ops=%llu seconds=%.6f rate=%.1f unit=%s",
              c.phase.c_str(), static_cast<unsigned long long>(r.ops),
              r.seconds, r.seconds > 0 ? r.amount / r.seconds : 0.0, r.unit);
  std::printf("%s", r.extra.c_str());
  if (!c.stats.empty()) {
    std::map<std::string, int64_t> diff;
    for (const auto& [k, v] : after) {
      auto it = before.find(k);
      diff[k] = v - (it == before.end() ? 0 : it->second);
    }
    // One of the two reads is counted (which one depends on when rowfs
    // counts); it is not the phase's.
    if (diff.contains("xattr")) --diff["xattr"];
    for (const auto& [k, v] : diff) {
      if (v != 0)
        std::printf(" req_%s=%lld", k.c_str(), static_cast<long long>(v));
    }
  }
  std::printf("\n");
}

void MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0) Die("mkdir", path, errno);
}

int Run(const Config& c) {
  const std::string& p = c.phase;
  if (c.warmup && p != "stat" && p != "cat" && p != "readdir" && p != "ls-l" &&
      p != "seqread") {
    Usage("--warmup is for the read-only phases");
  }
  if (p == "mkdir") {
    if (c.shape != "grid") Usage("mkdir is for --shape grid");
    const std::vector<std::string> dirs = Dirs(c);
    Measure(c, [&] {
      for (const std::string& d : dirs) MakeDir(d);
      return Result{dirs.size()};
    });
    return 0;
  }
  if (p == "create" || p == "overwrite") {
    const std::vector<std::string> files = Files(c);
    const std::string value = Content(c.value_bytes, p == "create" ? 1 : 2);
    const int flags = p == "create" ? O_CREAT | O_EXCL : O_TRUNC;
    Measure(c, [&] {
      for (const std::string& f : files) WriteFile(f, flags, value);
      return Result{files.size()};
    });
    return 0;
  }
  if (p == "stat") {
    const std::vector<std::string> files = Files(c);
    Measure(c, [&] {
      struct stat st;
      for (const std::string& f : files) {
        if (lstat(f.c_str(), &st) != 0) Die("lstat", f, errno);
      }
      return Result{files.size()};
    });
    return 0;
  }
  if (p == "cat") {
    const std::vector<std::string> files = Files(c);
    std::vector<char> buf(65536);
    Measure(c, [&] {
      for (const std::string& f : files) {
        const uint64_t n = ReadFile(f, &buf);
        if (n != c.value_bytes) {
          std::fprintf(stderr, "fs_bench: %s holds %llu bytes, expected %llu\n",
                       f.c_str(), static_cast<unsigned long long>(n),
                       static_cast<unsigned long long>(c.value_bytes));
          std::exit(1);
        }
      }
      return Result{files.size()};
    });
    return 0;
  }
  if (p == "unlink") {
    const std::vector<std::string> files = Files(c);
    Measure(c, [&] {
      for (const std::string& f : files) {
        if (unlink(f.c_str()) != 0) Die("unlink", f, errno);
      }
      return Result{files.size()};
    });
    return 0;
  }
  if (p == "readdir" || p == "ls-l") {
    const std::vector<std::string> dirs = Dirs(c);
    const bool with_stat = p == "ls-l";
    Measure(c, [&] {
      uint64_t entries = 0;
      for (const std::string& d : dirs) {
        std::function<void(int, const char*)> fn;
        if (with_stat) {
          fn = [&d](int dirfd, const char* name) {
            struct stat st;
            if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
              Die("lstat", d + "/" + name, errno);
            }
          };
        }
        const uint64_t n = ListDir(d, fn);
        if (n != c.files) {
          std::fprintf(stderr,
                       "fs_bench: %s lists %llu entries, expected %llu\n",
                       d.c_str(), static_cast<unsigned long long>(n),
                       static_cast<unsigned long long>(c.files));
          std::exit(1);
        }
        entries += n;
      }
      Result r{entries};
      r.unit = "entries/s";
      return r;
    });
    return 0;
  }
  if (p == "seqwrite" || p == "seqread") {
    const std::string path = c.dir + "/seq";
    const size_t block = c.block_kib << 10;
    const uint64_t total = c.size_mib << 20;
    const std::string data = Content(block, 3);
    std::vector<char> buf(block);
    Measure(c, [&] {
      uint64_t done = 0, requests = 0;
      double close_seconds = 0;
      if (p == "seqwrite") {
        const int fd =
            open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) Die("open", path, errno);
        for (; done < total; ++requests) {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(block, total - done));
          WriteAll(fd, data.data(), n, path);
          done += n;
        }
        const auto close_start = Clock::now();
        if (close(fd) != 0) Die("close", path, errno);
        close_seconds =
            std::chrono::duration<double>(Clock::now() - close_start).count();
      } else {
        const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) Die("open", path, errno);
        while (true) {
          const ssize_t n = read(fd, buf.data(), buf.size());
          if (n < 0) {
            if (errno == EINTR) continue;
            Die("read", path, errno);
          }
          if (n == 0) break;
          done += static_cast<uint64_t>(n);
          ++requests;
        }
        if (close(fd) != 0) Die("close", path, errno);
        if (done != total) {
          std::fprintf(stderr,
                       "fs_bench: read %llu bytes of %s, expected %llu\n",
                       static_cast<unsigned long long>(done), path.c_str(),
                       static_cast<unsigned long long>(total));
          std::exit(1);
        }
      }
      Result r{requests};
      r.unit = "MiB/s";
      r.amount = static_cast<double>(done) / (1 << 20);
      if (p == "seqwrite")
        r.extra = " close_seconds=" + std::to_string(close_seconds);
      return r;
    });
    return 0;
  }
  if (p == "par-create") {
    const uint64_t per_thread = c.files / c.threads;
    if (per_thread == 0) Usage("--files must be at least --threads");
    std::vector<std::vector<std::string>> work(c.threads);
    for (uint64_t t = 0; t < c.threads; ++t) {
      const std::string d = c.dir + "/" + Name('t', t, c.threads);
      MakeDir(d);
      for (uint64_t f = 0; f < per_thread; ++f) {
        work[t].push_back(d + "/" + Name('c', f, per_thread));
      }
    }
    const std::string value = Content(c.value_bytes, 4);
    Measure(c, [&] {
      std::barrier start(static_cast<std::ptrdiff_t>(c.threads + 1));
      std::vector<std::thread> threads;
      for (uint64_t t = 0; t < c.threads; ++t) {
        threads.emplace_back([&, t] {
          start.arrive_and_wait();
          for (const std::string& f : work[t])
            WriteFile(f, O_CREAT | O_EXCL, value);
        });
      }
      // The clock started before the threads were spawned; release them at
      // once so that spawning them is all the overhead there is.
      start.arrive_and_wait();
      for (std::thread& th : threads) th.join();
      return Result{per_thread * c.threads};
    });
    return 0;
  }
  Usage("unknown phase");
}

}  // namespace

int main(int argc, char** argv) {
  const Config c = ParseArgs(argc, argv);
  return Run(c);
}
