// A shared mount attacked by another user, and a database damaged on disk
// (issue 12): each test fails on the code before its fix.
//
// Multi-user tests create two real accounts (rowfs_a, rowfs_b, and a group
// rowfs_shared holding both) and act as them through fork + setuid, so the
// kernel and rowfs see real, distinct credentials. They need root (to make
// the accounts and switch to them) and skip otherwise.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "mount_fixture.h"

namespace rowfs {
namespace {

constexpr const char* kGroup = "rowfs_shared";

// A real account: made when missing (no home, no shell), member of kGroup.
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

::testing::AssertionResult EnsureAccount(const std::string& name,
                                         Account* out) {
  if (getgrnam(kGroup) == nullptr) {
    RunShell(std::string("groupadd ") + kGroup);
  }
  if (getpwnam(name.c_str()) == nullptr) {
    const CommandResult r =
        RunShell("useradd --no-create-home --shell /usr/sbin/nologin -G " +
                 std::string(kGroup) + " " + name);
    if (r.status != 0) {
      return ::testing::AssertionFailure() << "useradd: " << r.output;
    }
  }
  const passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr) return ::testing::AssertionFailure() << "no " << name;
  *out = {name, pw->pw_uid, pw->pw_gid};
  return ::testing::AssertionSuccess();
}

// Runs `fn` in a child process with `who`'s credentials (uid, gid and
// supplementary groups, as a login would set them); returns what `fn`
// returns (an errno, 0 for success), or -1 when the switch failed.
int RunAs(const Account& who, const std::function<int()>& fn) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (initgroups(who.name.c_str(), who.gid) != 0 || setgid(who.gid) != 0 ||
        setuid(who.uid) != 0) {
      _exit(255);
    }
    umask(022);
    _exit(fn() & 0xff);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 255) return -1;
  return WEXITSTATUS(status);
}

int ErrnoOf(int rc) { return rc == 0 ? 0 : errno; }

int WriteAll(const std::string& path, const std::string& content,
             int flags = O_WRONLY | O_CREAT | O_TRUNC, mode_t mode = 0644) {
  const int fd = open(path.c_str(), flags, mode);
  if (fd < 0) return errno;
  if (write(fd, content.data(), content.size()) !=
      static_cast<ssize_t>(content.size())) {
    const int err = errno;
    close(fd);
    return err;
  }
  return close(fd) == 0 ? 0 : errno;
}

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

