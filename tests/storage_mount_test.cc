// Storage format 2 through real mounts: the bounds a test can hold. The
// daemon's memory while large and sparse files are written (its peak RSS,
// VmHWM, reset before each phase), the bytes it reads from disk for stat,
// small reads and listings of large columns (/proc/PID/io read_bytes, with
// the page cache dropped), and the space versions of an appended file take.
// Speeds are the benchmark's (scripts/bench-storage.sh).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "mount_fixture.h"

namespace rowfs {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// Sanitizers keep shadow memory beside every allocation: the bounds are
// held with room for it there, and still catch a daemon that holds files.
// An instrumented daemon's own (much larger) code is read in from disk as
// it runs, so read-byte bounds are held by the plain build only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr uint64_t kSlack = 128 * kMiB;
constexpr bool kSanitized = true;
#else
constexpr uint64_t kSlack = 0;
constexpr bool kSanitized = false;
#endif

uint64_t StatusField(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stoull(line.substr(field.size() + 1)) * 1024;  // kB
    }
  }
  return 0;
}

uint64_t ReadBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "read_bytes:") return value;
  }
  return 0;
}

class StorageMountTest : public MountTest {
 protected:
  void SetUp() override {
    if (kSanitized) {
      // AddressSanitizer holds freed memory back (256 MiB by default) to
      // catch use after free: the daemon would look as if it held files.
      const char* opts = getenv("ASAN_OPTIONS");
      setenv("ASAN_OPTIONS",
             (std::string(opts ? opts : "") + ":quarantine_size_mb=4").c_str(),
             1);
    }
    MountTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0);
  }
  pid_t pid() const { return daemon_->pid(); }
  // Resets the daemon's peak RSS to its current RSS; returns that.
  uint64_t ResetPeak() {
    std::ofstream("/proc/" + std::to_string(pid()) + "/clear_refs") << "5";
    return StatusField(pid(), "VmRSS");
  }
  uint64_t Peak() { return StatusField(pid(), "VmHWM"); }
  void Flush() {
    ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.flush", "1", 1, 0), 0);
  }
  void DropCaches() { RunShell("sync; echo 3 > /proc/sys/vm/drop_caches"); }
  uint64_t DatasetStat(const std::string& key) {
    char buf[4096];
    const ssize_t n =
        getxattr(P("ds").c_str(), "user.rowfs.stats", buf, sizeof(buf));
    if (n < 0) return UINT64_MAX;
    std::istringstream in(std::string(buf, n));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key + "=", 0) == 0) {
        return std::stoull(line.substr(key.size() + 1));
      }
    }
    return UINT64_MAX;
  }
  // Writes `bytes` of a repeating pattern sequentially in 1 MiB requests.
  void WriteLarge(const std::string& rel, uint64_t bytes) {
    const int fd = open(P(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    std::string block(kMiB, '\0');
    for (size_t i = 0; i < block.size(); ++i) block[i] = char('a' + i % 23);
    for (uint64_t done = 0; done < bytes; done += kMiB) {
      ASSERT_EQ(write(fd, block.data(), block.size()),
                static_cast<ssize_t>(block.size()));
    }
    ASSERT_EQ(close(fd), 0);
  }
};

// Format 1 held the whole file (three times over while storing it).
TEST_F(StorageMountTest, WritingALargeFileHoldsBoundedMemory) {
  const uint64_t idle = ResetPeak();
  WriteLarge("ds/r/big", 512 * kMiB);
  const uint64_t peak = Peak();
  EXPECT_LE(peak - idle, 64 * kMiB + kSlack)
      << "idle " << idle / kMiB << " MiB, peak " << peak / kMiB << " MiB";
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/big").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 512 * kMiB);
  // And the bytes are all there: one at either end and one in the middle.
  const int fd = open(P("ds/r/big").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  for (const uint64_t at : {uint64_t{0}, 300 * kMiB + 7, 512 * kMiB - 1}) {
    char c = 0;
    ASSERT_EQ(pread(fd, &c, 1, static_cast<off_t>(at)), 1);
    EXPECT_EQ(c, char('a' + (at % kMiB) % 23)) << at;
  }
  close(fd);
}

// One byte at 1 GiB - 1 in each of five files open at once: format 1 held
// five GiB.
TEST_F(StorageMountTest, SparseFilesHoldOneChunkEach) {
  const uint64_t idle = ResetPeak();
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    const int fd = open(P("ds/r/sparse" + std::to_string(i)).c_str(),
                        O_RDWR | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, "x", 1, (1ll << 30) - 1), 1);
    fds.push_back(fd);
  }
  for (int fd : fds) ASSERT_EQ(close(fd), 0);
  EXPECT_LE(Peak() - idle, 256 * kMiB + kSlack);
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/sparse3").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1ll << 30);
  // Holes are zeros; the stored content is one chunk.
  EXPECT_LE(DatasetStat("memtable_bytes") + DatasetStat("sst_bytes"), 5 * kMiB);
}

