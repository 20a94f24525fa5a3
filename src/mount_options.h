// The daemon's command line: `rowfs [options] DB_DIR MOUNTPOINT [-o opt,...]`.
#ifndef ROWFS_SRC_MOUNT_OPTIONS_H_
#define ROWFS_SRC_MOUNT_OPTIONS_H_

#include <string>
#include <vector>

#include "filesystem.h"
#include "rowfs/status.h"
#include "rowfs/store_options.h"

namespace rowfs {

struct MountOptions {
  std::string db_path;     // absolute
  std::string mountpoint;  // absolute
  bool foreground = false;
  bool debug = false;  // libfuse's request trace; implies foreground
  bool single_threaded = false;
  std::string log_level = "info";
  std::string log_file;  // empty: stderr (foreground) or syslog
  FsOptions fs;
  StoreOptions store;
  // Follower mode (store.mode == kSecondary): seconds between catch-ups.
  double catchup_interval = 1.0;
  // Seconds between garbage collections of one dataset's content (run only
  // where versions were removed since).
  double gc_interval = 600.0;
  // `-o` options for libfuse and the kernel (allow_other, ro, max_read=...).
  std::vector<std::string> fuse_options;
};

// Parses argv. On OK, either *exit_text is empty and *out is ready to run,
// or *exit_text holds --help/--version output to print before exiting 0.
// InvalidArgument carries a one-line message for a usage error (exit 2).
Status ParseCommandLine(int argc, char** argv, MountOptions* out,
                        std::string* exit_text);

// Applies one `-o` option (key or key=value). Fstab-only keys are ignored,
// rowfs's own keys are consumed, anything else is kept for libfuse.
Status ApplyMountOption(std::string_view option, MountOptions* out);

// The argv for fuse_session_new: argv[0] and every -o, including the
// options rowfs always sets (subtype, fsname, default_permissions).
std::vector<std::string> FuseArguments(const MountOptions& options);

std::string HelpText();

}  // namespace rowfs

#endif  // ROWFS_SRC_MOUNT_OPTIONS_H_
