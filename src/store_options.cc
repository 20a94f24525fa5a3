#include "rowfs/store_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_buffer_manager.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdarg>
#include <string>

#include "rocks_options.h"
#include "transient_errors.h"

namespace rowfs {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kDefaultBlobMin = 0;

Status ParseInt(std::string_view text, int64_t* out) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not an integer");
  }
  *out = v;
  return Status::OK();
}

Status ParseBool(std::string_view text, bool* out) {
  if (text == "1" || text == "true" || text == "yes" || text == "on") {
    *out = true;
  } else if (text == "0" || text == "false" || text == "no" || text == "off") {
    *out = false;
  } else {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a boolean");
  }
  return Status::OK();
}

Status ParseCompression(std::string_view name, rocksdb::CompressionType* out) {
  using rocksdb::CompressionType;
  if (name == "none")
    *out = CompressionType::kNoCompression;
  else if (name == "snappy")
    *out = CompressionType::kSnappyCompression;
  else if (name == "lz4")
    *out = CompressionType::kLZ4Compression;
  else if (name == "zstd")
    *out = CompressionType::kZSTD;
  else if (name == "zlib")
    *out = CompressionType::kZlibCompression;
  else {
    return Status::InvalidArgument("unknown compression '" + std::string(name) +
                                   "' (none|snappy|lz4|zstd|zlib)");
  }
  return Status::OK();
}

}  // namespace

void SpdlogLogger::Logv(rocksdb::InfoLogLevel level, const char* format,
                        va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), format, ap);
  if (quiet_.load()) level = rocksdb::InfoLogLevel::DEBUG_LEVEL;
  switch (level) {
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      spdlog::warn("rocksdb: {}", buf);
      break;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
      spdlog::error("rocksdb: {}", buf);
      break;
    default:
      spdlog::trace("rocksdb: {}", buf);
  }
}

namespace {

class RowPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "rowfs.RowPrefix.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* sep = memchr(key.data(), '\0', key.size());
    const size_t len = static_cast<const char*>(sep) - key.data() + 1;
    return rocksdb::Slice(key.data(), len);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

}  // namespace

Status ParseByteSize(std::string_view text, uint64_t* bytes) {
  if (text.empty()) return Status::InvalidArgument("empty size");
  uint64_t mult = 1;
  switch (text.back()) {
    case 'k':
    case 'K':
      mult = 1024;
      break;
    case 'm':
    case 'M':
      mult = kMiB;
      break;
    case 'g':
    case 'G':
      mult = 1024 * kMiB;
      break;
    default:
      break;
  }
  if (mult != 1) text.remove_suffix(1);
  int64_t v = 0;
  ROWFS_RETURN_IF_ERROR(ParseInt(text, &v));
  if (v < 0 || static_cast<uint64_t>(v) > UINT64_MAX / mult) {
    return Status::InvalidArgument("size out of range");
  }
  *bytes = static_cast<uint64_t>(v) * mult;
  return Status::OK();
}

Status SetStoreOption(StoreOptions* o, std::string_view key,
                      std::string_view value) {
  if (key == "block_cache") {
    uint64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseByteSize(value, &v));
    o->block_cache_bytes = v;
  } else if (key == "write_buffer") {
    uint64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseByteSize(value, &v));
    if (v < 64 * 1024) return Status::InvalidArgument("write_buffer < 64K");
    o->write_buffer_bytes = v;
  } else if (key == "memory") {
    uint64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseByteSize(value, &v));
    if (v < kMiB) return Status::InvalidArgument("memory < 1M");
    o->memory_bytes = v;
  } else if (key == "dirty_max") {
    uint64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseByteSize(value, &v));
    if (v < kMiB) return Status::InvalidArgument("dirty_max < 1M");
    o->max_dirty_bytes = v;
  } else if (key == "bloom_bits") {
    int64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseInt(value, &v));
    if (v < 0 || v > 64) return Status::InvalidArgument("bloom_bits not 0..64");
    o->bloom_bits_per_key = static_cast<int>(v);
  } else if (key == "row_prefix_bloom") {
    bool v = false;
    ROWFS_RETURN_IF_ERROR(ParseBool(value, &v));
    o->row_prefix_bloom = v;
  } else if (key == "max_open_files") {
    int64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseInt(value, &v));
    if (v < -1 || v > INT32_MAX) {
      return Status::InvalidArgument("max_open_files out of range");
    }
    o->max_open_files = static_cast<int>(v);
  } else if (key == "compression") {
    rocksdb::CompressionType unused;
    ROWFS_RETURN_IF_ERROR(ParseCompression(value, &unused));
    o->compression = std::string(value);
  } else if (key == "blob_min") {
    uint64_t v = 0;
    ROWFS_RETURN_IF_ERROR(ParseByteSize(value, &v));
    o->blob_min_bytes = v;
  } else if (key == "options_file") {
    if (value.empty()) return Status::InvalidArgument("empty options_file");
    o->options_file = std::string(value);
  } else if (key == "wal_recovery") {
    if (value != "point_in_time" && value != "strict") {
      return Status::InvalidArgument(
          "wal_recovery wants point_in_time or strict");
    }
    o->strict_wal_recovery = value == "strict";
  } else {
    return Status::NotFound("unknown store option '" + std::string(key) + "'");
  }
  return Status::OK();
}

