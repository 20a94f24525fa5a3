// Backups people can trust: point-in-time and as-of views of a live mount.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "mount_fixture.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

#define ERRNO_OF(call) ((call) == -1 ? errno : 0)

class ViewTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  }
};

TEST_F(ViewTest, SnapshotIsFrozenReadOnlyAndHidden) {
  ASSERT_EQ(WriteFile("ds/r/c", "before"), 0);
  ASSERT_EQ(mkdir(P("@snapshot/b1").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "after"), 0);
  ASSERT_EQ(WriteFile("ds/r/new", "x"), 0);
  ASSERT_EQ(mkdir(P("ds2").c_str(), 0755), 0);

  EXPECT_EQ(ReadFile("@snapshot/b1/ds/r/c"), "before");
  EXPECT_EQ(ReadFile("ds/r/c"), "after");
  EXPECT_EQ(List("@snapshot/b1/ds/r"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(List("@snapshot"), (std::vector<std::string>{"b1"}));
  // Not listed at the root: tar, rsync and find never walk into views.
  EXPECT_EQ(List(""), (std::vector<std::string>{"ds", "ds2"}));
  EXPECT_EQ(Sh("find . -name '@*' | wc -l").output, "0\n");
  // Read-only inside.
  EXPECT_EQ(WriteFile("@snapshot/b1/ds/r/c", "x"), EROFS);
  EXPECT_EQ(ERRNO_OF(unlink(P("@snapshot/b1/ds/r/c").c_str())), EROFS);
  EXPECT_EQ(ERRNO_OF(mkdir(P("@snapshot/b1/ds/r2").c_str(), 0755)), EROFS);
  EXPECT_EQ(ERRNO_OF(mkdir(P("@snapshot/b1").c_str(), 0755)), EEXIST);
  // Released by rmdir.
  ASSERT_EQ(rmdir(P("@snapshot/b1").c_str()), 0);
  EXPECT_TRUE(List("@snapshot").empty());
  EXPECT_EQ(ReadFile("@snapshot/b1/ds/r/c"), "<errno 2>");
  // '@' at the root belongs to views, never to datasets.
  EXPECT_EQ(ERRNO_OF(mkdir(P("@mine").c_str(), 0755)), EINVAL);
}

// A writer keeps the columns a and b of row "cur" equal by preparing a
// staging row and swapping it in with one RENAME_EXCHANGE (one atomic
// batch). tar of a snapshot must always see a == b, while writes go on.
TEST_F(ViewTest, TarOfASnapshotIsConsistentWhileWritesContinue) {
  ASSERT_EQ(mkdir(P("ds/cur").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/tmp").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/cur/a", "0"), 0);
  ASSERT_EQ(WriteFile("ds/cur/b", "0"), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> swaps{0};
  std::thread writer([&] {
    for (int i = 1; !stop.load(); ++i) {
      const std::string v = std::to_string(i);
      if (WriteFile("ds/tmp/a", v) != 0 || WriteFile("ds/tmp/b", v) != 0) break;
      if (renameat2(AT_FDCWD, P("ds/tmp").c_str(), AT_FDCWD,
                    P("ds/cur").c_str(), RENAME_EXCHANGE) != 0) {
        break;
      }
      ++swaps;
      // Paced: every swap adds versions that each later tar copies, so an
      // unpaced writer makes the rounds quadratically slower (sanitizers).
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (int round = 0; round < 8; ++round) {
    const std::string name = "s" + std::to_string(round);
    ASSERT_EQ(mkdir(P("@snapshot/" + name).c_str(), 0755), 0);
    const std::string out = dir_.Sub("out" + name);
    ASSERT_EQ(mkdir(out.c_str(), 0755), 0);
    const CommandResult r =
        RunShell("tar -C " + ShellQuote(P("@snapshot/" + name)) +
                 " -cf - . | tar -C " + ShellQuote(out) + " -xf -");
    ASSERT_EQ(r.status, 0) << r.output;
    const CommandResult a = RunShell("cat " + ShellQuote(out + "/ds/cur/a"));
    const CommandResult b = RunShell("cat " + ShellQuote(out + "/ds/cur/b"));
    EXPECT_EQ(a.output, b.output) << "round " << round;
    ASSERT_EQ(rmdir(P("@snapshot/" + name).c_str()), 0);
  }
  stop = true;
  writer.join();
  EXPECT_GT(swaps.load(), 0) << "the writer never ran";
}

TEST_F(ViewTest, AsOfShowsEachColumnAtThatTime) {
  ASSERT_EQ(WriteFile("ds/r/c@1000000000000", "v1"), 0);
  ASSERT_EQ(WriteFile("ds/r/c@1100000000000", "v2"), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "now"), 0);  // today: after both
  ASSERT_EQ(WriteFile("ds/r/late@1200000000000", "x"), 0);

  EXPECT_EQ(ReadFile("ds/r/c"), "now");
  EXPECT_EQ(ReadFile("@asof/1050000000000/ds/r/c"), "v1");
  EXPECT_EQ(ReadFile("@asof/1500000000000/ds/r/c"), "v2");
  EXPECT_EQ(List("@asof/1050000000000/ds/r"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(
      List("@asof/1500000000000/ds/r"),
      (std::vector<std::string>{"c", "c@1000000000000", "late@1200000000000"}));
  EXPECT_EQ(ReadFile("@asof/999/ds/r/c"), "<errno 2>");
  struct stat st;
  ASSERT_EQ(stat(P("@asof/1050000000000/ds/r/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  // Read-only, not listed, and T must be a canonical timestamp.
  EXPECT_EQ(WriteFile("@asof/1500000000000/ds/r/c", "x"), EROFS);
  EXPECT_TRUE(List("@asof").empty());
  EXPECT_EQ(ReadFile("@asof/01/ds/r/c"), "<errno 2>");
  EXPECT_EQ(ReadFile("@asof/yesterday/ds/r/c"), "<errno 2>");
}

// ------------------------------------------------------------ native backups

class NativeBackupTest : public ViewTest {
 protected:
  CommandResult Tool(const std::string& args) {
    return RunShell(std::string(ROWFS_BINARY) + " " + args);
  }
  std::string bk() const { return dir_.Sub("backups"); }
};

TEST_F(NativeBackupTest, IncrementalBackupsOfALiveMountVerifyPurgeRestore) {
  ASSERT_EQ(WriteFile("ds/r/c", "first"), 0);
  CommandResult r =
      Tool("backup create " + ShellQuote(mnt_) + " " + ShellQuote(bk()));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(WriteFile("ds/r/c", "second"), 0);
  ASSERT_EQ(WriteFile("ds/r/big", std::string(3 << 20, 'b')), 0);
  r = Tool("backup create " + ShellQuote(mnt_) + " " + ShellQuote(bk()));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(WriteFile("ds/r/c", "after the backups"), 0);

  r = Tool("backup list " + ShellQuote(bk()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\n1 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n2 "), std::string::npos) << r.output;
  EXPECT_EQ(Tool("backup verify " + ShellQuote(bk())).status, 0);

  // Restore backup 1 and backup 2 into new databases and mount them.
  for (int id : {1, 2}) {
    const std::string db = dir_.Sub("restored" + std::to_string(id));
    r = Tool("backup restore " + ShellQuote(bk()) + " " + ShellQuote(db) +
             " --id " + std::to_string(id));
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string mnt = dir_.Sub("rmnt" + std::to_string(id));
    ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
    Daemon restored(db, mnt);
    ASSERT_TRUE(restored.Start());
    EXPECT_EQ(RunShell("cat " + ShellQuote(mnt + "/ds/r/c")).output,
              id == 1 ? "first" : "second");
    EXPECT_EQ(RunShell("ls " + ShellQuote(mnt + "/ds/r") + " | wc -l").output,
              id == 1 ? "1\n" : "3\n");  // c, c@first, big
    EXPECT_TRUE(restored.Stop());
  }
  // A restore never overwrites a database.
  r = Tool("backup restore " + ShellQuote(bk()) + " " + ShellQuote(db_));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not empty"), std::string::npos) << r.output;
  // Purge keeps the newest.
  r = Tool("backup purge " + ShellQuote(bk()) + " --keep 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("\n1 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n2 "), std::string::npos) << r.output;
  EXPECT_EQ(Tool("backup verify " + ShellQuote(bk()) + " --id 1").status, 1);
  EXPECT_EQ(Tool("backup verify " + ShellQuote(bk()) + " --id 2").status, 0);
}

TEST_F(NativeBackupTest, VerifyCatchesACorruptedBackup) {
  ASSERT_EQ(WriteFile("ds/r/c", std::string(100000, 'x')), 0);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  ASSERT_EQ(
      Tool("backup create " + ShellQuote(mnt_) + " " + ShellQuote(bk())).status,
      0);
  // Flip bytes in the middle of a table file of the backup.
  const CommandResult f =
      RunShell("find " + ShellQuote(bk()) + " -name '*.sst' | head -1");
  ASSERT_FALSE(f.output.empty());
  const std::string sst = f.output.substr(0, f.output.size() - 1);
  ASSERT_EQ(RunShell("printf 'garbage' | dd of=" + ShellQuote(sst) +
                     " bs=1 seek=100 conv=notrunc 2>/dev/null")
                .status,
            0);
  const CommandResult r = Tool("backup verify " + ShellQuote(bk()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("backup 1"), std::string::npos) << r.output;
}

TEST_F(NativeBackupTest, CheckpointOfALiveDatabaseCanBeMounted) {
  ASSERT_EQ(WriteFile("ds/r/c", "v1"), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "v2"), 0);
  const std::string ck = dir_.Sub("ck");
  CommandResult r =
      Tool("checkpoint " + ShellQuote(mnt_) + " " + ShellQuote(ck));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(WriteFile("ds/r/c", "v3"), 0);
  EXPECT_EQ(
      Tool("checkpoint " + ShellQuote(mnt_) + " " + ShellQuote(ck)).status, 1);
  const std::string mnt = dir_.Sub("ckmnt");
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  Daemon checkpoint(ck, mnt);
  ASSERT_TRUE(checkpoint.Start());
  EXPECT_EQ(RunShell("cat " + ShellQuote(mnt + "/ds/r/c")).output, "v2");
  EXPECT_EQ(RunShell("ls " + ShellQuote(mnt + "/ds/r") + " | wc -l").output,
            "2\n");
  EXPECT_TRUE(checkpoint.Stop());
}

TEST_F(NativeBackupTest, OfflineBackupOfAnUnmountedDatabase) {
  ASSERT_EQ(WriteFile("ds/r/c", "offline"), 0);
  // While mounted the directory is locked: the tool says to use the mount.
  CommandResult r =
      Tool("backup create " + ShellQuote(db_) + " " + ShellQuote(bk()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("give the mountpoint"), std::string::npos)
      << r.output;
  ASSERT_TRUE(daemon_->Stop());
  r = Tool("backup create " + ShellQuote(db_) + " " + ShellQuote(bk()));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string db = dir_.Sub("restored");
  ASSERT_EQ(
      Tool("backup restore " + ShellQuote(bk()) + " " + ShellQuote(db)).status,
      0);
  daemon_ = std::make_unique<Daemon>(db, mnt_);
  ASSERT_TRUE(daemon_->Start());
  EXPECT_EQ(ReadFile("ds/r/c"), "offline");
}

TEST_F(NativeBackupTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Tool("backup").status, 2);
  EXPECT_EQ(Tool("backup frobnicate x").status, 2);
  EXPECT_EQ(Tool("backup purge " + ShellQuote(bk())).status, 2);
  EXPECT_EQ(Tool("backup verify x --id nope").status, 2);
  EXPECT_EQ(Tool("backup list " + ShellQuote(dir_.Sub("none"))).status, 1);
}

// ------------------------------------------------------------ followers

class FollowerTest : public ViewTest {
 protected:
  void SetUp() override {
    ViewTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(WriteFile("ds/r/c", "v0"), 0);
    fmnt_ = dir_.Sub("follower");
    ASSERT_EQ(mkdir(fmnt_.c_str(), 0755), 0);
    follower_ = std::make_unique<Daemon>(
        db_, fmnt_,
        std::vector<std::string>{"-o", "follower,catchup_interval=0.1"});
    ASSERT_TRUE(follower_->Start());
  }
  void TearDown() override {
    if (follower_) {
      EXPECT_TRUE(follower_->Stop());
    }
    ViewTest::TearDown();
  }
  std::string FollowerRead(const std::string& rel) {
    return RunShell("cat " + ShellQuote(fmnt_ + "/" + rel) + " 2>/dev/null")
        .output;
  }
  // Polls the follower until `rel` reads `want` (or 5 s pass).
  bool Eventually(const std::string& rel, const std::string& want) {
    for (int i = 0; i < 250; ++i) {
      if (FollowerRead(rel) == want) return true;
      usleep(20000);
    }
    return false;
  }
  std::string fmnt_;
  std::unique_ptr<Daemon> follower_;
};

TEST_F(FollowerTest, SeesThePrimarysWritesWithinTheInterval) {
  EXPECT_EQ(FollowerRead("ds/r/c"), "v0");
  ASSERT_EQ(WriteFile("ds/r/c", "v1"), 0);
  ASSERT_EQ(mkdir(P("ds/r2").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r2/x", "new row"), 0);
  EXPECT_TRUE(Eventually("ds/r/c", "v1"));
  EXPECT_TRUE(Eventually("ds/r2/x", "new row"));
  EXPECT_EQ(RunShell("ls " + ShellQuote(fmnt_ + "/ds/r") + " | wc -l").output,
            "2\n");  // c and c@<v0>
  // Read-only.
  EXPECT_NE(RunShell("echo x > " + ShellQuote(fmnt_ + "/ds/r/c")).status, 0);
  // Catch-up on demand, by a read: the kernel knows the mount is read-only.
  char buf[16];
  EXPECT_EQ(getxattr(fmnt_.c_str(), "user.rowfs.ctl.catchup", buf, sizeof(buf)),
            2);
  EXPECT_EQ(
      RunShell("grep -q ' " + fmnt_ + " fuse.rowfs ro,' /proc/mounts").status,
      0)
      << RunShell("cat /proc/mounts").output;
}

// RocksDB secondaries do not see column families created after they
// opened; the follower opens them (and forgets dropped ones) as it catches
// up.
TEST_F(FollowerTest, SeesDatasetsThePrimaryCreatesAndDrops) {
  // Snapshot views need a primary (RocksDB secondaries read at no
  // snapshot); the follower's mount is read-only anyway.
  EXPECT_EQ(ERRNO_OF(mkdir((fmnt_ + "/@snapshot/s").c_str(), 0755)), EROFS);
  ASSERT_EQ(mkdir(P("later").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("later/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("later/r/c", "fresh"), 0);
  EXPECT_TRUE(Eventually("later/r/c", "fresh"));
  ASSERT_EQ(WriteFile("later/r/c", "fresher"), 0);
  EXPECT_TRUE(Eventually("later/r/c", "fresher"));
  EXPECT_EQ(FollowerRead("ds/r/c"), "v0");  // the first instance still reads
  // Dropped by the primary (-f: removing a column removes its versions
  // before rm gets to them): gone from the follower's listing.
  const CommandResult rm = RunShell("rm -rf " + ShellQuote(P("later")));
  ASSERT_EQ(rm.status, 0) << rm.output;
  bool gone = false;
  for (int i = 0; i < 250 && !gone; ++i) {
    gone = RunShell("ls " + ShellQuote(fmnt_)).output == "ds\n";
    if (!gone) usleep(20000);
  }
  EXPECT_TRUE(gone) << RunShell("ls " + ShellQuote(fmnt_)).output;
  // And made again under the same name: the new one is followed.
  ASSERT_EQ(mkdir(P("later").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("later/r2").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("later/r2/c", "again"), 0);
  EXPECT_TRUE(Eventually("later/r2/c", "again"));
}

TEST_F(FollowerTest, ReadsStayWholeWhileThePrimaryWrites) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 1; !stop.load(); ++i) {
      if (WriteFile("ds/r/c", "value-" + std::to_string(i) + "-end") != 0)
        break;
    }
  });
  int reads = 0, changes = 0;
  std::string last;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string v = FollowerRead("ds/r/c");
    ++reads;
    const bool whole =
        v == "v0" || (v.rfind("value-", 0) == 0 && v.size() > 10 &&
                      v.substr(v.size() - 4) == "-end");
    EXPECT_TRUE(whole) << "torn read: '" << v << "'";
    if (v != last) ++changes;
    last = v;
  }
  stop = true;
  writer.join();
  EXPECT_GT(reads, 10);
  EXPECT_GT(changes, 2) << "the follower never moved forward";
}

// ------------------------------------------------------------ standard tools

// The shape the backup issue names: several datasets, hundreds of rows,
// binary values, a 10 MiB value, columns with dozens of versions.
class ToolRoundTripTest : public ViewTest {
 protected:
  void Populate() {
    ASSERT_EQ(mkdir(P("ds2").c_str(), 0750), 0);
    for (int r = 0; r < 200; ++r) {
      const std::string row =
          (r % 2 ? "ds/" : "ds2/") + std::string("row") + std::to_string(r);
      ASSERT_EQ(mkdir(P(row).c_str(), 0755), 0);
      std::string bin(64 + r, '\0');
      for (size_t i = 0; i < bin.size(); ++i)
        bin[i] = static_cast<char>(i * 7 + r);
      ASSERT_EQ(WriteFile(row + "/bin", bin), 0);
    }
    for (int v = 0; v < 30; ++v) {  // dozens of versions, ms apart or not
      ASSERT_EQ(
          WriteFile("ds/r/hist@" + std::to_string(1600000000000 + v * 1234),
                    "version " + std::to_string(v)),
          0);
    }
    ASSERT_EQ(WriteFile("ds/r/hist", "latest"), 0);
    std::string big(10 << 20, 'x');
    for (size_t i = 0; i < big.size(); i += 4096)
      big[i] = static_cast<char>(i >> 12);
    ASSERT_EQ(WriteFile("ds/r/big", big), 0);
  }
  // Every file: name, size, mtime (ms) and checksum, sorted. Fails the
  // test when the tree is missing (two empty manifests must not agree).
  std::string Manifest(const std::string& root) {
    const std::string m =
        RunShell("cd " + ShellQuote(root) +
                 " && find . -type f -printf '%P %s %T@\\n' | sort && "
                 "find . -type f -print0 | sort -z | xargs -0 md5sum")
            .output;
    EXPECT_GT(std::count(m.begin(), m.end(), '\n'), 400) << root;
    return m;
  }
  // Mounts a fresh database at a new mountpoint.
  std::unique_ptr<Daemon> FreshMount(const std::string& name,
                                     std::vector<std::string> args = {}) {
    const std::string mnt = dir_.Sub(name);
    mkdir(mnt.c_str(), 0755);
    auto d = std::make_unique<Daemon>(dir_.Sub(name + "-db"), mnt, args);
    EXPECT_TRUE(d->Start());
    return d;
  }
};

TEST_F(ToolRoundTripTest, SecondTarExtractAddsNoVersions) {
  Populate();
  const std::string tarball = dir_.Sub("b.tar");
  ASSERT_EQ(RunShell("tar -C " + ShellQuote(mnt_) + " --format=posix -cf " +
                     ShellQuote(tarball) + " .")
                .status,
            0);
  auto copy = FreshMount("copy");
  const std::string cmnt = copy->mountpoint();
  for (int pass = 0; pass < 2; ++pass) {
    const CommandResult r =
        RunShell("tar -C " + ShellQuote(cmnt) + " -xf " + ShellQuote(tarball));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(Manifest(cmnt), Manifest(mnt_)) << "after tar -x #" << pass + 1;
  }
  EXPECT_TRUE(copy->Stop());
}

TEST_F(ToolRoundTripTest, RsyncToALocalCopyAndBackIntoAMount) {
  Populate();
  const std::string local = dir_.Sub("local");
  CommandResult r = RunShell("rsync -a " + ShellQuote(mnt_ + "/") + " " +
                             ShellQuote(local + "/"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(Manifest(local), Manifest(mnt_));
  auto copy = FreshMount("back");
  r = RunShell("rsync -a " + ShellQuote(local + "/") + " " +
               ShellQuote(copy->mountpoint() + "/"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(Manifest(copy->mountpoint()), Manifest(mnt_));
  // Nothing left to do the second time.
  r = RunShell("rsync -a --itemize-changes " + ShellQuote(local + "/") + " " +
               ShellQuote(copy->mountpoint() + "/"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find(">f"), std::string::npos) << r.output;
  EXPECT_TRUE(copy->Stop());
}

TEST_F(ToolRoundTripTest, CpArchiveCarriesDatasetPolicies) {
  ASSERT_EQ(WriteFile("ds/r/c", "x"), 0);
  ASSERT_EQ(setxattr(P("ds").c_str(), "user.rowfs.max_versions", "7", 1, 0), 0);
  ASSERT_EQ(setxattr(P("ds").c_str(), "user.rowfs.ttl", "86400", 5, 0), 0);
  auto copy = FreshMount("policies");
  const CommandResult r = RunShell("cp -a " + ShellQuote(mnt_ + "/.") + " " +
                                   ShellQuote(copy->mountpoint() + "/"));
  ASSERT_EQ(r.status, 0) << r.output;
  char buf[32];
  const std::string ds = copy->mountpoint() + "/ds";
  ssize_t n = getxattr(ds.c_str(), "user.rowfs.max_versions", buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "7");
  n = getxattr(ds.c_str(), "user.rowfs.ttl", buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "86400");
  EXPECT_TRUE(copy->Stop());
}

TEST_F(ToolRoundTripTest, LatestOnlyBackupFromAHiddenVersionsMount) {
  Populate();
  const std::string hidden = dir_.Sub("hidden");
  ASSERT_TRUE(daemon_->Stop());
  mkdir(hidden.c_str(), 0755);
  daemon_ = std::make_unique<Daemon>(
      db_, hidden, std::vector<std::string>{"-o", "versions=hidden"});
  ASSERT_TRUE(daemon_->Start());
  const std::string tarball = dir_.Sub("latest.tar");
  ASSERT_EQ(RunShell("tar -C " + ShellQuote(hidden) + " --format=posix -cf " +
                     ShellQuote(tarball) + " .")
                .status,
            0);
  auto copy = FreshMount("latest");
  const CommandResult r = RunShell("tar -C " + ShellQuote(copy->mountpoint()) +
                                   " -xf " + ShellQuote(tarball));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(Manifest(copy->mountpoint()), Manifest(hidden));
  EXPECT_EQ(RunShell("ls " + ShellQuote(copy->mountpoint() + "/ds/r")).output,
            "big\nhist\n");
  EXPECT_EQ(
      RunShell("cat " + ShellQuote(copy->mountpoint() + "/ds/r/hist")).output,
      "latest");
  EXPECT_TRUE(copy->Stop());
}

}  // namespace
}  // namespace rowfs
