#include "fs_counters.h"

namespace rowfs {

const char* FsOpName(FsOp op) {
  static constexpr const char* kNames[] = {
      "lookup",     "forget", "getattr", "setattr", "mkdir",   "mknod",
      "unlink",     "rmdir",  "rename",  "create",  "open",    "read",
      "write",      "flush",  "fsync",   "release", "opendir", "readdir",
      "releasedir", "statfs", "xattr",   "other"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) ==
                static_cast<size_t>(FsOp::kCount));
  return kNames[static_cast<size_t>(op)];
}

std::string FormatStats(const Store& store, std::string_view dataset,
                        const FsCounters* counters) {
  std::string out;
  auto line = [&out](std::string_view key, uint64_t value) {
    out.append(key).append("=").append(std::to_string(value)).append("\n");
  };
  Store::Stats st;
  if (store.GetStats(dataset, &st).ok()) {
    if (dataset.empty()) line("datasets", store.ListDatasets().size());
    line("live_data_bytes", st.live_data_bytes);
    line("sst_bytes", st.sst_bytes);
    line("memtable_bytes", st.memtable_bytes);
    line("keys_estimate", st.keys);
    line("pending_compaction_bytes", st.pending_compaction_bytes);
    line("blob_bytes", st.blob_bytes);
    if (dataset.empty()) line("dirty_bytes", st.dirty_bytes);
    if (dataset.empty()) {
      line("block_cache_bytes", st.block_cache_bytes);
      line("block_cache_hits", st.block_cache_hits);
      line("block_cache_misses", st.block_cache_misses);
      const uint64_t lookups = st.block_cache_hits + st.block_cache_misses;
      line("block_cache_hit_permille",
           lookups == 0 ? 0 : st.block_cache_hits * 1000 / lookups);
    }
  }
  if (counters != nullptr) {
    uint64_t total = 0;
    for (size_t i = 0; i < static_cast<size_t>(FsOp::kCount); ++i) {
      total += counters->ops(static_cast<FsOp>(i));
    }
    line("ops", total);
    line("errors", counters->errors());
    line("bytes_read", counters->bytes_read());
    line("bytes_written", counters->bytes_written());
    line("versions_written", counters->versions_written());
    for (size_t i = 0; i < static_cast<size_t>(FsOp::kCount); ++i) {
      const uint64_t n = counters->ops(static_cast<FsOp>(i));
      if (n != 0) line(std::string("ops_") + FsOpName(static_cast<FsOp>(i)), n);
    }
  }
  return out;
}

}  // namespace rowfs
