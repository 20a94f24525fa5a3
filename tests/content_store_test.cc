// Storage format 2 in a real store: versions share chunks, writers stream in
// bounded memory, garbage collection reclaims exactly what no record (and no
// reader, writer or snapshot) uses, and a format-1 database is upgraded.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <fstream>

#include "content_space.h"
#include "rowfs/key_codec.h"
#include "rowfs/store.h"
#include "testutil.h"

namespace rowfs {
namespace {

const Attrs kDirAttrs{0755, 0, 0, 0};

class ContentStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK(store().CreateDataset("ds", kDirAttrs));
  }
  // Writes `content` as a new version of ds/r/c through a file writer
  // started from the latest version (empty when there is none).
  uint64_t WriteFile(const std::string& column,
                     const std::function<void(FileWriter*)>& edit,
                     bool from_latest = true) {
    std::unique_ptr<VersionReader> base;
    if (from_latest) {
      Status s =
          store().OpenVersion("ds", "r", column, std::nullopt, {}, &base);
      EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    }
    std::unique_ptr<FileWriter> w;
    EXPECT_OK(store().NewWriter("ds", base.get(), &w));
    edit(w.get());
    uint64_t ts = 0;
    EXPECT_OK(store().CommitWriter(w.get(), "ds", "r", column, {}, &ts));
    return ts;
  }
  std::string Read(const std::string& column,
                   std::optional<uint64_t> ts = std::nullopt) {
    std::unique_ptr<VersionReader> reader;
    Status s = store().OpenVersion("ds", "r", column, ts, {}, &reader);
    if (!s.ok()) return "<" + s.ToString() + ">";
    std::string out;
    EXPECT_OK(reader->ReadAt(0, reader->size(), &out));
    return out;
  }
  ContentReport Check() {
    ContentReport r;
    EXPECT_OK(store().CheckContent("ds", &r));
    return r;
  }
};

TEST_F(ContentStoreTest, AppendsShareEveryChunkTheyDoNotChange) {
  const std::string big(10 << 20, 'a');
  WriteFile("log", [&](FileWriter* w) { ASSERT_OK(w->Write(0, big)); });
  const uint64_t base_bytes = Check().chunk_bytes;
  EXPECT_EQ(base_bytes, big.size());
  std::string model = big;
  for (int i = 0; i < 50; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    WriteFile("log",
              [&](FileWriter* w) { ASSERT_OK(w->Write(w->size(), line)); });
    model += line;
  }
  EXPECT_EQ(Read("log"), model);
  const ContentReport r = Check();
  EXPECT_EQ(r.dangling, 0u);
  EXPECT_EQ(r.unreferenced, 0u);
  // Each append cost one chunk (64 KiB at most), not a copy of the file.
  EXPECT_LE(r.chunk_bytes - base_bytes, 50u * 65536);
  ColumnInfo info;
  ASSERT_OK(store().StatColumn("ds", "r", "log", &info, 0));
  EXPECT_EQ(info.versions.size(), 51u);
}

TEST_F(ContentStoreTest, ReadsAreByRangeAndHolesAreZeros) {
  WriteFile("sparse", [&](FileWriter* w) {
    ASSERT_OK(w->Write((uint64_t{1} << 30) - 1, "x"));
  });
  EXPECT_LE(Check().chunk_bytes, 65536u);
  std::unique_ptr<VersionReader> reader;
  ASSERT_OK(
      store().OpenVersion("ds", "r", "sparse", std::nullopt, {}, &reader));
  EXPECT_EQ(reader->size(), uint64_t{1} << 30);
  std::string out;
  ASSERT_OK(reader->ReadAt(12345678, 4096, &out));
  EXPECT_EQ(out, std::string(4096, '\0'));
  ASSERT_OK(reader->ReadAt((uint64_t{1} << 30) - 2, 100, &out));
  EXPECT_EQ(out, std::string("\0x", 2));
}

TEST_F(ContentStoreTest, GarbageCollectionReclaimsWhatNoRecordUses) {
  const std::string a(3 << 20, 'a');
  const uint64_t t1 =
      WriteFile("c", [&](FileWriter* w) { ASSERT_OK(w->Write(0, a)); });
  WriteFile("c", [&](FileWriter* w) { ASSERT_OK(w->Write(100, "bbbb")); });
  // The old version's chunks are shared but one; deleting it leaves one
  // chunk nobody refers to.
  ASSERT_OK(store().DeleteVersion("ds", "r", "c", t1));
  EXPECT_EQ(Check().unreferenced, 1u);
  EXPECT_EQ(Check().dangling, 0u);
  ASSERT_OK(store().CollectGarbage("ds"));
  EXPECT_EQ(Check().unreferenced, 0u);
  EXPECT_EQ(Check().dangling, 0u);
  std::string want = a;
  want.replace(100, 4, "bbbb");
  EXPECT_EQ(Read("c"), want);
}

