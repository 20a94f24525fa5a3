// Shared test helpers: temporary directories and a fixture owning a Store.
#ifndef ROWFS_TESTS_TESTUTIL_H_
#define ROWFS_TESTS_TESTUTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rowfs/clock.h"
#include "rowfs/status.h"
#include "rowfs/store.h"

namespace rowfs {

// Streamable assertions on Status values.
::testing::AssertionResult IsOk(const Status& s);
::testing::AssertionResult HasCode(const Status& s, Status::Code code);

#define ASSERT_OK(expr) ASSERT_TRUE(::rowfs::IsOk(expr)) << #expr
#define EXPECT_OK(expr) EXPECT_TRUE(::rowfs::IsOk(expr)) << #expr
#define EXPECT_CODE(expr, c) \
  EXPECT_TRUE(::rowfs::HasCode((expr), ::rowfs::Status::Code::c)) << #expr

// A directory under $TMPDIR (or /tmp) removed with its content on
// destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rowfs-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A Store on a fresh temporary database with a manual clock at
// kStartMs. Reopen() closes and reopens it, keeping the data.
class StoreTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kStartMs = 1700000000000;

  StoreTest();
  void SetUp() override;
  void Reopen();
  Store& store() { return *store_; }
  std::string db_path() const { return dir_.Sub("db"); }

  TempDir dir_;
  ManualClock clock_{kStartMs};
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

}  // namespace rowfs

#endif  // ROWFS_TESTS_TESTUTIL_H_
