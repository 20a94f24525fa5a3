#include "rowfs/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/utilities/options_util.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "records.h"
#include "rowfs/backup.h"
#include "rowfs/key_codec.h"
#include "testutil.h"

namespace rowfs {
namespace {

const Attrs kDirAttrs{0755, 1000, 1000, 0};

class StoreApiTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK(store().CreateDataset("ds", kDirAttrs));
  }
  // A follower (RocksDB secondary) of the store's database, its own state
  // under dir_/`name`.
  std::unique_ptr<Store> OpenFollower(const std::string& name) {
    StoreOptions fo = options_;
    fo.mode = StoreOptions::Mode::kSecondary;
    fo.secondary_path = dir_.Sub(name);
    std::unique_ptr<Store> follower;
    EXPECT_OK(Store::Open(fo, db_path(), &follower));
    return follower;
  }
  std::vector<uint64_t> Timestamps(std::string_view ds, std::string_view row,
                                   std::string_view col) {
    std::vector<Version> versions;
    EXPECT_OK(store().ListVersions(ds, row, col, {}, &versions));
    std::vector<uint64_t> out;
    for (const auto& v : versions) out.push_back(v.ts);
    return out;
  }
  std::string Latest(std::string_view ds, std::string_view row,
                     std::string_view col) {
    Version v;
    Status s = store().GetLatest(ds, row, col, &v);
    return s.ok() ? v.value : "<" + s.ToString() + ">";
  }
  std::vector<std::string> RowNames(std::string_view ds) {
    std::vector<RowInfo> rows;
    std::string next;
    EXPECT_OK(store().ListRows(ds, "", 0, &rows, &next));
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.name);
    return out;
  }
};

// ---------------------------------------------------------------- datasets

TEST_F(StoreApiTest, DatasetsAreCreatedListedAndDropped) {
  EXPECT_CODE(store().CreateDataset("ds", kDirAttrs), kAlreadyExists);
  EXPECT_CODE(store().CreateDataset("default", kDirAttrs), kInvalidArgument);
  EXPECT_CODE(store().CreateDataset("", kDirAttrs), kInvalidArgument);
  EXPECT_CODE(store().CreateDataset("a/b", kDirAttrs), kInvalidArgument);
  EXPECT_CODE(store().CreateDataset(std::string(256, 'x'), kDirAttrs),
              kNameTooLong);
  ASSERT_OK(store().CreateDataset("b", Attrs{0700, 5, 6, 7}));
  std::vector<DatasetInfo> list = store().ListDatasets();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "b");
  EXPECT_EQ(list[0].attrs, (Attrs{0700, 5, 6, 7}));
  EXPECT_EQ(list[1].name, "ds");

  ASSERT_OK(store().Put("b", "r", "c", "v"));
  EXPECT_CODE(store().DropDataset("b"), kNotEmpty);
  ASSERT_OK(store().DeleteRow("b", "r", false));
  ASSERT_OK(store().DropDataset("b"));
  EXPECT_CODE(store().DropDataset("b"), kNotFound);
  EXPECT_EQ(store().ListDatasets().size(), 1u);
  EXPECT_CODE(store().Put("b", "r", "c", "v"), kNotFound);
}

TEST_F(StoreApiTest, DatasetsAndAttrsSurviveReopen) {
  ASSERT_OK(store().CreateDataset("other", Attrs{0750, 1, 2, 3}));
  ASSERT_OK(store().SetDatasetAttrs("ds", Attrs{0711, 9, 9, 99}));
  ASSERT_OK(store().SetRootAttrs(Attrs{0777, 4, 4, 4}));
  ASSERT_OK(store().Put("other", "r", "c", "hello", 123));
  Reopen();
  DatasetInfo info;
  ASSERT_OK(store().GetDataset("other", &info));
  EXPECT_EQ(info.attrs, (Attrs{0750, 1, 2, 3}));
  ASSERT_OK(store().GetDataset("ds", &info));
  EXPECT_EQ(info.attrs, (Attrs{0711, 9, 9, 99}));
  Attrs root;
  ASSERT_OK(store().GetRootAttrs(&root));
  EXPECT_EQ(root, (Attrs{0777, 4, 4, 4}));
  EXPECT_EQ(Latest("other", "r", "c"), "hello");
}

TEST_F(StoreApiTest, DroppedDatasetCanBeRecreatedEmpty) {
  ASSERT_OK(store().Put("ds", "r", "c", "v"));
  ASSERT_OK(store().DropDataset("ds", /*force=*/true));
  ASSERT_OK(store().CreateDataset("ds", kDirAttrs));
  EXPECT_TRUE(RowNames("ds").empty());
  Reopen();
  EXPECT_TRUE(RowNames("ds").empty());
}

// The number of the newest OPTIONS file: RocksDB writes a new one, listing
// every family, each time families are made or dropped.
uint64_t OptionsFileNumber(const std::string& db_path) {
  uint64_t newest = 0;
  for (const auto& e : std::filesystem::directory_iterator(db_path)) {
    const std::string name = e.path().filename();
    if (name.rfind("OPTIONS-", 0) == 0 && name.find('.') == std::string::npos) {
      newest = std::max<uint64_t>(newest, std::stoull(name.substr(8)));
    }
  }
  return newest;
}

TEST_F(StoreApiTest, DatasetsAreMadeFromFamiliesMadeInBatches) {
  // One family (and OPTIONS file) per dataset made the n-th mkdir cost
  // O(n): 0.43 s at 2,000 datasets.
  const uint64_t before = OptionsFileNumber(db_path());
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(store().CreateDataset("d" + std::to_string(i), kDirAttrs));
    ASSERT_OK(store().Put("d" + std::to_string(i), "r", "c",
                          "v" + std::to_string(i), 5));
  }
  const uint64_t rewrites = OptionsFileNumber(db_path()) - before;
  EXPECT_LT(rewrites, 40u) << "OPTIONS files written for 200 datasets";
  ASSERT_OK(store().DropDataset("d7", /*force=*/true));
  ASSERT_OK(store().CreateDataset("d7", kDirAttrs));  // empty again
  EXPECT_TRUE(RowNames("d7").empty());

  // Spare families are no datasets, and each dataset finds its own family
  // again: after a reopen, and on a follower.
  Reopen();
  EXPECT_EQ(store().ListDatasets().size(), 201u);
  EXPECT_TRUE(RowNames("d7").empty());
  for (int i : {0, 8, 150, 199}) {
    EXPECT_EQ(Latest("d" + std::to_string(i), "r", "c"),
              "v" + std::to_string(i));
  }
  ASSERT_OK(store().CreateDataset("after", kDirAttrs));  // a spare, or more
  ASSERT_OK(store().Put("after", "r", "c", "new", 5));
  std::unique_ptr<Store> follower = OpenFollower("secondary");
  ASSERT_NE(follower, nullptr);
  EXPECT_EQ(follower->ListDatasets().size(), 202u);
  Version v;
  ASSERT_OK(follower->GetLatest("after", "r", "c", &v));
  EXPECT_EQ(v.value, "new");
  ASSERT_OK(follower->GetLatest("d150", "r", "c", &v));
  EXPECT_EQ(v.value, "v150");
  follower.reset();

  // With many datasets a drop only marks the family; RocksDB drops marked
  // families in batches (by the next maintenance pass at the latest), and
  // the next start drops those a crash left marked.
  for (int i = 200; i < 300; ++i) {
    ASSERT_OK(store().CreateDataset("d" + std::to_string(i), kDirAttrs));
  }
  const uint64_t options_file = OptionsFileNumber(db_path());
  ASSERT_OK(store().DropDataset("d8", /*force=*/true));
  EXPECT_EQ(OptionsFileNumber(db_path()), options_file) << "dropped at once";
  DatasetInfo info;
  EXPECT_CODE(store().GetDataset("d8", &info), kNotFound);
  ASSERT_OK(CreateCheckpoint(&store(), dir_.Sub("copy")));
  ASSERT_OK(store().CollectDueGarbage(0));
  EXPECT_GT(OptionsFileNumber(db_path()), options_file) << "never dropped";
  auto families = [](const std::string& path) {
    std::vector<std::string> names;
    EXPECT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names)
            .ok());
    return names.size();
  };
  const size_t marked = families(dir_.Sub("copy"));
  {
    std::unique_ptr<Store> copy;
    ASSERT_OK(Store::Open(options_, dir_.Sub("copy"), &copy));
    EXPECT_CODE(copy->GetDataset("d8", &info), kNotFound);
    ASSERT_OK(copy->GetLatest("d9", "r", "c", &v));
    EXPECT_EQ(v.value, "v9");
    ASSERT_OK(copy->CreateDataset("d8", kDirAttrs));
    std::vector<RowInfo> rows;
    std::string next;
    ASSERT_OK(copy->ListRows("d8", "", 0, &rows, &next));
    EXPECT_TRUE(rows.empty());
  }
  EXPECT_EQ(families(dir_.Sub("copy")), marked - 1);
}

