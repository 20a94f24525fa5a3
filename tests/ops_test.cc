// Operations: install rules, the systemd unit, mount(8) and fstab through
// mount.fuse3, the sd_notify protocol, stale mounts. (Being written.)
#include <sys/stat.h>

#include "mount_fixture.h"

namespace rowfs {
namespace {

TEST(OpsTest, SourcesPresent) {
  struct stat st;
  EXPECT_EQ(stat(ROWFS_SOURCE_DIR "/systemd/rowfs@.service.in", &st), 0);
  EXPECT_EQ(stat(ROWFS_SOURCE_DIR "/src/rowfs.8", &st), 0);
}

}  // namespace
}  // namespace rowfs
