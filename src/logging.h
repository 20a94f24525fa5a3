// spdlog set-up for the daemon: stderr in the foreground, syslog when
// daemonized, or a file given with -o logfile=.
#ifndef ROWFS_SRC_LOGGING_H_
#define ROWFS_SRC_LOGGING_H_

#include <string>

#include "rowfs/status.h"

namespace rowfs {

// Installs the default logger. `level` must be a valid spdlog level name.
// Call once, before other threads log.
Status SetupLogging(bool foreground, const std::string& level,
                    const std::string& file);

// Reopens the log file (after logrotate moved it); a no-op for stderr and
// syslog. Thread-safe: loggers keep logging throughout.
void ReopenLog();

}  // namespace rowfs

#endif  // ROWFS_SRC_LOGGING_H_
