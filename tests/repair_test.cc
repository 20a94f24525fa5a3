// Damaged databases: a damaged write-ahead log is reported (or refused with
// -o wal_recovery=strict), `rowfs check` names damaged files, `rowfs
// repair` rebuilds a database that lost its CURRENT file, and a compaction
// meeting a damaged table file does not stop writes.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "mount_fixture.h"
#include "reliability_util.h"

namespace rowfs {
namespace {

namespace fs = std::filesystem;
using reliability::CountLinesWith;
using reliability::Errno;
using reliability::Pseudo;

// The largest file of DB_DIR whose name ends in `ext`.
std::string Largest(const std::string& dir, const std::string& ext) {
  std::string best;
  uintmax_t size = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext && e.file_size() >= size) {
      size = e.file_size();
      best = e.path().string();
    }
  }
  return best;
}

// Inverts `n` bytes of `path` at `at`.
void Invert(const std::string& path, off_t at, size_t n) {
  const int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  std::string bytes(n, '\0');
  ASSERT_EQ(pread(fd, bytes.data(), n, at), static_cast<ssize_t>(n));
  for (char& b : bytes) b = static_cast<char>(~b);
  ASSERT_EQ(pwrite(fd, bytes.data(), n, at), static_cast<ssize_t>(n));
  close(fd);
}

class RepairTest : public MountTest {
 protected:
  // Runs `rowfs ARGS` in the test's directory. A rowfs without these
  // commands would take "check DB_DIR" for "mount ./check at DB_DIR":
  // such a mount is detached here, so that a failing test leaves none.
  CommandResult Rowfs(const std::string& args) {
    CommandResult r = RunShell("cd " + ShellQuote(dir_.path()) + " && " +
                               ShellQuote(ROWFS_BINARY) + " " + args);
    if (IsMounted(db_)) {
      umount2(db_.c_str(), MNT_DETACH);
      ADD_FAILURE() << "`rowfs " << args << "` mounted something at " << db_;
    }
    return r;
  }

