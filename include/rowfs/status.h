// Status: the result of every fallible operation in rowfs's core.
//
// Modelled on leveldb::Status. A Status is either OK or carries a Code and a
// human-readable message that names the object and the reason. The codes are
// the distinctions callers act on (the filesystem maps each one to exactly one
// errno in errno_map.h); they are not RocksDB's codes, which are translated by
// FromRocksDB().
//
// Thread-safety: a Status is a value; distinct objects may be used from
// different threads without synchronisation.
#ifndef ROWFS_STATUS_H_
#define ROWFS_STATUS_H_

#include <string>
#include <string_view>

namespace rocksdb {
class Status;
}

namespace rowfs {

class Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,         // the dataset/row/column/version does not exist
    kAlreadyExists,    // the target exists and the operation may not replace it
    kNotEmpty,         // a dataset or row still holds entries
    kInvalidArgument,  // a malformed name, timestamp, key or option
    kNameTooLong,      // a name exceeds its level's limit
    kNotPermitted,     // the layout does not allow this (e.g. file at root)
    kNotSupported,     // a valid request rowfs does not implement
    kReadOnly,         // the store was opened read-only
    kBusy,             // the database is locked by another process
    kNoSpace,          // the device holding the database is full
    kIOError,          // a real I/O failure
    kCorruption,       // the database content is not what rowfs wrote
    kCrossDevice,      // a move between places rowfs cannot move atomically
    kTooLarge,         // a value or offset beyond rowfs's limits
    kNoAttribute,      // an extended attribute that is not set
    kNoNamespace,      // an xattr namespace rowfs does not keep (security.*)
    kRange,            // a caller's buffer is too small
    kStale,            // a name the caller holds no longer exists: look again
    kPermissionDenied,  // the caller may not do this to this entry
    kTooManyFiles,      // the process is out of file descriptors
  };

  Status() noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) {
    return {Code::kNotFound, msg};
  }
  static Status AlreadyExists(std::string_view msg) {
    return {Code::kAlreadyExists, msg};
  }
  static Status NotEmpty(std::string_view msg) {
    return {Code::kNotEmpty, msg};
  }
  static Status InvalidArgument(std::string_view msg) {
    return {Code::kInvalidArgument, msg};
  }
  static Status NameTooLong(std::string_view msg) {
    return {Code::kNameTooLong, msg};
  }
  static Status NotPermitted(std::string_view msg) {
    return {Code::kNotPermitted, msg};
  }
  static Status NotSupported(std::string_view msg) {
    return {Code::kNotSupported, msg};
  }
  static Status ReadOnly(std::string_view msg) {
    return {Code::kReadOnly, msg};
  }
  static Status Busy(std::string_view msg) { return {Code::kBusy, msg}; }
  static Status NoSpace(std::string_view msg) { return {Code::kNoSpace, msg}; }
  static Status IOError(std::string_view msg) { return {Code::kIOError, msg}; }
  static Status Corruption(std::string_view msg) {
    return {Code::kCorruption, msg};
  }
  static Status CrossDevice(std::string_view msg) {
    return {Code::kCrossDevice, msg};
  }
  static Status TooLarge(std::string_view msg) {
    return {Code::kTooLarge, msg};
  }
  static Status NoAttribute(std::string_view msg) {
    return {Code::kNoAttribute, msg};
  }
  static Status NoNamespace(std::string_view msg) {
    return {Code::kNoNamespace, msg};
  }
  static Status Range(std::string_view msg) { return {Code::kRange, msg}; }
  static Status Stale(std::string_view msg) { return {Code::kStale, msg}; }
  static Status PermissionDenied(std::string_view msg) {
    return {Code::kPermissionDenied, msg};
  }
  static Status TooManyFiles(std::string_view msg) {
    return {Code::kTooManyFiles, msg};
  }

  // Translates a RocksDB status, keeping its message. `context` (for example
  // the dataset or key being accessed) is prefixed to the message.
  static Status FromRocksDB(const rocksdb::Status& s,
                            std::string_view context = {});

  // Translates an errno value (EACCES -> PermissionDenied, ENOSPC ->
  // NoSpace, ...); `context` names the call and the path.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  const std::string& message() const { return msg_; }

  // "OK" or "<code name>: <message>".
  std::string ToString() const;

  bool operator==(const Status&) const = default;

 private:
  Status(Code code, std::string_view msg) : code_(code), msg_(msg) {}

  Code code_ = Code::kOk;
  std::string msg_;
};

std::string_view CodeName(Status::Code code);

}  // namespace rowfs

// Propagates a non-OK Status to the caller.
#define ROWFS_RETURN_IF_ERROR(expr)      \
  do {                                   \
    ::rowfs::Status _rowfs_s = (expr);   \
    if (!_rowfs_s.ok()) return _rowfs_s; \
  } while (0)

#endif  // ROWFS_STATUS_H_
