// Real shell tools (sed, mv, tar, rsync, cp, kill, fusermount3, find, ls) on
// real rowfs mounts: what users and backup scripts actually do.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "mount_fixture.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

uint64_t MtimeMs(const struct stat& st) {
  return static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000 +
         static_cast<uint64_t>(st.st_mtim.tv_nsec) / 1000000;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

size_t CountLines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

bool Poll(const std::function<bool()>& done, std::chrono::milliseconds max) {
  const auto deadline = std::chrono::steady_clock::now() + max;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Raw readdir order, without "." and "..", duplicates kept.
std::vector<std::string> RawList(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

// Pids of live rowfs processes started as `ROWFS_BINARY ... <mountpoint>`
// (the daemonized child keeps its parent's argv).
std::vector<pid_t> RowfsProcessesFor(const std::string& mountpoint) {
  std::vector<pid_t> pids;
  for (const std::string& entry : RawList("/proc")) {
    if (entry.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = Slurp("/proc/" + entry + "/cmdline");
    std::vector<std::string> args;
    std::string cur;
    for (char c : cmdline) {
      if (c == '\0') {
        args.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    if (!cur.empty()) args.push_back(cur);
    if (args.size() >= 3 && args[0] == ROWFS_BINARY &&
        args.back() == mountpoint) {
      pids.push_back(static_cast<pid_t>(std::stol(entry)));
    }
  }
  return pids;
}

// Unmounts `path` at scope exit if a test left something mounted there (a
// failed expectation must not leave a live mount under the temp dir).
class MountGuard {
 public:
  explicit MountGuard(std::string path) : path_(std::move(path)) {}
  ~MountGuard() {
    if (IsMounted(path_)) {
      (void)RunShell("fusermount3 -u -z " + ShellQuote(path_));
    }
  }
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;

 private:
  std::string path_;
};

// ----------------------------------------------------------- tree snapshots

struct Node {
  bool dir = false;
  unsigned mode = 0;  // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t mtime_ms = 0;
  std::string content;  // files only
};
// Relative path ("." for the root) -> node.
using Tree = std::map<std::string, Node>;

std::string ReadAll(const std::string& path, bool* ok) {
  std::string out;
  const int err = ReadWhole(path, &out);
  *ok = err == 0;
  return *ok ? out : "<errno " + std::to_string(err) + ">";
}

void SnapshotInto(const std::string& root, const std::string& rel, Tree* tree,
                  std::vector<std::string>* errors) {
  const std::string path = rel == "." ? root : root + "/" + rel;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    errors->push_back("lstat " + path + ": " + strerror(errno));
    return;
  }
  Node n;
  n.dir = S_ISDIR(st.st_mode);
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.mtime_ms = MtimeMs(st);
  if (!n.dir) {
    if (!S_ISREG(st.st_mode)) errors->push_back("not a regular file: " + path);
    bool ok;
    n.content = ReadAll(path, &ok);
    if (!ok) errors->push_back("read " + path + ": " + n.content);
    if (ok && n.content.size() != static_cast<size_t>(st.st_size)) {
      errors->push_back("size of " + path + ": stat " +
                        std::to_string(st.st_size) + ", read " +
                        std::to_string(n.content.size()));
    }
  }
  (*tree)[rel] = std::move(n);
  if (!S_ISDIR(st.st_mode)) return;
  std::vector<std::string> names = RawList(path);
  const std::set<std::string> unique(names.begin(), names.end());
  if (unique.size() != names.size()) {
    errors->push_back("duplicate entries listed in " + path);
  }
  for (const std::string& name : unique) {
    SnapshotInto(root, rel == "." ? name : rel + "/" + name, tree, errors);
  }
}

// Every directory and file under `root` with its bytes, mode, owner, mtime.
Tree Snapshot(const std::string& root) {
  Tree tree;
  std::vector<std::string> errors;
  SnapshotInto(root, ".", &tree, &errors);
  for (const auto& e : errors)
    ADD_FAILURE() << "snapshot of " << root << ": " << e;
  return tree;
}

size_t FileCount(const Tree& t) {
  return static_cast<size_t>(std::count_if(
      t.begin(), t.end(), [](const auto& kv) { return !kv.second.dir; }));
}

std::string Describe(const std::string& content) {
  std::ostringstream out;
  out << content.size() << " bytes";
  if (content.size() <= 40) {
    out << " \"";
    for (unsigned char c : content) {
      if (c >= 32 && c < 127) {
        out << c;
      } else {
        out << "\\x" << std::hex << static_cast<int>(c) << std::dec;
      }
    }
    out << "\"";
  }
  return out.str();
}

// Differences between two trees, one line each (empty when they match).
// `mtime_unit_ms` is 1 to compare to the millisecond, 1000 to the second.
std::string DiffTrees(const Tree& want, const Tree& got,
                      uint64_t mtime_unit_ms = 1) {
  std::ostringstream out;
  int lines = 0;
  auto line = [&](const std::string& s) {
    if (++lines <= 40) out << "  " << s << "\n";
  };
  for (const auto& [path, w] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      line("missing: " + path);
      continue;
    }
    const Node& g = it->second;
    if (w.dir != g.dir) {
      line("kind differs: " + path);
      continue;
    }
    if (w.mode != g.mode || w.uid != g.uid || w.gid != g.gid) {
      std::ostringstream s;
      s << "mode/owner differ: " << path << ": " << std::oct << w.mode << " "
        << std::dec << w.uid << ":" << w.gid << " vs " << std::oct << g.mode
        << " " << std::dec << g.uid << ":" << g.gid;
      line(s.str());
    }
    if (w.mtime_ms / mtime_unit_ms != g.mtime_ms / mtime_unit_ms) {
      line("mtime differs: " + path + ": " + std::to_string(w.mtime_ms) +
           " vs " + std::to_string(g.mtime_ms) + " ms");
    }
    if (w.content != g.content) {
      line("content differs: " + path + ": " + Describe(w.content) + " vs " +
           Describe(g.content));
    }
  }
  for (const auto& [path, g] : got) {
    if (want.count(path) == 0) {
      line("unexpected: " + path +
           (g.dir ? "/" : " (" + Describe(g.content) + ")"));
    }
  }
  if (lines > 40) out << "  ... " << lines - 40 << " more\n";
  return out.str();
}

// -------------------------------------------------------------- fixture

class ToolsTest : public MountTest {
 protected:
  // A fresh database and mountpoint next to the fixture's one, mounted.
  std::unique_ptr<Daemon> StartFresh(const std::string& name,
                                     std::vector<std::string> args = {}) {
    const std::string mnt = dir_.Sub(name + "-mnt");
    EXPECT_EQ(mkdir(mnt.c_str(), 0755), 0) << strerror(errno);
    auto d = std::make_unique<Daemon>(dir_.Sub(name + "-db"), mnt, args);
    const ::testing::AssertionResult started = d->Start();
    EXPECT_TRUE(started);
    if (!started) return nullptr;
    return d;
  }

  // The version timestamps of column `col` in row directory `row`, newest
  // first, from the listing.
  std::vector<uint64_t> VersionsOf(const std::string& row,
                                   const std::string& col) {
    std::vector<uint64_t> out;
    for (const auto& name : List(row)) {
      EntryName e;
      if (ParseEntryName(name, &e).ok() && e.ts && e.column == col) {
        out.push_back(*e.ts);
      }
    }
    std::sort(out.rbegin(), out.rend());
    return out;
  }

  uint64_t MtimeOf(const std::string& rel) {
    struct stat st;
    EXPECT_EQ(stat(P(rel).c_str(), &st), 0) << rel << ": " << strerror(errno);
    return MtimeMs(st);
  }

  // A tree that exercises what archivers must carry: several datasets and
  // rows (one empty, one with a space in its name), columns with several
  // versions (some within one second, some backfilled, one re-stamped to a
  // millisecond), binary values with NUL bytes, an empty value, a 1 MiB
  // value, odd names, non-default modes.
  void Populate() {
    for (const char* d : {"alpha", "alpha/r1", "alpha/r2", "beta",
                          "beta/row with space", "gamma", "gamma/empty-row"}) {
      ASSERT_EQ(mkdir(P(d).c_str(), 0755), 0) << d << ": " << strerror(errno);
    }
    for (const char* v : {"ann", "anne", "anna"}) {
      ASSERT_EQ(WriteFile("alpha/r1/name", v), 0);
    }
    ASSERT_EQ(WriteFile("alpha/r1/bin", std::string("\0\x01\xff\0tail\0", 8)),
              0);
    ASSERT_EQ(WriteFile("alpha/r1/bin", std::string("\0\0\0", 3)), 0);
    ASSERT_EQ(WriteFile("alpha/r1/empty", ""), 0);
    ASSERT_EQ(WriteFile("alpha/r2/events@1500000000100", "e1"), 0);
    ASSERT_EQ(WriteFile("alpha/r2/events@1500000000200", "e2"), 0);
    ASSERT_EQ(WriteFile("alpha/r2/events@1500000001300", "e3"), 0);
    ASSERT_EQ(WriteFile("alpha/r2/events", "e4 (latest)"), 0);
    ASSERT_EQ(WriteFile("alpha/r2/stamped", "x"), 0);
    ASSERT_EQ(Sh("touch -d @1600000000.123 alpha/r2/stamped").status, 0);
    ASSERT_EQ(WriteFile("alpha/r2/stamped", "y"), 0);
    ASSERT_EQ(chmod(P("alpha/r2/stamped").c_str(), 0600), 0);
    ASSERT_EQ(WriteFile("beta/row with space/50% off", "half"), 0);
    ASSERT_EQ(WriteFile("beta/row with space/a@b", "not a version"), 0);
    ASSERT_EQ(WriteFile("beta/row with space/big", big_), 0);
    std::string big2 = big_;
    big2[big2.size() / 2] ^= 0x55;
    big2 += std::string("\0end", 4);
    ASSERT_EQ(WriteFile("beta/row with space/big", big2), 0);
    ASSERT_EQ(chmod(P("beta/row with space").c_str(), 0750), 0);
    ASSERT_EQ(chmod(P("gamma").c_str(), 0700), 0);
    // Directory times as a restore would set them (ms precision), each in
    // its own second in the past: rsync compares times to the second by
    // default and would not restore a time within the second it created the
    // directory in.
    const CommandResult r =
        Sh("touch -d @1650000000.250 gamma/empty-row && "
           "touch -d @1650000001.101 alpha/r1 && touch -d @1650000002.202 "
           "alpha/r2 "
           "&& touch -d @1650000003.303 alpha && "
           "touch -d @1650000004.404 'beta/row with space' && "
           "touch -d @1650000005.505 beta && touch -d @1650000006.606 gamma && "
           "touch -d @1650000007.707 .");
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_EQ(MtimeOf("."), 1650000007707u);
  }

  // The expected shape of Populate()'s tree: files per column.
  static constexpr size_t kPopulatedFiles = 3 + 2 + 1 + 4 + 2 + 1 + 1 + 2;

  void SetUp() override {
    MountTest::SetUp();
    std::mt19937 rng(42);
    big_.resize(1 << 20);
    for (size_t i = 0; i < big_.size(); ++i) {
      big_[i] = (i % 97 == 0) ? '\0' : static_cast<char>(rng() & 0xff);
    }
  }

  std::string big_;
};

// ------------------------------------------------------ 1. sed -i, editors

TEST_F(ToolsTest, SedInPlaceKeepsHistoryAndLeavesNoTempFiles) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/col", "alpha\nbeta\n"), 0);
  ASSERT_EQ(chmod(P("ds/r/col").c_str(), 0640), 0);

  CommandResult r = Sh("sed -i 's/beta/BETA/' ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/col"), "alpha\nBETA\n");
  std::vector<uint64_t> v = VersionsOf("ds/r", "col");
  ASSERT_EQ(v.size(), 1u) << ::testing::PrintToString(List("ds/r"));
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[0])), "alpha\nbeta\n");

  r = Sh("sed -i '1d' ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/col"), "BETA\n");
  v = VersionsOf("ds/r", "col");
  ASSERT_EQ(v.size(), 2u) << ::testing::PrintToString(List("ds/r"));
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[0])), "alpha\nBETA\n");
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[1])), "alpha\nbeta\n");
  EXPECT_GT(MtimeOf("ds/r/col"), v[0]);

  // Only the column and its versions: no sedXXXXXX left behind.
  EXPECT_EQ(List("ds/r"),
            (std::vector<std::string>{"col", VersionName("col", v[1]),
                                      VersionName("col", v[0])}));
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/col").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // sed copies the mode to its temp

  // All of it is in the database, not only in the daemon's memory.
  Remount();
  EXPECT_EQ(ReadFile("ds/r/col"), "BETA\n");
  EXPECT_EQ(VersionsOf("ds/r", "col"), v);
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[1])), "alpha\nbeta\n");
}

