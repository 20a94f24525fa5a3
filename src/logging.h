// spdlog set-up for the daemon: stderr in the foreground, syslog when
// daemonized, or a file given with -o logfile=.
#ifndef ROWFS_SRC_LOGGING_H_
#define ROWFS_SRC_LOGGING_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "rowfs/status.h"

namespace rowfs {

// Installs the default logger. `level` must be a valid spdlog level name.
// Call once, before other threads log.
Status SetupLogging(bool foreground, const std::string& level,
                    const std::string& file);

// `text` with every control byte (a newline that would forge a log line, an
// escape sequence for the terminal) and backslash written as an escape:
// "\n", "\t", "\\", "\xNN". Other bytes (UTF-8 names) stay as they are.
// Every log line's message passes through it.
std::string EscapeForLog(std::string_view text);

// Lets at most `per_second` events through in each second of the clock and
// counts the others, so a flood of refusals cannot fill the log.
// Thread-safe.
class LogRateLimit {
 public:
  explicit LogRateLimit(uint64_t per_second) : per_second_(per_second) {}
  // Whether this event may be logged; when it may, *suppressed is the
  // number of events refused since the previous one allowed.
  bool Allow(uint64_t now_ms, uint64_t* suppressed);

 private:
  const uint64_t per_second_;
  std::mutex mu_;
  uint64_t second_ = 0;      // guarded by mu_
  uint64_t allowed_ = 0;     // in `second_`; guarded by mu_
  uint64_t suppressed_ = 0;  // guarded by mu_
};

// Reopens the log file (after logrotate moved it); a no-op for stderr and
// syslog. Thread-safe: loggers keep logging throughout.
void ReopenLog();

}  // namespace rowfs

#endif  // ROWFS_SRC_LOGGING_H_
