// The version layer without a database: record encoding, chunk maps, and a
// writer checked against a plain string model, with an in-memory ChunkIO
// that counts what is stored.
#include "content_writer.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "content_reader.h"
#include "testutil.h"
#include "version_record.h"

namespace rowfs {
namespace {

class MemoryChunkIO : public ChunkIO {
 public:
  Status ReadChunk(uint64_t content, uint32_t index,
                   std::string* out) override {
    auto it = chunks_.find({content, index});
    if (it == chunks_.end()) return Status::Corruption("missing chunk");
    *out = it->second;
    ++reads_;
    return Status::OK();
  }
  Status ReadChunks(const std::vector<ChunkId>& ids,
                    const ChunkVisitor& visit) override {
    ++batches_;
    last_batch_ = ids.size();
    for (size_t i = 1; i < ids.size(); ++i) {
      EXPECT_TRUE(std::tie(ids[i - 1].content, ids[i - 1].index) <
                  std::tie(ids[i].content, ids[i].index))
          << "ids not sorted";
    }
    return ChunkIO::ReadChunks(ids, visit);
  }
  Status WriteChunks(uint64_t content,
                     const std::vector<ChunkWrite>& chunks) override {
    for (const ChunkWrite& c : chunks) Put(content, c);
    return Status::OK();
  }
  Status NewContent(uint64_t* content) override {
    *content = next_++;
    pins_[*content]++;
    return Status::OK();
  }
  void Pin(const std::vector<uint64_t>& contents) override {
    for (uint64_t c : contents) pins_[c]++;
  }
  void Unpin(const std::vector<uint64_t>& contents) override {
    for (uint64_t c : contents) {
      if (--pins_[c] == 0) pins_.erase(c);
    }
  }
  void Put(uint64_t content, const ChunkWrite& c) {
    stored_bytes_ += c.bytes.size();
    chunks_[{content, c.index}] = std::string(c.bytes);
  }
  uint64_t stored_bytes() const { return stored_bytes_; }
  size_t pinned() const { return pins_.size(); }
  size_t reads() const { return reads_; }
  size_t batches() const { return batches_; }
  size_t last_batch() const { return last_batch_; }

