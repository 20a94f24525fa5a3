// The acceptance matrix of history semantics 2, whole trees: backups of a
// mount with history (columns of many versions, backfills, set times,
// binary and multi-chunk values, a deleted column's hidden history),
// restored by standard tools into a fresh mount, must reproduce every
// name, byte, mode and millisecond time; incremental restores too; and a
// restore over a live mount keeps the history it finds there.
// Column-by-column tool checks are in history_tools_test.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "history_util.h"
#include "mount_fixture.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

using history::DiffTrees;
using history::DiffVersions;
using history::Entry;
using history::HaveTool;
using history::MtimeOf;
using history::Tree;
using history::Walk;

// `t` without its root: a tool that restores into a directory it was given
// (cpio, restic) does not carry that directory's own time.
Tree WithoutRoot(Tree t) {
  t.erase(".");
  return t;
}

class HistoryRestoreTest : public MountTest {
 protected:
  // tar --listed-incremental: level 0 of the mount, then `change`, then
  // level 1; both extracted into a fresh mount must give the source.
  void ExpectTarLevelsRestoreExactly(const std::function<void()>& change) {
    const std::string snar0 = dir_.Sub("l0.snar"), snar1 = dir_.Sub("l1.snar");
    const std::string l0 = dir_.Sub("l0.tar"), l1 = dir_.Sub("l1.tar");
    CommandResult r = In(mnt_, "tar --format=posix -g " + ShellQuote(snar0) +
                                   " -cf " + ShellQuote(l0) + " .");
    ASSERT_EQ(r.status, 0) << r.output;
    change();
    ASSERT_FALSE(HasFatalFailure());
    r = RunShell("cp " + ShellQuote(snar0) + " " + ShellQuote(snar1));
    ASSERT_EQ(r.status, 0) << r.output;
    r = In(mnt_, "tar --format=posix -g " + ShellQuote(snar1) + " -cf " +
                     ShellQuote(l1) + " .");
    ASSERT_EQ(r.status, 0) << r.output;
    const Tree source = Walk(mnt_);
    auto copy = FreshMount("copy");
    ASSERT_NE(copy, nullptr);
    for (const std::string& level : {l0, l1}) {
      r = In(copy->mountpoint(), "tar -x -g /dev/null -f " + ShellQuote(level));
      ASSERT_EQ(r.status, 0) << r.output;
    }
    EXPECT_EQ(DiffTrees(source, Walk(copy->mountpoint())), "");
    EXPECT_TRUE(copy->Stop());
  }

