#include "rowfs/names.h"

#include <gtest/gtest.h>

#include "testutil.h"

namespace rowfs {
namespace {

using C = Status::Code;
using namespace std::string_literals;

TEST(NamesTest, ValidatesEachLevel) {
  const struct {
    std::string name;
    C dataset, row, column;
  } cases[] = {
      {"ok", C::kOk, C::kOk, C::kOk},
      {"with space", C::kOk, C::kOk, C::kOk},
      {".hidden", C::kOk, C::kOk, C::kOk},
      {"x@", C::kOk, C::kOk, C::kOk},
      {"a@b", C::kOk, C::kOk, C::kOk},
      {"x@12a", C::kOk, C::kOk, C::kOk},
      {"x@123", C::kOk, C::kOk, C::kInvalidArgument},
      {"@1", C::kInvalidArgument, C::kOk, C::kInvalidArgument},
      {"@snapshot", C::kInvalidArgument, C::kOk, C::kOk},
      {"a@", C::kOk, C::kOk, C::kOk},
      {"\xff\xfe", C::kOk, C::kOk, C::kOk},
      {"", C::kInvalidArgument, C::kInvalidArgument, C::kInvalidArgument},
      {".", C::kInvalidArgument, C::kInvalidArgument, C::kInvalidArgument},
      {"..", C::kInvalidArgument, C::kInvalidArgument, C::kInvalidArgument},
      {"a/b", C::kInvalidArgument, C::kInvalidArgument, C::kInvalidArgument},
      {"a\0b"s, C::kInvalidArgument, C::kInvalidArgument, C::kInvalidArgument},
      {"default", C::kInvalidArgument, C::kOk, C::kOk},
      {std::string(235, 'c'), C::kOk, C::kOk, C::kOk},
      {std::string(236, 'c'), C::kOk, C::kOk, C::kNameTooLong},
      {std::string(255, 'c'), C::kOk, C::kOk, C::kNameTooLong},
      {std::string(256, 'c'), C::kNameTooLong, C::kNameTooLong,
       C::kNameTooLong},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ValidateDatasetName(c.name).code(), c.dataset) << c.name;
    EXPECT_EQ(ValidateRowName(c.name).code(), c.row) << c.name;
    EXPECT_EQ(ValidateColumnName(c.name).code(), c.column) << c.name;
  }
}

TEST(NamesTest, ParsesTimestamps) {
  const struct {
    std::string text;
    C code;
    uint64_t ts;
  } cases[] = {
      {"0", C::kOk, 0},
      {"1700000000000", C::kOk, 1700000000000},
      {"9223372036854775807", C::kOk, 9223372036854775807ull},
      {"9223372036854775808", C::kInvalidArgument, 0},
      {"99999999999999999999999", C::kInvalidArgument, 0},
      {"", C::kInvalidArgument, 0},
      {"01", C::kInvalidArgument, 0},
      {"00", C::kInvalidArgument, 0},
      {"1a", C::kInvalidArgument, 0},
      {"-1", C::kInvalidArgument, 0},
      {" 1", C::kInvalidArgument, 0},
  };
  for (const auto& c : cases) {
    uint64_t ts = 0;
    EXPECT_EQ(ParseTimestamp(c.text, &ts).code(), c.code) << c.text;
    if (c.code == C::kOk) {
      EXPECT_EQ(ts, c.ts) << c.text;
    }
  }
}

TEST(NamesTest, ParsesEntryNames) {
  const struct {
    std::string name;
    C code;
    std::string column;
    std::optional<uint64_t> ts;
  } cases[] = {
      {"col", C::kOk, "col", std::nullopt},
      {"col@1700000000000", C::kOk, "col", 1700000000000},
      {"a@b@5", C::kOk, "a@b", 5},
      {"col@", C::kOk, "col@", std::nullopt},
      {"col@x", C::kOk, "col@x", std::nullopt},
      {"col@0", C::kOk, "col", 0},
      {"col@007", C::kInvalidArgument, "", std::nullopt},
      {"col@9223372036854775808", C::kInvalidArgument, "", std::nullopt},
      {"@5", C::kInvalidArgument, "", std::nullopt},
      {"x@1@2", C::kInvalidArgument, "", std::nullopt},  // column "x@1"
      {std::string(235, 'c') + "@9223372036854775807", C::kOk,
       std::string(235, 'c'), 9223372036854775807ull},
      {std::string(236, 'c'), C::kNameTooLong, "", std::nullopt},
      {std::string(250, 'c') + "@12345", C::kNameTooLong, "", std::nullopt},
  };
  for (const auto& c : cases) {
    EntryName e;
    EXPECT_EQ(ParseEntryName(c.name, &e).code(), c.code) << c.name;
    if (c.code != C::kOk) continue;
    EXPECT_EQ(e.column, c.column) << c.name;
    EXPECT_EQ(e.ts, c.ts) << c.name;
    if (e.ts) {
      EXPECT_EQ(VersionName(e.column, *e.ts), c.name);
    }
  }
}

TEST(NamesTest, ParsesPaths) {
  ParsedPath p;
  ASSERT_OK(ParsePath("/", &p));
  EXPECT_EQ(p.level, ParsedPath::Level::kRoot);
  ASSERT_OK(ParsePath("/ds", &p));
  EXPECT_EQ(p.level, ParsedPath::Level::kDataset);
  EXPECT_EQ(p.dataset, "ds");
  ASSERT_OK(ParsePath("/ds/r@1", &p));
  EXPECT_EQ(p.level, ParsedPath::Level::kRow);
  EXPECT_EQ(p.row, "r@1");
  ASSERT_OK(ParsePath("/ds/r/c@42", &p));
  EXPECT_EQ(p.level, ParsedPath::Level::kColumn);
  EXPECT_EQ(p.entry.column, "c");
  EXPECT_EQ(p.entry.ts, 42u);

  const struct {
    const char* path;
    C code;
  } bad[] = {
      {"", C::kInvalidArgument},         {"ds", C::kInvalidArgument},
      {"//", C::kInvalidArgument},       {"/ds/", C::kInvalidArgument},
      {"/ds//c", C::kInvalidArgument},   {"/a/b/c/d", C::kInvalidArgument},
      {"/default", C::kInvalidArgument}, {"/ds/r/@1", C::kInvalidArgument},
      {"/ds/./c", C::kInvalidArgument},
  };
  for (const auto& b : bad) {
    EXPECT_EQ(ParsePath(b.path, &p).code(), b.code) << b.path;
  }
}

}  // namespace
}  // namespace rowfs