class SharedMountTest : public MountTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"-o", "allow_other"};
  }
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "multi-user tests create accounts: run as root";
    }
    ASSERT_TRUE(EnsureAccount("rowfs_a", &a_));
    ASSERT_TRUE(EnsureAccount("rowfs_b", &b_));
    const group* g = getgrnam(kGroup);
    ASSERT_NE(g, nullptr);
    shared_gid_ = g->gr_gid;
    MountTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0777), 0);
    ASSERT_EQ(chmod(P("ds").c_str(), 0777), 0);
  }

  // A's row `name` with `mode`, group rowfs_shared, holding A's 0600
  // column "pay".
  void MakeRowWithPay(const std::string& name, mode_t mode) {
    const std::string row = P("ds/" + name);
    ASSERT_EQ(RunAs(a_,
                    [&] {
                      if (mkdir(row.c_str(), 0755) != 0) return errno;
                      if (chown(row.c_str(), static_cast<uid_t>(-1),
                                shared_gid_) != 0) {
                        return errno;
                      }
                      if (chmod(row.c_str(), mode) != 0) return errno;
                      return WriteAll(row + "/pay", "salary of A",
                                      O_WRONLY | O_CREAT | O_TRUNC, 0600);
                    }),
              0);
    struct stat st;
    ASSERT_EQ(stat((row + "/pay").c_str(), &st), 0);
    ASSERT_EQ(st.st_uid, a_.uid);
    ASSERT_EQ(st.st_mode & 07777, 0600u);
  }

  std::vector<std::string> Versions(const std::string& row) {
    std::vector<std::string> out;
    for (const std::string& n : List("ds/" + row)) {
      if (n.rfind("pay@", 0) == 0) out.push_back(n);
    }
    return out;
  }

  // Everything an attacker might do to A's "pay" through version names,
  // as B, each refused with EACCES; A's column unchanged afterwards.
  void ExpectNoVersionTakeover(const std::string& row_name) {
    const std::string row = P("ds/" + row_name);
    ASSERT_EQ(WriteAll(row + "/pay", "salary of A, raised"), 0);
    const std::vector<std::string> before = Versions(row_name);
    ASSERT_EQ(before.size(), 1u);
    const std::string old = row + "/" + before[0];
    ASSERT_EQ(RunAs(b_, [&] { return WriteAll(row + "/bfile", "B's"); }), 0);

    // mknod of a version: the takeover of the review (it made B the owner).
    EXPECT_EQ(RunAs(b_,
                    [&] {
                      return ErrnoOf(
                          mknod((row + "/pay@5").c_str(), S_IFREG | 0600, 0));
                    }),
              EACCES);
    // Creating, replacing, renaming onto and removing versions.
    const std::string future = std::to_string(NowMs() + 3600 * 1000);
    EXPECT_EQ(RunAs(b_, [&] { return WriteAll(row + "/pay@" + future, "X"); }),
              EACCES);
    EXPECT_EQ(RunAs(b_, [&] { return WriteAll(row + "/pay@6", "X"); }), EACCES);
    EXPECT_EQ(RunAs(b_,
                    [&] {
                      return ErrnoOf(rename((row + "/bfile").c_str(),
                                            (row + "/pay@7").c_str()));
                    }),
              EACCES);
    // Removing an existing version: in a sticky row the kernel refuses
    // first (EPERM), in a group-writable one rowfs does (EACCES).
    const int unlinked =
        RunAs(b_, [&] { return ErrnoOf(unlink(old.c_str())); });
    EXPECT_TRUE(unlinked == EACCES || unlinked == EPERM) << unlinked;
    const int moved = RunAs(b_, [&] {
      return ErrnoOf(rename(old.c_str(), (row + "/mine").c_str()));
    });
    EXPECT_TRUE(moved == EACCES || moved == EPERM) << moved;

    struct stat st;
    ASSERT_EQ(stat((row + "/pay").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, a_.uid);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(ReadFile("ds/" + row_name + "/pay"), "salary of A, raised");
    EXPECT_EQ(Versions(row_name), before);
    EXPECT_EQ(RunAs(b_,
                    [&] {
                      std::string unused;
                      return ReadWhole(row + "/pay", &unused);
                    }),
              EACCES);
    // A still writes versions of A's column, and later writes still work.
    EXPECT_EQ(RunAs(a_, [&] { return WriteAll(row + "/pay@1000", "old"); }), 0);
    EXPECT_EQ(RunAs(a_, [&] { return WriteAll(row + "/pay", "latest"); }), 0);
    EXPECT_EQ(ReadFile("ds/" + row_name + "/pay"), "latest");
  }

  Account a_, b_;
  gid_t shared_gid_ = 0;
};

TEST_F(SharedMountTest, NoTakeoverThroughVersionNamesInAStickyRow) {
  MakeRowWithPay("sticky", 01777);
  ExpectNoVersionTakeover("sticky");
}

TEST_F(SharedMountTest, NoTakeoverThroughVersionNamesInAGroupWritableRow) {
  MakeRowWithPay("group", 0775);
  ExpectNoVersionTakeover("group");
}

