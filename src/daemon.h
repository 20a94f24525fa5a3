// The daemon's life: parse, check, fork, open the store, mount, serve,
// unmount, close.
#ifndef ROWFS_SRC_DAEMON_H_
#define ROWFS_SRC_DAEMON_H_

namespace rowfs {

// The whole program; returns the process exit status (0 mounted/served,
// 1 start-up or runtime failure, 2 usage error).
int RunDaemon(int argc, char** argv);

}  // namespace rowfs

#endif  // ROWFS_SRC_DAEMON_H_
