#include "rowfs/status.h"

#include <gtest/gtest.h>
#include <rocksdb/status.h>

#include <cerrno>

#include "errno_map.h"

namespace rowfs {
namespace {

TEST(StatusTest, RocksDBPermissionErrorsAreEacces) {
  // What RocksDB's Env says when a backup directory cannot be written.
  const Status s = Status::FromRocksDB(
      rocksdb::Status::IOError("While mkdir: /root/x", "Permission denied"),
      "backing up");
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << s.ToString();
  EXPECT_EQ(ToErrno(s), EACCES);
  EXPECT_EQ(ToErrno(Status::FromRocksDB(rocksdb::Status::IOError("x", "EIO"))),
            EIO);
}

TEST(StatusTest, RunningOutOfDescriptorsIsEmfile) {
  // What RocksDB's Env says when a file cannot be opened for want of one.
  const Status s = Status::FromRocksDB(
      rocksdb::Status::IOError("While open a file for appending: /db/9.sst",
                               "Too many open files"),
      "making dataset families");
  EXPECT_EQ(ToErrno(s), EMFILE) << s.ToString();
}

TEST(StatusTest, ErrnoValuesKeepTheirMeaning) {
  for (int err : {ENOENT, EEXIST, ENOTEMPTY, EACCES, EPERM, ENOSPC, EROFS,
                  ENAMETOOLONG, EINVAL}) {
    EXPECT_EQ(ToErrno(Status::FromErrno(err, "op /path")), err) << err;
  }
  EXPECT_EQ(ToErrno(Status::FromErrno(EMFILE, "op")), EMFILE);
  EXPECT_EQ(ToErrno(Status::FromErrno(EHOSTDOWN, "op")), EIO);
  EXPECT_TRUE(Status::FromErrno(0, "op").ok());
}

}  // namespace
}  // namespace rowfs
