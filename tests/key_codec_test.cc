#include "rowfs/key_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "coding.h"
#include "testutil.h"

namespace rowfs {
namespace {

using namespace std::string_literals;

struct RoundTrip {
  std::string row, column;
  uint64_t ts;
};

TEST(KeyCodecTest, CellRoundTrips) {
  const RoundTrip cases[] = {
      {"r", "c", 0},
      {"r", "c", 1},
      {"row", "col", 1700000000000},
      {"r", "c", kMaxTimestamp},
      {"with space", "50% off", 42},
      {"a@1", "b@x", 7},
      {"\xff\xfe", "\x01\x02", 256},  // non-UTF-8 names
      {std::string(255, 'r'), std::string(235, 'c'), 99},
      // Timestamps whose encoded bytes contain 0x00 and 0x01 (the
      // separator and the range-end byte).
      {"r", "c", UINT64_MAX - 0xFF00FF01FF00FF00ull},
      {"r", "c", UINT64_MAX - 0xFFFFFFFF00000000ull},
      {"r\x01", "c\x01", UINT64_MAX - 0x8000000000000001ull},
  };
  for (const RoundTrip& rt : cases) {
    ASSERT_LE(rt.ts, kMaxTimestamp);
    const std::string key = CellKey(rt.row, rt.column, rt.ts);
    ParsedKey k;
    ASSERT_OK(ParseKey(key, &k));
    EXPECT_EQ(k.kind, KeyKind::kCell);
    EXPECT_EQ(k.row, rt.row);
    EXPECT_EQ(k.column, rt.column);
    EXPECT_EQ(k.ts, rt.ts);
  }
}

TEST(KeyCodecTest, MetaRecordsRoundTrip) {
  ParsedKey k;
  const std::string row_key = RowMetaKey("row");
  ASSERT_OK(ParseKey(row_key, &k));
  EXPECT_EQ(k.kind, KeyKind::kRowMeta);
  EXPECT_EQ(k.row, "row");
  EXPECT_TRUE(k.column.empty());
  const std::string col_key = ColumnMetaKey("row", "col");
  ASSERT_OK(ParseKey(col_key, &k));
  EXPECT_EQ(k.kind, KeyKind::kColumnMeta);
  EXPECT_EQ(k.row, "row");
  EXPECT_EQ(k.column, "col");
}

TEST(KeyCodecTest, RejectsMalformedKeys) {
  const std::string suffix(8, '\x01');
  const struct {
    const char* why;
    std::string key;
  } cases[] = {
      {"empty", ""},
      {"truncated suffix", CellKey("r", "c", 5).substr(0, 10)},
      {"only a suffix", std::string(8, '\0')},
      {"no separator before suffix", "r\0c"s + "x" + suffix},
      {"no row/column separator", "rc\0"s + suffix},
      {"empty row", "\0c\0"s + suffix},
      {"empty column on a cell", "r\0\0"s + suffix},
      {"separator inside column", "r\0c\0d\0"s + suffix},
      {"timestamp above max", "r\0c\0"s + std::string(8, '\x01')},
  };
  for (const auto& c : cases) {
    ParsedKey k;
    EXPECT_CODE(ParseKey(c.key, &k), kInvalidArgument) << c.why;
  }
}

TEST(KeyCodecTest, NewestVersionSortsFirstAndRowsAreContiguous) {
  std::vector<std::string> keys = {
      CellKey("a", "x", 1),     CellKey("a", "x", 3), CellKey("a", "x", 2),
      ColumnMetaKey("a", "x"),  RowMetaKey("a"),      CellKey("a", "xy", 9),
      CellKey("ab", "x", 5),    CellKey("a", "y", 1), RowMetaKey("ab"),
      CellKey("a\x01", "c", 1),
  };
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> expected = {
      RowMetaKey("a"),       ColumnMetaKey("a", "x"),  CellKey("a", "x", 3),
      CellKey("a", "x", 2),  CellKey("a", "x", 1),     CellKey("a", "xy", 9),
      CellKey("a", "y", 1),  CellKey("a\x01", "c", 1), RowMetaKey("ab"),
      CellKey("ab", "x", 5),
  };
  EXPECT_EQ(keys, expected);
  // Every key of row "a" lies in [RowBegin, RowEnd), no key of another row
  // does.
  for (const std::string& k : keys) {
    ParsedKey p;
    ASSERT_OK(ParseKey(k, &p));
    const bool in_range = k >= RowBegin("a") && k < RowEnd("a");
    EXPECT_EQ(in_range, p.row == "a") << p.row;
    const bool in_col = k >= ColumnBegin("a", "x") && k < ColumnEnd("a", "x");
    EXPECT_EQ(in_col, p.row == "a" && p.column == "x");
  }
}

TEST(KeyCodecTest, RandomNamesRoundTripAndOrderByTimestamp) {
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    auto random_name = [&](size_t max) {
      std::string s(1 + rng() % max, 'x');
      for (char& c : s) c = static_cast<char>(1 + rng() % 255);  // no NUL
      return s;
    };
    const std::string row = random_name(40), col = random_name(40);
    const uint64_t t1 = rng() % kMaxTimestamp, t2 = rng() % kMaxTimestamp;
    ParsedKey k;
    const std::string key = CellKey(row, col, t1);
    ASSERT_OK(ParseKey(key, &k));
    EXPECT_EQ(k.row, row);
    EXPECT_EQ(k.column, col);
    EXPECT_EQ(k.ts, t1);
    if (t1 != t2) {
      EXPECT_EQ(CellKey(row, col, t1) < CellKey(row, col, t2), t1 > t2);
    }
  }
}

TEST(CodingTest, BigEndianRoundTrip) {
  std::string buf;
  PutFixed64BE(&buf, 0x0102030405060708ull);
  PutFixed32BE(&buf, 0xa0b0c0d0u);
  EXPECT_EQ(buf, "\x01\x02\x03\x04\x05\x06\x07\x08\xa0\xb0\xc0\xd0"s);
  std::string_view in = buf;
  uint64_t a;
  uint32_t b;
  ASSERT_TRUE(GetFixed64BE(&in, &a));
  ASSERT_TRUE(GetFixed32BE(&in, &b));
  EXPECT_EQ(a, 0x0102030405060708ull);
  EXPECT_EQ(b, 0xa0b0c0d0u);
  EXPECT_FALSE(GetFixed32BE(&in, &b));
}

}  // namespace
}  // namespace rowfs