  // A tree with history: several datasets and rows (one empty, one with a
  // space in its name), columns with several versions (written, backfilled,
  // one given an older time between two writes), binary values with NUL
  // bytes, an empty value, a 3 MiB value of several chunks written twice, a
  // deleted column whose history is kept hidden, non-default modes, a
  // dataset policy, and directory times with milliseconds, each in its own
  // second in the past (rsync compares times to the second).
  void Populate() {
    for (const char* d :
         {"ds", "ds/r", "ds/row with space", "ds/empty-row", "ds2"}) {
      ASSERT_EQ(mkdir(P(d).c_str(), 0755), 0) << d << ": " << strerror(errno);
    }
    for (int i = 0; i < 10; ++i) {
      const std::string row = "ds2/r" + std::to_string(i);
      ASSERT_EQ(mkdir(P(row).c_str(), 0755), 0);
      ASSERT_EQ(WriteFile(row + "/c", "value " + std::to_string(i)), 0);
      if (i % 2 == 0) {
        ASSERT_EQ(WriteFile(row + "/c", "again"), 0);
      }
    }
    for (const char* v : {"one\n", "two\n", "three\n"}) {
      ASSERT_EQ(WriteFile("ds/r/col", v), 0);
    }
    for (int v = 0; v < 12; ++v) {
      ASSERT_EQ(
          WriteFile("ds/r/hist@" + std::to_string(1600000000000 + v * 1234),
                    "version " + std::to_string(v)),
          0);
    }
    ASSERT_EQ(WriteFile("ds/r/hist", "latest"), 0);
    ASSERT_EQ(WriteFile("ds/r/stamped", "x"), 0);
    ASSERT_EQ(Sh("touch -d @1600000000.123 ds/r/stamped").status, 0);
    ASSERT_EQ(WriteFile("ds/r/stamped", "y"), 0);
    ASSERT_EQ(chmod(P("ds/r/stamped").c_str(), 0600), 0);
    ASSERT_EQ(WriteFile("ds/r/bin", std::string("\0\x01\xff\0tail\0", 8)), 0);
    ASSERT_EQ(WriteFile("ds/r/bin", std::string("\0\0\0", 3)), 0);
    ASSERT_EQ(WriteFile("ds/r/empty", ""), 0);
    std::mt19937 rng(7);
    std::string big(3 << 20, '\0');
    for (char& c : big) c = static_cast<char>(rng() & 0xff);
    ASSERT_EQ(WriteFile("ds/r/big", big), 0);
    big[big.size() / 2] ^= 0x55;
    ASSERT_EQ(WriteFile("ds/r/big", big + "end"), 0);
    ASSERT_EQ(WriteFile("ds/r/gone", "g1"), 0);
    ASSERT_EQ(WriteFile("ds/r/gone", "g2"), 0);
    ASSERT_EQ(unlink(P("ds/r/gone").c_str()), 0);
    ASSERT_EQ(WriteFile("ds/row with space/50% off", "half"), 0);
    ASSERT_EQ(chmod(P("ds/row with space").c_str(), 0750), 0);
    ASSERT_EQ(
        setxattr(P("ds").c_str(), "user.rowfs.max_versions", "1000", 4, 0), 0)
        << strerror(errno);
    std::string touch;
    int n = 0;
    for (const char* d :
         {"ds/empty-row", "ds/r", "ds/row with space", "ds", "ds2/r0", "ds2/r1",
          "ds2/r2", "ds2/r3", "ds2/r4", "ds2/r5", "ds2/r6", "ds2/r7", "ds2/r8",
          "ds2/r9", "ds2", "."}) {
      touch += "touch -d @16500000" + std::to_string(10 + n) + "." +
               std::to_string(101 * (n % 9 + 1)) + " " + ShellQuote(d) + " && ";
      ++n;
    }
    const CommandResult r = Sh(touch + "true");
    ASSERT_EQ(r.status, 0) << r.output;
  }

  // Populate()'s shape with whole seconds only, for cpio, whose archives
  // keep whole seconds: version names and times a restore can reproduce.
  void PopulateWholeSeconds() {
    for (const char* d : {"ds", "ds/r", "ds/row2"}) {
      ASSERT_EQ(mkdir(P(d).c_str(), 0755), 0) << d << ": " << strerror(errno);
    }
    for (int v = 0; v < 5; ++v) {
      ASSERT_EQ(
          WriteFile("ds/r/col@" + std::to_string(1600000000000 + v * 1000),
                    "version " + std::to_string(v) + "\n"),
          0);
    }
    ASSERT_EQ(WriteFile("ds/r/col", "latest\n"), 0);
    ASSERT_EQ(WriteFile("ds/r/bin@1600000000000", std::string("\0\x01", 2)), 0);
    ASSERT_EQ(WriteFile("ds/r/bin", std::string("\0\0\xff", 3)), 0);
    ASSERT_EQ(WriteFile("ds/row2/50% off", "half"), 0);
    const CommandResult r =
        Sh("touch -d @1650000000 ds/r/col && touch -d @1650000001 ds/r/bin && "
           "touch -d @1650000002 'ds/row2/50% off' && "
           "touch -d @1650000010 ds/r && touch -d @1650000011 ds/row2 && "
           "touch -d @1650000012 ds && touch -d @1650000013 .");
    ASSERT_EQ(r.status, 0) << r.output;
  }

  // A fresh database mounted at a new mountpoint.
  std::unique_ptr<Daemon> FreshMount(const std::string& name) {
    const std::string mnt = dir_.Sub(name);
    EXPECT_EQ(mkdir(mnt.c_str(), 0755), 0) << strerror(errno);
    auto d = std::make_unique<Daemon>(dir_.Sub(name + "-db"), mnt);
    const ::testing::AssertionResult started = d->Start();
    EXPECT_TRUE(started);
    if (!started) return nullptr;
    return d;
  }

  // Runs a shell command in `dir`.
  CommandResult In(const std::string& dir, const std::string& command) {
    return RunShell("cd " + ShellQuote(dir) + " && " + command);
  }

