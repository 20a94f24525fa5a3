// The acceptance matrix of history semantics 2, one tool at a time, on real
// mounts: a column written three times (three distinct contents) is
// replaced, edited, restored or moved by a standard tool. Each test checks
// what `cat` shows, the mtime the tool set, and that every version listed
// before is still listed with the same bytes (plus, where the tool wrote
// new content, the former latest under its own time). Tools that replace a
// file by unlinking or renaming it away are the ones this guards: without
// "history belongs to the name" they take the column's history with them.
// Whole-tree restores are in history_restore_test.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "history_util.h"
#include "mount_fixture.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

using history::Describe;
using history::DiffVersions;
using history::HaveTool;
using history::MtimeMs;

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Each holds an 'a' for the editors' s/a/b/.
constexpr char kV1[] = "first a\n";
constexpr char kV2[] = "second aa\n";
constexpr char kV3[] = "third aaa\n";

class HistoryToolsTest : public MountTest {
 protected:
  // ds/r/col with kV1, kV2 and kV3 (the latest): col@t1, col@t2, col.
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
    for (const char* v : {kV1, kV2, kV3}) {
      ASSERT_EQ(WriteFile("ds/r/col", v), 0);
      usleep(3000);  // versions some ms apart: room for a time between
    }
    before_ = Capture();
    ASSERT_EQ(before_.content, kV3);
    ASSERT_EQ(before_.versions.size(), 2u) << Listing();
  }

  // What the row shows of one column.
  struct ColumnState {
    std::map<std::string, std::string> versions;  // "col@ts" -> bytes
    std::string content;                          // what cat shows
    uint64_t mtime_ms = 0;
    ino_t ino = 0;
    std::vector<std::string> others;  // the row's other entries
  };

  ColumnState Capture(const std::string& col = "col") {
    ColumnState s;
    for (const std::string& name : List("ds/r")) {
      EntryName e;
      if (name == col) {
        s.content = ReadFile("ds/r/" + name);
        struct stat st;
        EXPECT_EQ(stat(P("ds/r/" + name).c_str(), &st), 0) << name;
        s.mtime_ms = MtimeMs(st);
        s.ino = st.st_ino;
      } else if (ParseEntryName(name, &e).ok() && e.ts && e.column == col) {
        s.versions[name] = ReadFile("ds/r/" + name);
      } else {
        s.others.push_back(name);
      }
    }
    return s;
  }

  std::string Listing() { return ::testing::PrintToString(List("ds/r")); }

  enum class History {
    kSame,        // the tool put the column back as it was: nothing added
    kPlusLatest,  // the former latest is listed too, under its time
  };

  // Checks the column after a tool ran: `cat` shows `content`; every
  // version of `before` is listed with its bytes, and (kPlusLatest) so is
  // before's latest, as col@<its mtime>, so `before` must be taken while the
  // latest shows its own timestamp (no time set on it). The row holds no
  // other new entry than `left` (a tool's leftovers, such as a backup).
  ColumnState ExpectHistory(const ColumnState& before,
                            const std::string& content, History history,
                            const std::string& col = "col",
                            const std::vector<std::string>& left = {}) {
    const ColumnState after = Capture(col);
    EXPECT_EQ(after.content, content)
        << "cat shows " << Describe(after.content);
    std::map<std::string, std::string> want = before.versions;
    if (history == History::kPlusLatest) {
      want[VersionName(col, before.mtime_ms)] = before.content;
    }
    EXPECT_EQ(DiffVersions(want, after.versions), "")
        << "the row lists " << Listing();
    std::vector<std::string> others = before.others;
    others.insert(others.end(), left.begin(), left.end());
    std::sort(others.begin(), others.end());
    EXPECT_EQ(after.others, others) << "entries left or lost by the tool";
    return after;
  }

  // A file outside the mount with `content` and mtime `touch_time`
  // (touch -d syntax), for tools that copy an older file over the column.
  std::string LocalFile(const std::string& name, const std::string& content,
                        const std::string& touch_time) {
    const std::string path = dir_.Sub(name);
    const CommandResult r = RunShell(
        "printf %s " + ShellQuote(content) + " > " + ShellQuote(path) +
        " && touch -d " + ShellQuote(touch_time) + " " + ShellQuote(path));
    EXPECT_EQ(r.status, 0) << r.output;
    return path;
  }

  // Writes one more version, so that the column's latest shows its own
  // time again (ExpectHistory's kPlusLatest needs that).
  ColumnState WriteAndCapture(const std::string& content) {
    EXPECT_EQ(WriteFile("ds/r/col", content), 0);
    return Capture();
  }

  ColumnState before_;
};

