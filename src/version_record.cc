#include "version_record.h"

#include <algorithm>

#include "coding.h"

namespace rowfs {
namespace {

constexpr uint8_t kHasMtime = 1;
constexpr uint8_t kHasExpiry = 2;
constexpr uint8_t kHasCtime = 4;

Status Bad(std::string_view why) {
  return Status::Corruption("version record: " + std::string(why));
}

Status DecodeCommon(std::string_view* in, VersionRecord* r) {
  if (in->size() < 2) return Bad("too short");
  const auto kind = static_cast<uint8_t>((*in)[0]);
  const auto flags = static_cast<uint8_t>((*in)[1]);
  in->remove_prefix(2);
  if (kind < 1 || kind > 3) return Bad("unknown kind");
  if ((flags & ~(kHasMtime | kHasExpiry | kHasCtime)) != 0) {
    return Bad("unknown flags");
  }
  r->kind = static_cast<RecordKind>(kind);
  r->mtime_ms = r->expires_ms = r->ctime_ms = 0;
  if (!GetVarint64(in, &r->size)) return Bad("size");
  if ((flags & kHasMtime) != 0 && !GetVarint64(in, &r->mtime_ms)) {
    return Bad("mtime");
  }
  if ((flags & kHasExpiry) != 0 && !GetVarint64(in, &r->expires_ms)) {
    return Bad("expiry");
  }
  if ((flags & kHasCtime) != 0 && !GetVarint64(in, &r->ctime_ms)) {
    return Bad("ctime");
  }
  return Status::OK();
}

}  // namespace

std::string EncodeRecord(const VersionRecord& r) {
  std::string out;
  out.reserve(24 + r.data.size() + r.runs.size() * 8);
  uint8_t flags = 0;
  if (r.mtime_ms != 0) flags |= kHasMtime;
  if (r.expires_ms != 0) flags |= kHasExpiry;
  if (r.ctime_ms != 0) flags |= kHasCtime;
  out.push_back(static_cast<char>(r.kind));
  out.push_back(static_cast<char>(flags));
  PutVarint64(&out, r.size);
  if (r.mtime_ms != 0) PutVarint64(&out, r.mtime_ms);
  if (r.expires_ms != 0) PutVarint64(&out, r.expires_ms);
  if (r.ctime_ms != 0) PutVarint64(&out, r.ctime_ms);
  switch (r.kind) {
    case RecordKind::kInline:
      out.append(r.data);
      break;
    case RecordKind::kChunked: {
      out.push_back(static_cast<char>(r.chunk_shift));
      PutVarint64(&out, r.runs.size());
      uint64_t end = 0;
      for (const ChunkRun& run : r.runs) {
        PutVarint64(&out, run.first - end);
        PutVarint64(&out, run.count);
        PutVarint64(&out, run.content);
        end = uint64_t{run.first} + run.count;
      }
      break;
    }
    case RecordKind::kDeletion:
      break;
  }
  return out;
}

Status DecodeRecordHeader(std::string_view value, VersionRecord* r) {
  return DecodeCommon(&value, r);
}

Status DecodeRecord(std::string_view value, VersionRecord* r) {
  ROWFS_RETURN_IF_ERROR(DecodeCommon(&value, r));
  r->data.clear();
  r->runs.clear();
  r->chunk_shift = 0;
  switch (r->kind) {
    case RecordKind::kInline:
      if (value.size() != r->size) return Bad("inline size");
      r->data.assign(value);
      return Status::OK();
    case RecordKind::kDeletion:
      if (!value.empty() || r->size != 0) return Bad("marker with content");
      return Status::OK();
    case RecordKind::kChunked:
      break;
  }
  if (value.empty()) return Bad("chunk shift");
  r->chunk_shift = static_cast<uint8_t>(value[0]);
  value.remove_prefix(1);
  if (r->chunk_shift < kSmallChunkShift || r->chunk_shift > 30) {
    return Bad("chunk size");
  }
  const uint64_t chunks = (r->size + r->chunk_size() - 1) >> r->chunk_shift;
  if (chunks > UINT32_MAX) return Bad("too many chunks");
  uint64_t n = 0;
  if (!GetVarint64(&value, &n) || n > chunks) return Bad("run count");
  r->runs.reserve(n);
  uint64_t end = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t gap = 0, count = 0, content = 0;
    if (!GetVarint64(&value, &gap) || !GetVarint64(&value, &count) ||
        !GetVarint64(&value, &content)) {
      return Bad("short run");
    }
    const uint64_t first = end + gap;
    if (count == 0 || content == 0 || first + count > chunks) {
      return Bad("run out of range");
    }
    r->runs.push_back(
        {static_cast<uint32_t>(first), static_cast<uint32_t>(count), content});
    end = first + count;
  }
  if (!value.empty()) return Bad("trailing bytes");
  return Status::OK();
}

uint64_t ChunkContent(const std::vector<ChunkRun>& runs, uint32_t index) {
  // The last run starting at or before `index`.
  auto it = std::upper_bound(
      runs.begin(), runs.end(), index,
      [](uint32_t i, const ChunkRun& run) { return i < run.first; });
  if (it == runs.begin()) return 0;
  --it;
  return index < uint64_t{it->first} + it->count ? it->content : 0;
}

void ChunkMapBuilder::Add(uint32_t index, uint64_t content) {
  if (content == 0) return;
  if (!runs_.empty()) {
    ChunkRun& last = runs_.back();
    if (last.content == content && uint64_t{last.first} + last.count == index) {
      ++last.count;
      return;
    }
  }
  runs_.push_back({index, 1, content});
}

}  // namespace rowfs
