// The SPEC through real system calls on a real mount.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <thread>

#include "mount_fixture.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

// The errno of a call returning -1, or 0.
#define ERRNO_OF(call) ((call) == -1 ? errno : 0)

uint64_t MtimeMs(const struct stat& st) {
  return static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000 +
         static_cast<uint64_t>(st.st_mtim.tv_nsec) / 1000000;
}

class FsTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0) << strerror(errno);
    ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0) << strerror(errno);
  }
  // Names of the older versions of `col` in ds/r, newest first.
  std::vector<uint64_t> VersionsOf(const std::string& col) {
    std::vector<uint64_t> out;
    for (const auto& name : List("ds/r")) {
      EntryName e;
      if (ParseEntryName(name, &e).ok() && e.ts && e.column == col) {
        out.push_back(*e.ts);
      }
    }
    std::sort(out.rbegin(), out.rend());
    return out;
  }
};

TEST_F(FsTest, EchoCatAppendTruncate) {
  ASSERT_EQ(Sh("echo hello > ds/r/c").status, 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "hello\n");
  ASSERT_EQ(Sh("echo more >> ds/r/c").status, 0);
  EXPECT_EQ(Sh("cat ds/r/c").output, "hello\nmore\n");
  ASSERT_EQ(Sh("truncate -s 3 ds/r/c").status, 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "hel");
  ASSERT_EQ(Sh("truncate -s 5 ds/r/c").status, 0);
  EXPECT_EQ(ReadFile("ds/r/c"), std::string("hel\0\0", 5));
  // Each change is one version: hello, hello+more, hel, hel\0\0.
  EXPECT_EQ(VersionsOf("c").size(), 3u);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 5);
  EXPECT_EQ(Sh("ls ds/r").output.substr(0, 2), "c\n");
}

// A long row is listed in several READDIRPLUS replies from one listing.
// A column changed between two of them must not reach the kernel with its
// old attributes (they were cached for the whole attribute timeout: stat
// showed the old size while cat showed the new content).
TEST_F(FsTest, AListingReadBeforeAChangeCachesNoOldAttributes) {
  for (int i = 0; i < 300; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "ds/r/c%03d", i);
    ASSERT_EQ(WriteFile(name, std::string(1000, 'x')), 0);
  }
  Remount();  // the kernel knows none of them
  const int fd = open(P("ds/r").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  char first[1024];  // the first reply only
  ASSERT_GT(syscall(SYS_getdents64, fd, first, sizeof(first)), 0);
  ASSERT_EQ(WriteFile("ds/r/c299", "yyyyyyyyyy"), 0);
  std::vector<char> rest(1 << 16);
  while (syscall(SYS_getdents64, fd, rest.data(), rest.size()) > 0) {
  }
  close(fd);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c299").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 10);
  EXPECT_EQ(ReadFile("ds/r/c299"), "yyyyyyyyyy");
}

TEST_F(FsTest, OneVersionPerCloseWithChanges) {
  ASSERT_EQ(WriteFile("ds/r/c", "one"), 0);
  // Opening and closing without writing stores nothing.
  const int fd = open(P("ds/r/c").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(close(fd), 0);
  EXPECT_TRUE(VersionsOf("c").empty());
  // Many writes through one descriptor: one version at close.
  const int fd2 = open(P("ds/r/c").c_str(), O_WRONLY | O_TRUNC);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(write(fd2, "x", 1), 1);
  ASSERT_EQ(close(fd2), 0);
  EXPECT_EQ(ReadFile("ds/r/c"), std::string(100, 'x'));
  EXPECT_EQ(VersionsOf("c").size(), 1u);
}

TEST_F(FsTest, VersionsAreListedNewestFirstAndReadable) {
  ASSERT_EQ(WriteFile("ds/r/c", "v1"), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "v2"), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "v3"), 0);
  const std::vector<uint64_t> versions = VersionsOf("c");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_GT(versions[0], versions[1]);
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("c", versions[0])), "v2");
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("c", versions[1])), "v1");
  // Listing order: the column, then its versions newest first.
  std::vector<std::string> raw;
  DIR* d = opendir(P("ds/r").c_str());
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') raw.push_back(e->d_name);
  }
  closedir(d);
  EXPECT_EQ(raw, (std::vector<std::string>{"c", VersionName("c", versions[0]),
                                           VersionName("c", versions[1])}));
  // stat: size and mtime of each version.
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/" + VersionName("c", versions[1])).c_str(), &st), 0);
  EXPECT_EQ(MtimeMs(st), versions[1]);
  EXPECT_EQ(st.st_size, 2);
  // A timestamp with no version.
  EXPECT_EQ(ReadFile("ds/r/c@12345"), "<errno 2>");
  EXPECT_EQ(ERRNO_OF(stat(P("ds/r/c@0123").c_str(), &st)), ENOENT);
}