TEST_F(ContentStoreTest, CollectionSparesReadersWritersAndSnapshots) {
  const std::string a(1 << 20, 'a');
  const uint64_t t1 =
      WriteFile("c", [&](FileWriter* w) { ASSERT_OK(w->Write(0, a)); });
  // A reader of t1, a snapshot seeing t1, and a writer started from t1.
  std::unique_ptr<VersionReader> reader;
  ASSERT_OK(store().OpenVersion("ds", "r", "c", t1, {}, &reader));
  std::shared_ptr<const Snapshot> snapshot = store().NewSnapshot();
  std::unique_ptr<FileWriter> writer;
  {
    std::unique_ptr<VersionReader> base;
    ASSERT_OK(store().OpenVersion("ds", "r", "c", t1, {}, &base));
    ASSERT_OK(store().NewWriter("ds", base.get(), &writer));
  }
  // A writer's own stored (not yet committed) chunks: past the flush limit.
  std::unique_ptr<FileWriter> streaming;
  ASSERT_OK(store().NewWriter("ds", nullptr, &streaming));
  ASSERT_OK(streaming->Write(0, std::string(9 << 20, 's')));
  // Now t1 goes, and collection runs.
  ASSERT_OK(store().DeleteVersion("ds", "r", "c", t1));
  ASSERT_OK(store().CollectGarbage("ds"));
  std::string out;
  ASSERT_OK(reader->ReadAt(0, a.size(), &out));
  EXPECT_EQ(out, a);
  ReadView at_snapshot{snapshot};
  std::unique_ptr<VersionReader> through_snapshot;
  ASSERT_OK(
      store().OpenVersion("ds", "r", "c", t1, at_snapshot, &through_snapshot));
  ASSERT_OK(through_snapshot->ReadAt(0, a.size(), &out));
  EXPECT_EQ(out, a);
  ASSERT_OK(writer->Write(0, "z"));
  uint64_t ts = 0;
  ASSERT_OK(store().CommitWriter(writer.get(), "ds", "r", "c", {}, &ts));
  EXPECT_EQ(Read("c"), "z" + a.substr(1));
  ASSERT_OK(store().CommitWriter(streaming.get(), "ds", "r", "s", {}, &ts));
  EXPECT_EQ(Read("s"), std::string(9 << 20, 's'));
  // Once they are gone, what only they used goes too.
  reader.reset();
  through_snapshot.reset();
  snapshot.reset();
  at_snapshot.snapshot.reset();  // a view holds its snapshot too
  writer.reset();
  streaming.reset();
  ASSERT_OK(store().CollectGarbage("ds"));
  const ContentReport r = Check();
  EXPECT_EQ(r.unreferenced, 0u);
  EXPECT_EQ(r.dangling, 0u);
}

// A writer killed half-way (here: dropped without a commit) leaves only
// unreferenced chunks, which the next collection removes.
TEST_F(ContentStoreTest, AnAbandonedWriterLeavesOnlyGarbage) {
  {
    // Written in order: its chunks are staged in a table file of their
    // own, removed with the writer.
    std::unique_ptr<FileWriter> w;
    ASSERT_OK(store().NewWriter("ds", nullptr, &w));
    ASSERT_OK(w->Write(0, std::string(20 << 20, 'q')));
  }
  EXPECT_EQ(Check().unreferenced, 0u);
  EXPECT_TRUE(std::filesystem::is_empty(ContentSpace::StagingDir(db_path())));
  {
    // Written backwards: a staged table is ingested as soon as an earlier
    // chunk is stored (newer chunks must win), the rest goes through the
    // memtable; all of it is garbage once the writer is gone.
    std::unique_ptr<FileWriter> w;
    ASSERT_OK(store().NewWriter("ds", nullptr, &w));
    const std::string piece(512 << 10, 'b');
    for (uint64_t at = 20 << 20; at > 0; at -= piece.size()) {
      ASSERT_OK(w->Write(at - piece.size(), piece));
    }
  }
  EXPECT_GT(Check().unreferenced, 0u);
  ASSERT_OK(store().CollectGarbage("ds"));
  EXPECT_EQ(Check().unreferenced, 0u);
  // A table a killed daemon staged is removed by the next read-write start.
  const std::string staged = ContentSpace::StagingDir(db_path());
  std::filesystem::create_directories(staged);
  std::ofstream(staged + "/left-by-a-crash.sst") << "x";
  Reopen();  // the same after a restart (ids are never reused)
  EXPECT_FALSE(std::filesystem::exists(staged + "/left-by-a-crash.sst"));
  ASSERT_OK(store().CollectGarbage("ds"));
  WriteFile("c", [&](FileWriter* w) { ASSERT_OK(w->Write(0, "after")); });
  EXPECT_EQ(Read("c"), "after");
}

