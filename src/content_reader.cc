#include "content_reader.h"

#include <algorithm>
#include <cstring>

namespace rowfs {

Status ReadRecordRange(ChunkIO* io, const VersionRecord& record,
                       uint64_t offset, size_t n, std::string* out) {
  out->clear();
  if (offset >= record.size || record.is_deletion()) return Status::OK();
  n = static_cast<size_t>(std::min<uint64_t>(n, record.size - offset));
  if (record.kind == RecordKind::kInline) {
    out->assign(record.data, static_cast<size_t>(offset), n);
    return Status::OK();
  }
  out->resize(n, '\0');
  const uint64_t cs = record.chunk_size();
  std::string chunk;
  uint64_t pos = offset;
  while (pos < offset + n) {
    const auto index = static_cast<uint32_t>(pos >> record.chunk_shift);
    const uint64_t in_chunk = pos - (uint64_t{index} << record.chunk_shift);
    const uint64_t take = std::min(cs - in_chunk, offset + n - pos);
    const uint64_t content = ChunkContent(record.runs, index);
    if (content != 0) {
      ROWFS_RETURN_IF_ERROR(io->ReadChunk(content, index, &chunk));
      if (in_chunk < chunk.size()) {
        const uint64_t have = std::min<uint64_t>(take, chunk.size() - in_chunk);
        std::memcpy(out->data() + (pos - offset), chunk.data() + in_chunk,
                    have);
      }
    }
    pos += take;
  }
  return Status::OK();
}

}  // namespace rowfs
