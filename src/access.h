// Permission checks rowfs makes itself, where the kernel cannot: a version
// name ("col@ts") is a name of its own to the kernel, which checks only the
// row's write permission (and, for an existing name, the sticky bit against
// the version's owner) before creating, replacing or removing it. SPEC: a
// version is written by those allowed to write its column.
//
// Pure functions of the caller and the stored attributes: no FUSE, no store.
#ifndef ROWFS_SRC_ACCESS_H_
#define ROWFS_SRC_ACCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rowfs {

// Who asks: the request's uid and gid and the supplementary groups.
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool InGroup(gid_t g) const;
};

// Whether `caller` may write an entry with `attrs` (mode bits of the owner,
// the group or others, as generic_permission(), root always).
bool MayWrite(const Caller& caller, const Attrs& attrs);

// Whether `caller` may create, replace or remove a version of a column with
// `column` attributes inside a row with `row` attributes: write permission
// on the column, and in a sticky row (mode 01000) also the right to remove
// the column (its owner or the row's). PermissionDenied names `what`.
Status CheckVersionWrite(const Caller& caller, const Attrs& row,
                         const Attrs& column, const std::string& what);

}  // namespace rowfs

#endif  // ROWFS_SRC_ACCESS_H_
