#include "open_file.h"

#include <algorithm>

namespace rowfs {

std::shared_ptr<OpenFile> OpenFile::ForCreate(const Attrs& attrs,
                                              uint64_t now_ms) {
  auto f = std::make_shared<OpenFile>();
  f->deferred = true;
  f->created = true;
  f->attrs = attrs;
  f->modified_ms = now_ms;
  return f;
}

std::shared_ptr<OpenFile> OpenFile::ForExisting() {
  return std::make_shared<OpenFile>();
}

Status OpenFile::EnsureLoaded(Source* source) {
  if (loaded()) return Status::OK();
  if (created) return source->NewWriter(nullptr, &writer);
  ROWFS_RETURN_IF_ERROR(source->OpenReader(&reader));
  stored_ts = reader->ts();
  stored_mtime = modified_ms = reader->mtime_ms();
  return Status::OK();
}

Status OpenFile::EnsureWriter(Source* source) {
  if (writer != nullptr) return Status::OK();
  ROWFS_RETURN_IF_ERROR(EnsureLoaded(source));
  if (writer != nullptr) return Status::OK();
  // From exactly the content this file has been reading, whatever became
  // of its version since.
  ROWFS_RETURN_IF_ERROR(source->NewWriter(reader.get(), &writer));
  reader.reset();
  return Status::OK();
}

uint64_t OpenFile::size() const {
  if (writer != nullptr) return writer->size();
  if (reader != nullptr) return reader->size();
  return 0;
}

Status OpenFile::Read(uint64_t offset, size_t size, Source* source,
                      std::string* out) {
  ROWFS_RETURN_IF_ERROR(EnsureLoaded(source));
  if (writer != nullptr) return writer->Read(offset, size, out);
  return reader->ReadAt(offset, size, out);
}

Status OpenFile::Write(uint64_t offset, std::string_view bytes,
                       uint64_t max_size, uint64_t now_ms, Source* source) {
  if (offset > max_size || bytes.size() > max_size - offset) {
    return Status::TooLarge("write ends at byte " +
                            std::to_string(offset + bytes.size()) + ", limit " +
                            std::to_string(max_size));
  }
  ROWFS_RETURN_IF_ERROR(EnsureWriter(source));
  ROWFS_RETURN_IF_ERROR(writer->Write(offset, bytes));
  dirty = true;
  modified_ms = now_ms;
  return Status::OK();
}

Status OpenFile::Truncate(uint64_t size, uint64_t max_size, uint64_t now_ms,
                          Source* source, bool at_open) {
  if (size > max_size) {
    return Status::TooLarge("size " + std::to_string(size) + " above limit " +
                            std::to_string(max_size));
  }
  if (size == 0 && writer == nullptr) {
    // Nothing of the old content survives: no need to open it.
    reader.reset();
    ROWFS_RETURN_IF_ERROR(source->NewWriter(nullptr, &writer));
  } else {
    ROWFS_RETURN_IF_ERROR(EnsureWriter(source));
    ROWFS_RETURN_IF_ERROR(writer->Truncate(size));
  }
  (at_open ? deferred : dirty) = true;
  modified_ms = now_ms;
  return Status::OK();
}

void OpenFile::MarkStored(uint64_t ts) {
  dirty = false;
  deferred = false;
  created = false;
  stored_mtime = mtime_override.value_or(ts);
  mtime_override.reset();
  stored_ts = ts;
  modified_ms = stored_mtime;
}

}  // namespace rowfs