// Opens the database of `path` with RocksDB alone and runs `f` on it and
// its "default" family.
void WithRawDatabase(
    const std::string& path,
    const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& f) {
  std::vector<std::string> names;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : names) cfs.push_back({n, {}});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(
      rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles, &raw).ok());
  f(raw, handles[0]);
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
}

// A family holding data that no record names (the record was lost, say in
// a repair) is shown as a dataset of its own, never hidden or handed out
// again, under a name no dataset has.
TEST_F(StoreApiTest, AFamilyNoRecordNamesIsShownUnderAFreeName) {
  ASSERT_OK(store().CreateDataset("lost", kDirAttrs));
  ASSERT_OK(store().Put("lost", "r", "c", "kept", 5));
  store_.reset();
  std::string family;
  WithRawDatabase(
      db_path(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
        EXPECT_TRUE(db->Get({}, meta, FamilyRecordKey("lost"), &family).ok());
      });
  ASSERT_EQ(family.substr(0, 1), "@");
  const std::string recovered = "recovered." + family.substr(1);
  Reopen();
  // A user's dataset has the name a recovered family would get.
  ASSERT_OK(store().CreateDataset(recovered, kDirAttrs));
  store_.reset();
  WithRawDatabase(
      db_path(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
        EXPECT_TRUE(db->Delete({}, meta, FamilyRecordKey("lost")).ok());
      });
  Reopen();
  DatasetInfo info;
  ASSERT_OK(store().GetDataset(recovered, &info));  // the user's, empty
  std::vector<RowInfo> rows;
  std::string next;
  ASSERT_OK(store().ListRows(recovered, "", 0, &rows, &next));
  EXPECT_TRUE(rows.empty());
  Version v;
  ASSERT_OK(store().GetLatest(recovered + "_", "r", "c", &v));
  EXPECT_EQ(v.value, "kept");
}

TEST_F(StoreApiTest, AnUnusedDatasetCostsNoFlush) {
  // Each flush costs RocksDB work in proportion to the number of families:
  // a dataset that was only made must leave nothing in its family to
  // flush (a clean close of 10,000 such datasets took 52 s).
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK(store().CreateDataset("e" + std::to_string(i), kDirAttrs));
  }
  ASSERT_OK(store().DropDataset("e3"));
  Reopen();
  size_t tables = 0;
  for (const auto& e : std::filesystem::directory_iterator(db_path())) {
    tables += e.path().extension() == ".sst";
  }
  EXPECT_LE(tables, 2u) << "table files after closing 50 unused datasets";
  EXPECT_EQ(store().ListDatasets().size(), 50u);  // "ds" and 49
  DatasetInfo info;
  EXPECT_CODE(store().GetDataset("e3", &info), kNotFound);
  ASSERT_OK(store().GetDataset("e49", &info));
}

// ---------------------------------------------------------------- writes

TEST_F(StoreApiTest, ServerTimestampsNeverCollide) {
  uint64_t t1, t2, t3;
  ASSERT_OK(store().Put("ds", "r", "c", "a", kServerTimestamp, &t1));
  ASSERT_OK(store().Put("ds", "r", "c", "b", kServerTimestamp, &t2));
  EXPECT_EQ(t1, kStartMs);
  EXPECT_EQ(t2, kStartMs + 1);  // same millisecond: latest + 1
  clock_.Advance(100);
  ASSERT_OK(store().Put("ds", "r", "c", "c", kServerTimestamp, &t3));
  EXPECT_EQ(t3, kStartMs + 100);
  // A future client timestamp pushes later server timestamps past it.
  ASSERT_OK(store().Put("ds", "r", "c", "future", kStartMs + 5000));
  ASSERT_OK(store().Put("ds", "r", "c", "next", kServerTimestamp, &t3));
  EXPECT_EQ(t3, kStartMs + 5001);
  EXPECT_EQ(Latest("ds", "r", "c"), "next");
  EXPECT_EQ(Timestamps("ds", "r", "c"),
            (std::vector<uint64_t>{kStartMs + 5001, kStartMs + 5000,
                                   kStartMs + 100, kStartMs + 1, kStartMs}));
}

TEST_F(StoreApiTest, ClientTimestampStoresOrReplacesExactlyThatVersion) {
  ASSERT_OK(store().Put("ds", "r", "c", "new", 2000));
  ASSERT_OK(store().Put("ds", "r", "c", "backfill", 1000));
  EXPECT_EQ(Latest("ds", "r", "c"), "new");
  ASSERT_OK(store().Put("ds", "r", "c", "replaced", 1000));
  std::string v;
  ASSERT_OK(store().GetVersion("ds", "r", "c", 1000, &v));
  EXPECT_EQ(v, "replaced");
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{2000, 1000}));
  EXPECT_CODE(store().Put("ds", "r", "c", "x", kMaxTimestamp + 1),
              kInvalidArgument);
  // Nothing more than a day ahead of the clock: it would stamp history into
  // the future, and the largest timestamp would leave no "latest + 1".
  const uint64_t day = 24ull * 3600 * 1000;
  EXPECT_CODE(store().Put("ds", "r", "c", "x", kMaxTimestamp),
              kInvalidArgument);
  EXPECT_CODE(store().Put("ds", "r", "c", "x", kStartMs + day + 1),
              kInvalidArgument);
  ASSERT_OK(store().Put("ds", "r", "c", "soon", kStartMs + day));
  EXPECT_EQ(Latest("ds", "r", "c"), "soon");
  ASSERT_OK(store().Put("ds", "r", "c", "after"));
  EXPECT_EQ(Latest("ds", "r", "c"), "after");
}

TEST_F(StoreApiTest, BatchIsAtomicAcrossDatasets) {
  ASSERT_OK(store().CreateDataset("ds2", kDirAttrs));
  Batch batch;
  batch.Put("ds", "r1", "a", "1");
  batch.Put("ds2", "r2", "b", "2", 77);
  batch.Put("ds", "r1", "a", "again");  // same column: after the first
  std::vector<uint64_t> ts;
  ASSERT_OK(store().Write(batch, {}, &ts));
  ASSERT_EQ(ts.size(), 3u);
  EXPECT_EQ(ts[1], 77u);
  EXPECT_GT(ts[2], ts[0]);
  EXPECT_EQ(Latest("ds", "r1", "a"), "again");
  EXPECT_EQ(Latest("ds2", "r2", "b"), "2");

  // A batch with one bad operation writes nothing.
  Batch bad;
  bad.Put("ds", "r1", "new", "x");
  bad.Put("missing", "r", "c", "x");
  EXPECT_CODE(store().Write(bad), kNotFound);
  Batch bad_name;
  bad_name.Put("ds", "r1", "new2", "x");
  bad_name.Put("ds", "r1", "c@12", "x");
  EXPECT_CODE(store().Write(bad_name), kInvalidArgument);
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r1", "new", &info), kNotFound);
  EXPECT_CODE(store().StatColumn("ds", "r1", "new2", &info), kNotFound);
}