// A large file written in order is staged in a table file of its own and
// ingested at the commit. Chunks lost with that table (here: removed
// before the commit) fail the commit: no record ever refers to them.
TEST_F(ContentStoreTest, ChunksLostWithAStagedTableFailTheCommit) {
  std::unique_ptr<FileWriter> w;
  ASSERT_OK(store().NewWriter("ds", nullptr, &w));
  ASSERT_OK(w->Write(0, std::string(9 << 20, 's')));
  const std::string staged = ContentSpace::StagingDir(db_path());
  ASSERT_FALSE(std::filesystem::is_empty(staged));
  for (const auto& e : std::filesystem::directory_iterator(staged)) {
    std::filesystem::remove(e.path());
  }
  uint64_t ts = 0;
  EXPECT_FALSE(store().CommitWriter(w.get(), "ds", "r", "c", {}, &ts).ok());
  EXPECT_FALSE(store().CommitWriter(w.get(), "ds", "r", "c", {}, &ts).ok())
      << "a second try must not commit without the lost chunks";
  w.reset();
  EXPECT_EQ(Check().dangling, 0u);
  EXPECT_EQ(Read("c").substr(0, 10), "<NotFound:");
  // Nothing else is affected.
  WriteFile("c", [&](FileWriter* f) {
    ASSERT_OK(f->Write(0, std::string(9 << 20, 't')));
  });
  EXPECT_EQ(Read("c"), std::string(9 << 20, 't'));
  EXPECT_TRUE(std::filesystem::is_empty(staged));
  EXPECT_EQ(Check().dangling, 0u);
}

// A table that cannot be staged (here: a file where its directory goes)
// fails the write and every commit of the file, and hangs nothing.
TEST_F(ContentStoreTest, AFailedStagingFailsTheFileAndHangsNothing) {
  const std::string staged = ContentSpace::StagingDir(db_path());
  std::filesystem::remove_all(staged);
  std::ofstream(staged) << "in the way";
  std::unique_ptr<FileWriter> w;
  ASSERT_OK(store().NewWriter("ds", nullptr, &w));
  Status s;
  for (int i = 0; i < 9 && s.ok(); ++i) {
    s = w->Write(uint64_t(i) << 20, std::string(1 << 20, 'f'));
  }
  EXPECT_FALSE(s.ok());
  uint64_t ts = 0;
  EXPECT_FALSE(store().CommitWriter(w.get(), "ds", "r", "c", {}, &ts).ok());
  w.reset();
  EXPECT_EQ(Check().dangling, 0u);
  std::filesystem::remove(staged);
  WriteFile("c", [&](FileWriter* f) {
    ASSERT_OK(f->Write(0, std::string(9 << 20, 'g')));
  });
  EXPECT_TRUE(Read("c") == std::string(9 << 20, 'g'));
}

// Chunks staged and then cut off by a truncate are older than what the
// commit writes in their place, whenever their table is ingested.
TEST_F(ContentStoreTest, ChunksATruncateCutOffNeverComeBack) {
  const std::string base(1 << 20, 'b');
  WriteFile("c", [&](FileWriter* f) { ASSERT_OK(f->Write(0, base)); });
  std::unique_ptr<VersionReader> latest;
  ASSERT_OK(store().OpenVersion("ds", "r", "c", std::nullopt, {}, &latest));
  std::unique_ptr<FileWriter> w;
  ASSERT_OK(store().NewWriter("ds", latest.get(), &w));
  ASSERT_OK(w->Write(base.size(), std::string(8 << 20, 'x')));  // staged
  ASSERT_OK(w->Truncate(base.size()));
  ASSERT_OK(w->Write(base.size(), "tail"));
  uint64_t ts = 0;
  ASSERT_OK(store().CommitWriter(w.get(), "ds", "r", "c", {}, &ts));
  EXPECT_TRUE(Read("c") == base + "tail") << "cut-off chunks came back";
  std::string back;
  ASSERT_OK(w->Read(base.size(), 4, &back));  // the writer reads on
  EXPECT_EQ(back, "tail");
  w.reset();
  latest.reset();
  EXPECT_TRUE(Read("c") == base + "tail") << "cut-off chunks came back";
  Reopen();
  EXPECT_TRUE(Read("c") == base + "tail") << "cut-off chunks came back";
}