TEST_F(SharedMountTest, WhoMayWriteTheColumnMayWriteItsVersions) {
  MakeRowWithPay("team", 0775);
  const std::string row = P("ds/team");
  // A makes the column group-writable: B, in the group, may now add and
  // remove versions, and stays a guest: the column remains A's.
  ASSERT_EQ(RunAs(a_,
                  [&] {
                    if (chown((row + "/pay").c_str(), static_cast<uid_t>(-1),
                              shared_gid_) != 0) {
                      return errno;
                    }
                    return ErrnoOf(chmod((row + "/pay").c_str(), 0660));
                  }),
            0);
  EXPECT_EQ(RunAs(b_, [&] { return WriteAll(row + "/pay@1000", "B's"); }), 0);
  EXPECT_EQ(RunAs(b_,
                  [&] {
                    return ErrnoOf(
                        mknod((row + "/pay@2000").c_str(), S_IFREG | 0600, 0));
                  }),
            0);
  EXPECT_EQ(
      RunAs(b_, [&] { return ErrnoOf(unlink((row + "/pay@1000").c_str())); }),
      0);
  struct stat st;
  ASSERT_EQ(stat((row + "/pay").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, a_.uid);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(ReadFile("ds/team/pay"), "salary of A");
}

TEST_F(SharedMountTest, VersionsFarAheadOfTheClockAreRefused) {
  MakeRowWithPay("r", 0755);
  const std::string row = P("ds/r");
  // The review's two: one after year 2255, and the largest timestamp,
  // which left no "latest + 1" for any later write.
  for (const std::string& ts :
       std::vector<std::string>{"9000000000000", "9223372036854775807",
                                std::to_string(NowMs() + 25 * 3600 * 1000)}) {
    EXPECT_EQ(RunAs(a_, [&] { return WriteAll(row + "/pay@" + ts, "X"); }),
              EINVAL)
        << ts;
    EXPECT_EQ(RunAs(a_,
                    [&] {
                      return ErrnoOf(mknod((row + "/pay@" + ts).c_str(),
                                           S_IFREG | 0600, 0));
                    }),
              EINVAL)
        << ts;
  }
  // Within the day ahead: accepted (clocks differ), and later writes work.
  const std::string soon = std::to_string(NowMs() + 3600 * 1000);
  EXPECT_EQ(RunAs(a_, [&] { return WriteAll(row + "/pay@" + soon, "soon"); }),
            0);
  EXPECT_EQ(RunAs(a_, [&] { return WriteAll(row + "/pay", "after"); }), 0);
  EXPECT_EQ(ReadFile("ds/r/pay"), "after");
}

TEST_F(SharedMountTest, TheDatabaseFilesArePrivate) {
  MakeRowWithPay("r", 0755);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  struct stat st;
  ASSERT_EQ(stat(db_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(db_)) {
    ASSERT_EQ(stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << e.path();
    ++files;
  }
  EXPECT_GT(files, 3u);
  // B cannot grep A's bytes out of the table files or the log.
  EXPECT_NE(
      RunAs(
          b_,
          [&] {
            return RunShell("grep -r 'salary of A' " + ShellQuote(db_)).status;
          }),
      0);
  // Nor out of a backup or a checkpoint made by the daemon.
  const std::string backup = dir_.Sub("bk"), ckpt = dir_.Sub("ck");
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.backup", backup.data(),
                     backup.size(), 0),
            0);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.checkpoint", ckpt.data(),
                     ckpt.size(), 0),
            0);
  for (const std::string& d : {backup, ckpt}) {
    ASSERT_EQ(stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << d;
    EXPECT_EQ(RunAs(b_, [&] { return ErrnoOf(access(d.c_str(), R_OK)); }),
              EACCES)
        << d;
  }
}

TEST_F(SharedMountTest, SnapshotsAreTheMountOwnersToMakeAndRelease) {
  // A root everyone may write: the kernel lets B's mkdir through to rowfs.
  ASSERT_EQ(chmod(mnt_.c_str(), 0777), 0);
  EXPECT_EQ(
      RunAs(b_, [&] { return ErrnoOf(mkdir(P("@snapshot/b").c_str(), 0755)); }),
      EPERM);
  ASSERT_EQ(mkdir(P("@snapshot/root").c_str(), 0755), 0);
  EXPECT_EQ(
      RunAs(b_, [&] { return ErrnoOf(rmdir(P("@snapshot/root").c_str())); }),
      EPERM);
  EXPECT_EQ(List("@snapshot"), std::vector<std::string>{"root"});
  EXPECT_EQ(rmdir(P("@snapshot/root").c_str()), 0);
}