TEST_F(ToolsTest, TempFileAndRenameWriterKeepsHistory) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  // An editor or rsync: write the whole new content to a temporary name in
  // the same directory, then rename it over the original.
  CommandResult r =
      Sh("printf v1 > ds/r/col && "
         "printf v2 > ds/r/.col.tmp && mv ds/r/.col.tmp ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/col"), "v2");
  EXPECT_EQ(List("ds/r").size(), 2u) << ::testing::PrintToString(List("ds/r"));

  // The next save, under the same temporary name. A new file there is
  // another file than the column it was renamed onto: its inode number
  // differs (or mv refuses: "are the same file").
  r = Sh("printf v3 > ds/r/.col.tmp");
  ASSERT_EQ(r.status, 0) << r.output;
  struct stat tmp_st, col_st;
  ASSERT_EQ(stat(P("ds/r/.col.tmp").c_str(), &tmp_st), 0);
  ASSERT_EQ(stat(P("ds/r/col").c_str(), &col_st), 0);
  EXPECT_NE(tmp_st.st_ino, col_st.st_ino);
  r = Sh("mv -f ds/r/.col.tmp ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/col"), "v3");
  std::vector<uint64_t> v = VersionsOf("ds/r", "col");
  ASSERT_EQ(v.size(), 2u) << ::testing::PrintToString(List("ds/r"));
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[0])), "v2");
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[1])), "v1");
  EXPECT_EQ(List("ds/r").size(), 3u) << ::testing::PrintToString(List("ds/r"));
}