// The row listing comes in the store's key order and is re-sorted only when
// an open, not yet stored file joins it: both must give the same order,
// including names where one is a prefix of another.
TEST_F(FsTest, ListingOrderIsTheSameWithAndWithoutOpenFiles) {
  for (const char* name : {"b", "a-b", "a", "a0"}) {
    ASSERT_EQ(WriteFile(std::string("ds/r/") + name, "1"), 0);
  }
  ASSERT_EQ(WriteFile("ds/r/a", "2"), 0);
  const std::vector<uint64_t> versions = VersionsOf("a");
  ASSERT_EQ(versions.size(), 1u);
  auto listing = [&] {
    std::vector<std::string> names;
    DIR* d = opendir(P("ds/r").c_str());
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    }
    closedir(d);
    return names;
  };
  const std::string a_old = VersionName("a", versions[0]);
  EXPECT_EQ(listing(),
            (std::vector<std::string>{"a", a_old, "a-b", "a0", "b"}));
  // "a1" is created and stays open: listed at its place, not at the end.
  const int fd = open(P("ds/r/a1").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(listing(),
            (std::vector<std::string>{"a", a_old, "a-b", "a0", "a1", "b"}));
  ASSERT_EQ(close(fd), 0);
}

TEST_F(FsTest, WritingAVersionFileBackfills) {
  ASSERT_EQ(WriteFile("ds/r/c", "now"), 0);
  ASSERT_EQ(WriteFile("ds/r/c@1000", "old event"), 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "now");
  EXPECT_EQ(ReadFile("ds/r/c@1000"), "old event");
  EXPECT_EQ(VersionsOf("c"), (std::vector<uint64_t>{1000}));
  // Rewriting the version replaces exactly it.
  ASSERT_EQ(WriteFile("ds/r/c@1000", "fixed"), 0);
  EXPECT_EQ(ReadFile("ds/r/c@1000"), "fixed");
  EXPECT_EQ(VersionsOf("c"), (std::vector<uint64_t>{1000}));
  // A version file of a column that exists takes the column's mode.
  ASSERT_EQ(chmod(P("ds/r/c").c_str(), 0600), 0);
  const int fd = open(P("ds/r/c@500").c_str(), O_WRONLY | O_CREAT, 0666);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(close(fd), 0);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FsTest, VersionFilesAloneMakeAnImplicitColumn) {
  // Restores (cp -a, tar) may write versions before the column itself; a
  // column made only of version files is not shown as "fresh" until
  // "fresh" is written, so that O_EXCL creation of it still succeeds.
  ASSERT_EQ(WriteFile("ds/r/fresh@2000", "restored"), 0);
  ASSERT_EQ(WriteFile("ds/r/fresh@1000", "older"), 0);
  EXPECT_EQ(List("ds/r"),
            (std::vector<std::string>{"fresh@1000", "fresh@2000"}));
  EXPECT_EQ(ReadFile("ds/r/fresh"), "<errno 2>");
  EXPECT_EQ(ReadFile("ds/r/fresh@2000"), "restored");
  const int fd =
      open(P("ds/r/fresh").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(write(fd, "latest", 6), 6);
  ASSERT_EQ(close(fd), 0);
  EXPECT_EQ(ReadFile("ds/r/fresh"), "latest");
  EXPECT_EQ(VersionsOf("fresh"), (std::vector<uint64_t>{2000, 1000}));
  Remount();
  EXPECT_EQ(ReadFile("ds/r/fresh"), "latest");
  EXPECT_EQ(List("ds/r").size(), 3u);
}

TEST_F(FsTest, RemovingVersionsAndColumns) {
  ASSERT_EQ(WriteFile("ds/r/c@1000", "a"), 0);
  ASSERT_EQ(WriteFile("ds/r/c@2000", "b"), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "c"), 0);
  ASSERT_EQ(Sh("rm ds/r/c@2000").status, 0);
  EXPECT_EQ(VersionsOf("c"), (std::vector<uint64_t>{1000}));
  EXPECT_EQ(ReadFile("ds/r/c"), "c");
  EXPECT_EQ(ERRNO_OF(unlink(P("ds/r/c@2000").c_str())), ENOENT);
  ASSERT_EQ(Sh("rm ds/r/c").status, 0);
  EXPECT_TRUE(List("ds/r").empty());
  EXPECT_EQ(ReadFile("ds/r/c@1000"), "<errno 2>");
}