TEST_F(SharedMountTest, PoliciesAreTheDatasetOwners) {
  // "ds" is root's and writable by all: B may add rows, not expire them.
  for (const char* attr : {"user.rowfs.ttl", "user.rowfs.max_versions"}) {
    EXPECT_EQ(
        RunAs(b_,
              [&] {
                return ErrnoOf(setxattr(P("ds").c_str(), attr, "1", 1, 0));
              }),
        EPERM)
        << attr;
    EXPECT_EQ(
        RunAs(b_, [&] { return ErrnoOf(removexattr(P("ds").c_str(), attr)); }),
        EPERM)
        << attr;
  }
  char buf[32];
  ASSERT_EQ(getxattr(P("ds").c_str(), "user.rowfs.ttl", buf, sizeof(buf)), 1);
  EXPECT_EQ(buf[0], '0');
  EXPECT_EQ(setxattr(P("ds").c_str(), "user.rowfs.ttl", "100", 3, 0), 0);
}

TEST_F(SharedMountTest, SetgidDirectoriesGiveTheirGroup) {
  MakeRowWithPay("r", 0775);
  ASSERT_EQ(chmod(P("ds/r").c_str(), 02775), 0);
  ASSERT_EQ(RunAs(a_, [&] { return WriteAll(P("ds/r/f"), "x"); }), 0);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, shared_gid_);
  // A new row in a setgid dataset takes its group and its setgid bit.
  ASSERT_EQ(chown(P("ds").c_str(), static_cast<uid_t>(-1), shared_gid_), 0);
  ASSERT_EQ(chmod(P("ds").c_str(), 02777), 0);
  ASSERT_EQ(
      RunAs(a_, [&] { return ErrnoOf(mkdir(P("ds/new").c_str(), 0755)); }), 0);
  ASSERT_EQ(stat(P("ds/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, shared_gid_);
  EXPECT_NE(st.st_mode & S_ISGID, 0u);
}

class SnapshotCapTest : public MountTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"-o", "max_snapshots=2"};
  }
};

TEST_F(SnapshotCapTest, NoMoreSnapshotsThanTheCap) {
  ASSERT_EQ(mkdir(P("@snapshot/a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("@snapshot/b").c_str(), 0755), 0);
  EXPECT_NE(mkdir(P("@snapshot/c").c_str(), 0755), 0);
  EXPECT_EQ(errno, ENOSPC);
  ASSERT_EQ(rmdir(P("@snapshot/a").c_str()), 0);
  EXPECT_EQ(mkdir(P("@snapshot/c").c_str(), 0755), 0);
}

uint64_t StatOf(const std::string& stats, const std::string& key) {
  const size_t at = stats.find("\n" + key + "=");
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(stats.substr(at + key.size() + 2));
}

TEST_F(MountTest, AsOfViewsTheKernelForgotAreFreed) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  struct stat st;
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(
        stat(P("@asof/" + std::to_string(1700000000000 + i)).c_str(), &st), 0);
  }
  auto stats = [&] {
    char buf[8192];
    const ssize_t n =
        getxattr(mnt_.c_str(), "user.rowfs.stats", buf, sizeof(buf));
    return n < 0 ? std::string() : "\n" + std::string(buf, n);
  };
  EXPECT_GE(StatOf(stats(), "views"), 300u);
  // The kernel forgets the names it cached; the daemon drops those views at
  // the next new one.
  RunShell("sync; echo 2 > /proc/sys/vm/drop_caches");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ASSERT_EQ(stat(P("@asof/1800000000000").c_str(), &st), 0);
  EXPECT_LT(StatOf(stats(), "views"), 10u) << stats();
}

TEST_F(MountTest, NamesCannotForgeLogLines) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  // A refusal logged with the name: a directory inside a row.
  const std::string forged = "x\n[2026-01-01 00:00:00.000] [error] forged";
  EXPECT_NE(mkdir(P("ds/r/" + forged).c_str(), 0755), 0);
  const std::string log = daemon_->Log();
  EXPECT_EQ(log.find("\n[2026-01-01 00:00:00.000] [error] forged"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("x\\n[2026"), std::string::npos) << log;
}

TEST_F(MountTest, RefusalsAreRateLimitedInTheLog) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  const size_t before = daemon_->Log().size();
  for (int i = 0; i < 5000; ++i) {
    ASSERT_NE(mkdir(P("ds/r/d" + std::to_string(i)).c_str(), 0755), 0);
  }
  // The count of those not logged comes with the next one logged.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_NE(mkdir(P("ds/r/last").c_str(), 0755), 0);
  const std::string log = daemon_->Log().substr(before);
  EXPECT_LT(log.size(), 64u * 1024) << log.size();
  EXPECT_NE(log.find("more refusals were not logged"), std::string::npos);
}