TEST_F(ToolsTest, RsyncStyleTempFileKeepsItsMtimeThroughTheRename) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/col", "v1"), 0);
  // rsync's pattern: a randomly named temporary file gets the source's
  // mtime, then is renamed over the column; the new version keeps the time.
  // (Times an hour ahead: later than v1, and within the day a version may
  // be ahead of the clock.)
  const uint64_t t = static_cast<uint64_t>(time(nullptr)) + 3600;
  for (const std::string& step :
       {"printf v2 > ds/r/.col.Ab12Cd && touch -d @" + std::to_string(t) +
            ".5 ds/r/.col.Ab12Cd && mv ds/r/.col.Ab12Cd ds/r/col",
        "printf v3 > ds/r/.col.Ef34Gh && touch -d @" + std::to_string(t + 1) +
            ".25 ds/r/.col.Ef34Gh && mv ds/r/.col.Ef34Gh ds/r/col"}) {
    const CommandResult r = Sh(step);
    ASSERT_EQ(r.status, 0) << step << ": " << r.output;
  }
  EXPECT_EQ(ReadFile("ds/r/col"), "v3");
  EXPECT_EQ(MtimeOf("ds/r/col"), (t + 1) * 1000 + 250);
  const std::vector<uint64_t> v = VersionsOf("ds/r", "col");
  ASSERT_EQ(v.size(), 2u) << ::testing::PrintToString(List("ds/r"));
  EXPECT_EQ(v[0], t * 1000 + 500);
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[0])), "v2");
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("col", v[1])), "v1");
  // No temporary file left.
  EXPECT_EQ(List("ds/r"),
            (std::vector<std::string>{"col", VersionName("col", v[1]),
                                      VersionName("col", v[0])}));
}

