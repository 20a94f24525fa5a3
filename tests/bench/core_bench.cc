// core_bench: Google Benchmark micro-benchmarks of rowfs::Store, shaped so
// that the put/get figures compare with RocksDB's db_bench on the same
// machine (scripts/bench-core.sh runs both and prints the ratios):
//
//   BM_Put            ~ db_bench fillrandom: one version (server timestamp)
//                       of a random row/column of a fresh database, N times.
//   BM_GetLatest      ~ db_bench readrandom: GetLatest of a random existing
//                       column of a database holding N cells, flushed and
//                       reopened so reads hit SSTs through the block cache.
//
// Every cell key is 24 bytes ("row%07u" 0x00 "c%03u" 0x00 inv-ts), so
// db_bench runs with --key_size=24; values are 100 bytes generated like
// db_bench's (compression_ratio 0.5).
//
// Environment (all optional):
//   ROWFS_BENCH_NUM          cells for put/get (default 200000)
//   ROWFS_BENCH_LIST_ROWS    rows of the listing dataset (default 100000)
//   ROWFS_BENCH_RSS_ROWS     rows of the bounded-memory dataset (1000000)
//   ROWFS_BENCH_VERSIONS     versions of the deep column (default 1000)
//   ROWFS_BENCH_COMPRESSION  none|snappy|lz4|zstd|zlib (default: rowfs's, lz4)
//   ROWFS_BENCH_OPTIONS      store options, e.g.
//   row_prefix_bloom=1,bloom_bits=0 ROWFS_BENCH_DIR          where temporary
//   databases go (default $TMPDIR
//                            or /tmp); each is removed afterwards.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <stdlib.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rowfs/clock.h"
#include "rowfs/status.h"
#include "rowfs/store.h"
#include "rowfs/store_options.h"

