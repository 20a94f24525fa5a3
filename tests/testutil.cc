#include "testutil.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace rowfs {

::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}

::testing::AssertionResult HasCode(const Status& s, Status::Code code) {
  if (s.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected " << CodeName(code) << ", got " << s.ToString();
}

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + tmpl);
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

StoreTest::StoreTest() { options_.clock = &clock_; }

void StoreTest::SetUp() {
  ASSERT_OK(Store::Open(options_, db_path(), &store_));
}

void StoreTest::Reopen() {
  store_.reset();
  ASSERT_OK(Store::Open(options_, db_path(), &store_));
}

}  // namespace rowfs
