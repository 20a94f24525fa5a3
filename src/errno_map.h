// The one place where a Status becomes an errno.
#ifndef ROWFS_SRC_ERRNO_MAP_H_
#define ROWFS_SRC_ERRNO_MAP_H_

#include "rowfs/status.h"

namespace rowfs {

// Returns 0 for OK, else a positive errno.
int ToErrno(const Status& s);

// Whether a failure is an expected refusal (bad input, missing entries),
// logged at debug/info, rather than a real failure logged at error.
bool IsRefusal(const Status& s);

}  // namespace rowfs

#endif  // ROWFS_SRC_ERRNO_MAP_H_