TEST_F(StoreApiTest, BatchDeleteSeesEarlierPutsOfTheSameBatch) {
  ASSERT_OK(store().Put("ds", "r", "c", "old", 10));
  Batch batch;
  batch.Put("ds", "r", "c", "new", 20);
  batch.DeleteColumn("ds", "r", "c");
  batch.Put("ds", "r", "d", "x", 30);
  ASSERT_OK(store().Write(batch));
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r", "c", &info), kNotFound);
  EXPECT_EQ(Latest("ds", "r", "d"), "x");
}

TEST_F(StoreApiTest, ConcurrentWritersKeepEveryVersion) {
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread hits the shared column and one of its own.
        ASSERT_OK(store().Put("ds", "r", "shared", std::to_string(t)));
        ASSERT_OK(store().Put("ds", "r" + std::to_string(t), "own",
                              std::to_string(i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<uint64_t> ts = Timestamps("ds", "r", "shared");
  EXPECT_EQ(ts.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(std::set<uint64_t>(ts.begin(), ts.end()).size(), ts.size());
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Timestamps("ds", "r" + std::to_string(t), "own").size(),
              size_t{kPerThread});
    EXPECT_EQ(Latest("ds", "r" + std::to_string(t), "own"),
              std::to_string(kPerThread - 1));
  }
}

// ---------------------------------------------------------------- reads

TEST_F(StoreApiTest, VersionQueriesUseInclusiveBoundsAndLimit) {
  for (uint64_t ts : {10, 20, 30, 40, 50}) {
    ASSERT_OK(store().Put("ds", "r", "c", "v" + std::to_string(ts), ts));
  }
  const struct {
    VersionQuery q;
    std::vector<uint64_t> expected;
  } cases[] = {
      {{}, {50, 40, 30, 20, 10}},
      {{.limit = 2}, {50, 40}},
      {{.min_ts = 20, .max_ts = 40}, {40, 30, 20}},
      {{.limit = 1, .min_ts = 20, .max_ts = 40}, {40}},
      {{.min_ts = 41, .max_ts = 49}, {}},
      {{.min_ts = 50}, {50}},
      {{.max_ts = 10}, {10}},
  };
  for (const auto& c : cases) {
    std::vector<Version> versions;
    ASSERT_OK(store().ListVersions("ds", "r", "c", c.q, &versions));
    std::vector<uint64_t> got;
    for (const auto& v : versions) {
      got.push_back(v.ts);
      EXPECT_EQ(v.value, "v" + std::to_string(v.ts));
    }
    EXPECT_EQ(got, c.expected)
        << c.q.limit << " " << c.q.min_ts << " " << c.q.max_ts;
  }
  std::vector<Version> none;
  ASSERT_OK(store().ListVersions("ds", "r", "missing", {}, &none));
  EXPECT_TRUE(none.empty());
  std::string v;
  EXPECT_CODE(store().GetVersion("ds", "r", "c", 11, &v), kNotFound);
  Version unused;
  EXPECT_CODE(store().GetLatest("ds", "nope", "c", &unused), kNotFound);
  EXPECT_CODE(store().GetLatest("nods", "r", "c", &unused), kNotFound);
}

TEST_F(StoreApiTest, StatReportsSizesAttrsAndVersions) {
  const Attrs col_attrs{0640, 7, 8, 0};
  Batch b;
  b.Put("ds", "r", "c", "12345", 100, &col_attrs);
  ASSERT_OK(store().Write(b));
  ASSERT_OK(store().Put("ds", "r", "c", "1234567", 200));
  ColumnInfo info;
  ASSERT_OK(store().StatColumn("ds", "r", "c", &info));
  ASSERT_EQ(info.versions.size(), 1u);
  EXPECT_EQ(info.versions[0].ts, 200u);
  EXPECT_EQ(info.versions[0].size, 7u);
  ASSERT_TRUE(info.attrs.has_value());
  EXPECT_EQ(*info.attrs, col_attrs);
  ASSERT_OK(store().StatColumn("ds", "r", "c", &info, 0));
  EXPECT_EQ(info.versions.size(), 2u);
  ASSERT_OK(store().StatVersion("ds", "r", "c", 100, &info));
  EXPECT_EQ(info.versions[0].size, 5u);
  EXPECT_CODE(store().StatVersion("ds", "r", "c", 150, &info), kNotFound);

  ASSERT_OK(store().SetColumnAttrs("ds", "r", "c", Attrs{0600, 1, 1, 0}));
  ASSERT_OK(store().StatColumn("ds", "r", "c", &info));
  EXPECT_EQ(info.attrs->mode, 0600u);
  EXPECT_CODE(store().SetColumnAttrs("ds", "r", "zz", Attrs{}), kNotFound);
}

TEST_F(StoreApiTest, RowsExistByMetaRecordOrCells) {
  RowInfo row;
  EXPECT_CODE(store().StatRow("ds", "r", &row), kNotFound);
  ASSERT_OK(store().CreateRow("ds", "r", Attrs{0700, 3, 4, 5}));
  EXPECT_CODE(store().CreateRow("ds", "r", kDirAttrs), kAlreadyExists);
  ASSERT_OK(store().StatRow("ds", "r", &row));
  ASSERT_TRUE(row.attrs.has_value());
  EXPECT_EQ(*row.attrs, (Attrs{0700, 3, 4, 5}));
  std::vector<ColumnInfo> cols;
  ASSERT_OK(store().ListColumns("ds", "r", &cols));
  EXPECT_TRUE(cols.empty());

  ASSERT_OK(store().Put("ds", "implicit", "c", "v"));
  ASSERT_OK(store().StatRow("ds", "implicit", &row));
  EXPECT_FALSE(row.attrs.has_value());
  ASSERT_OK(store().SetRowAttrs("ds", "implicit", kDirAttrs));
  ASSERT_OK(store().StatRow("ds", "implicit", &row));
  EXPECT_TRUE(row.attrs.has_value());
  EXPECT_CODE(store().SetRowAttrs("ds", "nope", kDirAttrs), kNotFound);
}

TEST_F(StoreApiTest, ListColumnsGroupsVersionsNewestFirst) {
  ASSERT_OK(store().CreateRow("ds", "r", kDirAttrs));
  ASSERT_OK(store().Put("ds", "r", "b", "bb", 5));
  ASSERT_OK(store().Put("ds", "r", "a", "a1", 1));
  ASSERT_OK(store().Put("ds", "r", "a", "a22", 2));
  ASSERT_OK(store().Put("ds", "r", "a b", "x", 3));
  ASSERT_OK(store().Put("ds", "r2", "zzz", "other row", 3));
  std::vector<ColumnInfo> cols;
  ASSERT_OK(store().ListColumns("ds", "r", &cols));
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[0].name, "a");
  ASSERT_EQ(cols[0].versions.size(), 2u);
  EXPECT_EQ(cols[0].versions[0].ts, 2u);
  EXPECT_EQ(cols[0].versions[0].size, 3u);
  EXPECT_EQ(cols[0].versions[1].ts, 1u);
  EXPECT_EQ(cols[1].name, "a b");
  EXPECT_EQ(cols[2].name, "b");
  EXPECT_CODE(store().ListColumns("ds", "missing", &cols), kNotFound);
}

TEST_F(StoreApiTest, RowListingPagesAndSkipsCells) {
  // Row names that share prefixes and bytes around the separator.
  const std::vector<std::string> names = {"a", "a\x01", "ab",
                                          "b", "b b",   "\xff"};
  for (const auto& n : names) {
    for (int c = 0; c < 300; ++c) {
      ASSERT_OK(store().Put("ds", n, "col" + std::to_string(c), "v", 1));
    }
  }
  EXPECT_EQ(RowNames("ds"), names);

  std::vector<std::string> paged;
  std::string after;
  do {
    std::vector<RowInfo> rows;
    ASSERT_OK(store().ListRows("ds", after, 4, &rows, &after));
    ASSERT_LE(rows.size(), 4u);
    for (const auto& r : rows) paged.push_back(r.name);
  } while (!after.empty());
  EXPECT_EQ(paged, names);

  // Skip-scan: listing 6 rows of 300 cells each must not step through the
  // cells (one seek per row, a handful of Next calls at most).
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  EXPECT_EQ(RowNames("ds").size(), names.size());
  const uint64_t steps = rocksdb::get_perf_context()->next_on_memtable_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_LT(steps, 50u);
}

// ---------------------------------------------------------------- views

TEST_F(StoreApiTest, SnapshotSeesOnePointInTimeAcrossDatasets) {
  ASSERT_OK(store().CreateDataset("ds2", kDirAttrs));
  ASSERT_OK(store().Put("ds", "a", "x", "1", 100));
  ASSERT_OK(store().Put("ds2", "b", "y", "1", 100));
  ASSERT_OK(store().Put("ds", "gone", "z", "here", 100));
  const ReadView view{store().NewSnapshot()};
  // Writes continue after the snapshot.
  Batch both;
  both.Put("ds", "a", "x", "2", 200);
  both.Put("ds2", "b", "y", "2", 200);
  ASSERT_OK(store().Write(both));
  ASSERT_OK(store().Put("ds", "new", "c", "v", 300));
  ASSERT_OK(store().DeleteRow("ds", "gone", false));

  Version v;
  ASSERT_OK(store().GetLatest("ds", "a", "x", &v, view));
  EXPECT_EQ(v.value, "1");
  ASSERT_OK(store().GetLatest("ds2", "b", "y", &v, view));
  EXPECT_EQ(v.value, "1");
  ASSERT_OK(store().GetLatest("ds", "a", "x", &v));
  EXPECT_EQ(v.value, "2");
  std::vector<RowInfo> rows;
  std::string next;
  ASSERT_OK(store().ListRows("ds", "", 0, &rows, &next, view));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "a");
  EXPECT_EQ(rows[1].name, "gone");
  RowInfo row;
  EXPECT_OK(store().StatRow("ds", "gone", &row, view));
  EXPECT_CODE(store().StatRow("ds", "gone", &row), kNotFound);
  std::vector<ColumnInfo> cols;
  ASSERT_OK(store().ListColumns("ds", "a", &cols, view));
  ASSERT_EQ(cols.size(), 1u);
  EXPECT_EQ(cols[0].versions.size(), 1u);
  EXPECT_GE(view.snapshot->time_ms(), kStartMs);
}

