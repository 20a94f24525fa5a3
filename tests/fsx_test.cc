// fsx (tests/fsx.h) with fixed seeds against a real mount, and once on a
// local directory to check the exerciser's own model. Any other seed or
// length: rowfs_fsx MNT/ds/row --seed N --ops M.
#include "fsx.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "mount_fixture.h"

namespace rowfs {
namespace {

constexpr uint64_t kSeed = 20240611;

FsxOptions Options() {
  FsxOptions o;
  o.files = 3;
  o.max_fds = 3;
  o.max_len = 64 * 1024;
  o.max_io = 16 * 1024;
  o.versions = FsxOptions::Versions::kOn;
  return o;
}

class FsxTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0) << strerror(errno);
    ASSERT_EQ(mkdir(P("ds/fsx").c_str(), 0755), 0) << strerror(errno);
  }

  // Runs fsx in ds/fsx, then checks that every file survives a remount.
  void RunAndRemount(uint64_t seed, uint64_t ops, const FsxOptions& o) {
    const FsxResult r = RunFsx(P("ds/fsx"), seed, ops, o);
    ASSERT_TRUE(r.ok) << r.report;
    EXPECT_EQ(r.ops_done, ops);
    EXPECT_TRUE(r.versions_checked);
    EXPECT_GT(r.checkpoints, ops / 1000);
    EXPECT_GT(r.versions_stored, ops / 20);
    Remount();
    for (const auto& [name, content] : r.final_contents) {
      EXPECT_EQ(ReadFile("ds/fsx/" + name), content) << name;
    }
  }
};

// Everything fsx does, POSIX semantics throughout. 30000 operations take
// about 20 s (listing a row reads every version, and checkpoints list it).
TEST_F(FsxTest, FixedSeedOnAMount) { RunAndRemount(kSeed, 30000, Options()); }

// The exerciser's model against a local filesystem (no versions there):
// tmpfs (/dev/shm) when there is one, as fsync is free there.
TEST(FsxSelfTest, ModelAgreesWithALocalFilesystem) {
  char shm[] = "/dev/shm/rowfs-fsx-XXXXXX";
  std::unique_ptr<TempDir> tmp;
  std::string dir;
  if (mkdtemp(shm) != nullptr) {
    dir = shm;
  } else {
    tmp = std::make_unique<TempDir>("rowfs-fsx-local");
    dir = tmp->path();
  }
  FsxOptions o = Options();
  o.versions = FsxOptions::Versions::kOff;
  const FsxResult r = RunFsx(dir, kSeed, 10000, o);
  if (tmp == nullptr) RunShell("rm -rf " + ShellQuote(dir));
  ASSERT_TRUE(r.ok) << r.report;
  EXPECT_FALSE(r.versions_checked);
}

}  // namespace
}  // namespace rowfs
