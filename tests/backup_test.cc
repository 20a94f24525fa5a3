// Backups people can trust: point-in-time and as-of views of a live mount.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
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
      if (renameat2(AT_FDCWD, P("ds/tmp").c_str(), AT_FDCWD, P("ds/cur").c_str(),
                    RENAME_EXCHANGE) != 0) {
        break;
      }
      ++swaps;
    }
  });
  for (int round = 0; round < 8; ++round) {
    const std::string name = "s" + std::to_string(round);
    ASSERT_EQ(mkdir(P("@snapshot/" + name).c_str(), 0755), 0);
    const std::string out = dir_.Sub("out" + name);
    ASSERT_EQ(mkdir(out.c_str(), 0755), 0);
    const CommandResult r = ::rowfs::Run("tar -C " + ShellQuote(P("@snapshot/" + name)) +
                                " -cf - . | tar -C " + ShellQuote(out) + " -xf -");
    ASSERT_EQ(r.status, 0) << r.output;
    const CommandResult a = ::rowfs::Run("cat " + ShellQuote(out + "/ds/cur/a"));
    const CommandResult b = ::rowfs::Run("cat " + ShellQuote(out + "/ds/cur/b"));
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
  EXPECT_EQ(List("@asof/1500000000000/ds/r"),
            (std::vector<std::string>{"c", "c@1000000000000",
                                      "late@1200000000000"}));
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

}  // namespace
}  // namespace rowfs