TEST_F(StoreApiTest, AsOfShowsEachColumnAtThatTime) {
  for (uint64_t ts : {10, 20, 30}) {
    ASSERT_OK(store().Put("ds", "r", "c", "v" + std::to_string(ts), ts));
  }
  ASSERT_OK(store().Put("ds", "r", "later", "x", 40));
  ASSERT_OK(store().Put("ds", "future_row", "c", "x", 50));
  ASSERT_OK(store().CreateRow("ds", "made", kDirAttrs));
  const ReadView at25{nullptr, 25};
  Version v;
  ASSERT_OK(store().GetLatest("ds", "r", "c", &v, at25));
  EXPECT_EQ(v.ts, 20u);
  EXPECT_EQ(v.value, "v20");
  std::vector<Version> versions;
  ASSERT_OK(store().ListVersions("ds", "r", "c", {}, &versions, at25));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[1].ts, 10u);
  std::string value;
  EXPECT_CODE(store().GetVersion("ds", "r", "c", 30, &value, at25), kNotFound);
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r", "later", &info, 1, at25),
              kNotFound);
  std::vector<ColumnInfo> cols;
  ASSERT_OK(store().ListColumns("ds", "r", &cols, at25));
  ASSERT_EQ(cols.size(), 1u);
  EXPECT_EQ(cols[0].name, "c");
  // Rows that only have cells after T do not exist at T; rows made with
  // CreateRow (a meta record, no time) do.
  std::vector<RowInfo> rows;
  std::string next;
  ASSERT_OK(store().ListRows("ds", "", 0, &rows, &next, at25));
  std::vector<std::string> names;
  for (const auto& r : rows) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"made", "r"}));
  RowInfo row;
  EXPECT_CODE(store().StatRow("ds", "future_row", &row, at25), kNotFound);
}

// ---------------------------------------------------------------- deletes

TEST_F(StoreApiTest, DeletesRemoveExactlyTheirTarget) {
  ASSERT_OK(store().Put("ds", "r", "c", "1", 1));
  ASSERT_OK(store().Put("ds", "r", "c", "2", 2));
  ASSERT_OK(store().Put("ds", "r", "d", "3", 3));
  ASSERT_OK(store().Put("ds", "r2", "c", "4", 4));

  EXPECT_CODE(store().DeleteVersion("ds", "r", "c", 7), kNotFound);
  ASSERT_OK(store().DeleteVersion("ds", "r", "c", 2));
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{1}));
  ASSERT_OK(store().DeleteColumn("ds", "r", "c"));
  EXPECT_CODE(store().DeleteColumn("ds", "r", "c"), kNotFound);
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r", "c", &info), kNotFound);
  EXPECT_EQ(Latest("ds", "r", "d"), "3");
  EXPECT_CODE(store().DeleteRow("ds", "r", /*only_if_empty=*/true), kNotEmpty);
  ASSERT_OK(store().DeleteRow("ds", "r", false));
  EXPECT_EQ(RowNames("ds"), (std::vector<std::string>{"r2"}));
  EXPECT_CODE(store().DeleteRow("ds", "r", false), kNotFound);
}

// ---------------------------------------------------------------- moves

// History belongs to the name: a renamed column's latest content becomes
// the target's newest version; the source is deleted as by rm, its history
// kept under its name.
TEST_F(StoreApiTest, RenameMovesTheLatestAndKeepsTheSourcesHistory) {
  const Attrs attrs{0600, 1, 2, 0};
  Batch b;
  b.Put("ds", "r", "src", "v1", 1, &attrs);
  ASSERT_OK(store().Write(b));
  ASSERT_OK(store().Put("ds", "r", "src", "v2", 2));
  ASSERT_OK(store().CreateDataset("other", kDirAttrs));
  ASSERT_OK(store().MoveColumn({"ds", "r", "src"}, {"other", "x", "dst"},
                               MoveMode::kReplace));
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r", "src", &info), kNotFound);
  EXPECT_EQ(Timestamps("other", "x", "dst"), (std::vector<uint64_t>{2}));
  EXPECT_EQ(Latest("other", "x", "dst"), "v2");
  ASSERT_OK(store().StatColumn("other", "x", "dst", &info));
  EXPECT_EQ(*info.attrs, attrs);
  // Written again, src continues its history.
  ASSERT_OK(store().Put("ds", "r", "src", "v3"));
  EXPECT_EQ(Timestamps("ds", "r", "src").size(), 3u);
  EXPECT_EQ(Timestamps("ds", "r", "src")[1], 2u);

  // A source of a single version (a temporary file) leaves nothing behind.
  ASSERT_OK(store().Put("ds", "r", ".tmp", "t", 7));
  ASSERT_OK(store().MoveColumn({"ds", "r", ".tmp"}, {"ds", "r", "dst"},
                               MoveMode::kReplace));
  std::vector<std::string> keys;
  ASSERT_OK(store().RawKeys("ds", 0, &keys));
  for (const std::string& k : keys) {
    ParsedKey p;
    if (ParseKey(k, &p).ok()) {
      EXPECT_NE(p.column, ".tmp");
    }
  }
}

