#include "content_reader.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <vector>

namespace rowfs {
namespace {

// The most chunk bytes one ReadChunks call fetches.
constexpr uint64_t kReadWindowBytes = 4 << 20;

}  // namespace

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
  // Every chunk the range covers, fetched together (a sequential reader
  // asks for up to 1 MiB at a time: 16 chunks of 64 KiB in one disk read).
  struct Piece {
    uint64_t at;        // offset in *out
    uint64_t in_chunk;  // offset in the chunk
    uint64_t take;      // bytes
  };
  std::vector<ChunkIO::ChunkId> ids;
  std::vector<Piece> pieces;
  const uint64_t cs = record.chunk_size();
  for (uint64_t pos = offset; pos < offset + n;) {
    const auto index = static_cast<uint32_t>(pos >> record.chunk_shift);
    const uint64_t in_chunk = pos - (uint64_t{index} << record.chunk_shift);
    const uint64_t take = std::min(cs - in_chunk, offset + n - pos);
    const uint64_t content = ChunkContent(record.runs, index);
    if (content != 0) {  // a hole reads as zeros
      ids.push_back({content, index});
      pieces.push_back({pos - offset, in_chunk, take});
    }
    pos += take;
  }
  // In windows of about 4 MiB (a whole large version read at once holds
  // one window of fetched blocks beside the result, not a second copy), each
  // sorted by key (content, index): runs of one content are in index order,
  // but an appended file's runs may refer to older and newer contents.
  const size_t window = std::max<size_t>(1, kReadWindowBytes / cs);
  std::vector<size_t> order;
  std::vector<ChunkIO::ChunkId> sorted;
  for (size_t first = 0; first < ids.size(); first += window) {
    const size_t last = std::min(ids.size(), first + window);
    order.resize(last - first);
    for (size_t i = 0; i < order.size(); ++i) order[i] = first + i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(ids[a].content, ids[a].index) <
             std::tie(ids[b].content, ids[b].index);
    });
    sorted.clear();
    for (size_t i : order) sorted.push_back(ids[i]);
    ROWFS_RETURN_IF_ERROR(
        io->ReadChunks(sorted, [&](size_t k, std::string_view chunk) {
          const Piece& p = pieces[order[k]];
          if (p.in_chunk < chunk.size()) {
            const uint64_t have =
                std::min<uint64_t>(p.take, chunk.size() - p.in_chunk);
            std::memcpy(out->data() + p.at, chunk.data() + p.in_chunk, have);
          }
        }));
  }
  return Status::OK();
}

}  // namespace rowfs