TEST_F(ToolsTest, SedInPlaceOnAVersionFileRewritesThatVersion) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/col@1000", "old typo\n"), 0);
  ASSERT_EQ(WriteFile("ds/r/col", "new\n"), 0);
  const CommandResult r = Sh("sed -i 's/typo/text/' ds/r/col@1000");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/col@1000"), "old text\n");
  EXPECT_EQ(ReadFile("ds/r/col"), "new\n");
  EXPECT_EQ(List("ds/r"), (std::vector<std::string>{"col", "col@1000"}));
}

// ------------------------------------------------------------ 2. tar

TEST_F(ToolsTest, TarPosixRoundTripIntoAFreshMountIsExact) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Snapshot(mnt_);
  ASSERT_EQ(FileCount(source), kPopulatedFiles) << DiffTrees(source, {});
  const std::string archive = dir_.Sub("posix.tar");
  CommandResult r = RunShell("tar --format=posix -cf " + ShellQuote(archive) +
                             " -C " + ShellQuote(mnt_) + " .");
  ASSERT_EQ(r.status, 0) << r.output;
  // The archive holds every version file under its own name.
  r = RunShell("tar -tf " + ShellQuote(archive));
  EXPECT_NE(r.output.find("./alpha/r2/events@1500000000100\n"),
            std::string::npos)
      << r.output;

  auto copy = StartFresh("copy");
  ASSERT_NE(copy, nullptr);
  MountGuard guard(copy->mountpoint());
  r = RunShell("tar -xpf " + ShellQuote(archive) + " -C " +
               ShellQuote(copy->mountpoint()));
  ASSERT_EQ(r.status, 0) << r.output;
  // Every name (no extra or missing version), byte, mode and ms mtime.
  EXPECT_EQ(DiffTrees(source, Snapshot(copy->mountpoint())), "");
  // And that is what the database holds.
  ASSERT_TRUE(copy->Stop());
  ASSERT_TRUE(copy->Start());
  EXPECT_EQ(DiffTrees(source, Snapshot(copy->mountpoint())), "");
  // The source did not change by being archived.
  EXPECT_EQ(DiffTrees(source, Snapshot(mnt_)), "");
}

