// Faults around the daemon: the database's filesystem filling up, lazy
// unmounts with files open, a stale mount left by kill -9, and a corrupted
// SST file.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "mount_fixture.h"
#include "reliability_util.h"

namespace rowfs {
namespace {

using reliability::CountLinesWith;
using reliability::Errno;
using reliability::ListDir;
using reliability::MonotonicMs;
using reliability::Pseudo;
using reliability::ReadWhole;
using reliability::WriteAllFd;
using reliability::WriteWhole;

bool WaitUntil(const std::function<bool()>& done, int ms) {
  const int64_t deadline = MonotonicMs() + ms;
  while (MonotonicMs() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Whether `pid` (a child not reaped yet) has exited: a zombie, or gone.
bool Exited(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return true;
  char state = '?';
  const int n = std::fscanf(f, "%*d (%*[^)]) %c", &state);
  std::fclose(f);
  return n == 1 && (state == 'Z' || state == 'X');
}

// ------------------------------------------------------------ full disk

struct FullDiskCase {
  const char* name;
  bool small_memtable;  // -o write_buffer=4M (memtables flush to SSTs)
  bool log_elsewhere;   // RocksDB's LOG outside the full filesystem
};

// gtest prints the case by name (test names stay stable across builds).
void PrintTo(const FullDiskCase& c, std::ostream* os) { *os << c.name; }

// The database lives on a 32 MiB tmpfs with a 16 MiB ballast file on it, so
// that space can also be freed outside rowfs. RocksDB resumes writes by
// itself once the disk has as much free space as the failed flush or
// compaction wanted (up to the size of its inputs): removing the ballast
// frees more than the database can hold.
class FullDiskTest : public MountTest,
                     public ::testing::WithParamInterface<FullDiskCase> {
 protected:
  void SetUp() override {
    if (!FuseAvailable()) GTEST_SKIP() << "/dev/fuse cannot be opened";
    if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    disk_ = dir_.Sub("disk");
    db_ = disk_ + "/db";
    mnt_ = dir_.Sub("mnt");
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(disk_.c_str(), 0755), 0);
    const CommandResult m =
        RunShell("mount -t tmpfs -o size=32m tmpfs " + ShellQuote(disk_));
    if (m.status != 0) GTEST_SKIP() << "cannot mount a tmpfs: " << m.output;
    tmpfs_mounted_ = true;
    // Beside the database: a database directory holds nothing else.
    ballast_ = disk_ + "/ballast";
    ASSERT_EQ(WriteWhole(ballast_, std::string(16 << 20, 'b')), 0);
    daemon_ = std::make_unique<Daemon>(db_, mnt_, DaemonArgs());
    ASSERT_TRUE(daemon_->Start());
  }

  void TearDown() override {
    if (daemon_ != nullptr && daemon_->running()) {
      EXPECT_TRUE(daemon_->Stop());
    }
    if (tmpfs_mounted_ && umount(disk_.c_str()) != 0) {
      umount2(disk_.c_str(), MNT_DETACH);
    }
  }

  std::vector<std::string> DaemonArgs() const override {
    std::vector<std::string> args;
    if (GetParam().small_memtable) {
      args.insert(args.end(), {"-o", "write_buffer=4M"});
    }
    if (GetParam().log_elsewhere) {
      // A RocksDB OPTIONS file that only moves the info LOG.
      const std::string log_dir = dir_.Sub("rocksdb-log");
      mkdir(log_dir.c_str(), 0755);
      const std::string file = dir_.Sub("options.ini");
      FILE* f = std::fopen(file.c_str(), "w");
      if (f != nullptr) {
        std::fprintf(f,
                     "[Version]\n  rocksdb_version=7.8.3\n"
                     "  options_file_version=1.1\n"
                     "[DBOptions]\n  db_log_dir=%s\n"
                     "[CFOptions \"default\"]\n",
                     log_dir.c_str());
        std::fclose(f);
      }
      args.insert(args.end(), {"-o", "options_file=" + file});
    }
    return args;
  }

  bool DaemonAlive() const {
    return daemon_->running() && kill(daemon_->pid(), 0) == 0 &&
           waitpid(daemon_->pid(), nullptr, WNOHANG) == 0;
  }

  // Stores `content` with open/write/[fsync]/close; returns 0 or errno and
  // names the failing call.
  int Store(const std::string& rel, const std::string& content, bool sync,
            std::string* call) {
    const int fd = open(P(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      *call = "open";
      return errno;
    }
    if (int err = WriteAllFd(fd, content); err != 0) {
      *call = "write";
      close(fd);
      return err;
    }
    if (sync && fsync(fd) != 0) {
      *call = "fsync";
      const int err = errno;
      close(fd);
      return err;
    }
    if (close(fd) != 0) {
      *call = "close";
      return errno;
    }
    return 0;
  }

  bool tmpfs_mounted_ = false;
  std::string disk_, ballast_;
};

TEST_P(FullDiskTest, EnospcKeepsDaemonUpAndDataReadableAndWritesRecover) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  // Precious data: small columns with two versions each.
  std::map<std::string, std::string> stored;  // rel path -> latest content
  for (int i = 0; i < 8; ++i) {
    const std::string rel = "ds/r/small" + std::to_string(i);
    ASSERT_EQ(WriteWhole(P(rel), "first " + std::to_string(i) + "\n"), 0);
    ASSERT_EQ(WriteWhole(P(rel), "second " + std::to_string(i) + "\n"), 0);
    stored[rel] = "second " + std::to_string(i) + "\n";
  }

  // Fill the disk with incompressible 1 MiB columns until a call fails.
  int err = 0;
  std::string call, failed_rel;
  int filled = 0;
  for (int i = 0; i < 200 && err == 0; ++i) {
    const std::string rel = "ds/r/big" + std::to_string(i);
    const std::string content = Pseudo(i, 1 << 20);
    err = Store(rel, content, /*sync=*/i % 3 == 0, &call);
    if (err == 0) {
      stored[rel] = content;
      ++filled;
    } else {
      failed_rel = rel;
    }
  }
  std::printf("[ fault    ] %d MiB stored, then %s failed: %s\n", filled,
              call.c_str(), Errno(err).c_str());
  ASSERT_NE(err, 0) << "200 MiB fit on a 32 MiB filesystem?";
  EXPECT_EQ(err, ENOSPC) << call << " failed with " << Errno(err)
                         << " on a full disk, expected ENOSPC";

  // The daemon is up and everything stored before is readable.
  ASSERT_TRUE(DaemonAlive()) << "the daemon died on a full disk:\n"
                             << daemon_->Log();
  EXPECT_TRUE(IsMounted(mnt_));
  struct stat st;
  EXPECT_EQ(stat(P("ds/r").c_str(), &st), 0) << Errno(errno);
  for (const auto& [rel, content] : stored) {
    std::string got;
    const int rerr = ReadWhole(P(rel), &got);
    EXPECT_EQ(rerr, 0) << rel << ": " << Errno(rerr);
    EXPECT_TRUE(got == content) << rel << ": content differs on a full disk";
  }
  // Further changes fail with ENOSPC as long as the disk is full (or
  // succeed, if RocksDB already recovered): a new name, and the name whose
  // creation just failed (open(O_CREAT) must not answer ENOENT).
  for (const std::string& rel : {std::string("ds/r/while-full"), failed_rel}) {
    const int e2 = Store(rel, "x", false, &call);
    EXPECT_TRUE(e2 == 0 || e2 == ENOSPC)
        << "storing " << rel << " on a full disk: " << call << ": " << Errno(e2)
        << " (expected ENOSPC)";
    if (e2 == 0) stored[rel] = "x";
  }
  ASSERT_TRUE(DaemonAlive()) << daemon_->Log();

  // Free space: the ballast outside rowfs, big columns through the mount,
  // then a flush and a compaction; until a write succeeds again.
  ASSERT_EQ(unlink(ballast_.c_str()), 0);
  std::vector<std::string> to_remove;
  for (int i = 0; i < filled; i += 2)
    to_remove.push_back("ds/r/big" + std::to_string(i));
  std::map<std::string, int> errors;  // "call: errno" -> count
  const int64_t started = MonotonicMs();
  bool recovered = false;
  for (int attempt = 0; MonotonicMs() - started < 30000; ++attempt) {
    for (auto it = to_remove.begin(); it != to_remove.end();) {
      if (unlink(P(*it).c_str()) == 0 || errno == ENOENT) {
        stored.erase(*it);
        it = to_remove.erase(it);
      } else {
        ++errors["unlink: " + Errno(errno)];
        ++it;
      }
    }
    if (setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0) != 0) {
      ++errors["ctl.flush: " + Errno(errno)];
    }
    if (setxattr(mnt_.c_str(), "user.rowfs.ctl.compact", "ds", 2, 0) != 0) {
      ++errors["ctl.compact: " + Errno(errno)];
    }
    // A new name each time: retrying one name is checked above.
    const std::string rel = "ds/r/after" + std::to_string(attempt);
    const std::string content =
        "after the disk was full " + std::to_string(attempt) + "\n";
    const int werr = Store(rel, content, true, &call);
    if (werr == 0) {
      stored[rel] = content;
      recovered = true;
      break;
    }
    ++errors[call + ": " + Errno(werr)];
    ASSERT_TRUE(DaemonAlive()) << daemon_->Log();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::string summary;
  for (const auto& [what, n] : errors) {
    summary += "  " + what + " x" + std::to_string(n) + "\n";
    EXPECT_NE(what.find("No space left"), std::string::npos)
        << "while freeing space: " << what << " (expected ENOSPC)";
  }
  std::printf("[ fault    ] writes %s after %lld ms; errors meanwhile:\n%s",
              recovered ? "recovered" : "did NOT recover",
              static_cast<long long>(MonotonicMs() - started), summary.c_str());
  ASSERT_TRUE(recovered)
      << "after freeing space (ballast removed, columns deleted, flush, "
         "compaction) writes still fail 30 s later; errors:\n"
      << summary << "daemon log (tail):\n"
      << daemon_->Log().substr(
             daemon_->Log().size() > 3000 ? daemon_->Log().size() - 3000 : 0);
  // Writes work again, so deletes do too (the loop stops at the first
  // successful write, possibly before retrying the last failed unlinks).
  for (const std::string& rel : to_remove) {
    const bool removed = unlink(P(rel).c_str()) == 0 || errno == ENOENT;
    EXPECT_TRUE(removed) << rel << " could not be deleted after recovery: "
                         << Errno(errno);
    if (removed) stored.erase(rel);
  }

  // Everything still there, also after a clean remount.
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "before remount" : "after remount");
    for (const auto& [rel, content] : stored) {
      std::string got;
      const int rerr = ReadWhole(P(rel), &got);
      EXPECT_EQ(rerr, 0) << rel << ": " << Errno(rerr);
      EXPECT_TRUE(got == content) << rel << ": content differs";
    }
    if (pass == 0) {
      ASSERT_NO_FATAL_FAILURE(Remount());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Faults, FullDiskTest,
    ::testing::Values(FullDiskCase{"SmallMemtable", true, false},
                      FullDiskCase{"SmallMemtableLogElsewhere", true, true},
                      FullDiskCase{"DefaultMemtableLogElsewhere", false, true}),
    [](const ::testing::TestParamInfo<FullDiskCase>& p) {
      return std::string(p.param.name);
    });

// ------------------------------------------------------------ lazy unmount

class LazyUnmountTest : public MountTest,
                        public ::testing::WithParamInterface<const char*> {};

TEST_P(LazyUnmountTest, OpenFilesKeepWorkingAndTheDaemonExitsCleanly) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/existing", "old\n"), 0);
  ASSERT_EQ(WriteFile("ds/r/log", "line 1\n"), 0);
  const int created =
      open(P("ds/r/created").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  const int truncated = open(P("ds/r/existing").c_str(), O_WRONLY | O_TRUNC);
  const int appended = open(P("ds/r/log").c_str(), O_WRONLY | O_APPEND);
  const int reader = open(P("ds/r/log").c_str(), O_RDONLY);
  // Created and never written: stored when its last descriptor is released.
  const int empty = open(P("ds/r/empty").c_str(), O_WRONLY | O_CREAT, 0640);
  ASSERT_GE(empty, 0);
  ASSERT_GE(created, 0);
  ASSERT_GE(truncated, 0);
  ASSERT_GE(appended, 0);
  ASSERT_GE(reader, 0);
  ASSERT_EQ(WriteAllFd(created, "created, "), 0);
  ASSERT_EQ(WriteAllFd(truncated, "new, "), 0);
  ASSERT_EQ(WriteAllFd(appended, "line 2\n"), 0);

  const CommandResult u =
      RunShell(std::string(GetParam()) + " " + ShellQuote(mnt_));
  ASSERT_EQ(u.status, 0) << GetParam() << ": " << u.output;
  EXPECT_FALSE(IsMounted(mnt_));
  // The open files still work: the connection lives until they are closed.
  EXPECT_EQ(WriteAllFd(created, "written after the unmount\n"), 0);
  EXPECT_EQ(WriteAllFd(truncated, "written after the unmount\n"), 0);
  EXPECT_EQ(WriteAllFd(appended, "line 3\n"), 0);
  char buf[64] = {};
  EXPECT_EQ(pread(reader, buf, sizeof(buf) - 1, 0), 21) << Errno(errno);
  EXPECT_STREQ(buf, "line 1\nline 2\nline 3\n");
  EXPECT_EQ(fsync(truncated), 0) << Errno(errno);
  EXPECT_EQ(close(created), 0) << Errno(errno);
  EXPECT_EQ(close(truncated), 0) << Errno(errno);
  EXPECT_EQ(close(appended), 0) << Errno(errno);
  EXPECT_EQ(close(reader), 0) << Errno(errno);
  EXPECT_EQ(close(empty), 0) << Errno(errno);

  // With the last file closed the daemon exits, cleanly.
  EXPECT_TRUE(WaitUntil([&] { return Exited(daemon_->pid()); }, 20000))
      << "the daemon still runs 20 s after the last file was closed";
  // Reaps it: exit status 0 (a sanitizer build also fails here when the
  // daemon exits with requests of the closed files not handled).
  EXPECT_TRUE(daemon_->Stop()) << "after " << GetParam();
  EXPECT_EQ(CountLinesWith(daemon_->Log(), {"unmounted"}), 1) << daemon_->Log();

  // What was closed after the unmount was stored.
  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  ASSERT_TRUE(daemon_->Start());
  EXPECT_EQ(ReadFile("ds/r/created"), "created, written after the unmount\n");
  EXPECT_EQ(ReadFile("ds/r/existing"), "new, written after the unmount\n");
  EXPECT_EQ(ReadFile("ds/r/log"), "line 1\nline 2\nline 3\n");
  EXPECT_EQ(ReadFile("ds/r/empty"), "");
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/empty").c_str(), &st), 0) << Errno(errno);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

INSTANTIATE_TEST_SUITE_P(Faults, LazyUnmountTest,
                         ::testing::Values("fusermount3 -u -z", "umount -l"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return p.index == 0 ? std::string("Fusermount")
                                               : std::string("Umount");
                         });

// ------------------------------------------------------------ stale mount

// The parameter: milliseconds between the kill and the next start. Within
// the kernel's attribute cache lifetime (attr_timeout, 1 s) stat() of the
// dead mountpoint still succeeds from the cache; after it, ENOTCONN.
class StaleMountTest : public MountTest,
                       public ::testing::WithParamInterface<int> {
 protected:
  void TearDown() override {
    MountTest::TearDown();
    // Whatever the test left (a stale mount under the new one).
    for (int i = 0; i < 4 && IsMounted(mnt_); ++i) {
      umount2(mnt_.c_str(), MNT_DETACH);
    }
  }
  int MountCount() const {
    const CommandResult r = RunShell("grep -c " + ShellQuote(" " + mnt_ + " ") +
                                     " /proc/self/mountinfo");
    return std::atoi(r.output.c_str());
  }
};

TEST_P(StaleMountTest, StaleMountAfterKill9IsCleanedByTheNextStart) {
  ASSERT_TRUE(daemon_->Stop());
  // A daemon of our own, so that nothing detaches its mount after the kill.
  const std::string log = dir_.Sub("killed.log");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execl(ROWFS_BINARY, ROWFS_BINARY, "-f", db_.c_str(), mnt_.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(WaitUntil([&] { return IsMounted(mnt_); }, 20000));
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "before the kill\n"), 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);

  // The mountpoint is stale now.
  std::vector<std::string> names;
  EXPECT_EQ(ListDir(mnt_, &names), ENOTCONN);
  ASSERT_EQ(MountCount(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(GetParam()));

  // Daemon::Start() returns at once (the stale mount is in mountinfo):
  // wait for the new daemon's own "mounted" line.
  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  const size_t log_start = daemon_->Log().size();  // earlier daemons' lines
  auto new_log = [&] { return daemon_->Log().substr(log_start); };
  ASSERT_TRUE(daemon_->Start()) << "start on a stale mountpoint";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return CountLinesWith(new_log(), {"] mounted", mnt_}) > 0;
      },
      20000))
      << new_log();
  EXPECT_EQ(CountLinesWith(new_log(), {"stale mount", mnt_}), 1)
      << "the stale mount was not cleaned up:\n"
      << new_log();
  // One mount, not the new one stacked on the dead one.
  EXPECT_EQ(MountCount(), 1) << "the new mount is stacked on the stale one";
  EXPECT_EQ(ListDir(mnt_, &names), 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "before the kill\n");

