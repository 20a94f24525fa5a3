// Bad input: names at and over the limits, reserved and non-canonical
// version syntax, huge offsets and sizes, out-of-range or non-numeric policy
// values, reserved dataset names, entries at the wrong level. Each gets its
// specific errno (never EIO), the daemon keeps running, and each refusal
// that reaches rowfs is logged once, at info, naming the path and the
// reason; refusals of missing names (ENOENT) only at debug.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <functional>
#include <thread>

#include "mount_fixture.h"
#include "reliability_util.h"

namespace rowfs {
namespace {

using reliability::CountLinesWith;
using reliability::MonotonicMs;

std::string ErrName(int err) { return err == 0 ? "success" : strerror(err); }

// Returns 0 or errno of a call returning -1 on failure.
int Sys(int rc) { return rc < 0 ? errno : 0; }

int Create(const std::string& path, const std::string& content = "x") {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return errno;
  if (!content.empty() && write(fd, content.data(), content.size()) !=
                              static_cast<ssize_t>(content.size())) {
    const int err = errno;
    close(fd);
    return err;
  }
  return close(fd) == 0 ? 0 : errno;
}

class BadInputTest : public MountTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"-o", "max_file_size=1M"};
  }

  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  }

  void TearDown() override {
    if (daemon_ != nullptr && daemon_->running()) {
      // Refusals never take the daemon down, and none is a real failure.
      EXPECT_EQ(kill(daemon_->pid(), 0), 0) << "the daemon died";
      EXPECT_TRUE(IsMounted(mnt_));
      EXPECT_EQ(CountLinesWith(daemon_->Log(), {"[error]"}), 0)
          << "a refusal was logged as a failure:\n"
          << daemon_->Log();
    }
    MountTest::TearDown();
  }

  // Runs `op` (returning 0 or an errno) and checks its errno, then the
  // log: `logged` says whether exactly one new line, at info, names every
  // one of `needles` and says "refused"; otherwise no new line may say
  // "refused" about them (kernel refusals and debug-level ENOENT).
  void Expect(const std::string& what, const std::function<int()>& op, int want,
              bool logged, std::vector<std::string> needles = {}) {
    SCOPED_TRACE(what);
    const size_t mark = daemon_->Log().size();
    const int got = op();
    EXPECT_EQ(got, want) << what << ": got " << ErrName(got) << ", expected "
                         << ErrName(want);
    EXPECT_NE(got, EIO) << what << ": EIO for bad input";
    needles.push_back("refused");
    auto new_lines = [&] {
      return CountLinesWith(daemon_->Log().substr(mark), needles);
    };
    if (logged) {
      const int64_t deadline = MonotonicMs() + 2000;
      while (new_lines() == 0 && MonotonicMs() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      const std::string log = daemon_->Log().substr(mark);
      EXPECT_EQ(new_lines(), 1) << what
                                << ": expected one log line with the "
                                   "path and the reason, got:\n"
                                << log;
      EXPECT_EQ(CountLinesWith(log, {"[info]", "refused"}),
                CountLinesWith(log, {"refused"}))
          << what << ": a refusal not at info:\n"
          << log;
      // Nothing else about it, at error level (e.g. when the file is
      // released after close).
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      EXPECT_EQ(CountLinesWith(daemon_->Log().substr(mark), {"[error]"}), 0)
          << what << ": a refusal logged as an error:\n"
          << daemon_->Log().substr(mark);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      EXPECT_EQ(new_lines(), 0) << what << ": unexpected log line:\n"
                                << daemon_->Log().substr(mark);
    }
    ASSERT_EQ(kill(daemon_->pid(), 0), 0) << what << " killed the daemon";
  }
};

