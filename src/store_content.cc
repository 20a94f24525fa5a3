// Version readers and file writers: a version's content read by range, and
// a file's new content streamed in bounded memory, committed as one
// version.
#include "content_reader.h"
#include "content_writer.h"
#include "records.h"
#include "store_impl.h"

namespace rowfs {
namespace {

class VersionReaderImpl : public VersionReader {
 public:
  // Takes over the pins ReadPinned made for `record`.
  VersionReaderImpl(DatasetPtr ds, uint64_t ts, VersionRecord record)
      : ds_(std::move(ds)), ts_(ts), record_(std::move(record)) {}
  ~VersionReaderImpl() override { ds_->content.Unpin(ContentsOf(record_)); }
  uint64_t ts() const override { return ts_; }
  uint64_t size() const override { return record_.size; }
  uint64_t mtime_ms() const override { return record_.ShownMtime(ts_); }
  const VersionRecord& record() const { return record_; }
  const DatasetPtr& dataset() const { return ds_; }
  Status ReadAt(uint64_t offset, size_t n, std::string* out) override {
    return ReadRecordRange(&ds_->content, record_, offset, n, out);
  }

 private:
  const DatasetPtr ds_;
  const uint64_t ts_;
  const VersionRecord record_;
};

class FileWriterImpl : public FileWriter {
 public:
  FileWriterImpl(DatasetPtr ds, DirtyBudget* budget, const VersionRecord* base)
      : ds_(std::move(ds)), writer_(&ds_->content, budget, base) {}
  ~FileWriterImpl() override { ds_->content.Unpin(writer_.base_contents()); }
  uint64_t size() const override { return writer_.size(); }
  bool changed() const override { return writer_.changed(); }
  Status Read(uint64_t offset, size_t n, std::string* out) override {
    return writer_.Read(offset, n, out);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    return writer_.Write(offset, data);
  }
  Status Truncate(uint64_t size) override { return writer_.Truncate(size); }

  Dataset* dataset() const { return ds_.get(); }
  ContentWriter* writer() { return &writer_; }

 private:
  const DatasetPtr ds_;
  ContentWriter writer_;
};

}  // namespace

Status Store::OpenVersion(std::string_view dataset, std::string_view row,
                          std::string_view column, std::optional<uint64_t> ts,
                          const ReadView& view,
                          std::unique_ptr<VersionReader>* reader) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  uint64_t found = 0;
  VersionRecord record;
  ROWFS_RETURN_IF_ERROR(
      impl_->ReadPinned(*ds, row, column, ts, view, &found, &record));
  *reader = std::make_unique<VersionReaderImpl>(std::move(ds), found,
                                                std::move(record));
  return Status::OK();
}

Status Store::NewWriter(std::string_view dataset, const VersionReader* base,
                        std::unique_ptr<FileWriter>* writer) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("write"));
  if (base == nullptr) {
    DatasetPtr ds;
    ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
    *writer = std::make_unique<FileWriterImpl>(std::move(ds),
                                               &impl_->dirty_budget, nullptr);
    return Status::OK();
  }
  const auto& reader = static_cast<const VersionReaderImpl&>(*base);
  // The writer holds its own pins on the base's contents.
  reader.dataset()->content.Pin(ContentsOf(reader.record()));
  *writer = std::make_unique<FileWriterImpl>(
      reader.dataset(), &impl_->dirty_budget, &reader.record());
  return Status::OK();
}

Status Store::CommitWriter(FileWriter* writer, std::string_view dataset,
                           std::string_view row, std::string_view column,
                           const CommitOptions& options, uint64_t* ts_out) {
  auto* w = static_cast<FileWriterImpl*>(writer);
  if (options.ts != kServerTimestamp) {
    ROWFS_RETURN_IF_ERROR(impl_->CheckStoredTimestamp(options.ts));
  }
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(
      impl_->Prepare("store version", {{dataset, row, column}}, &l));
  Dataset& ds = *l.ds[0];
  if (&ds != w->dataset()) {
    return Status::NotFound("dataset '" + std::string(dataset) +
                            "' was dropped and made again");
  }
  VersionRecord record;
  uint64_t content = 0;
  std::vector<ChunkWrite> chunks;
  ROWFS_RETURN_IF_ERROR(w->writer()->Finish(&record, &content, &chunks));
  if (content != 0) {
    // Chunks stored while the file was written (even ones a truncate made
    // unused, which may still wait in a staged table) are made durable,
    // and older than the chunks of this commit, before the record exists.
    ROWFS_RETURN_IF_ERROR(ds.content.Seal(content));
  }
  uint64_t ts = options.ts;
  if (ts == kServerTimestamp) {
    ROWFS_RETURN_IF_ERROR(impl_->NextTimestamp(ds, row, column, {}, &ts));
  } else {
    // Replacing a version: what it held may become garbage.
    ds.removed_records.fetch_add(1, std::memory_order_relaxed);
  }
  record.mtime_ms = options.mtime_ms == ts ? 0 : options.mtime_ms;
  size_t bytes = 512;
  for (const ChunkWrite& c : chunks) bytes += c.bytes.size() + 32;
  rocksdb::WriteBatch wb(bytes + record.data.size());
  const std::string column_key = ColumnBegin(row, column);
  if (!ds.bound.KnownPut(column_key)) {
    bool deleted = false;
    ROWFS_RETURN_IF_ERROR(impl_->ColumnDeleted(ds, row, column, &deleted));
    if (deleted) {
      ROWFS_RETURN_IF_ERROR(
          impl_->StageRevive(ds, row, column, ts, &wb, &record.expires_ms));
    }
  }
  for (const ChunkWrite& c : chunks) {
    wb.Put(ds.cf, ContentKey(content, c.index), ToSlice(c.bytes));
  }
  wb.Put(ds.cf, CellKey(row, column, ts), EncodeRecord(record));
  if (options.attrs) {
    wb.Put(ds.cf, ColumnMetaKey(row, column),
           EncodeColumnMeta(*options.attrs, /*deleted=*/false));
  }
  ROWFS_RETURN_IF_ERROR(impl_->Commit(&wb, WriteOptions{options.sync},
                                      "store version",
                                      {{&ds, column_key, true, ts}}));
  // The writer continues from the version just stored.
  ds.content.Pin(ContentsOf(record));
  ds.content.Unpin(w->writer()->Committed(record));
  if (ts_out != nullptr) *ts_out = ts;
  return Status::OK();
}

}  // namespace rowfs