  // Once stopped, nothing is left behind.
  ASSERT_TRUE(daemon_->Stop());
  EXPECT_FALSE(IsMounted(mnt_)) << "a stale mount is left after the stop";
  EXPECT_EQ(ListDir(mnt_, &names), 0);
  EXPECT_TRUE(names.empty());
}

INSTANTIATE_TEST_SUITE_P(Faults, StaleMountTest, ::testing::Values(0, 1500),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == 0
                                      ? std::string("ImmediateRestart")
                                      : std::string("RestartAfterAttrTimeout");
                         });

using FaultTest = MountTest;

// ------------------------------------------------------------ corrupted SST

TEST_F(FaultTest, CorruptedSstIsReportedNeverReturnedAsData) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  std::map<std::string, std::string> content;
  for (int i = 0; i < 24; ++i) {
    const std::string rel = "ds/r/c" + std::to_string(i);
    content[rel] = Pseudo(1000 + i, 64 * 1024);  // incompressible
    ASSERT_EQ(WriteFile(rel, content[rel]), 0);
  }
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0)
      << Errno(errno);
  ASSERT_TRUE(daemon_->Stop());

  // The biggest SST file holds the values; damage its middle.
  std::string sst;
  uintmax_t size = 0;
  for (const auto& e : std::filesystem::directory_iterator(db_)) {
    if (e.path().extension() == ".sst" && e.file_size() > size) {
      size = e.file_size();
      sst = e.path().string();
    }
  }
  ASSERT_GT(size, 24u * 64 * 1024) << "no SST file holds the values";
  {
    const int fd = open(sst.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char bytes[64];
    const off_t at = static_cast<off_t>(size / 2);
    ASSERT_EQ(pread(fd, bytes, sizeof(bytes), at), 64);
    for (char& b : bytes) b = static_cast<char>(~b);
    ASSERT_EQ(pwrite(fd, bytes, sizeof(bytes), at), 64);
    close(fd);
  }
  const std::string file = std::filesystem::path(sst).filename().string();

  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  const ::testing::AssertionResult started = daemon_->Start();
  if (!started) {
    // Refusing to start is fine, with one line naming the file.
    EXPECT_EQ(CountLinesWith(daemon_->Log(), {file}), 1) << daemon_->Log();
    std::printf("[ fault    ] start-up refused: %s\n", daemon_->Log().c_str());
    return;
  }
  int failed = 0;
  for (const auto& [rel, want] : content) {
    std::string got;
    const int err = ReadWhole(P(rel), &got);
    if (err == 0) {
      EXPECT_TRUE(got == want)
          << rel << ": GARBAGE returned as data (" << got.size() << " bytes)";
    } else {
      ++failed;
      EXPECT_EQ(err, EIO) << rel << ": " << Errno(err);
    }
  }
  std::vector<std::string> names;
  const int lerr = ListDir(P("ds/r"), &names);
  EXPECT_TRUE(lerr == 0 || lerr == EIO) << Errno(lerr);
  std::printf("[ fault    ] %d of %zu columns unreadable (EIO); listing: %s\n",
              failed, content.size(), Errno(lerr).c_str());
  EXPECT_GT(failed, 0) << "the damage in " << file << " went unnoticed";
  EXPECT_GE(CountLinesWith(daemon_->Log(), {"[error]", file}), 1)
      << "no error in the log names " << file << ":\n"
      << daemon_->Log();
  // Still serving.
  EXPECT_TRUE(IsMounted(mnt_));
  struct stat st;
  EXPECT_EQ(stat(P("ds").c_str(), &st), 0);
  EXPECT_EQ(WriteFile("ds/r2-still-writable", "x"), EPERM);
  ASSERT_EQ(mkdir(P("ds/r2").c_str(), 0755), 0);
  EXPECT_EQ(WriteFile("ds/r2/c", "still writable\n"), 0);
  EXPECT_EQ(ReadFile("ds/r2/c"), "still writable\n");
}

}  // namespace
}  // namespace rowfs