namespace rowfs {
namespace {

constexpr size_t kValueSize = 100;
constexpr uint64_t kColumnsPerRow = 10;  // put/get key space: N/10 rows x 10
constexpr uint64_t kCellsPerListedRow = 3;
constexpr uint64_t kKeyBytes = 24;  // 10 + 1 + 4 + 1 + 8
constexpr uint64_t kBaseTs = 1'700'000'000'000;
constexpr size_t kFillBatchOps = 3000;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr std::string_view kDataset = "bench";
const Attrs kDirAttrs{0755, 0, 0, 0};

uint64_t EnvU64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(v, &end, 10);
  if (*end != '\0' || parsed == 0) {
    std::fprintf(stderr, "core_bench: ignoring bad %s=%s\n", name, v);
    return def;
  }
  return parsed;
}

struct Config {
  uint64_t num = EnvU64("ROWFS_BENCH_NUM", 200'000);
  uint64_t list_rows = EnvU64("ROWFS_BENCH_LIST_ROWS", 100'000);
  uint64_t rss_rows = EnvU64("ROWFS_BENCH_RSS_ROWS", 1'000'000);
  uint64_t versions = EnvU64("ROWFS_BENCH_VERSIONS", 1'000);
  std::string compression = [] {
    const char* v = std::getenv("ROWFS_BENCH_COMPRESSION");
    return std::string(v != nullptr ? v : "");
  }();
  std::string dir = [] {
    for (const char* name : {"ROWFS_BENCH_DIR", "TMPDIR"}) {
      const char* v = std::getenv(name);
      if (v != nullptr && *v != '\0') return std::string(v);
    }
    return std::string("/tmp");
  }();
};

const Config& Cfg() {
  static const Config config;
  return config;
}

// A fresh directory removed with its content on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = Cfg().dir + "/rowfs-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + tmpl);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

// Values as db_bench's RandomGenerator makes them with compression_ratio 0.5:
// a 1 MiB buffer of 100-byte pieces, each 50 random printable bytes repeated
// once, handed out as consecutive slices.
class ValueGen {
 public:
  explicit ValueGen(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> printable(' ', '~');
    while (data_.size() < (1 << 20)) {
      std::string piece(kValueSize / 2, ' ');
      for (char& c : piece) c = static_cast<char>(printable(rng));
      data_ += piece;
      data_ += piece;
    }
  }
  std::string_view Next() {
    if (pos_ + kValueSize > data_.size()) pos_ = 0;
    std::string_view v(data_.data() + pos_, kValueSize);
    pos_ += kValueSize;
    return v;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

std::string RowName(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "row%07" PRIu64, i);
  return buf;
}

std::string ColumnName(uint64_t j) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "c%03" PRIu64, j);
  return buf;
}

std::vector<std::string> Names(uint64_t n, std::string (*fn)(uint64_t)) {
  std::vector<std::string> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.push_back(fn(i));
  return out;
}

StoreOptions BenchOptions() {
  StoreOptions o;
  if (!Cfg().compression.empty()) o.compression = Cfg().compression;
  // ROWFS_BENCH_OPTIONS="key=value,..." applies store options (the daemon's
  // -o tuning keys), e.g. row_prefix_bloom=1, to compare settings.
  if (const char* extra = std::getenv("ROWFS_BENCH_OPTIONS")) {
    std::string_view rest = extra;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view kv = rest.substr(0, comma);
      const size_t eq = kv.find('=');
      if (eq != std::string_view::npos) {
        const Status s =
            SetStoreOption(&o, kv.substr(0, eq), kv.substr(eq + 1));
        if (!s.ok())
          std::fprintf(stderr, "core_bench: %s\n", s.ToString().c_str());
      }
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
  }
  return o;
}

// Reports a failed status and stops the benchmark. Returns s.ok().
bool Check(benchmark::State& state, const Status& s, const char* what) {
  if (s.ok()) return true;
  const std::string msg = std::string(what) + ": " + s.ToString();
  state.SkipWithError(msg.c_str());
  return false;
}

// One Store on a temporary database with the dataset "bench".
struct BenchDb {
  TempDir dir;
  StoreOptions options = BenchOptions();
  std::unique_ptr<Store> store;

  Status Create() {
    ROWFS_RETURN_IF_ERROR(Store::Open(options, dir.db(), &store));
    return store->CreateDataset(kDataset, kDirAttrs);
  }
  // Closes and reopens: memtables are gone, the block cache is cold.
  Status Reopen() {
    store.reset();
    malloc_trim(0);
    return Store::Open(options, dir.db(), &store);
  }
  // Flush, then reopen so reads start from SSTs, like db_bench's read
  // benchmarks with --use_existing_db.
  Status FlushAndReopen() {
    ROWFS_RETURN_IF_ERROR(store->Flush());
    return Reopen();
  }
};

// Writes rows [0, rows) with `cells` columns each (explicit timestamps, in
// batches, so the fill itself is cheap).
Status FillRows(Store* store, uint64_t rows, uint64_t cells, ValueGen* values) {
  const std::vector<std::string> columns = Names(cells, ColumnName);
  Batch batch;
  for (uint64_t i = 0; i < rows; ++i) {
    const std::string row = RowName(i);
    for (const std::string& column : columns) {
      batch.Put(kDataset, row, column, values->Next(), kBaseTs + i);
    }
    if (batch.size() >= kFillBatchOps) {
      ROWFS_RETURN_IF_ERROR(store->Write(batch));
      batch = Batch();
    }
  }
  if (!batch.empty()) ROWFS_RETURN_IF_ERROR(store->Write(batch));
  return Status::OK();
}

// Databases shared by several benchmarks, built on first use.
std::map<std::string, std::unique_ptr<BenchDb>>& SharedDbs() {
  static std::map<std::string, std::unique_ptr<BenchDb>> dbs;
  return dbs;
}

void ReleaseSharedDbs() {
  SharedDbs().clear();
  malloc_trim(0);
}

// The listing dataset: list_rows rows of kCellsPerListedRow cells.
BenchDb* ListDb(benchmark::State& state) {
  auto& slot = SharedDbs()["list"];
  if (slot) return slot.get();
  auto db = std::make_unique<BenchDb>();
  ValueGen values(301);
  if (!Check(state, db->Create(), "create") ||
      !Check(state,
             FillRows(db->store.get(), Cfg().list_rows, kCellsPerListedRow,
                      &values),
             "fill") ||
      !Check(state, db->FlushAndReopen(), "flush")) {
    return nullptr;
  }
  slot = std::move(db);
  return slot.get();
}

// The deep-history row: column c000 with `versions` versions, plus two
// single-version columns around it.
BenchDb* VersionsDb(benchmark::State& state) {
  auto& slot = SharedDbs()["versions"];
  if (slot) return slot.get();
  auto db = std::make_unique<BenchDb>();
  ValueGen values(401);
  if (!Check(state, db->Create(), "create")) return nullptr;
  const std::string row = RowName(0);
  Batch batch;
  for (uint64_t k = 0; k < Cfg().versions; ++k) {
    batch.Put(kDataset, row, ColumnName(0), values.Next(), kBaseTs + k);
  }
  batch.Put(kDataset, row, ColumnName(1), values.Next(), kBaseTs);
  batch.Put(kDataset, row, ColumnName(2), values.Next(), kBaseTs);
  if (!Check(state, db->store->Write(batch), "fill") ||
      !Check(state, db->FlushAndReopen(), "flush")) {
    return nullptr;
  }
  slot = std::move(db);
  return slot.get();
}

using SteadyClock = std::chrono::steady_clock;

double NsPerOp(SteadyClock::time_point start, uint64_t ops) {
  const double ns =
      std::chrono::duration<double, std::nano>(SteadyClock::now() - start)
          .count();
  return ops == 0 ? 0 : ns / static_cast<double>(ops);
}

void SetRates(benchmark::State& state, uint64_t ops, double ns_per_op) {
  state.SetItemsProcessed(static_cast<int64_t>(ops));
  state.counters["ops_per_s"] =
      benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsRate);
  state.counters["ns_per_op"] = ns_per_op;
}

// ---------------------------------------------------------------- put / get

// `server_ts`: kServerTimestamp (the default write path, which reads the
// column's latest version first) or explicit increasing timestamps.
void PutRandom(benchmark::State& state, bool server_ts) {
  BenchDb db;
  if (!Check(state, db.Create(), "create")) return;
  const uint64_t nrows = std::max<uint64_t>(1, Cfg().num / kColumnsPerRow);
  const std::vector<std::string> rows = Names(nrows, RowName);
  const std::vector<std::string> columns = Names(kColumnsPerRow, ColumnName);
  std::mt19937_64 rng(101);
  std::uniform_int_distribution<uint64_t> pick_row(0, nrows - 1);
  std::uniform_int_distribution<uint64_t> pick_column(0, kColumnsPerRow - 1);
  ValueGen values(102);
  uint64_t ops = 0;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    const uint64_t ts = server_ts ? kServerTimestamp : kBaseTs + ops;
    Status s = db.store->Put(kDataset, rows[pick_row(rng)],
                             columns[pick_column(rng)], values.Next(), ts);
    if (!s.ok()) {
      Check(state, s, "put");
      break;
    }
    ++ops;
  }
  SetRates(state, ops, NsPerOp(start, ops));
  state.SetBytesProcessed(static_cast<int64_t>(ops * (kKeyBytes + kValueSize)));
  state.counters["key_bytes"] = kKeyBytes;
  state.counters["value_bytes"] = kValueSize;
  state.SetLabel(Cfg().compression.empty() ? "lz4 (default)"
                                           : Cfg().compression);
}

void BM_Put(benchmark::State& state) { PutRandom(state, true); }
void BM_PutExplicitTs(benchmark::State& state) { PutRandom(state, false); }

void BM_GetLatest(benchmark::State& state) {
  BenchDb db;
  ValueGen values(201);
  const uint64_t nrows = std::max<uint64_t>(1, Cfg().num / kColumnsPerRow);
  if (!Check(state, db.Create(), "create") ||
      !Check(state, FillRows(db.store.get(), nrows, kColumnsPerRow, &values),
             "fill") ||
      !Check(state, db.FlushAndReopen(), "flush")) {
    return;
  }
  const std::vector<std::string> rows = Names(nrows, RowName);
  const std::vector<std::string> columns = Names(kColumnsPerRow, ColumnName);
  std::mt19937_64 rng(202);
  std::uniform_int_distribution<uint64_t> pick_row(0, nrows - 1);
  std::uniform_int_distribution<uint64_t> pick_column(0, kColumnsPerRow - 1);
  Version version;
  uint64_t ops = 0, bytes = 0;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    Status s = db.store->GetLatest(kDataset, rows[pick_row(rng)],
                                   columns[pick_column(rng)], &version);
    if (!s.ok()) {
      Check(state, s, "get");
      break;
    }
    bytes += version.value.size();
    ++ops;
  }
  SetRates(state, ops, NsPerOp(start, ops));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["cells"] = static_cast<double>(nrows * kColumnsPerRow);
  state.SetLabel(Cfg().compression.empty() ? "lz4 (default)"
                                           : Cfg().compression);
}