TEST_F(StoreApiTest, RenameOverExistingColumnKeepsTargetHistory) {
  ASSERT_OK(store().Put("ds", "r", "dst", "d1", 100));
  ASSERT_OK(store().Put("ds", "r", "dst", "d2", 200));
  ASSERT_OK(store().Put("ds", "r", "tmp", "t-old", 50));
  ASSERT_OK(store().Put("ds", "r", "tmp", "edited", 300));
  ASSERT_OK(store().MoveColumn({"ds", "r", "tmp"}, {"ds", "r", "dst"},
                               MoveMode::kReplace));
  EXPECT_EQ(Latest("ds", "r", "dst"), "edited");
  // The source's timestamp is kept when it is newer than the target's.
  EXPECT_EQ(Timestamps("ds", "r", "dst"),
            (std::vector<uint64_t>{300, 200, 100}));
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r", "tmp", &info), kNotFound);

  // An older source becomes latest + 1 and shows its own time.
  ASSERT_OK(store().Put("ds", "r", "tmp2", "older", 10));
  ASSERT_OK(store().MoveColumn({"ds", "r", "tmp2"}, {"ds", "r", "dst"},
                               MoveMode::kReplace));
  EXPECT_EQ(Timestamps("ds", "r", "dst"),
            (std::vector<uint64_t>{301, 300, 200, 100}));
  EXPECT_EQ(Latest("ds", "r", "dst"), "older");
  ASSERT_OK(store().StatColumn("ds", "r", "dst", &info));
  EXPECT_EQ(info.versions[0].mtime_ms, 10u);

  // The same bytes and time as the target's latest add nothing (rsync of
  // an unchanged file, restoring the same backup twice).
  ASSERT_OK(store().Put("ds", "r", "tmp3", "older", 10));
  ASSERT_OK(store().MoveColumn({"ds", "r", "tmp3"}, {"ds", "r", "dst"},
                               MoveMode::kReplace));
  EXPECT_EQ(Timestamps("ds", "r", "dst").size(), 4u);
}

TEST_F(StoreApiTest, RenameVersionsAndIntoVersions) {
  ASSERT_OK(store().Put("ds", "r", "c", "one", 1));
  ASSERT_OK(store().Put("ds", "r", "c", "two", 2));
  // A version to a new column: that version alone moves.
  ASSERT_OK(store().MoveColumn({"ds", "r", "c", 1}, {"ds", "r", "first"},
                               MoveMode::kReplace));
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{2}));
  EXPECT_EQ(Timestamps("ds", "r", "first"), (std::vector<uint64_t>{1}));
  // A column to a version name: stored as exactly that version.
  ASSERT_OK(store().Put("ds", "r", ".tmp", "restored", 99));
  ASSERT_OK(store().MoveColumn({"ds", "r", ".tmp"}, {"ds", "r", "c", 7},
                               MoveMode::kReplace));
  std::string v;
  ASSERT_OK(store().GetVersion("ds", "r", "c", 7, &v));
  EXPECT_EQ(v, "restored");
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{7, 2}));
  // Same source and target: nothing happens.
  ASSERT_OK(store().MoveColumn({"ds", "r", "c"}, {"ds", "r", "c"},
                               MoveMode::kReplace));
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{7, 2}));
  EXPECT_CODE(store().MoveColumn({"ds", "r", "nope"}, {"ds", "r", "x"},
                                 MoveMode::kReplace),
              kNotFound);
}

TEST_F(StoreApiTest, RenameNoReplaceAndExchange) {
  ASSERT_OK(store().Put("ds", "r", "a", "A", 1));
  ASSERT_OK(store().Put("ds", "r", "a", "A2", 2));
  ASSERT_OK(store().Put("ds", "r", "b", "B", 5));
  EXPECT_CODE(store().MoveColumn({"ds", "r", "a"}, {"ds", "r", "b"},
                                 MoveMode::kNoReplace),
              kAlreadyExists);
  ASSERT_OK(store().MoveColumn({"ds", "r", "a"}, {"ds", "r", "b"},
                               MoveMode::kExchange));
  EXPECT_EQ(Timestamps("ds", "r", "a"), (std::vector<uint64_t>{5}));
  EXPECT_EQ(Timestamps("ds", "r", "b"), (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(Latest("ds", "r", "b"), "A2");
  EXPECT_CODE(store().MoveColumn({"ds", "r", "a"}, {"ds", "r", "zz"},
                                 MoveMode::kExchange),
              kNotFound);
  EXPECT_CODE(store().MoveColumn({"ds", "r", "a"}, {"ds", "r", "b", 1},
                                 MoveMode::kExchange),
              kInvalidArgument);
  ASSERT_OK(store().MoveColumn({"ds", "r", "b", 1}, {"ds", "r", "a", 5},
                               MoveMode::kExchange));
  std::string v;
  ASSERT_OK(store().GetVersion("ds", "r", "a", 5, &v));
  EXPECT_EQ(v, "A");
  ASSERT_OK(store().GetVersion("ds", "r", "b", 1, &v));
  EXPECT_EQ(v, "B");
}

TEST_F(StoreApiTest, RowRenameMovesAllCells) {
  ASSERT_OK(store().CreateRow("ds", "src", Attrs{0700, 1, 1, 0}));
  ASSERT_OK(store().Put("ds", "src", "a", "1", 1));
  ASSERT_OK(store().Put("ds", "src", "a", "2", 2));
  ASSERT_OK(store().Put("ds", "src", "b", "3", 3));
  ASSERT_OK(store().CreateDataset("other", kDirAttrs));
  ASSERT_OK(store().MoveRow("ds", "src", "other", "dst", MoveMode::kReplace));
  EXPECT_TRUE(RowNames("ds").empty());
  EXPECT_EQ(Timestamps("other", "dst", "a"), (std::vector<uint64_t>{2, 1}));
  RowInfo row;
  ASSERT_OK(store().StatRow("other", "dst", &row));
  EXPECT_EQ(row.attrs->mode, 0700u);

  // Onto an empty row: allowed. Onto a non-empty one: NotEmpty.
  ASSERT_OK(store().CreateRow("other", "empty", kDirAttrs));
  ASSERT_OK(
      store().MoveRow("other", "dst", "other", "empty", MoveMode::kReplace));
  EXPECT_EQ(Latest("other", "empty", "b"), "3");
  ASSERT_OK(store().Put("other", "full", "x", "y", 1));
  EXPECT_CODE(
      store().MoveRow("other", "empty", "other", "full", MoveMode::kReplace),
      kNotEmpty);
  EXPECT_CODE(
      store().MoveRow("other", "empty", "other", "full", MoveMode::kNoReplace),
      kAlreadyExists);
  ASSERT_OK(
      store().MoveRow("other", "empty", "other", "full", MoveMode::kExchange));
  EXPECT_EQ(Latest("other", "full", "b"), "3");
  EXPECT_EQ(Latest("other", "empty", "x"), "y");
  EXPECT_CODE(
      store().MoveRow("other", "nope", "other", "x", MoveMode::kReplace),
      kNotFound);
}

// utimens: a version shows the time it is given; it takes it as its name
// only where that keeps its place among its column's entries.
TEST_F(StoreApiTest, SettingATimeNeverReordersHistory) {
  ASSERT_OK(store().Put("ds", "r", "c", "old", 100));
  ASSERT_OK(store().Put("ds", "r", "c", "new", 200));
  uint64_t ts = 0;
  // Later than the version before it: renamed (restores keep names).
  ASSERT_OK(store().SetVersionTime("ds", "r", "c", std::nullopt, 500, &ts));
  EXPECT_EQ(ts, 500u);
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{500, 100}));
  ASSERT_OK(store().SetVersionTime("ds", "r", "c", 100, 150, &ts));
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{500, 150}));
  // Older than the version before it (touch -d 2001, cp -p of an old
  // file): the latest stays the latest, and shows the time.
  ASSERT_OK(store().SetVersionTime("ds", "r", "c", std::nullopt, 7, &ts));
  EXPECT_EQ(ts, 500u);
  EXPECT_EQ(Latest("ds", "r", "c"), "new");
  ColumnInfo info;
  ASSERT_OK(store().StatColumn("ds", "r", "c", &info, 0));
  EXPECT_EQ(info.versions[0].mtime_ms, 7u);
  EXPECT_EQ(info.versions[1].mtime_ms, 150u);
  // Onto another version's time: never destroys it.
  ASSERT_OK(store().SetVersionTime("ds", "r", "c", 150, 500, &ts));
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{500, 150}));
  // Far ahead of the clock: shown, not a name.
  const uint64_t far = kStartMs + 48ull * 3600 * 1000;
  ASSERT_OK(store().SetVersionTime("ds", "r", "c", std::nullopt, far, &ts));
  EXPECT_EQ(ts, 500u);
  // Back to its own time: nothing but the time.
  ASSERT_OK(store().SetVersionTime("ds", "r", "c", std::nullopt, 500, &ts));
  ASSERT_OK(store().StatColumn("ds", "r", "c", &info));
  EXPECT_EQ(info.versions[0].mtime_ms, 500u);
  EXPECT_CODE(store().SetVersionTime("ds", "r", "c", 7, 8), kNotFound);
}