  // open + write + fsync + close: stored in a synced WAL write.
  int WriteSynced(const std::string& rel, const std::string& content) {
    const int fd = open(P(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return errno;
    int err = reliability::WriteAllFd(fd, content);
    if (err == 0 && fsync(fd) != 0) err = errno;
    if (close(fd) != 0 && err == 0) err = errno;
    return err;
  }

  // Writes 24 incompressible 64 KiB columns to ds/r, flushes them into one
  // table file and stops the daemon; returns that file, damaged in its
  // middle (a data block).
  std::string DamagedTableFile(std::map<std::string, std::string>* content) {
    EXPECT_EQ(mkdir(P("ds").c_str(), 0755), 0);
    EXPECT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
    for (int i = 0; i < 24; ++i) {
      const std::string rel = "ds/r/c" + std::to_string(i);
      (*content)[rel] = Pseudo(1000 + i, 64 * 1024);
      EXPECT_EQ(WriteFile(rel, (*content)[rel]), 0);
    }
    EXPECT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0)
        << Errno(errno);
    EXPECT_TRUE(daemon_->Stop());
    const std::string sst = Largest(db_, ".sst");
    EXPECT_GT(fs::file_size(sst), 24u * 64 * 1024) << "no SST holds the values";
    Invert(sst, static_cast<off_t>(fs::file_size(sst) / 2), 64);
    return sst;
  }

  // Starts a daemon with `args` and returns its log lines written since.
  ::testing::AssertionResult StartDaemon(std::vector<std::string> args,
                                         std::string* log) {
    daemon_ = std::make_unique<Daemon>(db_, mnt_, std::move(args));
    const size_t start = daemon_->Log().size();
    ::testing::AssertionResult r = daemon_->Start();
    *log = daemon_->Log().substr(start);
    return r;
  }
};

// ------------------------------------------------------------ damaged WAL

enum class WalDamageKind { kBitFlip, kTruncation };

class WalDamageTest : public RepairTest,
                      public ::testing::WithParamInterface<WalDamageKind> {};

TEST_P(WalDamageTest, IsReportedAndRefusedWhenStrict) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  constexpr int kFiles = 40;
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_EQ(WriteSynced("ds/r/c" + std::to_string(i), Pseudo(i, 3000)), 0);
  }
  // Every write is in the WAL only: no flush happened.
  daemon_->Kill9();
  ASSERT_TRUE(Largest(db_, ".sst").empty()) << "a table file was written";
  const std::string wal = Largest(db_, ".log");
  ASSERT_FALSE(wal.empty());
  const uintmax_t size = fs::file_size(wal);
  ASSERT_GT(size, kFiles * 3000u);
  if (GetParam() == WalDamageKind::kBitFlip) {
    Invert(wal, static_cast<off_t>(size / 2), 1);
  } else {
    ASSERT_EQ(truncate(wal.c_str(), static_cast<off_t>(size * 6 / 10)), 0);
  }
  const uintmax_t damaged_size = fs::file_size(wal);
  const std::string name = fs::path(wal).filename().string();

  // Strict: refused with one line naming the log; nothing changes.
  std::string log;
  const ::testing::AssertionResult strict =
      StartDaemon({"-o", "wal_recovery=strict"}, &log);
  EXPECT_FALSE(strict) << "mounted a database with a damaged WAL";
  EXPECT_NE(std::string(strict.message()).find("exited with 1"),
            std::string::npos)
      << strict.message();
  EXPECT_EQ(CountLinesWith(log, {"rowfs: ", name, "wal_recovery=strict"}), 1)
      << log;
  EXPECT_FALSE(IsMounted(mnt_));
  ASSERT_TRUE(fs::exists(wal)) << "the strict start removed the log";
  EXPECT_EQ(fs::file_size(wal), damaged_size);

  // Default: point-in-time recovery mounts, and says what it dropped.
  ASSERT_TRUE(StartDaemon({}, &log));
  EXPECT_GE(CountLinesWith(log, {"[warning]", name, "offset", "bytes"}), 1)
      << "no warning names the damaged log:\n"
      << log;
  int present = 0, missing = 0;
  for (int i = 0; i < kFiles; ++i) {
    std::string got;
    const int err = ReadWhole(P("ds/r/c" + std::to_string(i)), &got);
    if (err == 0) {
      ++present;
      EXPECT_TRUE(got == Pseudo(i, 3000)) << "c" << i << ": garbage";
    } else {
      ++missing;
      EXPECT_EQ(err, ENOENT) << "c" << i << ": " << Errno(err);
    }
  }
  std::printf("[ wal      ] %d of %d synced files recovered\n", present,
              kFiles);
  EXPECT_GT(present, 0);
  EXPECT_GT(missing, 0) << "the damage dropped nothing?";
  // The damaged log is kept where recovery's deletion cannot reach it.
  int kept = 0;
  for (const auto& e : fs::directory_iterator(db_ + "/lost")) {
    if (e.path().filename().string().starts_with(name)) ++kept;
  }
  EXPECT_EQ(kept, 1);
  // The database works on.
  ASSERT_EQ(WriteFile("ds/r/after", "after\n"), 0);
  EXPECT_EQ(ReadFile("ds/r/after"), "after\n");
}

INSTANTIATE_TEST_SUITE_P(Wal, WalDamageTest,
                         ::testing::Values(WalDamageKind::kBitFlip,
                                           WalDamageKind::kTruncation),
                         [](const ::testing::TestParamInfo<WalDamageKind>& p) {
                           return p.param == WalDamageKind::kBitFlip
                                      ? std::string("BitFlip")
                                      : std::string("Truncation");
                         });

// ------------------------------------------------------------ rowfs check

TEST_F(RepairTest, CheckPassesACleanDatabase) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/flushed", "in a table file\n"), 0);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  ASSERT_EQ(WriteFile("ds/r/logged", "in the WAL\n"), 0);
  ASSERT_TRUE(daemon_->Stop());
  const CommandResult r = Rowfs("check " + ShellQuote(db_));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(CountLinesWith(r.output, {db_, "clean"}), 1) << r.output;
}