// ---------------------------------------------------------------- listing

// One untimed pass so that the timed ones run against a warm block cache
// (the first pass after a reopen reads and decompresses every block).
Status WarmUp(Store* store) {
  Status s;
  std::unique_ptr<RowCursor> cursor = store->NewRowCursor(kDataset, {}, &s);
  ROWFS_RETURN_IF_ERROR(s);
  RowInfo row;
  while (cursor->Next(&row)) {
  }
  return cursor->status();
}

void BM_RowCursor(benchmark::State& state) {
  BenchDb* db = ListDb(state);
  if (db == nullptr || !Check(state, WarmUp(db->store.get()), "warm up")) {
    return;
  }
  uint64_t rows = 0;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    Status s;
    std::unique_ptr<RowCursor> cursor =
        db->store->NewRowCursor(kDataset, {}, &s);
    if (!Check(state, s, "cursor")) break;
    RowInfo row;
    uint64_t n = 0;
    while (cursor->Next(&row)) ++n;
    if (!Check(state, cursor->status(), "cursor")) break;
    if (n != Cfg().list_rows) {
      state.SkipWithError("row count mismatch");
      break;
    }
    rows += n;
  }
  SetRates(state, rows, NsPerOp(start, rows));
  state.counters["rows"] = static_cast<double>(Cfg().list_rows);
}

