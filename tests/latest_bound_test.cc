// LatestBound lets server-timestamped puts skip reading the column; these
// tests hold it to "never collide, and exactly max(now, latest + 1)".
#include "latest_bound.h"

#include <gtest/gtest.h>

#include "rowfs/key_codec.h"
#include "testutil.h"

namespace rowfs {
namespace {

TEST(LatestBoundTest, FastPathOnlyWhenTheAnswerIsKnown) {
  LatestBound b(/*floor=*/1000);
  EXPECT_EQ(b.Next("a", 1500), 1500u);        // all versions < 1000 <= now
  EXPECT_EQ(b.Next("a", 500), std::nullopt);  // clock behind the floor: read
  b.RecordPut("a", 1500);
  EXPECT_EQ(b.Next("a", 1500), 1501u);  // same millisecond: latest + 1
  EXPECT_EQ(b.Next("a", 1600), 1600u);
  b.RecordPut("b", 5000);  // a future client timestamp
  EXPECT_EQ(b.Next("b", 1600), 5001u);
  b.RecordPut("c", 10);  // below the floor: says nothing about c's newest
  EXPECT_EQ(b.Next("c", 1600), 1600u);
  b.RecordOther("a", 0);  // a delete: a's newest is unknown now
  EXPECT_EQ(b.Next("a", 1600), std::nullopt);
}

TEST(LatestBoundTest, FoldKeepsEveryTimestampBelowTheFloor) {
  LatestBound b(0);
  b.RecordPut("future", 9000);
  for (int i = 0; i < 70000; ++i) {
    b.RecordPut("col" + std::to_string(i), 1000 + i % 7);
  }
  // The table overflowed and was folded into floor = 9001: below it nothing
  // is known, so every answer needs a read; above it every answer is "now".
  for (const std::string col : {"col0", "col69999", "future", "never"}) {
    EXPECT_EQ(b.Next(col, 1003), std::nullopt) << col;
    EXPECT_EQ(b.Next(col, 9001), 9001u) << col;
  }
}

TEST(LatestBoundTest, PersistedFloorIsRoundedAndMonotonic) {
  LatestBound b(0);
  std::optional<uint64_t> f = b.FloorToPersist(1500);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, 2000u);
  b.SetPersisted(*f);
  EXPECT_EQ(b.FloorToPersist(1999), std::nullopt);
  EXPECT_EQ(b.FloorToPersist(2000), 3000u);
  b.SetPersisted(1000);  // never goes back
  EXPECT_EQ(b.FloorToPersist(1999), std::nullopt);
}

class LatestBoundStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK(store().CreateDataset("ds", Attrs{0755, 0, 0, 0}));
  }
  uint64_t PutNow(std::string_view row, std::string_view col) {
    uint64_t ts = 0;
    EXPECT_OK(store().Put("ds", row, col, "v", kServerTimestamp, &ts));
    return ts;
  }
};

TEST_F(LatestBoundStoreTest, FutureVersionsSurviveReopen) {
  ASSERT_OK(store().Put("ds", "r", "c", "future", kStartMs + 5000));
  Reopen();
  EXPECT_EQ(PutNow("r", "c"), kStartMs + 5001);
  // A column never written gets the clock's time once it passes the floor.
  clock_.Advance(10000);
  EXPECT_EQ(PutNow("r", "other"), kStartMs + 10000);
}

TEST_F(LatestBoundStoreTest, DeletingTheLatestIsSeenExactly) {
  ASSERT_OK(store().Put("ds", "r", "c", "a", kStartMs - 10));
  ASSERT_OK(store().Put("ds", "r", "c", "b", kStartMs + 10));
  ASSERT_OK(store().DeleteVersion("ds", "r", "c", kStartMs + 10));
  EXPECT_EQ(PutNow("r", "c"), kStartMs);
}

TEST_F(LatestBoundStoreTest, MovedAndRestampedVersionsAreNeverOverwritten) {
  ASSERT_OK(store().CreateDataset("other", Attrs{0755, 0, 0, 0}));
  ASSERT_OK(store().Put("other", "r", "src", "moved", kStartMs + 7000));
  ASSERT_OK(store().MoveColumn({"other", "r", "src"}, {"ds", "r", "dst"},
                               MoveMode::kReplace));
  EXPECT_EQ(PutNow("r", "dst"), kStartMs + 7001);

  ASSERT_OK(store().Put("ds", "r", "t", "x", kStartMs - 5));
  ASSERT_OK(
      store().SetVersionTime("ds", "r", "t", std::nullopt, kStartMs + 3123));
  EXPECT_EQ(PutNow("r", "t"), kStartMs + 3124);

  ASSERT_OK(store().Put("other", "row", "c", "y", kStartMs + 9000));
  ASSERT_OK(store().MoveRow("other", "row", "ds", "row2", MoveMode::kReplace));
  EXPECT_EQ(PutNow("row2", "c"), kStartMs + 9001);
  Reopen();
  EXPECT_EQ(PutNow("row2", "c"), kStartMs + 9002);
  std::vector<Version> versions;
  ASSERT_OK(store().ListVersions("ds", "row2", "c", {}, &versions));
  EXPECT_EQ(versions.size(), 3u);
}

}  // namespace
}  // namespace rowfs