TEST_F(ContentStoreTest, LargePutsAreChunkedAndDeletedHistoryIsCollected) {
  const std::string big(5 << 20, 'p');
  ASSERT_OK(store().Put("ds", "r", "c", big));
  ASSERT_OK(store().Put("ds", "r", "c", "small"));
  EXPECT_EQ(Check().chunk_bytes, big.size());
  // Deleted, kept for keep_deleted, then purged: collection frees it.
  ASSERT_OK(store().DeleteColumn("ds", "r", "c"));
  ASSERT_OK(store().CollectGarbage("ds"));
  EXPECT_EQ(Check().chunk_bytes, big.size());  // still history
  ASSERT_OK(store().PurgeColumn("ds", "r", "c"));
  ASSERT_OK(store().CollectGarbage("ds"));
  EXPECT_EQ(Check().chunks, 0u);
}

// ---------------------------------------------------------------- upgrade

// Writes a database in format 1 as rowfs 0.1 did: one family per dataset,
// cells holding raw bytes, no format record.
void MakeFormat1Database(const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>&
                             cells /* column -> value, row "r", ts 1000+i */) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, path, &db).ok());
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  ASSERT_TRUE(db->CreateColumnFamily({}, "old", &cf).ok());
  // The dataset record (format byte 1: attrs, max_versions, ttl).
  std::string record(1, '\1');
  for (uint32_t v : {0755u, 0u, 0u}) {
    for (int i = 3; i >= 0; --i) record.push_back(char((v >> (8 * i)) & 255));
  }
  record.append(8 + 16, '\0');
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "dataset/old", record).ok());
  uint64_t ts = 1000;
  for (const auto& [column, value] : cells) {
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), cf, CellKey("r", column, ts++), value)
            .ok());
  }
  db->DestroyColumnFamilyHandle(cf);
  delete db;
}

TEST(FormatTest, AFormat1DatabaseIsUpgradedAfterACheckpoint) {
  TempDir dir;
  const std::string db = dir.Sub("db");
  const std::string small = "small value", page(10000, 'p'),
                    large((5 << 20) + 3, 'L');
  MakeFormat1Database(
      db, {{"a", small}, {"b", page}, {"c", large}, {"c", "newest c"}});
  std::unique_ptr<Store> store;
  // Read-only first: refused, never misread.
  StoreOptions ro;
  ro.mode = StoreOptions::Mode::kReadOnly;
  EXPECT_CODE(Store::Open(ro, db, &store), kNotSupported);
  ASSERT_OK(Store::Open(StoreOptions{}, db, &store));
  Version v;
  ASSERT_OK(store->GetLatest("old", "r", "a", &v));
  EXPECT_EQ(v.value, small);
  ASSERT_OK(store->GetLatest("old", "r", "b", &v));
  EXPECT_EQ(v.value, page);
  std::string value;
  ASSERT_OK(store->GetVersion("old", "r", "c", 1002, &value));
  EXPECT_TRUE(value == large);
  ASSERT_OK(store->GetLatest("old", "r", "c", &v));
  EXPECT_EQ(v.value, "newest c");
  ContentReport r;
  ASSERT_OK(store->CheckContent("old", &r));
  EXPECT_EQ(r.dangling, 0u);
  EXPECT_EQ(r.unreferenced, 0u);
  store.reset();
  // The checkpoint of the format-1 state is beside the database.
  bool checkpoint = false;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    checkpoint |= e.path().filename().string().rfind("db.format1-", 0) == 0;
  }
  EXPECT_TRUE(checkpoint);
  // Upgraded once: a reopen (read-only too) reads format 2 as it is.
  ASSERT_OK(Store::Open(ro, db, &store));
  ASSERT_OK(store->GetVersion("old", "r", "c", 1002, &value));
  EXPECT_TRUE(value == large);
}

TEST(FormatTest, ANewerFormatIsRefused) {
  TempDir dir;
  const std::string db = dir.Sub("db");
  {
    std::unique_ptr<Store> store;
    ASSERT_OK(Store::Open(StoreOptions{}, db, &store));
    ASSERT_OK(store->CreateDataset("ds", kDirAttrs));
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), "format", "3").ok());
  }
  std::unique_ptr<Store> store;
  Status s = Store::Open(StoreOptions{}, db, &store);
  EXPECT_CODE(s, kNotSupported);
  EXPECT_NE(s.message().find("format 3"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace rowfs