// rm keeps a column's history for keep_deleted; writing the column again
// continues it, and a copy of its last version with that version's time
// restores it as it was (tar -x twice changes nothing).
TEST_F(StoreApiTest, DeletedColumnsKeepTheirHistory) {
  ASSERT_OK(store().Put("ds", "r", "c", "one", 100));
  ASSERT_OK(store().Put("ds", "r", "c", "two", 200));
  ASSERT_OK(store().DeleteColumn("ds", "r", "c"));
  ColumnInfo info;
  EXPECT_CODE(store().StatColumn("ds", "r", "c", &info), kNotFound);
  std::vector<ColumnInfo> columns;
  EXPECT_CODE(store().ListColumns("ds", "r", &columns), kNotFound);
  // As of before the deletion, it is there.
  ReadView before;
  before.as_of = 250;
  ASSERT_OK(store().StatColumn("ds", "r", "c", &info, 0, before));
  EXPECT_EQ(info.versions.size(), 2u);

  // Restored with the same bytes and time: as it was, no new version.
  ASSERT_OK(store().Put("ds", "r", "c", "two"));
  uint64_t ts = 0;
  ASSERT_OK(store().SetVersionTime("ds", "r", "c", std::nullopt, 200, &ts));
  EXPECT_EQ(ts, 200u);
  EXPECT_EQ(Timestamps("ds", "r", "c"), (std::vector<uint64_t>{200, 100}));

  // Deleted again and written anew: the history continues.
  ASSERT_OK(store().DeleteColumn("ds", "r", "c"));
  ASSERT_OK(store().Put("ds", "r", "c", "three"));
  EXPECT_EQ(Latest("ds", "r", "c"), "three");
  EXPECT_EQ(Timestamps("ds", "r", "c").size(), 3u);

  // After keep_deleted, a deleted column's history is gone, on read at
  // once and physically at the next compaction.
  DatasetInfo ds;
  ASSERT_OK(store().GetDataset("ds", &ds));
  ds.policy.keep_deleted_seconds = 60;
  ASSERT_OK(store().SetDatasetPolicy("ds", ds.policy));
  ASSERT_OK(store().DeleteColumn("ds", "r", "c"));
  clock_.Advance(61 * 1000);
  ASSERT_OK(store().Put("ds", "r", "c", "four"));
  EXPECT_EQ(Timestamps("ds", "r", "c").size(), 1u);
  ASSERT_OK(store().CompactDataset("ds"));
  std::vector<std::string> keys;
  ASSERT_OK(store().RawKeys("ds", 0, &keys));
  size_t cells = 0;
  for (const std::string& k : keys) {
    ParsedKey p;
    if (ParseKey(k, &p).ok() && p.kind == KeyKind::kCell) ++cells;
  }
  EXPECT_EQ(cells, 1u);

  // An explicit purge, only of a deleted column.
  EXPECT_CODE(store().PurgeColumn("ds", "r", "c"), kNotEmpty);
  ASSERT_OK(store().DeleteColumn("ds", "r", "c"));
  ASSERT_OK(store().PurgeColumn("ds", "r", "c"));
  ASSERT_OK(store().RawKeys("ds", 0, &keys));
  for (const std::string& k : keys) {
    ParsedKey p;
    if (ParseKey(k, &p).ok()) {
      EXPECT_NE(p.column, "c");
    }
  }
  EXPECT_CODE(store().PurgeColumn("ds", "r", "c"), kNotFound);
}

// ---------------------------------------------------------------- durability

// Point reads reuse RocksDB iterators (refreshed, with new bounds): a reused
// one sees every write made since, across flushes and compactions, and the
// bounds of each read, never those of the previous one.
TEST_F(StoreApiTest, ReusedReadIteratorsSeeEveryWrite) {
  for (int i = 0; i < 40; ++i) {
    const std::string value = "v" + std::to_string(i);
    ASSERT_OK(store().Put("ds", "r", "c", value));
    EXPECT_EQ(Latest("ds", "r", "c"), value);
    if (i % 10 == 9) {
      ASSERT_OK(store().Flush());
    }
    if (i == 25) {
      ASSERT_OK(store().CompactDataset("ds"));
    }
  }
  ASSERT_OK(store().Put("ds", "a", "x", "first row"));
  ASSERT_OK(store().Put("ds", "z", "x", "last row"));
  EXPECT_EQ(Latest("ds", "a", "x"), "first row");
  EXPECT_EQ(Latest("ds", "z", "x"), "last row");
  EXPECT_EQ(Latest("ds", "m", "x"), "<NotFound: no column m/x>");
  EXPECT_EQ(Latest("ds", "r", "c0"), "<NotFound: no column r/c0>");
  ASSERT_OK(store().DeleteColumn("ds", "r", "c"));
  EXPECT_EQ(Latest("ds", "r", "c"), "<NotFound: no column r/c>");
  EXPECT_EQ(Latest("ds", "a", "x"), "first row");
}

// Idle reused iterators would pin the table files they last saw; the store
// lets them go when a compaction completes, so replaced files leave the disk.
TEST_F(StoreApiTest, IdleReadIteratorsDoNotKeepCompactedFiles) {
  auto sst_files = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(db_path())) {
      n += e.path().extension() == ".sst";
    }
    return n;
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(store().Put("ds", "r", "c", "v" + std::to_string(i)));
    ASSERT_OK(store().Flush());
    EXPECT_EQ(Latest("ds", "r", "c"), "v" + std::to_string(i));
  }
  const int before = sst_files();
  ASSERT_OK(store().CompactDataset("ds"));  // three files become one
  int after = sst_files();
  for (int i = 0; i < 100 && after != before - 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = sst_files();
  }
  EXPECT_EQ(after, before - 2);
  EXPECT_EQ(Latest("ds", "r", "c"), "v2");
}