  // The versions ("col@ts" -> bytes) of ds/r/col under `root`.
  std::map<std::string, std::string> VersionsOf(const std::string& root) {
    std::map<std::string, std::string> out;
    const Tree t = Walk(root + "/ds/r");
    for (const auto& [name, e] : t) {
      EntryName parsed;
      if (!e.dir && ParseEntryName(name, &parsed).ok() && parsed.ts &&
          parsed.column == "col") {
        out[name] = e.content;
      }
    }
    return out;
  }

  // The dataset policy a restore with xattrs must carry.
  std::string MaxVersions(const std::string& root) {
    char buf[32];
    const ssize_t n = getxattr((root + "/ds").c_str(),
                               "user.rowfs.max_versions", buf, sizeof(buf));
    return n < 0 ? std::string("<errno ") + strerror(errno) + ">"
                 : std::string(buf, static_cast<size_t>(n));
  }

  // The environment of borg and restic: repositories, caches and keys in
  // the test's directory, nothing asked on a terminal.
  std::string BackupEnv() {
    return "export BORG_REPO=" + ShellQuote(dir_.Sub("borg-repo")) +
           " BORG_BASE_DIR=" + ShellQuote(dir_.Sub("borg-base")) +
           " BORG_PASSPHRASE='' BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes"
           " BORG_RELOCATED_REPO_ACCESS_IS_OK=yes"
           " RESTIC_REPOSITORY=" +
           ShellQuote(dir_.Sub("restic-repo")) +
           " RESTIC_PASSWORD=x RESTIC_CACHE_DIR=" +
           ShellQuote(dir_.Sub("restic-cache")) +
           " XDG_CACHE_HOME=" + ShellQuote(dir_.Sub("cache")) + "; ";
  }
};

// ------------------------------------------------- restores, exact

TEST_F(HistoryRestoreTest, TarPosixRestoreIsExact) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Walk(mnt_);
  const std::string tar = dir_.Sub("all.tar");
  CommandResult r =
      In(mnt_, "tar --format=posix -cf " + ShellQuote(tar) + " .");
  ASSERT_EQ(r.status, 0) << r.output;
  auto copy = FreshMount("copy");
  ASSERT_NE(copy, nullptr);
  r = In(copy->mountpoint(), "tar -xf " + ShellQuote(tar));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(DiffTrees(source, Walk(copy->mountpoint())), "");
  EXPECT_EQ(DiffTrees(source, Walk(mnt_)), "") << "the source changed";
  EXPECT_TRUE(copy->Stop());
}

TEST_F(HistoryRestoreTest, TarXattrsRestoreIsExact) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Walk(mnt_);
  const std::string tar = dir_.Sub("all.tar");
  CommandResult r =
      In(mnt_, "tar --format=posix --xattrs --xattrs-include='*' -cf " +
                   ShellQuote(tar) + " .");
  ASSERT_EQ(r.status, 0) << r.output;
  auto copy = FreshMount("copy");
  ASSERT_NE(copy, nullptr);
  r = In(copy->mountpoint(),
         "tar --xattrs --xattrs-include='*' -xf " + ShellQuote(tar));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(DiffTrees(source, Walk(copy->mountpoint())), "");
  EXPECT_EQ(MaxVersions(copy->mountpoint()), "1000");
  EXPECT_TRUE(copy->Stop());
}

TEST_F(HistoryRestoreTest, RsyncRestoreIsExactAndConverges) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Walk(mnt_);
  for (const std::string flags : {"-a", "-aX"}) {
    SCOPED_TRACE("rsync " + flags);
    auto copy = FreshMount("copy" + flags);
    ASSERT_NE(copy, nullptr);
    const std::string args =
        ShellQuote(mnt_ + "/") + " " + ShellQuote(copy->mountpoint() + "/");
    CommandResult r = RunShell("rsync " + flags + " " + args);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(DiffTrees(source, Walk(copy->mountpoint())), "");
    if (flags == "-aX") {
      EXPECT_EQ(MaxVersions(copy->mountpoint()), "1000");
    }
    r = RunShell("rsync " + flags + " --itemize-changes " + args);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find(">f"), std::string::npos)
        << "the second rsync transferred files again:\n"
        << r.output;
    EXPECT_EQ(DiffTrees(source, Walk(copy->mountpoint())), "");
    EXPECT_TRUE(copy->Stop());
  }
}