TEST_F(BadInputTest, NameLengthLimits) {
  const std::string c235(235, 'c'), c236(236, 'c'), n255(255, 'n'),
      n256(256, 'n');
  Expect(
      "235-byte column", [&] { return Create(P("ds/r/" + c235), "ok"); }, 0,
      false);
  EXPECT_EQ(ReadFile("ds/r/" + c235), "ok");
  Expect("236-byte column", [&] { return Create(P("ds/r/" + c236)); },
         ENAMETOOLONG, true, {"/ds/r/" + c236});
  // 235 + "@" + 19 digits = 255: a name that fits, but a 19-digit
  // timestamp is centuries ahead of the clock (EINVAL); 235 + "@" + 13
  // digits is the longest version name in use.
  const std::string v255 = std::string(235, 'v') + "@1000000000000000000";
  ASSERT_EQ(v255.size(), 255u);
  Expect("255-byte version name, far in the future",
         [&] { return Create(P("ds/r/" + v255), "v"); }, EINVAL, true,
         {"/ds/r/" + v255});
  const std::string v249 = std::string(235, 'v') + "@1700000000000";
  Expect(
      "249-byte version name", [&] { return Create(P("ds/r/" + v249), "v"); },
      0, false);
  EXPECT_EQ(ReadFile("ds/r/" + v249), "v");
  Expect("256-byte name in a row", [&] { return Create(P("ds/r/" + n256)); },
         ENAMETOOLONG, true, {"/ds/r/" + n256});
  const std::string long_col_version = std::string(240, 'c') + "@1";
  Expect("version of a 240-byte column",
         [&] { return Create(P("ds/r/" + long_col_version)); }, ENAMETOOLONG,
         true, {"/ds/r/" + long_col_version});
  Expect("rename to a 236-byte column",
         [&] {
           return Sys(
               rename(P("ds/r/" + c235).c_str(), P("ds/r/" + c236).c_str()));
         },
         ENAMETOOLONG, true, {c236});
  EXPECT_EQ(ReadFile("ds/r/" + c235), "ok") << "a refused rename moved data";

  Expect(
      "255-byte dataset", [&] { return Sys(mkdir(P(n255).c_str(), 0755)); }, 0,
      false);
  Expect("256-byte dataset", [&] { return Sys(mkdir(P(n256).c_str(), 0755)); },
         ENAMETOOLONG, true, {"/" + n256});
  Expect(
      "255-byte row", [&] { return Sys(mkdir(P("ds/" + n255).c_str(), 0755)); },
      0, false);
  Expect("256-byte row",
         [&] { return Sys(mkdir(P("ds/" + n256).c_str(), 0755)); },
         ENAMETOOLONG, true, {"/ds/" + n256});
  Expect(
      "column in a 255-byte row",
      [&] { return Create(P("ds/" + n255 + "/" + c235), "deep"); }, 0, false);
  EXPECT_EQ(ReadFile("ds/" + n255 + "/" + c235), "deep");
}

TEST_F(BadInputTest, VersionSyntax) {
  // "x@123" is version 123 of x: a back-fill, which makes x implicit.
  Expect(
      "create x@123", [&] { return Create(P("ds/r/x@123"), "v123"); }, 0,
      false);
  EXPECT_EQ(ReadFile("ds/r/x@123"), "v123");
  struct stat st;
  Expect(
      "stat x (implicit)", [&] { return Sys(stat(P("ds/r/x").c_str(), &st)); },
      ENOENT, false);
  // Renaming onto "y@456" stores exactly that version.
  ASSERT_EQ(WriteFile("ds/r/a", "from a"), 0);
  Expect(
      "rename a y@456",
      [&] { return Sys(rename(P("ds/r/a").c_str(), P("ds/r/y@456").c_str())); },
      0, false);
  EXPECT_EQ(ReadFile("ds/r/y@456"), "from a");
  // "x@" and "@" are plain column names (no digits).
  Expect(
      "create x@", [&] { return Create(P("ds/r/x@"), "at"); }, 0, false);
  EXPECT_EQ(ReadFile("ds/r/x@"), "at");
  Expect(
      "create @", [&] { return Create(P("ds/r/@"), "at"); }, 0, false);

  ASSERT_EQ(WriteFile("ds/r/b", "from b"), 0);
  // An empty column before '@'.
  Expect(
      "stat @1", [&] { return Sys(stat(P("ds/r/@1").c_str(), &st)); }, ENOENT,
      false);
  Expect("create @1", [&] { return Create(P("ds/r/@1")); }, EINVAL, true,
         {"/ds/r/@1"});
  Expect("rename b @1",
         [&] { return Sys(rename(P("ds/r/b").c_str(), P("ds/r/@1").c_str())); },
         EINVAL, true, {"/ds/r/@1"});
  // Non-canonical and out-of-range timestamps name nothing.
  for (const std::string name :
       {"col@0123", "col@00", "col@99999999999999999999",
        "col@9223372036854775808", "col@18446744073709551615"}) {
    Expect(
        "stat " + name,
        [&] { return Sys(stat(P("ds/r/" + name).c_str(), &st)); }, ENOENT,
        false);
    Expect("create " + name, [&] { return Create(P("ds/r/" + name)); }, EINVAL,
           true, {"/ds/r/" + name});
    Expect("rename b " + name,
           [&] {
             return Sys(rename(P("ds/r/b").c_str(), P("ds/r/" + name).c_str()));
           },
           EINVAL, true, {"/ds/r/" + name});
    Expect("mkdir-free mknod " + name,
           [&] {
             return Sys(mknod(P("ds/r/" + name).c_str(), S_IFREG | 0644, 0));
           },
           EINVAL, true, {"/ds/r/" + name});
  }
  EXPECT_EQ(ReadFile("ds/r/b"), "from b") << "a refused rename moved data";
  // The largest timestamp is a valid name but centuries ahead of the
  // clock: refused, so it cannot leave the column without a "latest + 1"
  // for later writes.
  Expect("create m@9223372036854775807",
         [&] { return Create(P("ds/r/m@9223372036854775807"), "max"); }, EINVAL,
         true, {"/ds/r/m@9223372036854775807"});
  Expect(
      "write m after m@9223372036854775807",
      [&] { return Create(P("ds/r/m"), "after max"); }, 0, false);
  EXPECT_EQ(ReadFile("ds/r/m"), "after max");
  // "." and ".." never reach rowfs: the kernel answers.
  Expect(
      "create .", [&] { return Create(P("ds/r/.")); }, EISDIR, false);
  Expect(
      "mkdir ..", [&] { return Sys(mkdir(P("ds/r/..").c_str(), 0755)); },
      EEXIST, false);
  const int dot = Sys(rename(P("ds/r/b").c_str(), P("ds/r/..").c_str()));
  EXPECT_TRUE(dot != 0 && dot != EIO) << ErrName(dot);
  EXPECT_EQ(ReadFile("ds/r/b"), "from b");
}