// tar's default (gnu) format carries whole seconds only, so a restore cannot
// reproduce version names (they are ms) and re-stamps versions to the second.
// What it must still do: lose no version and no byte, and restore every time
// to the second.
TEST_F(ToolsTest, TarDefaultFormatRestoresEveryVersionToTheSecond) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Snapshot(mnt_);
  const std::string archive = dir_.Sub("gnu.tar");
  CommandResult r = RunShell("tar -cf " + ShellQuote(archive) + " -C " +
                             ShellQuote(mnt_) + " .");
  ASSERT_EQ(r.status, 0) << r.output;
  auto copy = StartFresh("copy");
  ASSERT_NE(copy, nullptr);
  MountGuard guard(copy->mountpoint());
  r = RunShell("tar -xpf " + ShellQuote(archive) + " -C " +
               ShellQuote(copy->mountpoint()));
  const std::string tar_output = r.output;
  const Tree restored = Snapshot(copy->mountpoint());

  // Per column: the multiset of (mtime in seconds, content) of its versions.
  using Versions = std::multiset<std::pair<uint64_t, std::string>>;
  auto by_column = [](const Tree& t, std::map<std::string, Node>* dirs) {
    std::map<std::string, Versions> out;
    for (const auto& [path, n] : t) {
      if (n.dir) {
        (*dirs)[path] = n;
        continue;
      }
      const size_t slash = path.rfind('/');
      EntryName e;
      const std::string base = path.substr(slash + 1);
      const std::string column =
          ParseEntryName(base, &e).ok() ? std::string(e.column) : base;
      out[path.substr(0, slash) + "/" + column].insert(
          {n.mtime_ms / 1000, n.content});
    }
    return out;
  };
  std::map<std::string, Node> want_dirs, got_dirs;
  const auto want = by_column(source, &want_dirs);
  const auto got = by_column(restored, &got_dirs);
  EXPECT_EQ(DiffTrees(want_dirs, got_dirs, 1000), "") << tar_output;
  // A version stamped at a whole second (1 in 1000 of those written "now")
  // has the very name a second-precision restore gives the newer version of
  // that second, and writing "col@ts" replaces that version: no format with
  // whole seconds can tell them apart, so such columns are not compared.
  std::set<std::string> ambiguous;
  for (const auto& [path, n] : source) {
    EntryName e;
    const std::string base = path.substr(path.rfind('/') + 1);
    if (!n.dir && ParseEntryName(base, &e).ok() && e.ts && *e.ts % 1000 == 0) {
      ambiguous.insert(path.substr(0, path.rfind('/')) + "/" +
                       std::string(e.column));
    }
  }
  for (const auto& [column, versions] : want) {
    if (ambiguous.count(column) != 0) continue;
    auto it = got.find(column);
    if (it == got.end()) {
      ADD_FAILURE() << column << " is missing after the restore\n"
                    << tar_output;
      continue;
    }
    EXPECT_EQ(it->second.size(), versions.size())
        << column << ": versions lost or added by the restore\n"
        << tar_output;
    auto show = [](const Versions& vs) {
      std::string out;
      for (const auto& [sec, content] : vs) {
        out += "    " + std::to_string(sec) + "s " + Describe(content) + "\n";
      }
      return out;
    };
    EXPECT_TRUE(it->second == versions)
        << column << ": the restored versions (seconds, content) differ\n"
        << "  source:\n"
        << show(versions) << "  restored:\n"
        << show(it->second) << tar_output;
  }
  EXPECT_EQ(got.size(), want.size());
  // Columns with one version come back exactly, under their names.
  for (const char* single : {"alpha/r1/empty", "beta/row with space/50% off",
                             "beta/row with space/a@b"}) {
    ASSERT_EQ(restored.count(single), 1u) << single;
    EXPECT_EQ(restored.at(single).content, source.at(single).content);
    EXPECT_EQ(restored.at(single).mtime_ms / 1000,
              source.at(single).mtime_ms / 1000);
  }
}

// ------------------------------------------------------------ 3. rsync

TEST_F(ToolsTest, RsyncIntoAFreshMountIsExactAndIdempotent) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  Tree source = Snapshot(mnt_);
  auto copy = StartFresh("copy");
  ASSERT_NE(copy, nullptr);
  MountGuard guard(copy->mountpoint());
  const std::string src = ShellQuote(mnt_ + "/");
  const std::string dst = ShellQuote(copy->mountpoint() + "/");

  CommandResult r = RunShell("rsync -a " + src + " " + dst);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(DiffTrees(source, Snapshot(copy->mountpoint())), "");

  // A second run finds nothing to do and adds no version.
  r = RunShell("rsync -a --itemize-changes " + src + " " + dst);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "") << "rsync found changes on an identical copy";
  r = RunShell("rsync -a --stats " + src + " " + dst);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("Number of regular files transferred: 0"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(DiffTrees(source, Snapshot(copy->mountpoint())), "");

  // A change at the source: rsync's temp file + rename appends exactly the
  // new version at the destination, which then equals the source again.
  ASSERT_EQ(WriteFile("alpha/r1/name", "annie"), 0);
  source = Snapshot(mnt_);
  r = RunShell("rsync -a --itemize-changes " + src + " " + dst);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("alpha/r1/name\n"), std::string::npos) << r.output;
  EXPECT_EQ(DiffTrees(source, Snapshot(copy->mountpoint())), "");
  r = RunShell("rsync -a --itemize-changes " + src + " " + dst);
  EXPECT_EQ(r.output, "") << "rsync found changes on an identical copy";
  EXPECT_EQ(DiffTrees(source, Snapshot(copy->mountpoint())), "");
}

// ------------------------------------------------------------ 4. cp -a

