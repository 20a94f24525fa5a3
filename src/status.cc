#include "rowfs/status.h"

#include <rocksdb/status.h>

#include <cerrno>
#include <cstring>

namespace rowfs {

std::string_view CodeName(Status::Code code) {
  using C = Status::Code;
  switch (code) {
    case C::kOk:
      return "OK";
    case C::kNotFound:
      return "NotFound";
    case C::kAlreadyExists:
      return "AlreadyExists";
    case C::kNotEmpty:
      return "NotEmpty";
    case C::kInvalidArgument:
      return "InvalidArgument";
    case C::kNameTooLong:
      return "NameTooLong";
    case C::kNotPermitted:
      return "NotPermitted";
    case C::kNotSupported:
      return "NotSupported";
    case C::kReadOnly:
      return "ReadOnly";
    case C::kBusy:
      return "Busy";
    case C::kNoSpace:
      return "NoSpace";
    case C::kIOError:
      return "IOError";
    case C::kCorruption:
      return "Corruption";
    case C::kCrossDevice:
      return "CrossDevice";
    case C::kTooLarge:
      return "TooLarge";
    case C::kNoAttribute:
      return "NoAttribute";
    case C::kNoNamespace:
      return "NoNamespace";
    case C::kRange:
      return "Range";
    case C::kStale:
      return "Stale";
    case C::kPermissionDenied:
      return "PermissionDenied";
    case C::kTooManyFiles:
      return "TooManyFiles";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  if (!msg_.empty()) {
    out += ": ";
    out += msg_;
  }
  return out;
}

Status Status::FromRocksDB(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return OK();
  std::string msg(context);
  if (!msg.empty()) msg += ": ";
  msg += s.ToString();
  using RC = rocksdb::Status::Code;
  using RS = rocksdb::Status::SubCode;
  if (s.subcode() == RS::kNoSpace || s.subcode() == RS::kSpaceLimit) {
    return NoSpace(msg);
  }
  switch (s.code()) {
    case RC::kNotFound:
      return NotFound(msg);
    case RC::kCorruption:
      return Corruption(msg);
    case RC::kNotSupported:
      return NotSupported(msg);
    case RC::kInvalidArgument:
      return InvalidArgument(msg);
    case RC::kColumnFamilyDropped:
      return NotFound(msg);
    case RC::kBusy:
    case RC::kTimedOut:
    case RC::kTryAgain:
      return Busy(msg);
    case RC::kIOError:
      // RocksDB reports the LOCK file being held by another process as an
      // IOError whose message names the lock; callers need to tell it apart.
      if (s.ToString().find("lock") != std::string::npos &&
          s.ToString().find("LOCK") != std::string::npos) {
        return Busy(msg);
      }
      // RocksDB keeps no errno; its Env writes strerror()'s text.
      if (s.ToString().find("Permission denied") != std::string::npos) {
        return PermissionDenied(msg);
      }
      if (s.ToString().find("Too many open files") != std::string::npos) {
        return TooManyFiles(msg);
      }
      return IOError(msg);
    default:
      return IOError(msg);
  }
}

}  // namespace rowfs

namespace rowfs {

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case 0:
      return OK();
    case ENOENT:
      return NotFound(msg);
    case EEXIST:
      return AlreadyExists(msg);
    case ENOTEMPTY:
      return NotEmpty(msg);
    case EACCES:
      return PermissionDenied(msg);
    case EPERM:
      return NotPermitted(msg);
    case ENOSPC:
    case EDQUOT:
      return NoSpace(msg);
    case EROFS:
      return ReadOnly(msg);
    case EMFILE:
    case ENFILE:
      return TooManyFiles(msg);
    case ENAMETOOLONG:
      return NameTooLong(msg);
    case EINVAL:
    case ENOTDIR:
      return InvalidArgument(msg);
    default:
      return IOError(msg);
  }
}

}  // namespace rowfs