// ------------------------------------------------------------ editors

// vim's default write (backupcopy=auto, writebackup): it renames the
// original to col~, writes a new col, then removes col~. 'backupskip' is
// cleared because its default skips backups of files under /tmp, where
// the test's mount lives, and that would make vim write in place.
TEST_F(HistoryToolsTest, VimRenameWriteKeepsHistory) {
  const uint64_t start = NowMs();
  const CommandResult r =
      Sh("vim -u NONE -i NONE -N -es -c 'set backupskip=' "
         "-c 'set nobackup writebackup backupcopy=auto' -c '%s/a/b/' -c 'wq' "
         "ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after =
      ExpectHistory(before_, "third baa\n", History::kPlusLatest);
  // The point of this test: the original was renamed away, not rewritten.
  EXPECT_NE(after.ino, before_.ino)
      << "vim wrote in place: the rename write was not exercised";
  EXPECT_GE(after.mtime_ms, start);
  EXPECT_LE(after.mtime_ms, NowMs());
}

// With 'backup' set, vim keeps the renamed original as col~.
TEST_F(HistoryToolsTest, VimWithBackupKeepsHistoryAndTheBackup) {
  const CommandResult r =
      Sh("vim -u NONE -i NONE -N -es -c 'set backupskip=' "
         "-c 'set backup writebackup backupcopy=auto' -c '%s/a/b/' -c 'wq' "
         "ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after = ExpectHistory(
      before_, "third baa\n", History::kPlusLatest, "col", {"col~"});
  EXPECT_NE(after.ino, before_.ino)
      << "vim wrote in place: the rename write was not exercised";
  EXPECT_EQ(ReadFile("ds/r/col~"), kV3);
}

// nano writes in place. It needs a terminal: script(1) gives it one, and
// its keys come from a pipe ('Z' typed at the start, ^X; --saveonexit
// saves without asking).
TEST_F(HistoryToolsTest, NanoSaveKeepsHistory) {
  if (!HaveTool("nano")) GTEST_SKIP() << "nano is not installed";
  const uint64_t start = NowMs();
  const CommandResult r =
      Sh("printf 'Z\\030' | TERM=xterm timeout 30 script -qec "
         "'nano --ignorercfiles --saveonexit ds/r/col' /dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after =
      ExpectHistory(before_, "Zthird aaa\n", History::kPlusLatest);
  EXPECT_GE(after.mtime_ms, start);
  EXPECT_LE(after.mtime_ms, NowMs());
}

// ------------------------------------------------- in-place rewriters

TEST_F(HistoryToolsTest, SedInPlaceKeepsHistory) {
  const uint64_t start = NowMs();
  const CommandResult r = Sh("sed -i 's/a/b/' ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after =
      ExpectHistory(before_, "third baa\n", History::kPlusLatest);
  EXPECT_NE(after.ino, before_.ino) << "sed -i renames a temporary file";
  EXPECT_GE(after.mtime_ms, start);
  EXPECT_LE(after.mtime_ms, NowMs());
}

TEST_F(HistoryToolsTest, PerlInPlaceKeepsHistory) {
  const uint64_t start = NowMs();
  const CommandResult r = Sh("perl -pi -e 's/a/b/' ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after =
      ExpectHistory(before_, "third baa\n", History::kPlusLatest);
  EXPECT_GE(after.mtime_ms, start);
  EXPECT_LE(after.mtime_ms, NowMs());
}

// install(1) unlinks the target before it creates it anew (mode 0755).
TEST_F(HistoryToolsTest, InstallKeepsHistory) {
  const std::string src = LocalFile("src", "installed\n", "@1600000000");
  const uint64_t start = NowMs();
  const CommandResult r = Sh("install " + ShellQuote(src) + " ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after =
      ExpectHistory(before_, "installed\n", History::kPlusLatest);
  EXPECT_GE(after.mtime_ms, start);  // no -p: the time of the write
  EXPECT_LE(after.mtime_ms, NowMs());
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/col").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

// gzip makes col.gz and removes col; gunzip makes col again with the same
// bytes and gives it col.gz's time, which gzip copied from col: a copy of
// the last version with its time, which restores the column as it was.
TEST_F(HistoryToolsTest, GzipThenGunzipRestoresTheColumnAsItWas) {
  CommandResult r = Sh("gzip ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(List("ds/r"), std::vector<std::string>{"col.gz"});
  r = Sh("gunzip ds/r/col.gz");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after = ExpectHistory(before_, kV3, History::kSame);
  EXPECT_EQ(after.mtime_ms, before_.mtime_ms);
}

// ------------------------------------------------------------ archivers

// unzip -o unlinks an existing file before it writes it. Zip keeps whole
// seconds (its extended timestamp), so the time is the second of t3.
TEST_F(HistoryToolsTest, UnzipOverwriteKeepsHistory) {
  const std::string zip = dir_.Sub("a.zip");
  CommandResult r = Sh("cd ds/r && zip -q " + ShellQuote(zip) + " col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState before = WriteAndCapture("fourth aaaa\n");
  r = Sh("cd ds/r && unzip -o -q " + ShellQuote(zip));
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after = ExpectHistory(before, kV3, History::kPlusLatest);
  EXPECT_EQ(after.mtime_ms, before_.mtime_ms / 1000 * 1000);
}

// tar -x by default unlinks an existing file and creates it again;
// --overwrite truncates it in place. Either way the archived content and
// time are shown and the history stays. (pax headers carry the ms.)
TEST_F(HistoryToolsTest, TarExtractOfAnOlderColumnKeepsHistory) {
  const std::string tar = dir_.Sub("col.tar");
  CommandResult r =
      Sh("tar --format=posix -cf " + ShellQuote(tar) + " ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  int n = 0;
  for (const std::string mode : {"", "--overwrite "}) {
    SCOPED_TRACE("tar -x " + mode);
    const ColumnState before = WriteAndCapture("newer " + std::to_string(++n));
    r = Sh("tar -x " + mode + "-f " + ShellQuote(tar));
    ASSERT_EQ(r.status, 0) << r.output;
    const ColumnState after = ExpectHistory(before, kV3, History::kPlusLatest);
    EXPECT_EQ(after.mtime_ms, before_.mtime_ms);
  }
}

// Extracting what the column holds now (the same bytes and time) changes
// nothing, however often: restores converge.
TEST_F(HistoryToolsTest, TarExtractOfTheCurrentColumnAddsNothing) {
  const std::string tar = dir_.Sub("col.tar");
  CommandResult r =
      Sh("tar --format=posix -cf " + ShellQuote(tar) + " ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const std::string mode : {"", "--overwrite ", "", "--overwrite "}) {
    SCOPED_TRACE("tar -x " + mode);
    r = Sh("tar -x " + mode + "-f " + ShellQuote(tar));
    ASSERT_EQ(r.status, 0) << r.output;
    const ColumnState after = ExpectHistory(before_, kV3, History::kSame);
    EXPECT_EQ(after.mtime_ms, before_.mtime_ms);
  }
}

// cpio -i -u replaces an existing file unconditionally (unlink, create);
// -m keeps the archived time (whole seconds in cpio's formats).
TEST_F(HistoryToolsTest, CpioExtractUnconditionalKeepsHistory) {
  const std::string archive = dir_.Sub("col.cpio");
  CommandResult r = Sh("cd ds/r && echo col | cpio -o -H newc --quiet > " +
                       ShellQuote(archive));
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState before = WriteAndCapture("fourth aaaa\n");
  r = Sh("cd ds/r && cpio -idmu --quiet < " + ShellQuote(archive));
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after = ExpectHistory(before, kV3, History::kPlusLatest);
  EXPECT_EQ(after.mtime_ms, before_.mtime_ms / 1000 * 1000);
}

// ------------------------------------------------------------ copiers

// cp -p and cp -a of an older file over the column: its content is shown
// with its old time; the time, older than the versions before it, does not
// move the new version among them.
TEST_F(HistoryToolsTest, CpPreserveOfAnOlderFileKeepsHistory) {
  const std::string old =
      LocalFile("old", "old file\n", "@1600000000.123456789");
  for (const std::string flag : {"-p", "-a"}) {
    SCOPED_TRACE("cp " + flag);
    const ColumnState before = WriteAndCapture("before cp " + flag + "\n");
    const CommandResult r =
        Sh("cp " + flag + " " + ShellQuote(old) + " ds/r/col");
    ASSERT_EQ(r.status, 0) << r.output;
    const ColumnState after =
        ExpectHistory(before, "old file\n", History::kPlusLatest);
    EXPECT_EQ(after.mtime_ms, 1600000000123u);
  }
}

// rsync -a of an older file: a temporary file with the old time renamed
// over the column. A second run finds the column up to date.
TEST_F(HistoryToolsTest, RsyncOfAnOlderFileTwiceConverges) {
  const std::string old = LocalFile("old", "synced\n", "@1600000000.789");
  CommandResult r = Sh("rsync -a " + ShellQuote(old) + " ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState once =
      ExpectHistory(before_, "synced\n", History::kPlusLatest);
  EXPECT_EQ(once.mtime_ms, 1600000000789u);
  r = Sh("rsync -a --itemize-changes " + ShellQuote(old) + " ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find(">f"), std::string::npos)
      << "the second rsync transferred the file again:\n"
      << r.output;
  const ColumnState twice = ExpectHistory(once, "synced\n", History::kSame);
  EXPECT_EQ(twice.mtime_ms, 1600000000789u);
}

// ------------------------------------------------------------ times

// A time older than the versions before it is shown, the version keeps its
// place and its name; a time between the previous version and now also
// renames the version, which the next write then lists under that time.
TEST_F(HistoryToolsTest, TouchToAnOlderTimeKeepsHistory) {
  CommandResult r = Sh("touch -d @1600000000.456 ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  ColumnState after = ExpectHistory(before_, kV3, History::kSame);
  EXPECT_EQ(after.mtime_ms, 1600000000456u);

  // Between col@t2 and the latest's own time t3. (Same-length names sort
  // as their times: the map's last one is t2.)
  EntryName e;
  ASSERT_TRUE(ParseEntryName(before_.versions.rbegin()->first, &e).ok());
  const uint64_t t2 = *e.ts;
  const uint64_t t3 = before_.mtime_ms;
  ASSERT_LT(t2, t3);
  if (t3 - t2 < 2) GTEST_SKIP() << "no time between t2 and t3";
  const uint64_t between = t2 + 1;
  r = Sh("touch -d @" + std::to_string(between / 1000) + "." +
         std::to_string(1000 + between % 1000).substr(1) + " ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  after = ExpectHistory(before_, kV3, History::kSame);
  EXPECT_EQ(after.mtime_ms, between);
  ASSERT_EQ(WriteFile("ds/r/col", "fourth\n"), 0);
  std::map<std::string, std::string> want = before_.versions;
  want[VersionName("col", between)] = kV3;
  EXPECT_EQ(DiffVersions(want, Capture().versions), "") << Listing();
}

// ------------------------------------------------------------ rm, mv

TEST_F(HistoryToolsTest, RmThenRecreateListsTheHistoryAgain) {
  CommandResult r = Sh("rm ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(List("ds/r"), std::vector<std::string>{}) << "rm hides it all";
  EXPECT_EQ(ReadFile("ds/r/col"), "<errno 2>");
  const uint64_t start = NowMs();
  r = Sh("printf 'again\\n' > ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after =
      ExpectHistory(before_, "again\n", History::kPlusLatest);
  EXPECT_GE(after.mtime_ms, start);
}

// mv a b moves a's latest content to b (a's history stays under a's name);
// mv b a brings it back: b, of a single version, leaves nothing, and a is
// restored as it was.
TEST_F(HistoryToolsTest, MvAwayAndBackRestoresTheColumn) {
  CommandResult r = Sh("mv ds/r/col ds/r/b");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(List("ds/r"), std::vector<std::string>{"b"});
  EXPECT_EQ(ReadFile("ds/r/b"), kV3);
  r = Sh("mv ds/r/b ds/r/col");
  ASSERT_EQ(r.status, 0) << r.output;
  const ColumnState after = ExpectHistory(before_, kV3, History::kSame);
  EXPECT_EQ(after.mtime_ms, before_.mtime_ms);
  EXPECT_EQ(ReadFile("ds/r/b"), "<errno 2>");
  // And b has no history of its own that a new b would list.
  ASSERT_EQ(WriteFile("ds/r/b", "new b\n"), 0);
  EXPECT_EQ(Capture("b").versions.size(), 0u) << Listing();
}

}  // namespace
}  // namespace rowfs