const rocksdb::SliceTransform* RowPrefixTransform() {
  static const RowPrefix transform;
  return &transform;
}

uint64_t DefaultWriteBuffer(const std::string& path) {
  // 8 MiB, but at most an eighth of the filesystem: a memtable must fit on
  // it to be flushed, and RocksDB recovers from a full disk only once that
  // much is free again. (Large files pass through memtables as chunks: a
  // bigger one would only hold more of them in memory before the flush.)
  struct statvfs sv;
  if (statvfs(path.c_str(), &sv) != 0) return 8 * kMiB;
  const uint64_t total = static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize;
  return std::clamp<uint64_t>(total / 8, kMiB, 8 * kMiB);
}

uint64_t DefaultMemoryBudget() {
  // A 32nd of the machine's memory, between 64 MiB and 1 GiB.
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 256 * kMiB;
  const uint64_t ram = static_cast<uint64_t>(pages) * page;
  return std::clamp<uint64_t>(ram / 32, 64 * kMiB, 1024 * kMiB);
}

int DefaultMaxOpenFiles() {
  // Half of the process's descriptors for table files (LRU-cached beyond
  // that), the rest for the WAL, MANIFEST, FUSE and backups: EMFILE in a
  // flush would stop every write. -1 (keep all open) when the limit is
  // effectively unbounded.
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 512;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (1u << 20)) return -1;
  return static_cast<int>(std::max<rlim_t>(rl.rlim_cur / 2, 64));
}

namespace {

// Applies rowfs's defaults (without an options file) and every option given
// explicitly to one column family's options: the template of new datasets,
// and each family an options file configures, so that `-o` options win over
// the file for every dataset. `block_cache` (shared by all families) is set
// when a cache is configured here rather than by the file.
Status ApplyFamilyOptions(const StoreOptions& o, const std::string& path,
                          bool from_file,
                          const std::shared_ptr<rocksdb::Cache>& block_cache,
                          rocksdb::ColumnFamilyOptions* cf) {
  if (o.write_buffer_bytes) {
    cf->write_buffer_size = *o.write_buffer_bytes;
  } else {
    // Also caps an options file's value (often RocksDB's 64 MiB default).
    cf->write_buffer_size = from_file
                                ? std::min<uint64_t>(cf->write_buffer_size,
                                                     DefaultWriteBuffer(path))
                                : DefaultWriteBuffer(path);
  }

  if (o.compression) {
    ROWFS_RETURN_IF_ERROR(ParseCompression(*o.compression, &cf->compression));
  } else if (!from_file) {
    cf->compression = rocksdb::kLZ4Compression;
  }

  // blob_min: large values (whole files) in blob files, so compactions do
  // not rewrite them and a read does not pull a huge block through the
  // block cache. Off by default: on the 256 MiB write it measured no faster
  // (README, Performance).
  if (o.blob_min_bytes || !from_file) {
    const uint64_t blob_min = o.blob_min_bytes.value_or(kDefaultBlobMin);
    cf->enable_blob_files = blob_min > 0;
    cf->min_blob_size = blob_min;
    cf->blob_file_size = 256 * kMiB;
    cf->blob_compression_type = cf->compression;
    // Compactions rewrite the live values of the oldest blob files, so the
    // space of deleted and expired versions comes back.
    cf->enable_blob_garbage_collection = true;
  }

  if (o.row_prefix_bloom.value_or(false)) {
    cf->prefix_extractor.reset(RowPrefixTransform(), [](auto*) {});
    cf->memtable_prefix_bloom_size_ratio = 0.02;
  }

  // The table factory is rebuilt unless the file configured one and no
  // table option was given explicitly.
  const bool table_explicit = o.block_cache_bytes || o.bloom_bits_per_key;
  if (!from_file || table_explicit) {
    rocksdb::BlockBasedTableOptions table;
    if (from_file) {
      if (const auto* loaded =
              cf->table_factory
                  ->GetOptions<rocksdb::BlockBasedTableOptions>()) {
        table = *loaded;
      }
    } else {
      table.block_size = 16 * 1024;
      table.cache_index_and_filter_blocks = true;
      table.pin_l0_filter_and_index_blocks_in_cache = true;
      table.format_version = 5;
    }
    if (block_cache) table.block_cache = block_cache;
    const int bits = o.bloom_bits_per_key.value_or(from_file ? -1 : 10);
    if (bits > 0) {
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(bits, false));
      table.whole_key_filtering = true;
    } else if (bits == 0) {
      table.filter_policy.reset();
    }
    cf->table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  return Status::OK();
}

}  // namespace