TEST_F(HistoryRestoreTest, CpArchiveRestoreIsExact) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Walk(mnt_);
  auto copy = FreshMount("copy");
  ASSERT_NE(copy, nullptr);
  const CommandResult r = RunShell("cp -a " + ShellQuote(mnt_ + "/.") + " " +
                                   ShellQuote(copy->mountpoint() + "/"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(DiffTrees(source, Walk(copy->mountpoint())), "");
  EXPECT_EQ(MaxVersions(copy->mountpoint()), "1000");
  EXPECT_TRUE(copy->Stop());
}

// ------------------------------------------- tar over a restored mount

// A whole tree extracted again over its own restore changes nothing, by
// default (unlink and create) and with --overwrite (truncate in place).
// After a local edit, extracting shows the archived content and time again
// and keeps the edit in the history; extracting once more changes nothing.
TEST_F(HistoryRestoreTest, TarExtractOverARestoredMountKeepsHistory) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Walk(mnt_);
  const std::string tar = dir_.Sub("all.tar");
  CommandResult r =
      In(mnt_, "tar --format=posix -cf " + ShellQuote(tar) + " .");
  ASSERT_EQ(r.status, 0) << r.output;
  auto copy = FreshMount("copy");
  ASSERT_NE(copy, nullptr);
  const std::string cmnt = copy->mountpoint();
  r = In(cmnt, "tar -xf " + ShellQuote(tar));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(DiffTrees(source, Walk(cmnt)), "");
  for (const std::string mode : {"", "--overwrite "}) {
    r = In(cmnt, "tar -x " + mode + "-f " + ShellQuote(tar));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(DiffTrees(source, Walk(cmnt)), "")
        << "tar -x " << mode << "over an identical tree";
  }

  // A local edit of ds/r/col: the restored latest (its source time T) is
  // listed as col@T, the edit is the latest.
  const std::string col = cmnt + "/ds/r/col";
  const Entry restored_latest = source.at("ds/r/col");
  r = RunShell("printf 'local edit\\n' > " + ShellQuote(col));
  ASSERT_EQ(r.status, 0) << r.output;
  const uint64_t edit_time = MtimeOf(col);
  Tree want = source;
  want["ds/r/" + VersionName("col", restored_latest.mtime_ms)] =
      restored_latest;
  Entry edit = restored_latest;
  edit.mtime_ms = edit_time;
  edit.content = "local edit\n";
  want["ds/r/" + VersionName("col", edit_time)] = edit;
  for (const std::string mode : {"", "--overwrite ", "", "--overwrite "}) {
    SCOPED_TRACE("tar -x " + mode + "after a local edit");
    r = In(cmnt, "tar -x " + mode + "-f " + ShellQuote(tar));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(DiffTrees(want, Walk(cmnt)), "");
  }
  EXPECT_TRUE(copy->Stop());
}

// ------------------------------------------------- incremental restores

// tar --listed-incremental: level 0, a day's changes (a new version, a new
// column, a removed column, a new row), level 1; both extracted into a
// fresh mount give the source.
TEST_F(HistoryRestoreTest, TarListedIncrementalRestoreIsExact) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  ExpectTarLevelsRestoreExactly([&] {
    ASSERT_EQ(WriteFile("ds/r/col", "four\n"), 0);
    ASSERT_EQ(WriteFile("ds/r/newcol", "new\n"), 0);
    ASSERT_EQ(unlink(P("ds/r/empty").c_str()), 0);
    ASSERT_EQ(mkdir(P("ds/r3").c_str(), 0755), 0);
    ASSERT_EQ(WriteFile("ds/r3/x", "x\n"), 0);
  });
}

// The changes of a level that only an entry's change time (ctime) shows:
// an older file copied over a column with cp -p (new content, a time of
// 2020), an older time set on a column, a version of 2020 backfilled today.
// tar -g dumps a file whose mtime or ctime is after the previous level, as
// on any POSIX filesystem, where writes and utimens set ctime to now.
//
// rowfs reports a version's ctime as the time it or its time last changed
// (it once reported the mtime: level 1 then held neither the cp -p'd content
// nor the new time).
TEST_F(HistoryRestoreTest, TarListedIncrementalCarriesChangesWithOlderTimes) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  ExpectTarLevelsRestoreExactly([&] {
    const std::string old = dir_.Sub("old");
    CommandResult r = RunShell(
        "printf 'old copy\\n' > " + ShellQuote(old) +
        " && touch -d @1600000000.321 " + ShellQuote(old) + " && cp -p " +
        ShellQuote(old) + " " + ShellQuote(P("ds/r/col")));
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_EQ(WriteFile("ds/r/hist@1600000100000", "backfilled\n"), 0);
    r = Sh("touch -d @1600000000.777 ds2/r1/c");
    ASSERT_EQ(r.status, 0) << r.output;
  });
}