TEST_F(RepairTest, CheckNamesADamagedTableFile) {
  std::map<std::string, std::string> content;
  const std::string sst = DamagedTableFile(&content);
  const std::string name = fs::path(sst).filename().string();
  const CommandResult r = Rowfs("check " + ShellQuote(db_));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(CountLinesWith(r.output, {name + ": ", "checksum"}), 1) << r.output;
}

TEST_F(RepairTest, CheckAndRepairRefuseADatabaseInUse) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  for (const char* tool : {"check", "repair"}) {
    const CommandResult r = Rowfs(std::string(tool) + " " + ShellQuote(db_));
    EXPECT_EQ(r.status, 1) << tool << ": " << r.output;
    EXPECT_EQ(CountLinesWith(r.output, {"unmount", mnt_}), 1)
        << tool << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1)
        << tool << ": " << r.output;
  }
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".damaged-"), std::string::npos)
        << "repair of a database in use saved " << e.path();
  }
  // The mount was not disturbed.
  EXPECT_TRUE(IsMounted(mnt_));
  EXPECT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  EXPECT_EQ(WriteFile("ds/r/c", "x"), 0);

  // A read-only mount holds no LOCK, yet reads what a repair rewrites.
  ASSERT_TRUE(daemon_->Stop());
  std::string log;
  ASSERT_TRUE(StartDaemon({"-o", "ro"}, &log));
  const CommandResult r = Rowfs("repair " + ShellQuote(db_));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(CountLinesWith(r.output, {"unmount", mnt_}), 1) << r.output;
  EXPECT_EQ(ReadFile("ds/r/c"), "x");
}