 private:
  std::map<std::pair<uint64_t, uint32_t>, std::string> chunks_;
  std::map<uint64_t, int> pins_;
  uint64_t next_ = 1;
  uint64_t stored_bytes_ = 0;
  size_t reads_ = 0;
  size_t batches_ = 0;
  size_t last_batch_ = 0;
};

// Commits what `w` holds as the caller (the store) would: the chunks of
// Finish, then the writer learns its record is stored.
VersionRecord Commit(MemoryChunkIO* io, ContentWriter* w) {
  VersionRecord record;
  uint64_t content = 0;
  std::vector<ChunkWrite> chunks;
  EXPECT_OK(w->Finish(&record, &content, &chunks));
  for (const ChunkWrite& c : chunks) io->Put(content, c);
  io->Pin(ContentsOf(record));  // the writer's new base
  io->Unpin(w->Committed(record));
  return record;
}

std::string ReadAll(MemoryChunkIO* io, const VersionRecord& r) {
  std::string out;
  EXPECT_OK(ReadRecordRange(io, r, 0, r.size, &out));
  return out;
}

TEST(VersionRecordTest, RoundTripsEveryKind) {
  VersionRecord inline_rec;
  inline_rec.size = 5;
  inline_rec.data = "hello";
  inline_rec.mtime_ms = 1234;
  VersionRecord chunked;
  chunked.kind = RecordKind::kChunked;
  chunked.size = (uint64_t{10} << 16) + 7;
  chunked.chunk_shift = kLargeChunkShift;
  chunked.runs = {{0, 3, 7}, {5, 6, 99}};
  chunked.expires_ms = 99999;
  VersionRecord marker;
  marker.kind = RecordKind::kDeletion;
  for (const VersionRecord& r : {inline_rec, chunked, marker}) {
    VersionRecord back;
    ASSERT_OK(DecodeRecord(EncodeRecord(r), &back));
    EXPECT_EQ(back, r);
    VersionRecord header;
    ASSERT_OK(DecodeRecordHeader(EncodeRecord(r), &header));
    EXPECT_EQ(header.size, r.size);
    EXPECT_EQ(header.mtime_ms, r.mtime_ms);
    EXPECT_EQ(header.expires_ms, r.expires_ms);
  }
  EXPECT_EQ(ChunkContent(chunked.runs, 2), 7u);
  EXPECT_EQ(ChunkContent(chunked.runs, 3), 0u);
  EXPECT_EQ(ChunkContent(chunked.runs, 10), 99u);
  // A run past the end of the content is corruption, not a crash.
  chunked.runs.push_back({20, 1, 5});
  VersionRecord back;
  EXPECT_CODE(DecodeRecord(EncodeRecord(chunked), &back), kCorruption);
  for (std::string bad : {std::string(), std::string("\x09\x00", 2),
                          std::string("\x01\x00\x05he", 5)}) {
    EXPECT_CODE(DecodeRecord(bad, &back), kCorruption);
  }
}

TEST(ContentWriterTest, SmallContentsAreInline) {
  MemoryChunkIO io;
  DirtyBudget budget(1 << 30);
  ContentWriter w(&io, &budget, nullptr);
  ASSERT_OK(w.Write(0, "hello"));
  VersionRecord r = Commit(&io, &w);
  EXPECT_EQ(r.kind, RecordKind::kInline);
  EXPECT_EQ(r.data, "hello");
  EXPECT_EQ(io.stored_bytes(), 0u);
  // Appending past the inline limit makes small chunks.
  ASSERT_OK(w.Write(5, std::string(10000, 'x')));
  r = Commit(&io, &w);
  EXPECT_EQ(r.kind, RecordKind::kChunked);
  EXPECT_EQ(r.chunk_shift, kSmallChunkShift);
  EXPECT_EQ(ReadAll(&io, r), "hello" + std::string(10000, 'x'));
}

// The space target of appends: each one stores the last chunk, not the
// file.
TEST(ContentWriterTest, AnAppendStoresTheChunksItChanged) {
  MemoryChunkIO io;
  DirtyBudget budget(1 << 30);
  auto w = std::make_unique<ContentWriter>(&io, &budget, nullptr);
  const std::string big(10 << 20, 'a');
  ASSERT_OK(w->Write(0, big));
  VersionRecord base = Commit(&io, w.get());
  EXPECT_EQ(base.chunk_shift, kLargeChunkShift);
  const uint64_t after_base = io.stored_bytes();
  EXPECT_EQ(after_base, big.size());
  std::string model = big;
  for (int i = 0; i < 200; ++i) {
    // Each append through a fresh writer on the latest version, as `>>`.
    w = std::make_unique<ContentWriter>(&io, &budget, &base);
    const std::string line = "line " + std::to_string(i) + "\n";
    ASSERT_OK(w->Write(w->size(), line));
    model += line;
    base = Commit(&io, w.get());
  }
  EXPECT_EQ(ReadAll(&io, base), model);
  // 200 appends, each one 64 KiB chunk at most.
  EXPECT_LE(io.stored_bytes() - after_base, 200u * 65536);
  EXPECT_LE(io.stored_bytes(), 3 * model.size());
}

// A read asks for every chunk it covers at once (the store fetches them
// with one MultiGet), in key order, also across the contents of an
// appended file.
TEST(ContentReaderTest, ARangeIsFetchedInOneCall) {
  MemoryChunkIO io;
  DirtyBudget budget(1 << 30);
  std::string model(2 << 20, '\0');
  for (size_t i = 0; i < model.size(); ++i) model[i] = char('a' + i % 23);
  auto w = std::make_unique<ContentWriter>(&io, &budget, nullptr);
  ASSERT_OK(w->Write(0, model));
  VersionRecord base = Commit(&io, w.get());
  w = std::make_unique<ContentWriter>(&io, &budget, &base);
  ASSERT_OK(w->Write(w->size(), "appended tail"));
  model += "appended tail";
  const VersionRecord appended = Commit(&io, w.get());
  ASSERT_GE(ContentsOf(appended).size(), 2u);
  const uint64_t cs = appended.chunk_size();
  const uint64_t at = (3 << 19) + 100;  // 1.5 MiB + 100
  std::string got;
  ASSERT_OK(ReadRecordRange(&io, appended, at, 1 << 20, &got));
  EXPECT_EQ(got, model.substr(at));
  EXPECT_EQ(io.batches(), 1u);
  // From the chunk of 1.5 MiB to the last one, the appended chunk included.
  EXPECT_EQ(io.last_batch(), (model.size() - 1) / cs - at / cs + 1);
}

TEST(ContentWriterTest, ASparseWriteCostsOneChunk) {
  MemoryChunkIO io;
  DirtyBudget budget(1 << 30);
  ContentWriter w(&io, &budget, nullptr);
  ASSERT_OK(w.Write((uint64_t{1} << 30) - 1, "x"));
  EXPECT_LT(w.dirty_bytes(), 1u << 17);
  VersionRecord r = Commit(&io, &w);
  EXPECT_EQ(r.size, uint64_t{1} << 30);
  EXPECT_LE(io.stored_bytes(), 65536u);
  std::string tail;
  ASSERT_OK(ReadRecordRange(&io, r, (uint64_t{1} << 30) - 3, 10, &tail));
  EXPECT_EQ(tail, std::string("\0\0x", 3));
  std::string hole;
  ASSERT_OK(ReadRecordRange(&io, r, 12345, 4, &hole));
  EXPECT_EQ(hole, std::string(4, '\0'));
}

TEST(ContentWriterTest, MemoryStaysBoundedWhileStreaming) {
  MemoryChunkIO io;
  DirtyBudget budget(1 << 30);
  ContentWriter w(&io, &budget, nullptr);
  const std::string block(1 << 20, 'z');
  uint64_t peak = 0;
  for (int i = 0; i < 64; ++i) {
    ASSERT_OK(w.Write(uint64_t(i) << 20, block));
    peak = std::max(peak, w.dirty_bytes());
    EXPECT_EQ(budget.used(), w.dirty_bytes());
  }
  EXPECT_LE(peak, ContentWriter::kFlushBytes + block.size());
  const VersionRecord r = Commit(&io, &w);
  EXPECT_EQ(r.size, 64u << 20);
  EXPECT_EQ(budget.used(), 0u);
  std::string some;
  ASSERT_OK(ReadRecordRange(&io, r, 33u << 20, 100, &some));
  EXPECT_EQ(some, std::string(100, 'z'));
}

TEST(ContentWriterTest, TheSharedBudgetMakesWritersStore) {
  MemoryChunkIO io;
  DirtyBudget budget(1 << 20);  // 1 MiB for everyone
  std::vector<std::unique_ptr<ContentWriter>> writers;
  for (int i = 0; i < 5; ++i) {
    writers.push_back(std::make_unique<ContentWriter>(&io, &budget, nullptr));
  }
  const std::string block(256 << 10, 'q');
  for (int round = 0; round < 8; ++round) {
    for (auto& w : writers) ASSERT_OK(w->Write(w->size(), block));
    EXPECT_LE(budget.used(), (1u << 20) + 5 * block.size());
  }
}

// Random writes, truncates and commits against a string model: every
// version reads back exactly, and pins balance.
TEST(ContentWriterTest, RandomOperationsMatchAModel) {
  MemoryChunkIO io;
  DirtyBudget budget(256 << 10);  // small: stores often
  std::mt19937_64 rng(20261207);
  std::string model;
  std::vector<std::pair<VersionRecord, std::string>> versions;
  auto w = std::make_unique<ContentWriter>(&io, &budget, nullptr);
  for (int op = 0; op < 3000; ++op) {
    const int what = static_cast<int>(rng() % 100);
    const uint64_t limit = (rng() % 4 == 0) ? (8u << 20) : (64u << 10);
    if (what < 55) {
      const uint64_t off = rng() % limit;
      std::string data(rng() % 20000 + 1, 'a' + static_cast<char>(op % 26));
      ASSERT_OK(w->Write(off, data));
      if (model.size() < off + data.size()) model.resize(off + data.size());
      model.replace(off, data.size(), data);
    } else if (what < 70) {
      const uint64_t size = rng() % limit;
      ASSERT_OK(w->Truncate(size));
      model.resize(size);
    } else if (what < 85) {
      const uint64_t off = rng() % (model.size() + 10);
      std::string got;
      ASSERT_OK(w->Read(off, 5000, &got));
      const std::string want =
          off >= model.size() ? std::string() : model.substr(off, 5000);
      ASSERT_EQ(got, want) << "op " << op;
    } else if (what < 97) {
      const VersionRecord r = Commit(&io, w.get());
      ASSERT_EQ(r.size, model.size());
      versions.emplace_back(r, model);
    } else {
      // Reopen on the latest version, as a new open(2) would.
      const VersionRecord base = Commit(&io, w.get());
      versions.emplace_back(base, model);
      io.Unpin(w->base_contents());
      io.Pin(ContentsOf(base));
      w = std::make_unique<ContentWriter>(&io, &budget, &base);
    }
    ASSERT_EQ(w->size(), model.size());
  }
  for (const auto& [record, content] : versions) {
    ASSERT_EQ(ReadAll(&io, record), content);
  }
  io.Unpin(w->base_contents());
  w.reset();
  EXPECT_EQ(budget.used(), 0u);
  // Every pin was released (records protect contents in a store, not
  // pins): a leaked pin would keep garbage forever.
  EXPECT_EQ(io.pinned(), 0u);
}

}  // namespace
}  // namespace rowfs