// cpio: a full archive, then what changed since, found as a backup script
// should find it (find -cnewer: the change time, which on POSIX
// filesystems also shows renamed files and new times), both extracted with
// -idmu into a fresh mount. cpio keeps whole seconds: the source has whole
// seconds only, and its changes get whole seconds a little ahead of the
// clock, which -cnewer sees (and the ctime rowfs reports; see
// TarListedIncrementalCarriesChangesWithOlderTimes).
TEST_F(HistoryRestoreTest, CpioIncrementalRestoreIsExact) {
  PopulateWholeSeconds();
  ASSERT_FALSE(HasFatalFailure());
  const std::string l0 = dir_.Sub("l0.cpio"), l1 = dir_.Sub("l1.cpio");
  const std::string stamp = dir_.Sub("l0.stamp");
  CommandResult r =
      In(mnt_, "touch " + ShellQuote(stamp) +
                   " && find . -depth -print0 | cpio -o0 -H newc --quiet > " +
                   ShellQuote(l0));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string later = "@" + std::to_string(time(nullptr) + 5);
  const std::string dirs_later = "@" + std::to_string(time(nullptr) + 6);
  ASSERT_EQ(WriteFile("ds/r/col", "four\n"), 0);
  ASSERT_EQ(WriteFile("ds/r/newcol", "new\n"), 0);
  ASSERT_EQ(mkdir(P("ds/r3").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r3/x", "x\n"), 0);
  r = Sh("touch -d " + later + " ds/r/col ds/r/newcol ds/r3/x && touch -d " +
         dirs_later + " ds/r ds/r3 ds .");
  ASSERT_EQ(r.status, 0) << r.output;
  r = In(mnt_, "find . -depth -cnewer " + ShellQuote(stamp) +
                   " -print0 | cpio -o0 -H newc --quiet > " + ShellQuote(l1));
  ASSERT_EQ(r.status, 0) << r.output;
  const Tree source = Walk(mnt_);

  auto copy = FreshMount("copy");
  ASSERT_NE(copy, nullptr);
  for (const std::string& level : {l0, l1}) {
    r = In(copy->mountpoint(), "cpio -idmu --quiet < " + ShellQuote(level));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  // cpio -i never sets the time of "." (not on a local disk either).
  EXPECT_EQ(
      DiffTrees(WithoutRoot(source), WithoutRoot(Walk(copy->mountpoint()))),
      "");
  EXPECT_TRUE(copy->Stop());
}

// ------------------------------------------------------ borg, restic

TEST_F(HistoryRestoreTest, BorgFullRestoreIsExact) {
  ASSERT_TRUE(HaveTool("borg")) << "scripts/install-deps.sh installs it";
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Tree source = Walk(mnt_);
  CommandResult r = RunShell(BackupEnv() + "borg init -e none");
  ASSERT_EQ(r.status, 0) << r.output;
  r = In(mnt_, BackupEnv() + "borg create ::full .");
  ASSERT_EQ(r.status, 0) << r.output;
  auto copy = FreshMount("copy");
  ASSERT_NE(copy, nullptr);
  r = In(copy->mountpoint(), BackupEnv() + "borg extract ::full");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(DiffTrees(source, Walk(copy->mountpoint())), "");
  EXPECT_TRUE(copy->Stop());
}

// borg extract of one file over a live mount removes the file and writes
// it again: the archived content and time are shown, the history stays.
TEST_F(HistoryRestoreTest, BorgExtractOfOneFileOverALiveMountKeepsHistory) {
  ASSERT_TRUE(HaveTool("borg")) << "scripts/install-deps.sh installs it";
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Entry archived = Walk(mnt_).at("ds/r/col");
  CommandResult r = RunShell(BackupEnv() + "borg init -e none");
  ASSERT_EQ(r.status, 0) << r.output;
  r = In(mnt_, BackupEnv() + "borg create ::full .");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(WriteFile("ds/r/col", "four\n"), 0);
  const uint64_t four = MtimeOf(P("ds/r/col"));
  std::map<std::string, std::string> want = VersionsOf(mnt_);
  ASSERT_EQ(want.size(), 3u);
  want[VersionName("col", four)] = "four\n";
  r = In(mnt_, BackupEnv() + "borg extract ::full ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/col"), archived.content);
  EXPECT_EQ(MtimeOf(P("ds/r/col")), archived.mtime_ms);
  EXPECT_EQ(DiffVersions(want, VersionsOf(mnt_)), "");
}

// restic (0.14, Debian 12) restores a file of several blobs in several
// sessions (open O_CREAT|O_TRUNC, fallocate, pwrite, close; then open
// O_WRONLY, pwrite, close for each further blob), and every close with
// changes stores a version (SPEC): ds/r/huge (16 MiB, several blobs) comes
// back with its partial states listed as versions stamped at restore time
// (README, Caveats). Everything else is exact, and every version of the
// source is there.
TEST_F(HistoryRestoreTest, ResticFullRestoreKeepsEveryVersion) {
  ASSERT_TRUE(HaveTool("restic")) << "scripts/install-deps.sh installs it";
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  // Restic's chunker (its polynomial is drawn per repository) may keep a
  // 3 MiB file in one blob; 16 MiB are always several blobs.
  std::mt19937 rng(11);
  std::string huge(16 << 20, '\0');
  for (char& c : huge) c = static_cast<char>(rng() & 0xff);
  ASSERT_EQ(WriteFile("ds/r/huge", huge), 0);
  const Tree source = Walk(mnt_);
  CommandResult r = RunShell(BackupEnv() + "restic init --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  r = In(mnt_, BackupEnv() + "restic backup --quiet .");
  ASSERT_EQ(r.status, 0) << r.output;
  auto copy = FreshMount("copy");
  ASSERT_NE(copy, nullptr);
  const uint64_t restore_start = static_cast<uint64_t>(time(nullptr)) * 1000;
  r = RunShell(BackupEnv() + "restic restore --quiet latest --target " +
               ShellQuote(copy->mountpoint()));
  ASSERT_EQ(r.status, 0) << r.output;
  // The partial states of files of several blobs (huge, and big when it
  // was), stamped during the restore, are the only difference. (A snapshot of
  // "." holds its entries, not the directory's own time.)
  Tree restored = WithoutRoot(Walk(copy->mountpoint()));
  size_t partial = 0;
  std::erase_if(restored, [&](const auto& kv) {
    EntryName e;
    const std::string name = kv.first.substr(
        kv.first.rfind('/') == std::string::npos ? 0 : kv.first.rfind('/') + 1);
    const bool drop =
        ParseEntryName(name, &e).ok() && e.ts && *e.ts >= restore_start;
    partial += drop ? 1 : 0;
    return drop;
  });
  EXPECT_EQ(DiffTrees(WithoutRoot(source), restored), "");
  EXPECT_GT(partial, 0u) << "restic wrote huge in one session: the caveat "
                            "in the README may no longer hold";
  EXPECT_TRUE(copy->Stop());
}

// restic restore of one file over a live mount truncates and writes it in
// place: the archived content and time are shown, the history stays.
TEST_F(HistoryRestoreTest, ResticRestoreOfOneFileOverALiveMountKeepsHistory) {
  ASSERT_TRUE(HaveTool("restic")) << "scripts/install-deps.sh installs it";
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const Entry archived = Walk(mnt_).at("ds/r/col");
  CommandResult r = RunShell(BackupEnv() + "restic init --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  r = In(mnt_, BackupEnv() + "restic backup --quiet .");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(WriteFile("ds/r/col", "four\n"), 0);
  const uint64_t four = MtimeOf(P("ds/r/col"));
  std::map<std::string, std::string> want = VersionsOf(mnt_);
  ASSERT_EQ(want.size(), 3u);
  want[VersionName("col", four)] = "four\n";
  r = RunShell(BackupEnv() + "restic restore --quiet latest --target " +
               ShellQuote(mnt_) + " --include /ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(ReadFile("ds/r/col"), archived.content);
  EXPECT_EQ(MtimeOf(P("ds/r/col")), archived.mtime_ms);
  EXPECT_EQ(DiffVersions(want, VersionsOf(mnt_)), "");
}

}  // namespace
}  // namespace rowfs