TEST_F(RepairTest, CheckAndRepairUsage) {
  ASSERT_TRUE(daemon_->Stop());
  EXPECT_EQ(Rowfs("check").status, 2);
  EXPECT_EQ(Rowfs("repair").status, 2);
  EXPECT_EQ(Rowfs("check " + ShellQuote(db_) + " extra").status, 2);
  const CommandResult help = Rowfs("check --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_EQ(CountLinesWith(help.output, {"rowfs repair DB_DIR"}), 1)
      << help.output;
  const CommandResult missing = Rowfs("check " + ShellQuote(dir_.Sub("none")));
  EXPECT_EQ(missing.status, 1) << missing.output;
}

// ------------------------------------------------------------ rowfs repair

TEST_F(RepairTest, RepairRestoresADatabaseThatLostCurrent) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("empty").c_str(), 0755), 0);  // a dataset without rows
  std::map<std::string, std::string> content;
  for (int i = 0; i < 10; ++i) {
    content["ds/r/flushed" + std::to_string(i)] = Pseudo(i, 5000);
  }
  for (const auto& [rel, data] : content) ASSERT_EQ(WriteFile(rel, data), 0);
  ASSERT_EQ(WriteFile("ds/r/hist", "v1\n"), 0);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  // These stay in the WAL only, in a dataset without a table file too.
  ASSERT_EQ(mkdir(P("walonly").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("walonly/r").c_str(), 0755), 0);
  content["walonly/r/c"] = "only in the WAL\n";
  ASSERT_EQ(WriteFile("walonly/r/c", content["walonly/r/c"]), 0);
  for (int i = 0; i < 10; ++i) {
    const std::string rel = "ds/r/logged" + std::to_string(i);
    content[rel] = Pseudo(100 + i, 5000);
    ASSERT_EQ(WriteFile(rel, content[rel]), 0);
  }
  ASSERT_EQ(WriteFile("ds/r/hist", "v2\n"), 0);
  ASSERT_TRUE(daemon_->Stop());

  ASSERT_EQ(unlink((db_ + "/CURRENT").c_str()), 0);
  std::string log;
  EXPECT_FALSE(StartDaemon({}, &log));
  EXPECT_EQ(CountLinesWith(log, {"rowfs repair"}), 1) << log;

  const CommandResult r = Rowfs("repair " + ShellQuote(db_));
  ASSERT_EQ(r.status, 0) << r.output;
  // The damaged state is saved, privately.
  std::string copy;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    if (e.path().filename().string().starts_with("db.damaged-")) {
      EXPECT_TRUE(copy.empty()) << "two copies";
      copy = e.path().string();
    }
  }
  ASSERT_FALSE(copy.empty()) << r.output;
  EXPECT_GE(CountLinesWith(r.output, {copy}), 1) << r.output;
  struct stat st;
  ASSERT_EQ(stat(copy.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  int files = 0;
  bool has_log = false, has_manifest = false;
  for (const auto& e : fs::recursive_directory_iterator(copy)) {
    if (!e.is_regular_file()) continue;
    ++files;
    ASSERT_EQ(stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << e.path();
    const std::string n = e.path().filename().string();
    has_log = has_log || n.ends_with(".log");
    has_manifest = has_manifest || n.starts_with("MANIFEST-");
  }
  EXPECT_GE(files, 4);
  EXPECT_TRUE(has_log && has_manifest) << "the copy misses the log or the "
                                          "MANIFEST";
  EXPECT_FALSE(fs::exists(copy + "/CURRENT")) << "the copy is not as it was";

  // Everything is back, the empty dataset too.
  ASSERT_TRUE(StartDaemon({}, &log)) << r.output;
  for (const auto& [rel, data] : content) {
    EXPECT_TRUE(ReadFile(rel) == data) << rel << " lost or changed";
  }
  EXPECT_EQ(List(""), (std::vector<std::string>{"ds", "empty", "walonly"}));
  EXPECT_EQ(ReadFile("ds/r/hist"), "v2\n");
  // A new version goes on top of the history, never over a version.
  ASSERT_EQ(WriteFile("ds/r/hist", "v3\n"), 0);
  EXPECT_EQ(ReadFile("ds/r/hist"), "v3\n");
  int versions = 0;
  for (const std::string& n : List("ds/r")) {
    if (n.starts_with("hist@")) {
      ++versions;
      const std::string v = ReadFile("ds/r/" + n);
      EXPECT_TRUE(v == "v1\n" || v == "v2\n") << n << ": " << v;
    }
  }
  EXPECT_EQ(versions, 2);
  const CommandResult check = Rowfs("check " + ShellQuote(db_));
  EXPECT_EQ(check.status, 1) << "check of a mounted database: " << check.output;
}

TEST_F(RepairTest, RepairKeepsTheReadablePartOfADamagedTable) {
  std::map<std::string, std::string> content;
  const std::string sst = DamagedTableFile(&content);
  const CommandResult r = Rowfs("repair " + ShellQuote(db_));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GE(CountLinesWith(r.output, {fs::path(sst).filename(), "kept"}), 1)
      << r.output;
  const CommandResult check = Rowfs("check " + ShellQuote(db_));
  EXPECT_EQ(check.status, 0) << check.output;

  std::string log;
  ASSERT_TRUE(StartDaemon({}, &log)) << r.output;
  // RocksDB's repairer alone drops the whole table file: every column.
  int kept = 0;
  for (const auto& [rel, want] : content) {
    std::string got;
    const int err = ReadWhole(P(rel), &got);
    if (err == 0) {
      ++kept;
      EXPECT_TRUE(got == want) << rel << ": garbage";
    } else {
      EXPECT_EQ(err, ENOENT) << rel << ": " << Errno(err);
    }
  }
  std::printf("[ repair   ] %d of %zu columns kept\n", kept, content.size());
  EXPECT_GE(kept, static_cast<int>(content.size()) - 3) << r.output;
  EXPECT_EQ(WriteFile("ds/r/c0", "new\n"), 0);
  EXPECT_EQ(ReadFile("ds/r/c0"), "new\n");
}

// ------------------------------------------------------------ compaction

TEST_F(RepairTest, CompactionMeetingADamagedTableKeepsWritesGoing) {
  std::map<std::string, std::string> content;
  const std::string sst = DamagedTableFile(&content);
  const std::string name = fs::path(sst).filename().string();
  std::string log;
  ASSERT_TRUE(StartDaemon({}, &log));
  ASSERT_EQ(mkdir(P("other").c_str(), 0755), 0);

  // Full compaction of every dataset: the one of ds meets the damage.
  const int rc = setxattr(mnt_.c_str(), "user.rowfs.ctl.compact", "*", 1, 0);
  std::printf("[ compact  ] full compaction: %s\n",
              Errno(rc == 0 ? 0 : errno).c_str());

  // Writes go on, in every dataset, the damaged one included.
  EXPECT_EQ(mkdir(P("other/r").c_str(), 0755), 0);
  EXPECT_EQ(WriteFile("other/r/c", "after the damage\n"), 0);
  EXPECT_EQ(ReadFile("other/r/c"), "after the damage\n");
  EXPECT_EQ(mkdir(P("new").c_str(), 0755), 0);
  EXPECT_EQ(mkdir(P("ds/r2").c_str(), 0755), 0);
  EXPECT_EQ(WriteFile("ds/r2/c", "still writable\n"), 0);
  EXPECT_EQ(ReadFile("ds/r2/c"), "still writable\n");
  // Reads go on: the damaged block answers EIO, never garbage.
  int readable = 0;
  for (const auto& [rel, want] : content) {
    std::string got;
    const int err = ReadWhole(P(rel), &got);
    if (err == 0) {
      ++readable;
      EXPECT_TRUE(got == want) << rel << ": garbage";
    } else {
      EXPECT_EQ(err, EIO) << rel << ": " << Errno(err);
    }
  }
  EXPECT_GT(readable, 0);
  // The log names the file.
  const std::string all = daemon_->Log();
  EXPECT_GE(CountLinesWith(all, {"[error]", name, "compaction"}), 1) << all;
  // Still writable after a remount.
  Remount();
  EXPECT_EQ(WriteFile("other/r/c2", "after a remount\n"), 0);
  EXPECT_EQ(ReadFile("other/r/c"), "after the damage\n");
}

// Automatic compactions: RocksDB retries a failed one every second; the
// damaged dataset's automatic compactions are switched off instead.
TEST_F(RepairTest, FailingAutomaticCompactionsAreNotRetried) {
  std::map<std::string, std::string> content;
  const std::string sst = DamagedTableFile(&content);  // at level 0
  std::string log;
  // Small memtables: each column below is a flush, and four level-0 files
  // start a compaction of all of them, the damaged one included (the
  // columns sort inside its key range, so no file is just moved down).
  ASSERT_TRUE(StartDaemon({"-o", "write_buffer=64K"}, &log));
  auto retries = [&] {
    return CountLinesWith(daemon_->Log(),
                          {"Waiting after background compaction error"});
  };
  const int before = retries();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(WriteFile("ds/r/c1x" + std::to_string(i), Pseudo(i, 64 * 1024)),
              0)
        << "writes stopped";
  }
  bool off = false;
  for (int i = 0; i < 200 && !off; ++i) {
    off = CountLinesWith(daemon_->Log(),
                         {"dataset ds", "automatic compactions are off"}) == 1;
    if (!off) usleep(100 * 1000);
  }
  ASSERT_TRUE(off) << daemon_->Log();
  const int failed = retries() - before;
  EXPECT_GE(failed, 1);
  // More level-0 files; nothing retries.
  for (int i = 8; i < 16; ++i) {
    EXPECT_EQ(WriteFile("ds/r/c1x" + std::to_string(i), Pseudo(i, 64 * 1024)),
              0);
  }
  sleep(4);
  EXPECT_LE(retries() - before, failed + 1)
      << "the failing compaction is retried:\n"
      << daemon_->Log();
  EXPECT_EQ(CountLinesWith(daemon_->Log(), {"[error]", fs::path(sst).filename(),
                                            "a compaction failed"}),
            1)
      << "logged more than once in 10 minutes";
  EXPECT_EQ(ReadFile("ds/r/c1x15"), Pseudo(15, 64 * 1024));
}

}  // namespace
}  // namespace rowfs
