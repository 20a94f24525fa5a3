#include "errno_map.h"

#include <cerrno>

namespace rowfs {

int ToErrno(const Status& s) {
  using C = Status::Code;
  switch (s.code()) {
    case C::kOk:
      return 0;
    case C::kNotFound:
      return ENOENT;
    case C::kAlreadyExists:
      return EEXIST;
    case C::kNotEmpty:
      return ENOTEMPTY;
    case C::kInvalidArgument:
      return EINVAL;
    case C::kNameTooLong:
      return ENAMETOOLONG;
    case C::kNotPermitted:
      return EPERM;
    case C::kNotSupported:
      return ENOTSUP;
    case C::kReadOnly:
      return EROFS;
    case C::kBusy:
      return EBUSY;
    case C::kNoSpace:
      return ENOSPC;
    case C::kIOError:
      return EIO;
    case C::kCorruption:
      return EIO;
    case C::kCrossDevice:
      return EXDEV;
    case C::kTooLarge:
      return EFBIG;
    case C::kNoAttribute:
      return ENODATA;
    case C::kNoNamespace:
      return ENOTSUP;
    case C::kRange:
      return ERANGE;
    case C::kStale:
      return ESTALE;
    case C::kPermissionDenied:
      return EACCES;
    case C::kTooManyFiles:
      return EMFILE;
  }
  return EIO;
}

bool IsRefusal(const Status& s) {
  using C = Status::Code;
  switch (s.code()) {
    case C::kIOError:
    case C::kCorruption:
    case C::kNoSpace:
    case C::kTooManyFiles:
    case C::kBusy:
      return false;
    default:
      return true;
  }
}

}  // namespace rowfs
