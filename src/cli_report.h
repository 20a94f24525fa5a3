// How the offline commands (`rowfs backup`, `check`, `repair`,
// `checkpoint`) report a failure: one line on stderr, and the exit status
// their usage texts promise (1 failed, 2 bad usage).
#ifndef ROWFS_SRC_CLI_REPORT_H_
#define ROWFS_SRC_CLI_REPORT_H_

#include <cstdio>
#include <string>

#include "rowfs/status.h"

namespace rowfs {

// Prints "rowfs: <why>" and `usage`; returns 2.
inline int ReportUsage(const std::string& why, const char* usage) {
  std::fprintf(stderr, "rowfs: %s\n%s", why.c_str(), usage);
  return 2;
}

// Prints "rowfs: <message of s>"; returns 1.
inline int ReportFailure(const Status& s) {
  std::fprintf(
      stderr, "rowfs: %s\n",
      s.message().empty() ? s.ToString().c_str() : s.message().c_str());
  return 1;
}

}  // namespace rowfs

#endif  // ROWFS_SRC_CLI_REPORT_H_