TEST_F(ToolsTest, CpArchiveToLocalDirectoryAndBack) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Snapshot(mnt_);
  const std::string local = dir_.Sub("local");
  CommandResult r =
      RunShell("cp -a " + ShellQuote(mnt_) + " " + ShellQuote(local));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(DiffTrees(source, Snapshot(local)), "");

  auto copy = StartFresh("copy");
  ASSERT_NE(copy, nullptr);
  MountGuard guard(copy->mountpoint());
  r = RunShell("cp -a " + ShellQuote(local + "/.") + " " +
               ShellQuote(copy->mountpoint() + "/"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(DiffTrees(source, Snapshot(copy->mountpoint())), "");
}

// A local copy lists a version file before its column when its inode is
// lower (cp copies in inode order); cp, having created the row directory
// itself, then creates the column with O_CREAT|O_EXCL.
TEST_F(ToolsTest, CpArchiveRestoresAVersionCopiedBeforeItsColumn) {
  const std::string local = dir_.Sub("local");
  const CommandResult made = RunShell(
      "mkdir -p " + ShellQuote(local + "/ds/r") + " && cd " +
      ShellQuote(local + "/ds/r") +
      " && printf old > c@1500000000100 && touch -d @1500000000.100 "
      "c@1500000000100 && printf new > c && touch -d @1600000000.200 c");
  ASSERT_EQ(made.status, 0) << made.output;
  const Tree source = Snapshot(local);
  const CommandResult r = RunShell("cp -a " + ShellQuote(local + "/.") + " " +
                                   ShellQuote(mnt_ + "/"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/c"), "new");
  EXPECT_EQ(ReadFile("ds/r/c@1500000000100"), "old");
  EXPECT_EQ(DiffTrees(source, Snapshot(mnt_)), "");
}

// ------------------------------------------------------------ 5. kill -9

TEST_F(ToolsTest, Kill9LosesNothingThatWasClosed) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  // Also a rename over a column, a version deletion, and shell writes.
  CommandResult r =
      Sh("printf edited > 'alpha/r1/.name.tmp' && mv alpha/r1/.name.tmp "
         "alpha/r1/name && rm alpha/r2/events@1500000000200 && "
         "for i in 1 2 3 4 5; do echo $i > alpha/r2/counter; done");
  ASSERT_EQ(r.status, 0) << r.output;
  const Tree before = Snapshot(mnt_);
  ASSERT_EQ(FileCount(before), kPopulatedFiles + 1 - 1 + 5);

  daemon_->Kill9();
  EXPECT_FALSE(IsMounted(mnt_));
  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  ASSERT_TRUE(daemon_->Start());
  EXPECT_EQ(DiffTrees(before, Snapshot(mnt_)), "");
}

// ------------------------------------------------ 6. one DB, two mounts

TEST_F(ToolsTest, SecondDaemonOnAnOpenDatabaseFails) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "first"), 0);
  const std::string mnt2 = dir_.Sub("mnt2");
  ASSERT_EQ(mkdir(mnt2.c_str(), 0755), 0);
  MountGuard guard(mnt2);
  const std::string err = dir_.Sub("err");
  for (const std::string mode : {"", "-f "}) {
    SCOPED_TRACE("rowfs " + mode + "DB MNT2");
    const CommandResult r = RunShell(
        "timeout 20 " + ShellQuote(ROWFS_BINARY) + " " + mode +
        ShellQuote(db_) + " " + ShellQuote(mnt2) + " 2>" + ShellQuote(err));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.status, 124) << "timed out: it served a second mount";
    EXPECT_FALSE(IsMounted(mnt2));
    const std::string message = Slurp(err);
    EXPECT_EQ(CountLines(message), 1u) << message;
    EXPECT_NE(message.find("in use"), std::string::npos) << message;
    EXPECT_NE(message.find(db_), std::string::npos) << message;
  }
  // The first mount is unaffected.
  EXPECT_EQ(ReadFile("ds/r/c"), "first");
  EXPECT_EQ(WriteFile("ds/r/c", "second"), 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "second");
}

TEST_F(ToolsTest, ReadOnlyFollowerOfALiveWriterMounts) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "shared"), 0);
  const std::string mnt2 = dir_.Sub("mnt2");
  ASSERT_EQ(mkdir(mnt2.c_str(), 0755), 0);
  MountGuard guard(mnt2);
  Daemon follower(db_, mnt2, {"-o", "ro"});
  ASSERT_TRUE(follower.Start());
  EXPECT_EQ(Slurp(mnt2 + "/ds/r/c"), "shared");
  const CommandResult r = RunShell("echo x > " + ShellQuote(mnt2 + "/ds/r/c"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "shared");
  EXPECT_TRUE(follower.Stop());
}

// ------------------------------------------------------ 7. start-up errors

class StartupTest : public ToolsTest {
 protected:
  struct Outcome {
    int status;
    std::string out, err;
  };
  // Runs rowfs with `args` (already quoted), stdout and stderr apart.
  Outcome Rowfs(const std::string& args) {
    const std::string out = dir_.Sub("out"), err = dir_.Sub("err");
    const CommandResult r =
        RunShell("timeout 20 " + ShellQuote(ROWFS_BINARY) + " " + args + " >" +
                 ShellQuote(out) + " 2>" + ShellQuote(err));
    return {r.status, Slurp(out), Slurp(err)};
  }
  // A start-up refusal: non-zero, one line on stderr naming `mention`,
  // nothing mounted at `mnt`.
  void ExpectRefused(const std::string& args, const std::string& mention,
                     const std::string& mnt, int status = -1) {
    for (const std::string mode : {"", "-f "}) {
      SCOPED_TRACE("rowfs " + mode + args);
      const Outcome o = Rowfs(mode + args);
      if (status >= 0) {
        EXPECT_EQ(o.status, status);
      } else {
        EXPECT_NE(o.status, 0);
        EXPECT_NE(o.status, 124) << "timed out: it mounted";
      }
      EXPECT_EQ(CountLines(o.err), 1u) << o.err;
      EXPECT_EQ(o.err.rfind("rowfs: ", 0), 0u) << o.err;
      EXPECT_NE(o.err.find(mention), std::string::npos) << o.err;
      EXPECT_EQ(o.out, "");
      EXPECT_FALSE(IsMounted(mnt));
    }
  }
};

