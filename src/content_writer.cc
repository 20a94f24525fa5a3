#include "content_writer.h"

#include <algorithm>
#include <cstring>

namespace rowfs {

std::vector<uint64_t> ContentsOf(const VersionRecord& record) {
  std::vector<uint64_t> out;
  for (const ChunkRun& run : record.runs) out.push_back(run.content);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ContentWriter::ContentWriter(ChunkIO* io, DirtyBudget* budget,
                             const VersionRecord* base)
    : io_(io), budget_(budget) {
  if (base == nullptr || base->is_deletion()) return;
  size_ = base->size;
  if (base->kind == RecordKind::kChunked) {
    base_ = *base;
    has_base_map_ = true;
    shift_ = base->chunk_shift;
    shift_fixed_ = true;
    pinned_base_ = ContentsOf(*base);
    return;
  }
  // An inline base is small: its bytes become the first dirty chunk.
  if (!base->data.empty()) {
    dirty_[0] = base->data;
    SetDirtyBytes(base->data.size());
  }
}

ContentWriter::~ContentWriter() {
  SetDirtyBytes(0);
  if (content_ != 0) io_->Unpin({content_});
}

void ContentWriter::SetDirtyBytes(uint64_t n) {
  if (n > dirty_bytes_) budget_->Add(n - dirty_bytes_);
  if (n < dirty_bytes_) budget_->Sub(dirty_bytes_ - n);
  dirty_bytes_ = n;
}

void ContentWriter::FixShift() {
  if (shift_fixed_) return;
  shift_fixed_ = true;
  const uint8_t want =
      size_ >= kLargeContentBytes ? kLargeChunkShift : kSmallChunkShift;
  if (want == shift_) return;
  // Nothing was stored or shared yet: every byte is in dirty_, chunked at
  // the provisional size. Re-chunk it.
  std::map<uint32_t, std::string> rechunked;
  const uint64_t old_size = chunk_size();
  shift_ = want;
  for (auto& [index, bytes] : dirty_) {
    const uint64_t offset = uint64_t{index} * old_size;
    const auto target = static_cast<uint32_t>(offset >> shift_);
    std::string& buf = rechunked[target];
    const uint64_t at = offset - (uint64_t{target} << shift_);
    if (buf.size() < at + bytes.size()) buf.resize(at + bytes.size(), '\0');
    std::memcpy(buf.data() + at, bytes.data(), bytes.size());
  }
  dirty_.swap(rechunked);
}

Status ContentWriter::ChunkBytes(uint32_t index, std::string* out) {
  out->clear();
  if (auto it = dirty_.find(index); it != dirty_.end()) {
    out->assign(it->second);
    return Status::OK();
  }
  if (stored_.count(index) != 0) return io_->ReadChunk(content_, index, out);
  if (has_base_map_) {
    const uint64_t content = ChunkContent(base_.runs, index);
    if (content != 0) return io_->ReadChunk(content, index, out);
  }
  return Status::OK();  // a hole
}

Status ContentWriter::Dirty(uint32_t index, bool overwrite,
                            std::string** buffer) {
  auto it = dirty_.find(index);
  if (it == dirty_.end()) {
    std::string bytes;
    if (!overwrite) ROWFS_RETURN_IF_ERROR(ChunkBytes(index, &bytes));
    SetDirtyBytes(dirty_bytes_ + bytes.size());
    it = dirty_.emplace(index, std::move(bytes)).first;
  }
  *buffer = &it->second;
  return Status::OK();
}

Status ContentWriter::Read(uint64_t offset, size_t n, std::string* out) {
  out->clear();
  if (offset >= size_) return Status::OK();
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
  out->resize(n, '\0');
  const uint64_t cs = chunk_size();
  uint64_t pos = offset;
  while (pos < offset + n) {
    const auto index = static_cast<uint32_t>(pos / cs);
    const uint64_t in_chunk = pos - uint64_t{index} * cs;
    const uint64_t take = std::min(cs - in_chunk, offset + n - pos);
    const std::string* bytes = nullptr;
    if (auto it = dirty_.find(index); it != dirty_.end()) {
      bytes = &it->second;
    } else {
      ROWFS_RETURN_IF_ERROR(ChunkBytes(index, &scratch_));
      bytes = &scratch_;
    }
    if (in_chunk < bytes->size()) {
      const uint64_t have = std::min<uint64_t>(take, bytes->size() - in_chunk);
      std::memcpy(out->data() + (pos - offset), bytes->data() + in_chunk, have);
    }
    pos += take;
  }
  return Status::OK();
}

Status ContentWriter::Write(uint64_t offset, std::string_view data) {
  if (data.empty()) return Status::OK();
  const uint64_t end = offset + data.size();
  const uint64_t cs = chunk_size();
  uint64_t pos = offset;
  uint64_t grown = 0;
  while (pos < end) {
    const auto index = static_cast<uint32_t>(pos / cs);
    const uint64_t chunk_start = uint64_t{index} * cs;
    const uint64_t in_chunk = pos - chunk_start;
    const uint64_t take = std::min(cs - in_chunk, end - pos);
    // A chunk overwritten from its start up to the content's end (or its
    // own end) needs nothing of what it held.
    const bool overwrite =
        in_chunk == 0 && (take == cs || chunk_start + take >= size_);
    std::string* buf = nullptr;
    ROWFS_RETURN_IF_ERROR(Dirty(index, overwrite, &buf));
    const size_t before = buf->size();
    if (buf->size() < in_chunk + take) buf->resize(in_chunk + take, '\0');
    std::memcpy(buf->data() + in_chunk, data.data() + (pos - offset), take);
    grown += buf->size() - before;
    pos += take;
  }
  SetDirtyBytes(dirty_bytes_ + grown);
  size_ = std::max(size_, end);
  changed_ = true;
  return MaybeStore();
}

Status ContentWriter::Truncate(uint64_t size) {
  changed_ = true;
  if (size >= size_) {
    // Growing: the bytes past the old end read as zeros already (a chunk's
    // stored bytes never reach past its version's end).
    size_ = size;
    return Status::OK();
  }
  const uint64_t cs = chunk_size();
  const uint64_t keep = (size + cs - 1) / cs;  // chunks that stay
  uint64_t freed = 0;
  for (auto it = dirty_.lower_bound(
           static_cast<uint32_t>(std::min<uint64_t>(keep, UINT32_MAX)));
       it != dirty_.end();) {
    freed += it->second.size();
    it = dirty_.erase(it);
  }
  stored_.erase(stored_.lower_bound(static_cast<uint32_t>(
                    std::min<uint64_t>(keep, UINT32_MAX))),
                stored_.end());
  SetDirtyBytes(dirty_bytes_ - freed);
  size_ = size;
  if (size % cs != 0) {
    // The last chunk keeps its first bytes only: a later growth must read
    // zeros after them, not what the base held there.
    const auto index = static_cast<uint32_t>(size / cs);
    std::string* buf = nullptr;
    ROWFS_RETURN_IF_ERROR(Dirty(index, false, &buf));
    const size_t before = buf->size();
    if (buf->size() > size % cs) buf->resize(size % cs);
    SetDirtyBytes(dirty_bytes_ + buf->size() - before);
  }
  if (has_base_map_) {
    // Chunks of the base past the new end are no longer part of it.
    std::vector<ChunkRun> runs;
    for (ChunkRun run : base_.runs) {
      if (run.first >= keep) break;
      run.count = static_cast<uint32_t>(
          std::min<uint64_t>(run.count, keep - run.first));
      runs.push_back(run);
    }
    base_.runs.swap(runs);
  }
  return Status::OK();
}

Status ContentWriter::MaybeStore() {
  if (dirty_bytes_ < kFlushBytes && !budget_->Over()) return Status::OK();
  return Store(/*keep_tail=*/true);
}

Status ContentWriter::Store(bool keep_tail) {
  FixShift();
  if (content_ == 0) ROWFS_RETURN_IF_ERROR(io_->NewContent(&content_));
  const uint64_t cs = chunk_size();
  // The chunk being appended to stays: the next write fills it.
  const bool tail_partial = size_ % cs != 0;
  const auto tail = static_cast<uint32_t>(size_ / cs);
  std::vector<ChunkWrite> writes;
  for (const auto& [index, bytes] : dirty_) {
    if (keep_tail && tail_partial && index == tail) continue;
    writes.push_back({index, bytes});
  }
  if (writes.empty()) return Status::OK();
  ROWFS_RETURN_IF_ERROR(io_->WriteChunks(content_, writes));
  uint64_t freed = 0;
  for (const ChunkWrite& w : writes) {
    stored_.insert(w.index);
    freed += w.bytes.size();
    dirty_.erase(w.index);
  }
  SetDirtyBytes(dirty_bytes_ - freed);
  return Status::OK();
}

Status ContentWriter::Finish(VersionRecord* record, uint64_t* content,
                             std::vector<ChunkWrite>* chunks) {
  *record = VersionRecord{};
  *content = 0;
  chunks->clear();
  record->size = size_;
  if (size_ <= kMaxInlineBytes && !has_base_map_ && stored_.empty()) {
    record->kind = RecordKind::kInline;
    return Read(0, static_cast<size_t>(size_), &record->data);
  }
  FixShift();
  record->kind = RecordKind::kChunked;
  record->chunk_shift = shift_;
  const uint64_t cs = chunk_size();
  const uint64_t count = (size_ + cs - 1) / cs;
  if (count > UINT32_MAX) return Status::TooLarge("too many chunks");
  if (!dirty_.empty() && content_ == 0) {
    ROWFS_RETURN_IF_ERROR(io_->NewContent(&content_));
  }
  // Chunk by chunk, in order: this writer's, or the base's.
  ChunkMapBuilder map;
  auto mine = [&](uint32_t i) {
    return dirty_.count(i) != 0 || stored_.count(i) != 0;
  };
  if (!has_base_map_) {
    // stored_ and dirty_ are disjoint; merge the two sorted sets.
    ChunkMapBuilder merged;
    auto d = dirty_.begin();
    auto s = stored_.begin();
    while (d != dirty_.end() || s != stored_.end()) {
      if (s == stored_.end() || (d != dirty_.end() && d->first < *s)) {
        merged.Add((d++)->first, content_);
      } else {
        merged.Add(*s++, content_);
      }
    }
    record->runs = merged.Finish();
  } else {
    // Walk the union of the base's runs and this writer's chunks.
    std::set<uint32_t> own(stored_);
    for (const auto& kv : dirty_) own.insert(kv.first);
    auto o = own.begin();
    for (const ChunkRun& run : base_.runs) {
      const uint64_t run_end = uint64_t{run.first} + run.count;
      for (; o != own.end() && *o < run.first; ++o) map.Add(*o, content_);
      for (uint64_t i = run.first; i < run_end && i < count; ++i) {
        const auto index = static_cast<uint32_t>(i);
        if (o != own.end() && *o == index) {
          map.Add(index, content_);
          ++o;
        } else if (!mine(index)) {
          map.Add(index, run.content);
        }
      }
    }
    for (; o != own.end(); ++o) map.Add(*o, content_);
    record->runs = map.Finish();
  }
  for (const auto& [index, bytes] : dirty_) chunks->push_back({index, bytes});
  *content = chunks->empty() && stored_.empty() ? 0 : content_;
  return Status::OK();
}

std::vector<uint64_t> ContentWriter::Committed(const VersionRecord& record) {
  std::vector<uint64_t> release = std::move(pinned_base_);
  if (content_ != 0) release.push_back(content_);
  pinned_base_ = ContentsOf(record);
  dirty_.clear();
  stored_.clear();
  SetDirtyBytes(0);
  content_ = 0;
  changed_ = false;
  size_ = record.size;
  has_base_map_ = false;
  base_ = VersionRecord{};
  shift_ = kSmallChunkShift;
  shift_fixed_ = false;
  if (record.kind == RecordKind::kChunked) {
    base_ = record;
    has_base_map_ = true;
    shift_ = record.chunk_shift;
    shift_fixed_ = true;
  } else if (!record.data.empty()) {
    dirty_[0] = record.data;
    SetDirtyBytes(record.data.size());
  }
  return release;
}

}  // namespace rowfs
