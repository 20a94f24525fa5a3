#include "access.h"

#include <sys/stat.h>

#include <algorithm>

namespace rowfs {

bool Caller::InGroup(gid_t g) const {
  return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

bool MayWrite(const Caller& caller, const Attrs& attrs) {
  if (caller.uid == 0) return true;
  if (caller.uid == attrs.uid) return (attrs.mode & S_IWUSR) != 0;
  if (caller.InGroup(attrs.gid)) return (attrs.mode & S_IWGRP) != 0;
  return (attrs.mode & S_IWOTH) != 0;
}

Status CheckVersionWrite(const Caller& caller, const Attrs& row,
                         const Attrs& column, const std::string& what) {
  if (caller.uid == 0) return Status::OK();
  if (!MayWrite(caller, column)) {
    return Status::PermissionDenied(
        what + ": versions are written by those who may write the column");
  }
  if ((row.mode & S_ISVTX) != 0 && caller.uid != column.uid &&
      caller.uid != row.uid) {
    return Status::PermissionDenied(
        what +
        ": in a sticky row only the column's or the row's owner may "
        "change its versions");
  }
  return Status::OK();
}

}  // namespace rowfs