TEST_F(StoreApiTest, DataSurvivesReopen) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(store().Put("ds", "row" + std::to_string(i), "c",
                          std::string(i, 'x'), 1000 + i));
  }
  Reopen();
  EXPECT_EQ(RowNames("ds").size(), 100u);
  EXPECT_EQ(Latest("ds", "row42", "c"), std::string(42, 'x'));
}

TEST_F(StoreApiTest, SecondWriterIsRefusedAsBusy) {
  std::unique_ptr<Store> second;
  Status s = Store::Open(options_, db_path(), &second);
  EXPECT_EQ(s.code(), Status::Code::kBusy) << s.ToString();
  EXPECT_EQ(second, nullptr);
}

TEST_F(StoreApiTest, ReadOnlyOpenRefusesWrites) {
  ASSERT_OK(store().Put("ds", "r", "c", "v", 5));
  store_.reset();
  StoreOptions ro = options_;
  ro.mode = StoreOptions::Mode::kReadOnly;
  std::unique_ptr<Store> reader;
  ASSERT_OK(Store::Open(ro, db_path(), &reader));
  Version v;
  ASSERT_OK(reader->GetLatest("ds", "r", "c", &v));
  EXPECT_EQ(v.value, "v");
  EXPECT_CODE(reader->Put("ds", "r", "c", "w"), kReadOnly);
  EXPECT_CODE(reader->CreateDataset("x", kDirAttrs), kReadOnly);
  EXPECT_CODE(reader->DeleteRow("ds", "r", false), kReadOnly);
}

// A RocksDB secondary ignores families created after it opened, and its
// catch-up fails for good (Corruption) once such a family is dropped: the
// follower's CatchUp must open them, drop them, and keep catching up.
TEST_F(StoreApiTest, FollowerFollowsDatasetsCreatedAndDroppedLater) {
  ASSERT_OK(store().Put("ds", "r", "c", "v0", 5));
  std::unique_ptr<Store> follower = OpenFollower("follower");
  ASSERT_NE(follower, nullptr);
  DatasetInfo info;

  ASSERT_OK(store().CreateDataset("later", kDirAttrs));
  ASSERT_OK(store().Put("later", "r", "c", "v1", 6));
  ASSERT_OK(store().SetDatasetPolicy("later", Policy{3, 0}));
  ASSERT_OK(follower->CatchUp());
  ASSERT_OK(follower->GetDataset("later", &info));
  EXPECT_EQ(info.policy.max_versions, 3u);
  Version v;
  ASSERT_OK(follower->GetLatest("later", "r", "c", &v));
  EXPECT_EQ(v.value, "v1");
  ASSERT_OK(follower->GetLatest("ds", "r", "c", &v));  // older ones still read
  EXPECT_EQ(v.value, "v0");

  // Created and dropped between two catch-ups: the case RocksDB alone
  // cannot get past.
  ASSERT_OK(store().CreateDataset("brief", kDirAttrs));
  ASSERT_OK(store().DropDataset("brief"));
  ASSERT_OK(store().DropDataset("later", /*force=*/true));
  ASSERT_OK(store().Put("ds", "r", "c", "v2", 7));
  ASSERT_OK(follower->CatchUp());
  EXPECT_CODE(follower->GetDataset("later", &info), kNotFound);
  EXPECT_CODE(follower->GetDataset("brief", &info), kNotFound);
  ASSERT_OK(follower->GetLatest("ds", "r", "c", &v));
  EXPECT_EQ(v.value, "v2");
  ASSERT_OK(store().Put("ds", "r", "c", "v3", 8));
  ASSERT_OK(follower->CatchUp());  // and goes on catching up
  ASSERT_OK(follower->GetLatest("ds", "r", "c", &v));
  EXPECT_EQ(v.value, "v3");

  // Dropped and made again under the same name between two catch-ups: the
  // record's creation time differs, so the follower opens the new one.
  ASSERT_OK(store().CreateDataset("again", Attrs{0755, 1000, 1000, 1000}));
  ASSERT_OK(store().Put("again", "r", "c", "first", 9));
  ASSERT_OK(follower->CatchUp());
  ASSERT_OK(follower->GetLatest("again", "r", "c", &v));
  EXPECT_EQ(v.value, "first");
  ASSERT_OK(store().DropDataset("again", /*force=*/true));
  ASSERT_OK(store().CreateDataset("again", Attrs{0755, 1000, 1000, 2000}));
  ASSERT_OK(store().Put("again", "r", "c", "second", 10));
  ASSERT_OK(follower->CatchUp());
  ASSERT_OK(follower->GetLatest("again", "r", "c", &v));
  EXPECT_EQ(v.value, "second");
}

// With many datasets a dropped dataset's family is dropped later, in a
// batch: a dataset dropped and made again with the very same record is
// told apart by its family.
TEST_F(StoreApiTest, FollowerSeesADatasetMadeAgainWithTheSameRecord) {
  for (int i = 0; i < 260; ++i) {
    ASSERT_OK(store().CreateDataset("filler" + std::to_string(i), kDirAttrs));
  }
  const Attrs attrs{0755, 1000, 1000, 1000};
  ASSERT_OK(store().CreateDataset("again", attrs));
  ASSERT_OK(store().Put("again", "r", "c", "first", 9));
  std::unique_ptr<Store> follower = OpenFollower("follower");
  ASSERT_NE(follower, nullptr);
  Version v;
  ASSERT_OK(follower->GetLatest("again", "r", "c", &v));
  EXPECT_EQ(v.value, "first");
  ASSERT_OK(store().DropDataset("again", /*force=*/true));
  ASSERT_OK(store().CreateDataset("again", attrs));
  ASSERT_OK(store().Put("again", "r", "c", "second", 10));
  ASSERT_OK(follower->CatchUp());
  ASSERT_OK(follower->GetLatest("again", "r", "c", &v));
  EXPECT_EQ(v.value, "second");
}

TEST(StoreOpenTest, RejectsAFileAsDatabasePath) {
  TempDir dir;
  const std::string file = dir.Sub("file");
  std::ofstream(file) << "x";
  std::unique_ptr<Store> store;
  EXPECT_CODE(Store::Open({}, file, &store), kInvalidArgument);
  StoreOptions ro;
  ro.mode = StoreOptions::Mode::kReadOnly;
  EXPECT_CODE(Store::Open(ro, dir.Sub("missing"), &store), kNotFound);
}

// ---------------------------------------------------------------- options

