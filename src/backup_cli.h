// `rowfs backup ...` and `rowfs checkpoint ...`: the native backup commands.
#ifndef ROWFS_SRC_BACKUP_CLI_H_
#define ROWFS_SRC_BACKUP_CLI_H_

#include <string>

namespace rowfs {

// argv[0] is "backup" or "checkpoint". Returns the exit status: 0 done,
// 1 failed, 2 bad usage.
int RunBackupTool(int argc, char** argv);

// Whether `path` is the mountpoint of a live rowfs mount.
bool IsRowfsMount(const std::string& path);

}  // namespace rowfs

#endif  // ROWFS_SRC_BACKUP_CLI_H_