// The same listing in pages of 1000 through ListRows (a fresh cursor and
// seek per page, as a stateless readdir would do).
void BM_ListRowsPaged(benchmark::State& state) {
  BenchDb* db = ListDb(state);
  if (db == nullptr || !Check(state, WarmUp(db->store.get()), "warm up")) {
    return;
  }
  uint64_t rows = 0;
  std::vector<RowInfo> page;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    std::string after, next;
    uint64_t n = 0;
    do {
      Status s = db->store->ListRows(kDataset, after, 1000, &page, &next);
      if (!Check(state, s, "list rows")) break;
      n += page.size();
      after = next;
    } while (!after.empty());
    if (state.error_occurred()) break;
    if (n != Cfg().list_rows) {
      state.SkipWithError("row count mismatch");
      break;
    }
    rows += n;
  }
  SetRates(state, rows, NsPerOp(start, rows));
  state.counters["rows"] = static_cast<double>(Cfg().list_rows);
}

// ---------------------------------------------------------------- versions

enum class VersionsOp {
  kListVersions,
  kStatColumnAll,
  kStatColumnLatest,
  kListColumns
};

void RunVersions(benchmark::State& state, VersionsOp op) {
  BenchDb* db = VersionsDb(state);
  if (db == nullptr) return;
  const std::string row = RowName(0);
  const std::string column = ColumnName(0);
  std::vector<Version> versions;
  std::vector<ColumnInfo> columns;
  ColumnInfo info;
  uint64_t items = 0, calls = 0;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    Status s;
    switch (op) {
      case VersionsOp::kListVersions:
        s = db->store->ListVersions(kDataset, row, column, {}, &versions);
        items += versions.size();
        break;
      case VersionsOp::kStatColumnAll:
        s = db->store->StatColumn(kDataset, row, column, &info, 0);
        items += info.versions.size();
        break;
      case VersionsOp::kStatColumnLatest:
        s = db->store->StatColumn(kDataset, row, column, &info, 1);
        items += info.versions.size();
        break;
      case VersionsOp::kListColumns:
        s = db->store->ListColumns(kDataset, row, &columns);
        for (const ColumnInfo& c : columns) items += c.versions.size();
        break;
    }
    if (!Check(state, s, "versions")) break;
    ++calls;
  }
  // items = versions returned; ns_per_op is per call.
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["versions_per_s"] = benchmark::Counter(
      static_cast<double>(items), benchmark::Counter::kIsRate);
  state.counters["calls_per_s"] = benchmark::Counter(
      static_cast<double>(calls), benchmark::Counter::kIsRate);
  state.counters["ns_per_op"] = NsPerOp(start, calls);
  state.counters["versions"] = static_cast<double>(Cfg().versions);
}