TEST_F(FsTest, DirectoriesOnlyAtDatasetAndRowLevels) {
  EXPECT_EQ(List(""), (std::vector<std::string>{"ds"}));
  EXPECT_EQ(ERRNO_OF(mkdir(P("ds/r/sub").c_str(), 0755)), EPERM);
  EXPECT_EQ(ERRNO_OF(open(P("file").c_str(), O_CREAT | O_WRONLY, 0644)), EPERM);
  EXPECT_EQ(ERRNO_OF(open(P("ds/file").c_str(), O_CREAT | O_WRONLY, 0644)),
            EPERM);
  EXPECT_EQ(ERRNO_OF(mkdir(P("ds").c_str(), 0755)), EEXIST);
  EXPECT_EQ(ERRNO_OF(mkdir(P("ds/r").c_str(), 0755)), EEXIST);
  EXPECT_EQ(ERRNO_OF(mkdir(P("default").c_str(), 0755)), EINVAL);
  EXPECT_EQ(ERRNO_OF(symlink("x", P("ds/r/link").c_str())), EPERM);
  ASSERT_EQ(WriteFile("ds/r/c", "x"), 0);
  EXPECT_EQ(ERRNO_OF(rmdir(P("ds/r").c_str())), ENOTEMPTY);
  EXPECT_EQ(ERRNO_OF(rmdir(P("ds").c_str())), ENOTEMPTY);
  ASSERT_EQ(unlink(P("ds/r/c").c_str()), 0);
  ASSERT_EQ(rmdir(P("ds/r").c_str()), 0);
  ASSERT_EQ(rmdir(P("ds").c_str()), 0);
  EXPECT_TRUE(List("").empty());
  // Datasets and rows come back after a remount.
  ASSERT_EQ(mkdir(P("d2").c_str(), 0750), 0);
  ASSERT_EQ(mkdir(P("d2/row").c_str(), 0700), 0);
  Remount();
  struct stat st;
  ASSERT_EQ(stat(P("d2/row").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(P("d2").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

TEST_F(FsTest, RenameOverExistingColumnKeepsHistory) {
  ASSERT_EQ(WriteFile("ds/r/c", "first"), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "second"), 0);
  ASSERT_EQ(WriteFile("ds/r/tmp", "third"), 0);
  ASSERT_EQ(rename(P("ds/r/tmp").c_str(), P("ds/r/c").c_str()), 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "third");
  const auto versions = VersionsOf("c");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("c", versions[0])), "second");
  EXPECT_EQ(ReadFile("ds/r/" + VersionName("c", versions[1])), "first");
  EXPECT_EQ(List("ds/r").size(), 3u);  // tmp is gone
  // To a new name in another row of another dataset: the content moves,
  // the history stays with the name c, and comes back when c does.
  ASSERT_EQ(mkdir(P("ds2").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds2/x").c_str(), 0755), 0);
  ASSERT_EQ(rename(P("ds/r/c").c_str(), P("ds2/x/moved").c_str()), 0);
  EXPECT_TRUE(List("ds/r").empty());
  EXPECT_EQ(List("ds2/x"), std::vector<std::string>{"moved"});
  EXPECT_EQ(ReadFile("ds2/x/moved"), "third");
  ASSERT_EQ(WriteFile("ds/r/c", "fourth"), 0);
  EXPECT_EQ(List("ds/r").size(), 4u);
  // Rows rename with all their cells.
  ASSERT_EQ(rename(P("ds2/x").c_str(), P("ds2/y").c_str()), 0);
  EXPECT_EQ(ReadFile("ds2/y/moved"), "third");
  EXPECT_EQ(ERRNO_OF(rename(P("ds2").c_str(), P("ds3").c_str())), EXDEV);
}

TEST_F(FsTest, RenameNoReplaceAndExchange) {
  ASSERT_EQ(WriteFile("ds/r/a", "A"), 0);
  ASSERT_EQ(WriteFile("ds/r/b", "B"), 0);
  EXPECT_EQ(ERRNO_OF(renameat2(AT_FDCWD, P("ds/r/a").c_str(), AT_FDCWD,
                               P("ds/r/b").c_str(), RENAME_NOREPLACE)),
            EEXIST);
  ASSERT_EQ(renameat2(AT_FDCWD, P("ds/r/a").c_str(), AT_FDCWD,
                      P("ds/r/b").c_str(), RENAME_EXCHANGE),
            0);
  EXPECT_EQ(ReadFile("ds/r/a"), "B");
  EXPECT_EQ(ReadFile("ds/r/b"), "A");
  ASSERT_EQ(renameat2(AT_FDCWD, P("ds/r/a").c_str(), AT_FDCWD,
                      P("ds/r/c").c_str(), RENAME_NOREPLACE),
            0);
  EXPECT_EQ(ReadFile("ds/r/c"), "B");
}

TEST_F(FsTest, OffsetsAppendSparseAndSharedDescriptors) {
  const int fd = open(P("ds/r/f").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "world", 5, 6), 5);
  ASSERT_EQ(pwrite(fd, "hello", 5, 0), 5);
  // A second descriptor sees the first one's unflushed writes.
  const int fd2 = open(P("ds/r/f").c_str(), O_RDONLY);
  ASSERT_GE(fd2, 0);
  char buf[32] = {};
  ASSERT_EQ(pread(fd2, buf, sizeof(buf), 0), 11);
  EXPECT_EQ(std::string(buf, 11), std::string("hello\0world", 11));
  ASSERT_EQ(ftruncate(fd, 20), 0);
  ASSERT_EQ(close(fd2), 0);
  ASSERT_EQ(close(fd), 0);
  EXPECT_EQ(ReadFile("ds/r/f"),
            std::string("hello\0world", 11) + std::string(9, '\0'));
  const int afd = open(P("ds/r/f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(afd, 0);
  ASSERT_EQ(pwrite(afd, "!", 1, 0), 1);  // O_APPEND ignores the offset
  ASSERT_EQ(close(afd), 0);
  const std::string content = ReadFile("ds/r/f");
  ASSERT_EQ(content.size(), 21u);
  EXPECT_EQ(content.back(), '!');
  // Writes far beyond max_file_size are refused.
  const int bfd = open(P("ds/r/f").c_str(), O_WRONLY);
  EXPECT_EQ(ERRNO_OF(pwrite(bfd, "x", 1, 1ll << 40)), EFBIG);
  close(bfd);
  EXPECT_EQ(ReadFile("ds/r/f"), content);
}

TEST_F(FsTest, UtimensRestampsVersions) {
  ASSERT_EQ(WriteFile("ds/r/c", "x"), 0);
  ASSERT_EQ(Sh("touch -d @1500000000.123 ds/r/c").status, 0);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  EXPECT_EQ(MtimeMs(st), 1500000000123u);
  ASSERT_EQ(WriteFile("ds/r/c", "y"), 0);
  EXPECT_EQ(VersionsOf("c"), (std::vector<uint64_t>{1500000000123u}));
  // Re-stamping an older version by its name.
  ASSERT_EQ(Sh("touch -d @1400000000 ds/r/c@1500000000123").status, 0);
  EXPECT_EQ(VersionsOf("c"), (std::vector<uint64_t>{1400000000000u}));
  EXPECT_EQ(ReadFile("ds/r/c@1400000000000"), "x");
  // A whole second in the version's own second is a truncated copy of its
  // time (tar's default format): nothing moves.
  ASSERT_EQ(WriteFile("ds/r/c@1300000000777", "z"), 0);
  ASSERT_EQ(Sh("touch -d @1300000000 ds/r/c@1300000000777").status, 0);
  EXPECT_EQ(ReadFile("ds/r/c@1300000000777"), "z");
  // Setting a time never overwrites another version: onto another's time
  // it is only shown.
  struct timespec times[2] = {{0, UTIME_OMIT}, {1400000000, 0}};
  EXPECT_EQ(ERRNO_OF(utimensat(AT_FDCWD, P("ds/r/c@1300000000777").c_str(),
                               times, 0)),
            0);
  EXPECT_EQ(ReadFile("ds/r/c@1400000000000"), "x");
  EXPECT_EQ(ReadFile("ds/r/c@1300000000777"), "z");
  ASSERT_EQ(stat(P("ds/r/c@1300000000777").c_str(), &st), 0);
  EXPECT_EQ(MtimeMs(st), 1400000000000u);
  // Older than the version before it: the content last written stays what
  // `cat` shows (touch -d, cp -p, tar, rsync of an older file).
  ASSERT_EQ(Sh("touch -d @1000000000 ds/r/c").status, 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "y");
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  EXPECT_EQ(MtimeMs(st), 1000000000000u);
}

TEST_F(FsTest, WholeSecondTimesKeepTheLatestOnTop) {
  // A second-precision restore: the latest arrives first, stamped with its
  // truncated second, then older versions of that same second by name.
  ASSERT_EQ(WriteFile("ds/r/c", "latest"), 0);
  ASSERT_EQ(Sh("touch -d @1500000000 ds/r/c").status, 0);
  ASSERT_EQ(WriteFile("ds/r/c@1500000000400", "older"), 0);
  EXPECT_EQ(ReadFile("ds/r/c"), "latest");
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  EXPECT_EQ(MtimeMs(st), 1500000000000u);
  // In the other order too: the whole second lands above its second.
  ASSERT_EQ(WriteFile("ds/r/d@1500000000400", "older"), 0);
  ASSERT_EQ(WriteFile("ds/r/d", "latest"), 0);
  ASSERT_EQ(Sh("touch -d @1500000000 ds/r/d").status, 0);
  EXPECT_EQ(ReadFile("ds/r/d"), "latest");
  EXPECT_EQ(VersionsOf("d"), (std::vector<uint64_t>{1500000000400u}));
}

// Other users reach a FUSE mount only with allow_other; default_permissions
// then makes the kernel check the stored modes and owners.
class MultiUserTest : public FsTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"-o", "allow_other"};
  }
};

TEST_F(MultiUserTest, PermissionsAreStoredAndEnforced) {
  ASSERT_EQ(WriteFile("ds/r/c", "secret"), 0);
  ASSERT_EQ(chmod(P("ds/r/c").c_str(), 0600), 0);
  ASSERT_EQ(chown(P("ds/r/c").c_str(), 1234, 5678), 0);
  ASSERT_EQ(chmod(P("ds/r").c_str(), 0711), 0);
  Remount();
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(stat(P("ds/r").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  // The kernel enforces them for other users (default_permissions).
  const CommandResult r = RunShell(
      "setpriv --reuid=65534 --regid=65534 --clear-groups "
      "cat " +
      ShellQuote(P("ds/r/c")));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << r.output;
  // New entries belong to the caller.
  ASSERT_EQ(chmod(P("ds/r").c_str(), 0777), 0);
  ASSERT_EQ(RunShell("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "
                     "'umask 022; echo hi > " +
                     P("ds/r/mine") + "'")
                .status,
            0);
  ASSERT_EQ(stat(P("ds/r/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(FsTest, DatasetPoliciesThroughXattrs) {
  char buf[64];
  ssize_t n =
      getxattr(P("ds").c_str(), "user.rowfs.max_versions", buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), "0");
  ASSERT_EQ(setxattr(P("ds").c_str(), "user.rowfs.max_versions", "2", 1, 0), 0);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(WriteFile("ds/r/c", std::to_string(i)), 0);
  EXPECT_EQ(VersionsOf("c").size(), 1u);  // latest + 1 older = 2 versions
  ASSERT_EQ(setxattr(P("ds").c_str(), "user.rowfs.ttl", "3600", 4, 0), 0);
  Remount();
  n = getxattr(P("ds").c_str(), "user.rowfs.ttl", buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n), "3600");
  EXPECT_EQ(Sh("getfattr -d ds").output.find("user.rowfs.max_versions=\"2\"") !=
                std::string::npos,
            true);
  EXPECT_EQ(ERRNO_OF(setxattr(P("ds").c_str(), "user.rowfs.ttl", "abc", 3, 0)),
            EINVAL);
  EXPECT_EQ(ERRNO_OF(setxattr(P("ds").c_str(), "user.other", "1", 1, 0)),
            ENOTSUP);
  EXPECT_EQ(ERRNO_OF(setxattr(P("ds/r/c").c_str(), "user.x", "1", 1, 0)),
            ENOTSUP);
  EXPECT_EQ(ERRNO_OF(getxattr(P("ds/r/c").c_str(), "user.x", buf, sizeof(buf))),
            ENODATA);
  ASSERT_EQ(removexattr(P("ds").c_str(), "user.rowfs.max_versions"), 0);
  n = getxattr(P("ds").c_str(), "user.rowfs.max_versions", buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n), "0");
}

// Only user.* attributes exist; every other namespace is unsupported (not
// merely unset), for reading, writing and removing alike.
TEST_F(FsTest, ForeignXattrNamespacesAreUnsupported) {
  ASSERT_EQ(WriteFile("ds/r/c", "v"), 0);
  char buf[64];
  for (const char* path : {"ds/r/c", "ds/r", "ds", ""}) {
    for (const char* name : {"security.selinux", "security.capability",
                             "system.posix_acl_access", "trusted.x"}) {
      SCOPED_TRACE(std::string(path) + " " + name);
      EXPECT_EQ(ERRNO_OF(getxattr(P(path).c_str(), name, buf, sizeof(buf))),
                ENOTSUP);
      EXPECT_EQ(ERRNO_OF(removexattr(P(path).c_str(), name)), ENOTSUP);
    }
    // (The kernel itself rejects "1" as a capability or an ACL: EINVAL.)
    for (const char* name : {"security.selinux", "trusted.x"}) {
      EXPECT_EQ(ERRNO_OF(setxattr(P(path).c_str(), name, "1", 1, 0)), ENOTSUP)
          << path << " " << name;
    }
    EXPECT_EQ(ERRNO_OF(removexattr(P(path).c_str(), "user.missing")), ENODATA);
  }
}

TEST_F(FsTest, OddNamesAreStoredVerbatim) {
  const std::vector<std::string> names = {
      "with space", "50% off",         "a@b",       "x@",
      ".hidden",    "\xff\xfe-latin1", "tab\there", std::string(235, 'c')};
  for (const auto& n : names) {
    ASSERT_EQ(WriteFile("ds/r/" + n, n), 0) << n;
  }
  Remount();
  for (const auto& n : names) EXPECT_EQ(ReadFile("ds/r/" + n), n);
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(List("ds/r"), sorted);
  // Limits: a column must leave room for "@<ts>"; other levels get 255.
  EXPECT_EQ(WriteFile("ds/r/" + std::string(236, 'c'), "x"), ENAMETOOLONG);
  EXPECT_EQ(ERRNO_OF(mkdir(P("ds/" + std::string(255, 'r')).c_str(), 0755)), 0);
  EXPECT_EQ(ERRNO_OF(mkdir(P("ds/" + std::string(256, 'r')).c_str(), 0755)),
            ENAMETOOLONG);
  // The reserved pattern: an empty column before '@', a non-canonical ts.
  EXPECT_EQ(WriteFile("ds/r/@123", "x"), EINVAL);
  EXPECT_EQ(WriteFile("ds/r/c@0123", "x"), EINVAL);
  // '@' inside dataset and row names is an ordinary character.
  ASSERT_EQ(mkdir(P("ds/row@123").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/row@123/c", "ok"), 0);
  EXPECT_EQ(ReadFile("ds/row@123/c"), "ok");
}

TEST_F(FsTest, ConcurrentWritersLoseNoVersion) {
  constexpr int kThreads = 8, kWrites = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        EXPECT_EQ(WriteFile("ds/r/own" + std::to_string(t), std::to_string(i)),
                  0);
        EXPECT_EQ(WriteFile("ds/r/shared", "t" + std::to_string(t)), 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(ReadFile("ds/r/own" + std::to_string(t)),
              std::to_string(kWrites - 1));
    EXPECT_EQ(VersionsOf("own" + std::to_string(t)).size(),
              size_t{kWrites - 1});
  }
  const auto shared = VersionsOf("shared");
  EXPECT_EQ(std::set<uint64_t>(shared.begin(), shared.end()).size(),
            shared.size());
  // Writers sharing one file may meet in one buffer, but every close that
  // changed it stored a version and none was lost to a timestamp collision.
  EXPECT_GE(shared.size() + 1, size_t{kWrites});
}

TEST_F(FsTest, StatfsReportsTheDatabaseFilesystem) {
  struct statvfs fs, db;
  ASSERT_EQ(statvfs(mnt_.c_str(), &fs), 0);
  ASSERT_EQ(statvfs(db_.c_str(), &db), 0);
  EXPECT_EQ(fs.f_blocks, db.f_blocks);
  EXPECT_GT(fs.f_bavail, 0u);
  EXPECT_EQ(fs.f_namemax, 255u);
}

TEST_F(FsTest, UnlinkedOpenFileIsNotStoredOnClose) {
  const int fd = open(P("ds/r/tmp").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "scratch", 7), 7);
  ASSERT_EQ(unlink(P("ds/r/tmp").c_str()), 0);
  char buf[8] = {};
  EXPECT_EQ(pread(fd, buf, 7, 0), 7);  // still readable through the fd
  ASSERT_EQ(close(fd), 0);
  EXPECT_TRUE(List("ds/r").empty());
}

// A descriptor keeps what it opened when its name later holds something
// else: here the column's only version goes by its version name and a
// back-filled version makes a new column (of version files only) under the
// same name. fstat and read still answer for the opened file.
TEST_F(FsTest, OpenFileOutlivesItsNameBecomingVersionsOnly) {
  ASSERT_EQ(WriteFile("ds/r/c", "v1"), 0);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  const uint64_t ts = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000 +
                      static_cast<uint64_t>(st.st_mtim.tv_nsec) / 1000000;
  const int fd = open(P("ds/r/c").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(P("ds/r/c@" + std::to_string(ts)).c_str()), 0);
  ASSERT_EQ(WriteFile("ds/r/c@1600000000000", "backfilled"), 0);
  EXPECT_EQ(List("ds/r"), std::vector<std::string>{"c@1600000000000"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // attr cache
  ASSERT_EQ(fstat(fd, &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 2);
  char buf[16] = {};
  EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 2);
  EXPECT_EQ(std::string(buf), "v1");
  ASSERT_EQ(close(fd), 0);
}

TEST_F(FsTest, PathsWithCommasMount) {
  const std::string db = dir_.Sub("db,with,commas");
  const std::string mnt = dir_.Sub("mnt,too");
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  Daemon other(db, mnt);
  ASSERT_TRUE(other.Start());
  EXPECT_EQ(RunShell("mkdir " + ShellQuote(mnt + "/ds")).status, 0);
  EXPECT_NE(RunShell("grep -F " + ShellQuote(mnt) + " /proc/self/mounts")
                .output.find("fuse.rowfs"),
            std::string::npos);
  EXPECT_TRUE(other.Stop());
}

class HiddenVersionsTest : public FsTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"-o", "versions=hidden"};
  }
};

TEST_F(HiddenVersionsTest, ListsLatestOnlyButResolvesVersions) {
  ASSERT_EQ(WriteFile("ds/r/c@1000", "old"), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "new"), 0);
  EXPECT_EQ(List("ds/r"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(ReadFile("ds/r/c@1000"), "old");
}

class ReadOnlyTest : public MountTest {};

TEST_F(ReadOnlyTest, RoMountRefusesEveryChange) {
  ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile("ds/r/c", "kept"), 0);
  ASSERT_TRUE(daemon_->Stop());
  daemon_ =
      std::make_unique<Daemon>(db_, mnt_, std::vector<std::string>{"-o", "ro"});
  ASSERT_TRUE(daemon_->Start());
  EXPECT_EQ(ReadFile("ds/r/c"), "kept");
  EXPECT_EQ(WriteFile("ds/r/c", "x"), EROFS);
  EXPECT_EQ(ERRNO_OF(mkdir(P("ds/r2").c_str(), 0755)), EROFS);
  EXPECT_EQ(ERRNO_OF(unlink(P("ds/r/c").c_str())), EROFS);
}

}  // namespace
}  // namespace rowfs

namespace rowfs {
namespace {

std::string GetXattr(const std::string& path, const std::string& name) {
  char buf[8192];
  const ssize_t n = getxattr(path.c_str(), name.c_str(), buf, sizeof(buf));
  return n < 0 ? "<errno " + std::to_string(errno) + ">" : std::string(buf, n);
}

// The value of "key=value" in a statistics text, or -1.
long long StatValue(const std::string& stats, const std::string& key) {
  const std::string needle = key + "=";
  size_t at = stats.rfind("\n" + needle);
  at =
      at == std::string::npos ? (stats.rfind(needle, 0) == 0 ? 0 : at) : at + 1;
  if (at == std::string::npos) return -1;
  return std::stoll(stats.substr(at + needle.size()));
}

class ObservabilityTest : public FsTest {
 protected:
  std::vector<std::string> DaemonArgs() const override {
    return {"-o", "logfile=" + dir_.Sub("rowfs.log")};
  }
  std::string Log() {
    return RunShell("cat " + ShellQuote(dir_.Sub("rowfs.log"))).output;
  }
};

TEST_F(ObservabilityTest, StatisticsCountWhatWasWritten) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(WriteFile("ds/r/c" + std::to_string(i), std::string(100, 'x')),
              0);
  }
  ASSERT_EQ(ReadFile("ds/r/c3"), std::string(100, 'x'));
  const std::string stats = GetXattr(mnt_, "user.rowfs.stats");
  EXPECT_EQ(StatValue(stats, "datasets"), 1);
  EXPECT_EQ(StatValue(stats, "versions_written"), 10);
  EXPECT_EQ(StatValue(stats, "bytes_written"), 1000);
  EXPECT_GE(StatValue(stats, "bytes_read"), 100);
  EXPECT_GE(StatValue(stats, "ops_create"), 10);
  EXPECT_GE(StatValue(stats, "keys_estimate"), 10);
  // Flushing on request moves the data into table files.
  EXPECT_EQ(StatValue(GetXattr(P("ds"), "user.rowfs.stats"), "sst_bytes"), 0);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  EXPECT_GT(StatValue(GetXattr(P("ds"), "user.rowfs.stats"), "sst_bytes"),
            1000);
  // Hidden from listings, so xattr-copying backups never see them.
  char names[1024];
  EXPECT_EQ(listxattr(mnt_.c_str(), names, sizeof(names)), 0);
  EXPECT_EQ(ERRNO_OF(setxattr(mnt_.c_str(), "user.rowfs.stats", "1", 1, 0)),
            EPERM);
}

TEST_F(ObservabilityTest, CompactOnRequestAppliesPolicies) {
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(WriteFile("ds/r/c", std::to_string(i)), 0);
  ASSERT_EQ(setxattr(P("ds").c_str(), "user.rowfs.max_versions", "1", 1, 0), 0);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  const long long before =
      StatValue(GetXattr(P("ds"), "user.rowfs.stats"), "keys_estimate");
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.compact", "ds", 2, 0), 0);
  const long long after =
      StatValue(GetXattr(P("ds"), "user.rowfs.stats"), "keys_estimate");
  EXPECT_LT(after, before);
  EXPECT_EQ(
      ERRNO_OF(setxattr(mnt_.c_str(), "user.rowfs.ctl.compact", "nope", 4, 0)),
      ENOENT);
  EXPECT_NE(Log().find("compacting dataset ds on request"), std::string::npos);
}

TEST_F(ObservabilityTest, LogLevelAndSignals) {
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.log_level", "debug", 5, 0),
            0);
  EXPECT_EQ(GetXattr(mnt_, "user.rowfs.ctl.log_level"), "debug");
  EXPECT_EQ(ReadFile("ds/r/missing"), "<errno 2>");
  EXPECT_NE(Log().find("lookup /ds/r/missing"), std::string::npos) << Log();
  EXPECT_EQ(ERRNO_OF(setxattr(mnt_.c_str(), "user.rowfs.ctl.log_level", "loud",
                              4, 0)),
            EINVAL);
  // SIGUSR1: statistics in the log.
  ASSERT_EQ(WriteFile("ds/r/c", "x"), 0);
  ASSERT_EQ(kill(daemon_->pid(), SIGUSR1), 0);
  for (int i = 0; i < 100 && Log().find("statistics:") == std::string::npos;
       ++i) {
    usleep(20000);
  }
  EXPECT_NE(Log().find("versions_written=1"), std::string::npos) << Log();
  // SIGHUP after logrotate moved the file: logging goes on in a new one.
  ASSERT_EQ(
      rename(dir_.Sub("rowfs.log").c_str(), dir_.Sub("rowfs.log.1").c_str()),
      0);
  ASSERT_EQ(kill(daemon_->pid(), SIGHUP), 0);
  for (int i = 0; i < 100 && Log().find("reopened") == std::string::npos; ++i) {
    usleep(20000);
  }
  EXPECT_NE(Log().find("log reopened on SIGHUP"), std::string::npos);
  EXPECT_TRUE(IsMounted(mnt_));  // SIGHUP does not stop the daemon
  EXPECT_EQ(ReadFile("ds/r/c"), "x");
}