TEST_F(StartupTest, StartUpErrorsAreOneLineAndMountNothing) {
  const std::string mnt2 = dir_.Sub("mnt2");
  ASSERT_EQ(mkdir(mnt2.c_str(), 0755), 0);
  MountGuard guard(mnt2);
  const std::string file = dir_.Sub("a-file");
  { std::ofstream(file) << "precious\n"; }
  // A DB path that is a regular file (which stays untouched).
  ExpectRefused(ShellQuote(file) + " " + ShellQuote(mnt2), file, mnt2);
  EXPECT_EQ(Slurp(file), "precious\n");
  // A missing mountpoint.
  const std::string missing = dir_.Sub("no-such-dir");
  ExpectRefused(ShellQuote(dir_.Sub("db2")) + " " + ShellQuote(missing),
                missing, missing);
  // A mountpoint that is a file.
  ExpectRefused(ShellQuote(dir_.Sub("db2")) + " " + ShellQuote(file), file,
                file);
  EXPECT_EQ(Slurp(file), "precious\n");
  // An unknown option is bad usage: status 2.
  ExpectRefused(
      "--bogus " + ShellQuote(dir_.Sub("db2")) + " " + ShellQuote(mnt2),
      "bogus", mnt2, 2);
  // Missing positionals are bad usage too.
  ExpectRefused(ShellQuote(dir_.Sub("db2")), "usage", mnt2, 2);
}

TEST_F(StartupTest, HelpAndVersion) {
  Outcome o = Rowfs("--help");
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.err, "");
  for (const char* opt :
       {"usage: rowfs", "-f", "--foreground", "-d", "-o", "-V", "--version",
        "--help", "versions=hidden", "ro"}) {
    EXPECT_NE(o.out.find(opt), std::string::npos) << opt << " in\n" << o.out;
  }
  o = Rowfs("-h");
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.out.find("usage: rowfs"), std::string::npos);
  for (const char* flag : {"-V", "--version"}) {
    o = Rowfs(flag);
    EXPECT_EQ(o.status, 0) << flag;
    EXPECT_EQ(CountLines(o.out), 1u) << o.out;
    EXPECT_EQ(o.out.rfind("rowfs ", 0), 0u) << o.out;
    const size_t digit = o.out.find_first_of("0123456789");
    ASSERT_NE(digit, std::string::npos) << o.out;
    EXPECT_EQ(o.out.find('.', digit),
              o.out.find_first_not_of("0123456789", digit))
        << "a version number like 1.2: " << o.out;
  }
}

// ------------------------------------------------------ 8. daemon life

TEST_F(ToolsTest, DaemonizedMountIsLiveOnReturnAndExitsOnUnmount) {
  const std::string db2 = dir_.Sub("db2"), mnt2 = dir_.Sub("mnt2");
  ASSERT_EQ(mkdir(mnt2.c_str(), 0755), 0);
  MountGuard guard(mnt2);
  const std::string log = dir_.Sub("daemon.log");
  CommandResult r = RunShell("timeout 20 " + ShellQuote(ROWFS_BINARY) + " " +
                             ShellQuote(db2) + " " + ShellQuote(mnt2) + " >" +
                             ShellQuote(log) + " 2>&1");
  ASSERT_EQ(r.status, 0) << Slurp(log);
  // Live the moment the command returned: no waiting.
  EXPECT_TRUE(IsMounted(mnt2));
  EXPECT_EQ(mkdir((mnt2 + "/ds").c_str(), 0755), 0) << strerror(errno);
  EXPECT_EQ(mkdir((mnt2 + "/ds/r").c_str(), 0755), 0) << strerror(errno);
  EXPECT_EQ(RunShell("echo kept > " + ShellQuote(mnt2 + "/ds/r/c")).status, 0);
  const std::vector<pid_t> pids = RowfsProcessesFor(mnt2);
  EXPECT_EQ(pids.size(), 1u) << "one daemon serves the mount";

  r = RunShell("fusermount3 -u " + ShellQuote(mnt2));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(IsMounted(mnt2));
  EXPECT_TRUE(Poll([&] { return RowfsProcessesFor(mnt2).empty(); },
                   std::chrono::seconds(10)))
      << "the daemon did not exit after fusermount3 -u";

  // It closed the database: it opens again, with the data.
  Daemon again(db2, mnt2);
  ASSERT_TRUE(again.Start());
  EXPECT_EQ(Slurp(mnt2 + "/ds/r/c"), "kept\n");
  EXPECT_TRUE(again.Stop());
}