Status BuildRocksOptions(
    const StoreOptions& o, const std::string& path, rocksdb::DBOptions* db,
    rocksdb::ColumnFamilyOptions* cf,
    std::vector<rocksdb::ColumnFamilyDescriptor>* file_cfs) {
  const bool from_file = !o.options_file.empty();
  if (from_file) {
    rocksdb::ConfigOptions config;
    config.env = rocksdb::Env::Default();
    config.ignore_unknown_options = false;
    rocksdb::Status s =
        rocksdb::LoadOptionsFromFile(config, o.options_file, db, file_cfs);
    if (!s.ok())
      return Status::FromRocksDB(s, "options file " + o.options_file);
    for (const auto& d : *file_cfs) {
      if (d.name == rocksdb::kDefaultColumnFamilyName) *cf = d.options;
    }
  } else {
    db->IncreaseParallelism(2);
    db->max_background_jobs = 2;
    db->bytes_per_sync = kMiB;
    db->keep_log_file_num = 4;
    db->max_manifest_file_size = 64 * kMiB;
    cf->level_compaction_dynamic_level_bytes = true;
  }
  // Tickers only (block cache hits and misses for the statistics xattr);
  // histograms and timers cost more than they tell here.
  db->statistics = rocksdb::CreateDBStatistics();
  db->statistics->set_stats_level(
      rocksdb::StatsLevel::kExceptHistogramOrTimers);
  db->create_if_missing = o.create_if_missing;
  // Running out of descriptors must not stop writes for good.
  db->env = TransientErrorEnv();
  // One memory budget for every dataset's memtables, however many there
  // are (each family's write buffer alone would let 500 datasets hold
  // 500 x 8 MiB); and a WAL kept to that size, so a restart replays little
  // (past it RocksDB flushes the families holding the oldest log).
  const uint64_t memory = o.memory_bytes.value_or(DefaultMemoryBudget());
  db->write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(memory);
  db->max_total_wal_size = memory;
  db->info_log = std::make_shared<SpdlogLogger>(/*quiet=*/true);
  db->create_missing_column_families = false;
  if (o.max_open_files)
    db->max_open_files = *o.max_open_files;
  else if (!from_file)
    db->max_open_files = DefaultMaxOpenFiles();

  std::shared_ptr<rocksdb::Cache> block_cache;
  if (o.block_cache_bytes || !from_file) {
    block_cache =
        rocksdb::NewLRUCache(o.block_cache_bytes.value_or(256 * kMiB));
  }
  ROWFS_RETURN_IF_ERROR(
      ApplyFamilyOptions(o, path, from_file, block_cache, cf));
  for (rocksdb::ColumnFamilyDescriptor& d : *file_cfs) {
    ROWFS_RETURN_IF_ERROR(
        ApplyFamilyOptions(o, path, from_file, block_cache, &d.options));
  }
  return Status::OK();
}

}  // namespace rowfs