TEST_F(ObservabilityTest, WarmReadsCostNoFlushLookupOrGetattr) {
  ASSERT_EQ(WriteFile("ds/r/c", "cached"), 0);
  ASSERT_EQ(ReadFile("ds/r/c"), "cached");
  const std::string before = GetXattr(mnt_, "user.rowfs.stats");
  for (int i = 0; i < 50; ++i) ASSERT_EQ(ReadFile("ds/r/c"), "cached");
  const std::string after = GetXattr(mnt_, "user.rowfs.stats");
  // Read-only opens skip FLUSH (FOPEN_NOFLUSH); names and attributes come
  // from the kernel's caches within their timeouts.
  EXPECT_EQ(StatValue(after, "ops_flush"), StatValue(before, "ops_flush"));
  EXPECT_EQ(StatValue(after, "ops_lookup"), StatValue(before, "ops_lookup"));
  EXPECT_EQ(StatValue(after, "ops_open"), StatValue(before, "ops_open") + 50);
}

// ls -l asks for the SELinux label and the ACLs of every entry until a
// device answers "unsupported"; after that, one getxattr per listing.
TEST_F(ObservabilityTest, LsLongAsksForAttributesOncePerListing) {
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(WriteFile("ds/r/c" + std::to_string(i), "v"), 0);
  }
  const std::string before = GetXattr(mnt_, "user.rowfs.stats");
  const CommandResult ls = Sh("ls -l ds/r");
  ASSERT_EQ(ls.status, 0) << ls.output;
  EXPECT_NE(ls.output.find("c39"), std::string::npos) << ls.output;
  const std::string after = GetXattr(mnt_, "user.rowfs.stats");
  // One for the stats read itself, a few for ls's first entries.
  EXPECT_LE(StatValue(after, "ops_xattr") - StatValue(before, "ops_xattr"), 4)
      << after;
}