TEST_F(ToolsTest, SigtermUnmountsCleanlyAndKeepsData) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree before = Snapshot(mnt_);
  EXPECT_EQ(daemon_->Terminate(SIGTERM), 0) << daemon_->Log();
  EXPECT_FALSE(IsMounted(mnt_));
  EXPECT_TRUE(RowfsProcessesFor(mnt_).empty());
  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  ASSERT_TRUE(daemon_->Start());
  EXPECT_EQ(DiffTrees(before, Snapshot(mnt_)), "");
}

// ------------------------------------------------- 9. concurrent processes

TEST_F(ToolsTest, ConcurrentShellLoopsLoseNoWrite) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  constexpr int kWriters = 4, kWrites = 50;
  const CommandResult r =
      Sh("pids=; for n in 1 2 3 4; do "
         "  ( for i in $(seq 1 50); do "
         "      echo $i > ds/r/col_$n || exit 1; "
         "      echo w$n-$i > ds/r/shared || exit 1; "
         "    done ) & pids=\"$pids $!\"; "
         "done; "
         "fail=0; for p in $pids; do wait $p || fail=1; done; exit $fail");
  ASSERT_EQ(r.status, 0) << r.output;

  const std::vector<std::string> raw = RawList(P("ds/r"));
  EXPECT_EQ(std::set<std::string>(raw.begin(), raw.end()).size(), raw.size())
      << "duplicate names listed";
  for (int n = 1; n <= kWriters; ++n) {
    const std::string col = "col_" + std::to_string(n);
    EXPECT_EQ(ReadFile("ds/r/" + col), std::to_string(kWrites) + "\n");
    // Every write of this writer is a version, in order.
    const std::vector<uint64_t> v = VersionsOf("ds/r", col);
    ASSERT_EQ(v.size(), size_t{kWrites - 1}) << col;
    for (size_t k = 0; k < v.size(); ++k) {
      EXPECT_EQ(ReadFile("ds/r/" + VersionName(col, v[k])),
                std::to_string(kWrites - 1 - k) + "\n")
          << col << "@" << v[k];
    }
    EXPECT_GT(MtimeOf("ds/r/" + col), v[0]);
  }
  // The shared column ends with the last write of one of the writers.
  const std::string last = ReadFile("ds/r/shared");
  std::set<std::string> finals;
  for (int n = 1; n <= kWriters; ++n) {
    finals.insert("w" + std::to_string(n) + "-" + std::to_string(kWrites) +
                  "\n");
  }
  EXPECT_EQ(finals.count(last), 1u) << "shared ends with " << Describe(last);
  const std::vector<uint64_t> shared = VersionsOf("ds/r", "shared");
  EXPECT_GE(shared.size(), 1u);
  EXPECT_LT(shared.size(), size_t{kWriters * kWrites});
  const uint64_t latest = MtimeOf("ds/r/shared");
  for (uint64_t ts : shared) {
    EXPECT_LT(ts, latest);
    EXPECT_EQ(MtimeOf("ds/r/" + VersionName("shared", ts)), ts);
  }
}

// ------------------------------------------------------ 10. big listings

TEST_F(ToolsTest, LsAndFindSeeEveryEntryOfALargeDataset) {
  constexpr int kRows = 2000, kTwice = 100;
  ASSERT_EQ(mkdir(P("big").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("small").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("small/only").c_str(), 0755), 0);
  std::vector<std::string> rows;
  for (int i = 0; i < kRows; ++i) {
    // Names of varying lengths so readdir pages break at odd places.
    rows.push_back("row-" + std::to_string(i) + std::string(i % 37, 'x'));
    ASSERT_EQ(mkdir(P("big/" + rows.back()).c_str(), 0755), 0) << rows.back();
    ASSERT_EQ(WriteFile("big/" + rows.back() + "/c", std::to_string(i)), 0);
    if (i < kTwice) {
      ASSERT_EQ(WriteFile("big/" + rows.back() + "/c", "again"), 0);
    }
  }
  ASSERT_EQ(WriteFile("small/only/c", "1"), 0);
  const size_t files = kRows + kTwice + 1;

  CommandResult r = Sh("ls -l big | grep -c '^d'");
  EXPECT_EQ(r.output, std::to_string(kRows) + "\n");
  r = Sh("ls -l big | wc -l");
  EXPECT_EQ(r.output, std::to_string(kRows + 1) + "\n");  // + "total N"
  r = Sh("find . -type f | wc -l");
  EXPECT_EQ(r.output, std::to_string(files) + "\n");
  r = Sh("find . -type d | wc -l");
  EXPECT_EQ(r.output, std::to_string(1 + 2 + kRows + 1) + "\n");
  r = Sh("find . -type f -name 'c@*' | wc -l");
  EXPECT_EQ(r.output, std::to_string(kTwice) + "\n");

  // The raw listing: every row once, in key (byte) order.
  std::vector<std::string> sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(RawList(P("big")), sorted);
}

}  // namespace
}  // namespace rowfs