TEST_F(MountTest, TimesBeyondTheLastTimestampAreRefused) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "x"), 0);
  struct stat before;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &before), 0);
  // 18446744073709552 s wraps to 384 ms when multiplied by 1000.
  const CommandResult r = Sh("touch -d @18446744073709552 ds/r/c");
  EXPECT_NE(r.status, 0) << r.output;
  struct stat after;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &after), 0);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(List("ds/r"), std::vector<std::string>{"c"});
}

TEST_F(MountTest, PathconfInsideARowSaysTheColumnLimit) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  EXPECT_EQ(pathconf(P("ds/r").c_str(), _PC_NAME_MAX), 235);
  EXPECT_EQ(pathconf(P("ds").c_str(), _PC_NAME_MAX), 255);
  EXPECT_EQ(pathconf(mnt_.c_str(), _PC_NAME_MAX), 255);
  ASSERT_EQ(WriteFile("ds/r/" + std::string(235, 'n'), "x"), 0);
  EXPECT_EQ(WriteFile("ds/r/" + std::string(236, 'n'), "x"), ENAMETOOLONG);
}

TEST_F(MountTest, StraySignalsDoNotKillTheDaemon) {
  for (int sig : {SIGUSR2, SIGALRM, SIGPIPE}) {
    ASSERT_EQ(kill(daemon_->pid(), sig), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(IsMounted(mnt_));
  EXPECT_EQ(mkdir(P("ds").c_str(), 0755), 0);
}

// A database directory that lost its CURRENT file (or any other directory
// that holds files but no database) must never become a new, empty
// database: RocksDB would then delete every table file and log.
TEST_F(MountTest, ADatabaseWithoutCurrentIsRefusedNotWiped) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "precious"), 0);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  ASSERT_TRUE(daemon_->Stop());
  ASSERT_EQ(unlink((db_ + "/CURRENT").c_str()), 0);
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(db_)) {
      out.push_back(e.path().filename());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::vector<std::string> before = names();
  // Twice: the second start used to mount an empty tree and delete it all
  // (systemd's Restart=on-failure makes the second start by itself).
  for (int attempt = 0; attempt < 2; ++attempt) {
    Daemon again(db_, mnt_);
    const ::testing::AssertionResult started = again.Start();
    EXPECT_FALSE(started);
    EXPECT_NE(std::string(started.message()).find("CURRENT"), std::string::npos)
        << started.message();
    EXPECT_EQ(names(), before);
  }
  daemon_.reset();
}

TEST_F(MountTest, AFailedRestoreLeavesNothingBehind) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", std::string(1 << 20, 'x')), 0);
  const std::string bk = dir_.Sub("bk");
  ASSERT_EQ(RunShell(std::string(ROWFS_BINARY) + " backup create " +
                     ShellQuote(mnt_) + " " + ShellQuote(bk))
                .status,
            0);
  // Damage one table file of the backup.
  const CommandResult sst = RunShell(
      "find " + ShellQuote(bk) + " -name '*.sst' -o -name '*.log' | head -1");
  ASSERT_FALSE(sst.output.empty());
  const std::string victim = sst.output.substr(0, sst.output.size() - 1);
  ASSERT_EQ(truncate(victim.c_str(), 10), 0);
  for (const bool existed : {false, true}) {
    const std::string target = dir_.Sub(existed ? "empty" : "new");
    if (existed) {
      ASSERT_EQ(mkdir(target.c_str(), 0700), 0);
    }
    const CommandResult r =
        RunShell(std::string(ROWFS_BINARY) + " backup restore " +
                 ShellQuote(bk) + " " + ShellQuote(target));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(std::filesystem::exists(target), existed);
    if (existed) {
      EXPECT_TRUE(std::filesystem::is_empty(target));
    }
  }
}