// stat and a 4 KiB read of a large cold column read its record and one
// chunk, not the file (format 1 loaded the whole value for either).
TEST_F(StorageMountTest, StatAndSmallReadsOfALargeColumnReadLittle) {
  WriteLarge("ds/r/big", 256 * kMiB);
  Flush();
  Remount();  // nothing of it in the daemon or the kernel
  DropCaches();
  uint64_t before = ReadBytes(pid());
  struct stat st;
  ASSERT_EQ(stat(P("ds/r/big").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 256 * kMiB);
  if (!kSanitized) {
    EXPECT_LT(ReadBytes(pid()) - before, 4 * kMiB);
  }
  before = ReadBytes(pid());
  const int fd = open(P("ds/r/big").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4096];
  ASSERT_EQ(pread(fd, buf, sizeof(buf), 123 * kMiB + 4096), 4096);
  close(fd);
  EXPECT_EQ(buf[0], char('a' + (4096 % 23)));
  if (!kSanitized) {
    EXPECT_LT(ReadBytes(pid()) - before, 4 * kMiB);
  }
}

// The space and the listings of an appended log: each append stores the
// chunk it changed, and ls reads version records, not contents.
TEST_F(StorageMountTest, AppendsCostAChunkAndListingsReadRecords) {
  WriteLarge("ds/r/log", 10 * kMiB);
  for (int i = 0; i < 200; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    const int fd = open(P("ds/r/log").c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, line.data(), line.size()),
              static_cast<ssize_t>(line.size()));
    ASSERT_EQ(close(fd), 0);
  }
  EXPECT_EQ(List("ds/r").size(), 201u);
  Flush();
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.compact", "ds", 2, 0), 0);
  const uint64_t stored = DatasetStat("sst_bytes") + DatasetStat("blob_bytes");
  EXPECT_LE(stored, 3 * 10 * kMiB) << stored;  // format 1: 201 copies
  Remount();
  DropCaches();
  const uint64_t before = ReadBytes(pid());
  const CommandResult ls = Sh("ls -l ds/r | wc -l");
  EXPECT_EQ(ls.output, "202\n");  // "total" and 201 entries
  if (!kSanitized) {
    EXPECT_LT(ReadBytes(pid()) - before, 1 * kMiB);
  }
}

// Content chunks of a removed version are reclaimed by garbage collection,
// never while a version refers to them.
TEST_F(StorageMountTest, GarbageCollectionReclaimsRemovedVersions) {
  WriteLarge("ds/r/c", 8 * kMiB);
  WriteLarge("ds/r/c", 8 * kMiB);  // a full rewrite: new chunks
  const std::vector<std::string> names = List("ds/r");
  ASSERT_EQ(names.size(), 2u);
  auto content = [&] {
    char buf[512];
    const ssize_t n =
        getxattr(P("ds").c_str(), "user.rowfs.content", buf, sizeof(buf));
    return n < 0 ? std::string() : std::string(buf, n);
  };
  EXPECT_NE(content().find("unreferenced=0\n"), std::string::npos);
  ASSERT_EQ(unlink(P("ds/r/" + names[1]).c_str()), 0);  // c@ts
  EXPECT_EQ(content().find("unreferenced=0\n"), std::string::npos);
  ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.gc", "ds", 2, 0), 0);
  EXPECT_NE(content().find("unreferenced=0\n"), std::string::npos) << content();
  EXPECT_NE(content().find("dangling=0\n"), std::string::npos) << content();
  EXPECT_EQ(ReadFile("ds/r/c").size(), 8 * kMiB);
}

}  // namespace
}  // namespace rowfs