TEST_F(BadInputTest, HugeOffsetsAndSizes) {
  const off_t limit = 1 << 20;  // -o max_file_size=1M
  const int fd = open(P("ds/r/big").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  Expect(
      "pwrite ending at the limit",
      [&] { return pwrite(fd, "e", 1, limit - 1) == 1 ? 0 : errno; }, 0, false);
  Expect("pwrite past the limit",
         [&] { return Sys(pwrite(fd, "x", 1, limit)); }, EFBIG, true,
         {"/ds/r/big", "File too large"});
  Expect("pwrite at 1 TiB",
         [&] { return Sys(pwrite(fd, "x", 1, off_t{1} << 40)); }, EFBIG, true,
         {"/ds/r/big"});
  // Near the largest offset the kernel refuses by itself.
  const int near_max = Sys(pwrite(fd, "x", 1, LLONG_MAX - 1));
  EXPECT_EQ(near_max, EFBIG) << ErrName(near_max);
  Expect("ftruncate past the limit",
         [&] { return Sys(ftruncate(fd, limit + 1)); }, EFBIG, true,
         {"/ds/r/big"});
  Expect("seek + write at 4 EiB",
         [&] {
           if (lseek(fd, off_t{1} << 62, SEEK_SET) < 0) return errno;
           return Sys(static_cast<int>(write(fd, "x", 1)));
         },
         EFBIG, true, {"/ds/r/big"});
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, limit) << "a refused write changed the size";
  ASSERT_EQ(close(fd), 0) << ErrName(errno);
  Expect("truncate(2) past the limit",
         [&] { return Sys(truncate(P("ds/r/big").c_str(), off_t{1} << 40)); },
         EFBIG, true, {"/ds/r/big"});
  const int afd = open(P("ds/r/big").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(afd, 0);
  Expect("append at the limit",
         [&] { return Sys(static_cast<int>(write(afd, "x", 1))); }, EFBIG, true,
         {"/ds/r/big"});
  ASSERT_EQ(close(afd), 0);
  const std::string content = ReadFile("ds/r/big");
  ASSERT_EQ(content.size(), static_cast<size_t>(limit));
  EXPECT_EQ(content.back(), 'e');
  EXPECT_EQ(content.find_first_not_of('\0'), static_cast<size_t>(limit - 1));
}

TEST_F(BadInputTest, PolicyValues) {
  auto set = [&](const std::string& path, const char* name,
                 const std::string& value) {
    return Sys(setxattr(P(path).c_str(), name, value.data(), value.size(), 0));
  };
  for (const char* name : {"user.rowfs.max_versions", "user.rowfs.ttl"}) {
    for (const std::string value :
         {"abc", "-1", "", "1.5", " 3", "3 ", "0x10", "1e3", "+5",
          "99999999999999999999", "18446744073709551616"}) {
      Expect(std::string(name) + "='" + value + "'",
             [&] { return set("ds", name, value); }, EINVAL, true,
             {"/ds", name});
    }
    Expect(
        std::string(name) + "=7", [&] { return set("ds", name, "7"); }, 0,
        false);
    char buf[32] = {};
    ASSERT_EQ(getxattr(P("ds").c_str(), name, buf, sizeof(buf) - 1), 1);
    EXPECT_STREQ(buf, "7") << "a refused value changed the policy";
    // Policies belong to datasets.
    Expect(std::string(name) + " on a row",
           [&] { return set("ds/r", name, "1"); }, ENOTSUP, true,
           {"/ds/r", name});
  }
  // A TTL whose milliseconds do not fit a timestamp.
  Expect("ttl beyond the timestamp range",
         [&] { return set("ds", "user.rowfs.ttl", "9223372036854776"); },
         EINVAL, true, {"/ds", "user.rowfs.ttl"});
  Expect(
      "ttl at the timestamp range",
      [&] { return set("ds", "user.rowfs.ttl", "9223372036854775"); }, 0,
      false);
  Expect(
      "ttl=0", [&] { return set("ds", "user.rowfs.ttl", "0"); }, 0, false);
  // Control attributes.
  Expect("log level 'loud'",
         [&] { return set("", "user.rowfs.ctl.log_level", "loud"); }, EINVAL,
         true, {"user.rowfs.ctl.log_level"});
}

TEST_F(BadInputTest, ReservedDatasetNamesAndWrongLevels) {
  Expect("mkdir default",
         [&] { return Sys(mkdir(P("default").c_str(), 0755)); }, EINVAL, true,
         {"/default"});
  struct stat st;
  Expect(
      "stat default", [&] { return Sys(stat(P("default").c_str(), &st)); },
      ENOENT, false);
  // Names RocksDB stores in its OPTIONS file, quoted: all fine as datasets.
  for (const std::string name :
       {"DEFAULT", "a\"b", "[CFOptions", "a]b", "a=b", "a#b", "a\nb", " lead",
        "x@1", "%", "\xff\xfe"}) {
    Expect(
        "mkdir dataset '" + name + "'",
        [&] { return Sys(mkdir(P(name).c_str(), 0755)); }, 0, false);
  }
  Expect("rename a dataset",
         [&] { return Sys(rename(P("ds").c_str(), P("ds-renamed").c_str())); },
         EXDEV, true, {"/ds"});
  Expect("file at the root", [&] { return Create(P("file")); }, EPERM, true,
         {"/file"});
  Expect("file in a dataset", [&] { return Create(P("ds/file")); }, EPERM, true,
         {"/ds/file"});
  Expect("directory in a row",
         [&] { return Sys(mkdir(P("ds/r/dir").c_str(), 0755)); }, EPERM, true,
         {"/ds/r/dir"});
  Expect("symlink in a row",
         [&] { return Sys(symlink("target", P("ds/r/link").c_str())); }, EPERM,
         true, {"/ds/r/link"});
  Expect("fifo in a row",
         [&] { return Sys(mknod(P("ds/r/fifo").c_str(), S_IFIFO | 0644, 0)); },
         EPERM, true, {"/ds/r/fifo"});
  ASSERT_EQ(WriteFile("ds/r/c", "c"), 0);
  Expect("hard link",
         [&] { return Sys(link(P("ds/r/c").c_str(), P("ds/r/c2").c_str())); },
         EPERM, true, {"/ds/r/c2"});
  Expect("rename a column to the dataset level",
         [&] { return Sys(rename(P("ds/r/c").c_str(), P("ds/c").c_str())); },
         EPERM, true, {"/ds/r/c"});
  EXPECT_EQ(ReadFile("ds/r/c"), "c");
  // Every one of them survives a remount.
  ASSERT_NO_FATAL_FAILURE(Remount());
  for (const std::string name :
       {"DEFAULT", "a\"b", "[CFOptions", "a\nb", "\xff\xfe"}) {
    EXPECT_EQ(stat(P(name).c_str(), &st), 0) << name;
  }
}

// Refusal log lines name the path as the user wrote it: "/default", not
// "//default".
TEST_F(BadInputTest, RefusalLogNamesCanonicalPaths) {
  ASSERT_NE(mkdir(P("default").c_str(), 0755), 0);
  ASSERT_NE(Create(P("file")), 0);
  const std::string log = daemon_->Log();
  EXPECT_EQ(CountLinesWith(log, {"mkdir /default: refused"}), 1) << log;
  EXPECT_EQ(CountLinesWith(log, {" /file: refused"}), 1) << log;
  EXPECT_EQ(CountLinesWith(log, {"//"}), 0) << log;
}

}  // namespace
}  // namespace rowfs