// A flush or compaction that meets EMFILE records a background error in
// RocksDB, which then refuses every write until told to resume. Once
// descriptors are free again, writes must work again without a remount.
TEST_F(MountTest, WritesComeBackAfterRunningOutOfDescriptors) {
#if defined(__SANITIZE_ADDRESS__)
  // UndefinedBehaviorSanitizer's type checks open a pipe to probe memory;
  // without a free descriptor they report every virtual call as invalid.
  GTEST_SKIP() << "the sanitizer runtime needs descriptors of its own";
#endif
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "before"), 0);
  const std::string pid = std::to_string(daemon_->pid());
  auto open_fds = [&] {
    return std::distance(
        std::filesystem::directory_iterator("/proc/" + pid + "/fd"),
        std::filesystem::directory_iterator());
  };
  const CommandResult limits =
      RunShell("prlimit --pid " + pid + " -n -o SOFT,HARD --noheadings");
  ASSERT_EQ(limits.status, 0) << limits.output;
  // Starve the daemon: no descriptor free, and a flush needs a new table
  // file.
  const long tight = open_fds() + 1;
  ASSERT_EQ(RunShell("prlimit --pid " + pid +
                     " --nofile=" + std::to_string(tight) + ":")
                .status,
            0);
  for (int i = 0; i < 3; ++i) {
    const std::string ds = "d" + std::to_string(i);
    mkdir(P(ds).c_str(), 0755);
    mkdir(P(ds + "/r").c_str(), 0755);
    WriteFile(ds + "/r/c", "x");
  }
  const int flushed = setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0);
  const int starved_write = WriteFile("ds/r/c", "while starved");
  // Something failed for want of descriptors (the flush, or a write):
  // otherwise this test would prove nothing.
  ASSERT_TRUE(flushed != 0 || starved_write != 0);
  // Descriptors come back.
  ASSERT_EQ(RunShell("prlimit --pid " + pid + " --nofile=20000:").status, 0)
      << "cannot restore the limit";
  // RocksDB retries the failed flush every second once it knows the error
  // is transient.
  int after = -1;
  for (int i = 0; i < 50 && after != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    after = WriteFile("ds/r/c", "after");
  }
  EXPECT_EQ(after, 0) << daemon_->Log();
  EXPECT_EQ(ReadFile("ds/r/c"), "after");
  // And flushes, once RocksDB's automatic recovery (a retry every second)
  // has run.
  int flushed_after = -1;
  for (int i = 0; i < 50 && flushed_after != 0; ++i) {
    flushed_after = setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0);
    if (flushed_after != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  EXPECT_EQ(flushed_after, 0) << daemon_->Log();
  Remount();
  EXPECT_EQ(ReadFile("ds/r/c"), "after");
}

// A shell's default soft limit (1024) must not bound the daemon: it raises
// it to the hard limit.
TEST(FileLimitTest, TheDaemonRaisesItsSoftLimitToTheHardOne) {
  if (!FuseAvailable()) GTEST_SKIP() << "no /dev/fuse";
  TempDir dir("rowfs-nofile");
  const std::string mnt = dir.Sub("mnt");
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max <= 256) GTEST_SKIP() << "hard limit too low";
  struct rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  Daemon d(dir.Sub("db"), mnt);
  const ::testing::AssertionResult started = d.Start();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(started);
  const CommandResult r = RunShell("prlimit --pid " + std::to_string(d.pid()) +
                                   " -n -o SOFT --noheadings");
  EXPECT_EQ(std::stoull(r.output), saved.rlim_max) << r.output;
  EXPECT_TRUE(d.Stop());
}

}  // namespace
}  // namespace rowfs