// The daemon invalidates what it changes, so by default the kernel keeps
// names and attributes long: repeated stats and opens cost no lookup and
// no getattr, even seconds apart.
TEST_F(ObservabilityTest, WarmStatsCostNoRoundTrip) {
  ASSERT_EQ(WriteFile("ds/r/c", "cached"), 0);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  const std::string before = GetXattr(mnt_, "user.rowfs.stats");
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    for (int j = 0; j < 20; ++j) ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  }
  const std::string after = GetXattr(mnt_, "user.rowfs.stats");
  EXPECT_EQ(StatValue(after, "ops_lookup"), StatValue(before, "ops_lookup"));
  // Only the mount's root is refreshed, once a second (a dead daemon must
  // show as ENOTCONN soon): the permission check of each path walk.
  EXPECT_LE(StatValue(after, "ops_getattr") - StatValue(before, "ops_getattr"),
            2);
  EXPECT_EQ(st.st_size, 6);
  // ...and a change through the mount is seen at once.
  ASSERT_EQ(WriteFile("ds/r/c", "changed!"), 0);
  ASSERT_EQ(stat(P("ds/r/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8);
}

// Expiry is not announced to the kernel, so a dataset with a TTL (or
// max_versions) is cached for a second at most, and setting a policy drops
// what the kernel cached under the old one.
TEST_F(ObservabilityTest, PoliciesBoundKernelCaching) {
  ASSERT_EQ(mkdir(P("ttl").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("ttl/r").c_str(), 0755), 0);
  ASSERT_EQ(setxattr(P("ttl").c_str(), "user.rowfs.ttl", "2", 1, 0), 0);
  ASSERT_EQ(WriteFile("ttl/r/c", "short-lived"), 0);
  struct stat st;
  ASSERT_EQ(stat(P("ttl/r/c").c_str(), &st), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  EXPECT_EQ(ERRNO_OF(stat(P("ttl/r/c").c_str(), &st)), ENOENT);

  // A version from ten seconds ago, cached long (no policy yet)...
  const uint64_t old_ms =
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count()) -
      10000;
  const std::string old = "ds/r/c@" + std::to_string(old_ms);
  ASSERT_EQ(WriteFile(old, "old"), 0);
  ASSERT_EQ(stat(P(old).c_str(), &st), 0);
  // (and through a snapshot view, whose names are cached as long)...
  ASSERT_EQ(mkdir(P("@snapshot/s").c_str(), 0755), 0);
  ASSERT_EQ(stat(P("@snapshot/s/" + old).c_str(), &st), 0);
  // ...is gone as soon as a 5 s TTL is set.
  ASSERT_EQ(setxattr(P("ds").c_str(), "user.rowfs.ttl", "5", 1, 0), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // async
  EXPECT_EQ(ERRNO_OF(stat(P(old).c_str(), &st)), ENOENT);
  EXPECT_EQ(ERRNO_OF(stat(P("@snapshot/s/" + old).c_str(), &st)), ENOENT);
  ASSERT_EQ(rmdir(P("@snapshot/s").c_str()), 0);
}

TEST_F(ObservabilityTest, DuAndDfSeeRealSizes) {
  ASSERT_EQ(WriteFile("ds/r/big", std::string(1 << 20, 'b')), 0);
  const CommandResult du = Sh("du -sk ds/r/big");
  EXPECT_EQ(du.output.substr(0, du.output.find('\t')), "1024") << du.output;
  const CommandResult df = Sh("df -k . | tail -1");
  EXPECT_EQ(df.status, 0);
  EXPECT_NE(df.output.find(db_), std::string::npos) << df.output;  // fsname
}

}  // namespace
}  // namespace rowfs