void BM_ListVersions(benchmark::State& s) {
  RunVersions(s, VersionsOp::kListVersions);
}
void BM_StatColumnAll(benchmark::State& s) {
  RunVersions(s, VersionsOp::kStatColumnAll);
}
void BM_StatColumnLatest(benchmark::State& s) {
  RunVersions(s, VersionsOp::kStatColumnLatest);
}
void BM_ListColumns(benchmark::State& s) {
  RunVersions(s, VersionsOp::kListColumns);
}

// ---------------------------------------------------------------- memory

struct ProcMem {
  double rss_mib = 0;
  double hwm_mib = 0;
};

ProcMem ReadProcMem() {
  ProcMem m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    double* out = nullptr;
    if (line.rfind("VmRSS:", 0) == 0) out = &m.rss_mib;
    if (line.rfind("VmHWM:", 0) == 0) out = &m.hwm_mib;
    if (out != nullptr) *out = std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return m;
}

// Resets VmHWM to the current RSS. False where /proc/self/clear_refs is not
// writable (then only the sampled VmRSS counts).
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

double BlockCacheMiB(Store* store) {
  std::string v;
  if (!store->GetProperty(kDataset, "rocksdb.block-cache-usage", &v).ok()) {
    return 0;
  }
  return std::strtod(v.c_str(), nullptr) / kMiB;
}

struct ListingMemory {
  uint64_t rows = 0;
  double baseline_rss_mib = 0;
  double growth_mib = 0;  // peak RSS during the listing minus baseline
  double cache_growth_mib = 0;
};

// Lists every row with one cursor, sampling VmRSS every 4096 rows.
Status ListMeasuringRss(Store* store, ListingMemory* out) {
  const bool hwm_reset = ResetPeakRss();
  const ProcMem before = ReadProcMem();
  const double cache_before = BlockCacheMiB(store);
  double peak = before.rss_mib;
  Status s;
  std::unique_ptr<RowCursor> cursor = store->NewRowCursor(kDataset, {}, &s);
  ROWFS_RETURN_IF_ERROR(s);
  RowInfo row;
  uint64_t n = 0;
  while (cursor->Next(&row)) {
    if ((++n & 4095) == 0) peak = std::max(peak, ReadProcMem().rss_mib);
  }
  ROWFS_RETURN_IF_ERROR(cursor->status());
  const ProcMem after = ReadProcMem();
  peak = std::max(peak, after.rss_mib);
  if (hwm_reset) peak = std::max(peak, after.hwm_mib);
  out->rows = n;
  out->baseline_rss_mib = before.rss_mib;
  out->growth_mib = peak - before.rss_mib;
  out->cache_growth_mib = BlockCacheMiB(store) - cache_before;
  return Status::OK();
}