TEST(StoreOptionsTest, ParsesEveryOption) {
  StoreOptions o;
  ASSERT_OK(SetStoreOption(&o, "block_cache", "64M"));
  EXPECT_EQ(o.block_cache_bytes, 64u << 20);
  ASSERT_OK(SetStoreOption(&o, "write_buffer", "1G"));
  EXPECT_EQ(o.write_buffer_bytes, 1ull << 30);
  ASSERT_OK(SetStoreOption(&o, "bloom_bits", "0"));
  EXPECT_EQ(o.bloom_bits_per_key, 0);
  ASSERT_OK(SetStoreOption(&o, "row_prefix_bloom", "yes"));
  EXPECT_EQ(o.row_prefix_bloom, true);
  ASSERT_OK(SetStoreOption(&o, "max_open_files", "500"));
  EXPECT_EQ(o.max_open_files, 500);
  ASSERT_OK(SetStoreOption(&o, "compression", "zstd"));
  EXPECT_EQ(o.compression, "zstd");
  ASSERT_OK(SetStoreOption(&o, "blob_min", "64K"));
  EXPECT_EQ(o.blob_min_bytes, 64u << 10);
  const struct {
    const char *key, *value;
    Status::Code code;
  } bad[] = {
      {"nope", "1", Status::Code::kNotFound},
      {"block_cache", "12X", Status::Code::kInvalidArgument},
      {"block_cache", "-1", Status::Code::kInvalidArgument},
      {"write_buffer", "1K", Status::Code::kInvalidArgument},
      {"bloom_bits", "65", Status::Code::kInvalidArgument},
      {"row_prefix_bloom", "maybe", Status::Code::kInvalidArgument},
      {"compression", "brotli", Status::Code::kInvalidArgument},
      {"max_open_files", "-2", Status::Code::kInvalidArgument},
      {"blob_min", "1T", Status::Code::kInvalidArgument},
      {"options_file", "", Status::Code::kInvalidArgument},
  };
  for (const auto& b : bad) {
    EXPECT_EQ(SetStoreOption(&o, b.key, b.value).code(), b.code)
        << b.key << "=" << b.value;
  }
}

TEST(StoreOptionsTest, TuningOptionsAndOptionsFileOpenAWorkingStore) {
  TempDir dir;
  StoreOptions o;
  ASSERT_OK(SetStoreOption(&o, "row_prefix_bloom", "1"));
  ASSERT_OK(SetStoreOption(&o, "compression", "none"));
  ASSERT_OK(SetStoreOption(&o, "block_cache", "8M"));
  {
    std::unique_ptr<Store> store;
    ASSERT_OK(Store::Open(o, dir.Sub("db"), &store));
    ASSERT_OK(store->CreateDataset("ds", kDirAttrs));
    for (int r = 0; r < 50; ++r) {
      ASSERT_OK(store->Put("ds", "r" + std::to_string(r), "c", "v", 1));
    }
    ASSERT_OK(store->Flush());
    std::vector<RowInfo> rows;
    std::string next;
    ASSERT_OK(store->ListRows("ds", "", 0, &rows, &next));
    EXPECT_EQ(rows.size(), 50u);
    ColumnInfo info;
    ASSERT_OK(store->StatColumn("ds", "r7", "c", &info));
  }
  // Reopen with the OPTIONS file RocksDB wrote for this database.
  std::string options_file;
  for (const auto& e : std::filesystem::directory_iterator(dir.Sub("db"))) {
    if (e.path().filename().string().rfind("OPTIONS-", 0) == 0) {
      options_file = e.path();
    }
  }
  ASSERT_FALSE(options_file.empty());
  StoreOptions from_file;
  ASSERT_OK(SetStoreOption(&from_file, "options_file", options_file));
  std::unique_ptr<Store> store;
  ASSERT_OK(Store::Open(from_file, dir.Sub("db"), &store));
  Version v;
  ASSERT_OK(store->GetLatest("ds", "r7", "c", &v));
  StoreOptions missing;
  missing.options_file = dir.Sub("no-such-file");
  std::unique_ptr<Store> other;
  EXPECT_FALSE(Store::Open(missing, dir.Sub("db2"), &other).ok());
}

// Options given explicitly win over an options file for every dataset, not
// only for new ones: RocksDB records what each family was opened with in
// the OPTIONS file it writes at every open.
TEST(StoreOptionsTest, ExplicitOptionsWinOverAnOptionsFileForEveryDataset) {
  TempDir dir;
  auto newest_options_file = [&] {
    std::string newest;
    for (const auto& e : std::filesystem::directory_iterator(dir.Sub("db"))) {
      const std::string name = e.path().filename().string();
      if (name.rfind("OPTIONS-", 0) == 0 && name > newest) newest = name;
    }
    return newest.empty() ? newest : dir.Sub("db/" + newest);
  };
  {
    std::unique_ptr<Store> store;
    ASSERT_OK(Store::Open(StoreOptions(), dir.Sub("db"), &store));
    ASSERT_OK(store->CreateDataset("ds", kDirAttrs));
    ASSERT_OK(store->Put("ds", "r", "c", "v", 1));
  }
  StoreOptions o;
  ASSERT_OK(SetStoreOption(&o, "options_file", newest_options_file()));
  ASSERT_OK(SetStoreOption(&o, "write_buffer", "1M"));
  ASSERT_OK(SetStoreOption(&o, "compression", "none"));
  {
    std::unique_ptr<Store> store;
    ASSERT_OK(Store::Open(o, dir.Sub("db"), &store));
    Version v;
    ASSERT_OK(store->GetLatest("ds", "r", "c", &v));
    EXPECT_EQ(v.value, "v");
  }
  rocksdb::ConfigOptions config;
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  ASSERT_TRUE(rocksdb::LoadOptionsFromFile(config, newest_options_file(),
                                           &db_options, &families)
                  .ok());
  bool seen = false;
  for (const auto& f : families) {
    if (f.name == "default") continue;  // every other is a dataset's or spare
    seen = true;
    EXPECT_EQ(f.options.write_buffer_size, 1u << 20);
    EXPECT_EQ(f.options.compression, rocksdb::kNoCompression);
  }
  EXPECT_TRUE(seen) << "no dataset family in " << newest_options_file();
}

// blob_min: large values live in blob files, read back whole, and their
// space comes back once deleted and compacted.
TEST(StoreOptionsTest, BlobFilesHoldLargeValues) {
  TempDir dir;
  StoreOptions o;
  ASSERT_OK(SetStoreOption(&o, "blob_min", "4K"));
  auto blob_files = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.Sub("db"))) {
      n += e.path().extension() == ".blob";
    }
    return n;
  };
  std::unique_ptr<Store> store;
  ASSERT_OK(Store::Open(o, dir.Sub("db"), &store));
  ASSERT_OK(store->CreateDataset("ds", kDirAttrs));
  const std::string big(100 << 10, 'b');
  ASSERT_OK(store->Put("ds", "r", "big", big, 1));
  ASSERT_OK(store->Put("ds", "r", "big", big + "2", 2));
  ASSERT_OK(store->Put("ds", "r", "small", "s", 1));
  ASSERT_OK(store->Flush());
  EXPECT_EQ(blob_files(), 1);
  Version v;
  ASSERT_OK(store->GetLatest("ds", "r", "big", &v));
  EXPECT_TRUE(v.value == big + "2");
  ColumnInfo info;
  ASSERT_OK(store->StatColumn("ds", "r", "big", &info));
  ASSERT_EQ(info.versions.size(), 1u);
  EXPECT_EQ(info.versions[0].size, big.size() + 1);
  store.reset();
  ASSERT_OK(Store::Open(o, dir.Sub("db"), &store));  // survives a reopen
  std::string old;
  ASSERT_OK(store->GetVersion("ds", "r", "big", 1, &old));
  EXPECT_TRUE(old == big);
  // Deleted and purged (rm keeps history), then compacted: the records go,
  // garbage collection removes their chunks, compaction their blobs.
  ASSERT_OK(store->DeleteColumn("ds", "r", "big"));
  ASSERT_OK(store->PurgeColumn("ds", "r", "big"));
  ASSERT_OK(store->Flush());
  ASSERT_OK(store->CompactDataset("ds"));
  EXPECT_EQ(blob_files(), 0) << "garbage collection keeps a dead blob file";
  ASSERT_OK(store->GetLatest("ds", "r", "small", &v));
  EXPECT_EQ(v.value, "s");
}

}  // namespace
}  // namespace rowfs
