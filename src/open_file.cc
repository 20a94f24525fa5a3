#include "open_file.h"

#include <algorithm>

namespace rowfs {

std::shared_ptr<OpenFile> OpenFile::ForCreate(const Attrs& attrs,
                                              uint64_t now_ms) {
  auto f = std::make_shared<OpenFile>();
  f->loaded = true;
  f->deferred = true;
  f->created = true;
  f->attrs = attrs;
  f->modified_ms = now_ms;
  return f;
}

std::shared_ptr<OpenFile> OpenFile::ForExisting() {
  return std::make_shared<OpenFile>();
}

Status OpenFile::EnsureLoaded(const Loader& load) {
  if (loaded) return Status::OK();
  std::string content;
  uint64_t ts = 0;
  ROWFS_RETURN_IF_ERROR(load(&content, &ts));
  data = std::move(content);
  stored_ts = ts;
  modified_ms = ts;
  loaded = true;
  return Status::OK();
}

Status OpenFile::Read(uint64_t offset, size_t size, const Loader& load,
                      std::string* out) {
  ROWFS_RETURN_IF_ERROR(EnsureLoaded(load));
  out->clear();
  if (offset >= data.size()) return Status::OK();
  out->assign(data, offset, std::min<uint64_t>(size, data.size() - offset));
  return Status::OK();
}

Status OpenFile::Write(uint64_t offset, std::string_view bytes,
                       uint64_t max_size, uint64_t now_ms, const Loader& load) {
  ROWFS_RETURN_IF_ERROR(EnsureLoaded(load));
  if (offset > max_size || bytes.size() > max_size - offset) {
    return Status::TooLarge("write ends at byte " +
                            std::to_string(offset + bytes.size()) + ", limit " +
                            std::to_string(max_size));
  }
  const uint64_t end = offset + bytes.size();
  if (offset == data.size()) {
    data.append(bytes);  // the common case: no zero-fill before the copy
  } else {
    if (end > data.size()) data.resize(end, '\0');
    std::copy(bytes.begin(), bytes.end(), data.begin() + offset);
  }
  dirty = true;
  modified_ms = now_ms;
  return Status::OK();
}

Status OpenFile::Truncate(uint64_t size, uint64_t max_size, uint64_t now_ms,
                          const Loader& load, bool at_open) {
  if (size > max_size) {
    return Status::TooLarge("size " + std::to_string(size) + " above limit " +
                            std::to_string(max_size));
  }
  if (size == 0) {
    // Nothing of the old content survives: no need to load it.
    data.clear();
    loaded = true;
  } else {
    ROWFS_RETURN_IF_ERROR(EnsureLoaded(load));
    data.resize(size, '\0');
  }
  (at_open ? deferred : dirty) = true;
  modified_ms = now_ms;
  return Status::OK();
}

void OpenFile::MarkStored(uint64_t ts) {
  dirty = false;
  deferred = false;
  created = false;
  mtime_override.reset();
  stored_ts = ts;
  modified_ms = ts;
}

}  // namespace rowfs
