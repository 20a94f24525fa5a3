// Dataset policies: reads hide expired and surplus versions at once, the
// compaction filter removes them physically.
#include <gtest/gtest.h>

#include "column_history.h"
#include "policy_filter.h"
#include "rowfs/key_codec.h"
#include "testutil.h"
#include "version_record.h"

namespace rowfs {
namespace {

TEST(VisibilityTest, Table) {
  const struct {
    Policy policy;
    uint64_t now, ts, rank;
    bool visible;
  } cases[] = {
      {{0, 0}, 100, 1, 1000, true},      {{2, 0}, 100, 1, 0, true},
      {{2, 0}, 100, 1, 1, true},         {{2, 0}, 100, 1, 2, false},
      {{0, 10}, 20000, 10001, 0, true},   // expires at 20001
      {{0, 10}, 20001, 10001, 0, false},  // ts + ttl == now: expired
      {{0, 10}, 5, 10001, 0, true},       // from the future
      {{1, 10}, 20000, 10001, 1, false},
  };
  for (const auto& c : cases) {
    EntryFilter filter(c.policy, c.now);
    VersionRecord version;
    for (uint64_t i = 0; i < c.rank; ++i) filter.Dead(c.ts + 1, version);
    EXPECT_EQ(!filter.Dead(c.ts, version), c.visible)
        << c.policy.max_versions << " " << c.policy.ttl_seconds << " " << c.now
        << " " << c.ts << " " << c.rank;
  }
  // Markers do not count as versions; expiries are the records' own.
  EntryFilter filter(Policy{1, 0}, 1000);
  VersionRecord marker, expired, version;
  marker.kind = RecordKind::kDeletion;
  expired.expires_ms = 1000;
  EXPECT_FALSE(filter.Dead(30, marker));
  EXPECT_FALSE(filter.Dead(20, version));
  EXPECT_TRUE(filter.Dead(10, version));  // the second version
  EntryFilter other(Policy{}, 1000);
  EXPECT_TRUE(other.Dead(5, expired));
  expired.expires_ms = 1001;
  EXPECT_FALSE(other.Dead(5, expired));
}

class PolicyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK(store().CreateDataset("ds", Attrs{0755, 0, 0, 0}));
  }
  std::vector<uint64_t> VisibleTimestamps(const std::string& col) {
    std::vector<Version> versions;
    EXPECT_OK(store().ListVersions("ds", "r", col, {}, &versions));
    std::vector<uint64_t> out;
    for (const auto& v : versions) out.push_back(v.ts);
    return out;
  }
  // Timestamps of the cells physically present for (r, col).
  std::vector<uint64_t> PhysicalTimestamps(const std::string& col) {
    std::vector<std::string> keys;
    EXPECT_OK(store().RawKeys("ds", 0, &keys));
    std::vector<uint64_t> out;
    for (const auto& k : keys) {
      ParsedKey p;
      // (Keys before the rows: content chunks and the family's format.)
      if (!ParseKey(k, &p).ok()) continue;
      if (p.kind == KeyKind::kCell && p.row == "r" && p.column == col) {
        out.push_back(p.ts);
      }
    }
    return out;
  }
};

TEST_F(PolicyTest, MaxVersionsHidesAtOnceAndCompactionRemoves) {
  for (uint64_t ts = 1; ts <= 5; ++ts) {
    ASSERT_OK(store().Put("ds", "r", "c", "v" + std::to_string(ts), ts));
  }
  ASSERT_OK(store().SetDatasetPolicy("ds", {2, 0}));
  EXPECT_EQ(VisibleTimestamps("c"), (std::vector<uint64_t>{5, 4}));
  std::string value;
  EXPECT_CODE(store().GetVersion("ds", "r", "c", 3, &value), kNotFound);
  ColumnInfo info;
  EXPECT_CODE(store().StatVersion("ds", "r", "c", 3, &info), kNotFound);
  // Still physically there until compaction.
  EXPECT_EQ(PhysicalTimestamps("c").size(), 5u);
  ASSERT_OK(store().Flush());
  ASSERT_OK(store().CompactDataset("ds"));
  EXPECT_EQ(PhysicalTimestamps("c"), (std::vector<uint64_t>{5, 4}));
  EXPECT_EQ(VisibleTimestamps("c"), (std::vector<uint64_t>{5, 4}));
}

TEST_F(PolicyTest, TtlExpiresAtOnceAndCompactionRemoves) {
  const uint64_t now = kStartMs;
  ASSERT_OK(store().Put("ds", "r", "old", "x", now - 20000));
  ASSERT_OK(store().Put("ds", "r", "mixed", "a", now - 20000));
  ASSERT_OK(store().Put("ds", "r", "mixed", "b", now - 1000));
  ASSERT_OK(store().Put("ds", "gone", "c", "x", now - 30000));
  ASSERT_OK(store().SetDatasetPolicy("ds", {0, 10}));
  EXPECT_TRUE(VisibleTimestamps("old").empty());
  EXPECT_EQ(VisibleTimestamps("mixed"), (std::vector<uint64_t>{now - 1000}));
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r", "old", &info), kNotFound);
  // A row whose every cell expired is gone from listings and lookups.
  RowInfo row;
  EXPECT_CODE(store().StatRow("ds", "gone", &row), kNotFound);
  std::vector<RowInfo> rows;
  std::string next;
  ASSERT_OK(store().ListRows("ds", "", 0, &rows, &next));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].name, "r");

  ASSERT_OK(store().Flush());
  ASSERT_OK(store().CompactDataset("ds"));
  EXPECT_TRUE(PhysicalTimestamps("old").empty());
  EXPECT_EQ(PhysicalTimestamps("mixed"), (std::vector<uint64_t>{now - 1000}));

  // Time passes: the remaining version expires too.
  clock_.Advance(9001);
  EXPECT_TRUE(VisibleTimestamps("mixed").empty());
  ASSERT_OK(store().CompactDataset("ds"));
  std::vector<std::string> keys;
  ASSERT_OK(store().RawKeys("ds", 0, &keys));
  // Nothing of any row is left (the family's own format mark stays).
  std::erase_if(keys, [](const std::string& k) {
    ParsedKey p;
    return !ParseKey(k, &p).ok();
  });
  EXPECT_TRUE(keys.empty());
}

TEST_F(PolicyTest, PolicyPersistsAcrossReopen) {
  ASSERT_OK(store().SetDatasetPolicy("ds", {3, 3600}));
  Reopen();
  DatasetInfo info;
  ASSERT_OK(store().GetDataset("ds", &info));
  EXPECT_EQ(info.policy, (Policy{3, 3600}));
  // And the reopened filter enforces it.
  for (uint64_t ts = 1; ts <= 5; ++ts) {
    ASSERT_OK(store().Put("ds", "r", "c", "v", kStartMs - 1000 + ts));
  }
  ASSERT_OK(store().Flush());
  ASSERT_OK(store().CompactDataset("ds"));
  EXPECT_EQ(PhysicalTimestamps("c").size(), 3u);
}

TEST_F(PolicyTest, UnlimitedPolicyKeepsEverything) {
  for (uint64_t ts = 1; ts <= 50; ++ts) {
    ASSERT_OK(store().Put("ds", "r", "c", "v", ts));
  }
  ASSERT_OK(store().Flush());
  ASSERT_OK(store().CompactDataset("ds"));
  EXPECT_EQ(PhysicalTimestamps("c").size(), 50u);
}

}  // namespace
}  // namespace rowfs