// Bounded memory: a RowCursor over rss_rows rows x 3 cells. Reports the peak
// RSS growth during the listing with rowfs's default 256 MiB block cache
// (the cache fills as blocks are read, which is bounded but not small), and
// again after reopening with an 8 MiB cache to show that what remains does
// not grow with the number of rows.
void BM_RowCursorRss(benchmark::State& state) {
  ReleaseSharedDbs();
  BenchDb db;
  ValueGen values(501);
  const uint64_t rows = Cfg().rss_rows;
  if (!Check(state, db.Create(), "create") ||
      !Check(state, FillRows(db.store.get(), rows, kCellsPerListedRow, &values),
             "fill") ||
      !Check(state, db.FlushAndReopen(), "flush")) {
    return;
  }
  ListingMemory big;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    if (!Check(state, ListMeasuringRss(db.store.get(), &big), "list")) break;
  }
  if (state.error_occurred()) return;
  const double ns = NsPerOp(start, big.rows);
  if (big.rows != rows) {
    state.SkipWithError("row count mismatch");
    return;
  }
  // Second, untimed pass with a small cache.
  db.options.block_cache_bytes = 8 << 20;
  ListingMemory small;
  if (!Check(state, db.Reopen(), "reopen") ||
      !Check(state, ListMeasuringRss(db.store.get(), &small), "list")) {
    return;
  }
  SetRates(state, big.rows, ns);
  state.counters["rows"] = static_cast<double>(big.rows);
  state.counters["cells"] = static_cast<double>(big.rows * kCellsPerListedRow);
  state.counters["baseline_rss_MiB"] = big.baseline_rss_mib;
  state.counters["rss_growth_MiB"] = big.growth_mib;
  state.counters["block_cache_growth_MiB"] = big.cache_growth_mib;
  state.counters["rss_growth_excl_cache_MiB"] =
      big.growth_mib - big.cache_growth_mib;
  state.counters["rss_growth_cache8M_MiB"] = small.growth_mib;
}

void RegisterAll() {
  using benchmark::RegisterBenchmark;
  const Config& c = Cfg();
  const auto num = static_cast<benchmark::IterationCount>(c.num);
  RegisterBenchmark("BM_Put", BM_Put)->Iterations(num)->UseRealTime();
  RegisterBenchmark("BM_PutExplicitTs", BM_PutExplicitTs)
      ->Iterations(num)
      ->UseRealTime();
  RegisterBenchmark("BM_GetLatest", BM_GetLatest)
      ->Iterations(num)
      ->UseRealTime();
  RegisterBenchmark("BM_RowCursor", BM_RowCursor)
      ->Iterations(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_ListRowsPaged", BM_ListRowsPaged)
      ->Iterations(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  using Fn = void (*)(benchmark::State&);
  const std::pair<const char*, Fn> version_benchmarks[] = {
      {"BM_ListVersions", BM_ListVersions},
      {"BM_StatColumnAll", BM_StatColumnAll},
      {"BM_StatColumnLatest", BM_StatColumnLatest},
      {"BM_ListColumns", BM_ListColumns}};
  for (const auto& [name, fn] : version_benchmarks) {
    RegisterBenchmark(name, fn)->MinTime(0.3)->UseRealTime()->Unit(
        benchmark::kMicrosecond);
  }
  RegisterBenchmark("BM_RowCursorRss", BM_RowCursorRss)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace rowfs

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  rowfs::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  rowfs::ReleaseSharedDbs();
  benchmark::Shutdown();
  return 0;
}
