#include "rowfs/store.h"

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/statistics.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <system_error>

#include "coding.h"
#include "corruption_guard.h"
#include "latest_bound.h"
#include "lock_table.h"
#include "policy_filter.h"
#include "records.h"
#include "rocks_options.h"
#include "rowfs/key_codec.h"
#include "rowfs/names.h"
#include "wal_check.h"

namespace rowfs {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ToView(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

// "dataset/row/column[@ts]" for messages.
std::string Describe(std::string_view dataset, std::string_view row = {},
                     std::string_view column = {},
                     std::optional<uint64_t> ts = std::nullopt) {
  std::string out(dataset);
  if (!row.empty()) out.append("/").append(row);
  if (!column.empty()) out.append("/").append(column);
  if (ts) out.append("@").append(std::to_string(*ts));
  return out;
}

}  // namespace

// A RocksDB iterator and its bounds [lower, upper) (upper empty: none).
// Heap-allocated and never moved: the iterator points at the bound slices,
// which a reused iterator gets new contents of.
struct IteratorSlot {
  IteratorSlot(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
               std::string lower_in, std::string upper_in,
               const rocksdb::Snapshot* snapshot) {
    SetBounds(std::move(lower_in), std::move(upper_in));
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    ro.iterate_lower_bound = &lower_slice;
    if (!upper.empty()) {
      ro.iterate_upper_bound = &upper_slice;
    } else {
      ro.total_order_seek = true;  // crosses rows; bypass prefix seek
    }
    it.reset(db->NewIterator(ro, cf));
  }
  void SetBounds(std::string lower_in, std::string upper_in) {
    lower = std::move(lower_in);
    upper = std::move(upper_in);
    lower_slice = ToSlice(lower);
    upper_slice = ToSlice(upper);
  }

  std::string lower, upper;
  rocksdb::Slice lower_slice, upper_slice;
  std::unique_ptr<rocksdb::Iterator> it;
  uint64_t generation = 0;  // the pool's, when it was handed out
};

// Iterators over the latest state of one dataset's column ranges, kept for
// reuse: creating a RocksDB iterator costs about a third of a point read.
// A reused one is Refresh()ed (cheap while no flush or compaction happened)
// and gets new bounds. Idle iterators pin the memtables and table files of
// their last refresh, so the pool is emptied whenever a flush or compaction
// of the dataset completes (IteratorPools) and for good before the column
// family handle is destroyed. Thread-safe.
class IteratorPool {
 public:
  IteratorPool(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf)
      : db_(db), cf_(cf) {}

  // An iterator over [lower, upper) of the latest state, not yet
  // positioned. REQUIRES: upper is not empty; Close() was not called.
  std::unique_ptr<IteratorSlot> Acquire(std::string lower, std::string upper) {
    std::unique_ptr<IteratorSlot> slot;
    uint64_t generation = 0;
    {
      std::lock_guard lock(mu_);
      generation = generation_;
      if (!idle_.empty()) {
        slot = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (slot != nullptr) {
      slot->SetBounds(std::move(lower), std::move(upper));
      if (slot->it->Refresh().ok()) {
        slot->generation = generation;
        return slot;
      }
      // Read-only and secondary instances cannot refresh: no reuse there.
      reusable_.store(false, std::memory_order_relaxed);
      lower = std::move(slot->lower);
      upper = std::move(slot->upper);
      slot.reset();
    }
    slot = std::make_unique<IteratorSlot>(db_, cf_, std::move(lower),
                                          std::move(upper), nullptr);
    slot->generation = generation;
    return slot;
  }

  // Keeps `slot` for reuse unless the pool was emptied since it was handed
  // out, the iterator failed, or enough are idle.
  void Release(std::unique_ptr<IteratorSlot> slot) {
    if (!slot->it->status().ok() ||
        !reusable_.load(std::memory_order_relaxed)) {
      return;
    }
    std::lock_guard lock(mu_);
    if (slot->generation == generation_ && idle_.size() < kMaxIdle) {
      idle_.push_back(std::move(slot));
    }
  }

  // Destroys the idle iterators; those in use are destroyed on release.
  void Clear() {
    std::vector<std::unique_ptr<IteratorSlot>> doomed;
    std::lock_guard lock(mu_);
    ++generation_;
    doomed.swap(idle_);
  }

  // Clear() for good. REQUIRES: no iterator in use.
  void Close() {
    reusable_.store(false, std::memory_order_relaxed);
    Clear();
  }

 private:
  static constexpr size_t kMaxIdle = 8;  // a few per daemon thread
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  std::atomic<bool> reusable_{true};
  std::mutex mu_;
  uint64_t generation_ = 0;                          // guarded by mu_
  std::vector<std::unique_ptr<IteratorSlot>> idle_;  // guarded by mu_
};

// Empties the iterator pool of a dataset whose flush or compaction
// completed, so that idle iterators do not keep obsolete memtables and
// table files alive. RocksDB calls it without its own mutex held, from a
// background job; it keeps its own name -> pool registry (a leaf lock)
// instead of looking in Store::Impl::datasets, whose lock is held across
// RocksDB calls that can wait behind background work (creating a family).
class IteratorPools : public rocksdb::EventListener {
 public:
  std::shared_ptr<IteratorPool> Add(const std::string& dataset, rocksdb::DB* db,
                                    rocksdb::ColumnFamilyHandle* cf) {
    auto pool = std::make_shared<IteratorPool>(db, cf);
    std::lock_guard lock(mu_);
    std::erase_if(pools_, [](const auto& p) { return p.second.expired(); });
    pools_.emplace_back(dataset, pool);
    return pool;
  }
  void OnFlushCompleted(rocksdb::DB*,
                        const rocksdb::FlushJobInfo& info) override {
    Clear(info.cf_name);
  }
  void OnCompactionCompleted(rocksdb::DB*,
                             const rocksdb::CompactionJobInfo& info) override {
    Clear(info.cf_name);
  }

 private:
  void Clear(const std::string& dataset) {
    std::vector<std::shared_ptr<IteratorPool>> targets;
    {
      std::lock_guard lock(mu_);
      for (const auto& [name, pool] : pools_) {
        if (name != dataset) continue;
        if (auto p = pool.lock()) targets.push_back(std::move(p));
      }
    }
    for (const auto& pool : targets) pool->Clear();
  }

  std::mutex mu_;
  std::vector<std::pair<std::string, std::weak_ptr<IteratorPool>>> pools_;
};

// One dataset: its column family and live policy. Shared by in-flight
// operations so that a concurrent drop cannot free the handle under them.
using DatasetRecordMap = std::map<std::string, std::string, std::less<>>;

// One secondary instance of a follower and its "default" family handle.
struct FollowerInstance {
  FollowerInstance(rocksdb::DB* db_in, rocksdb::ColumnFamilyHandle* meta_in)
      : db(db_in), meta_cf(meta_in) {}
  ~FollowerInstance() {
    db->DestroyColumnFamilyHandle(meta_cf);
    db->Close().PermitUncheckedError();
    delete db;
  }
  FollowerInstance(const FollowerInstance&) = delete;
  FollowerInstance& operator=(const FollowerInstance&) = delete;
  rocksdb::DB* const db;
  rocksdb::ColumnFamilyHandle* const meta_cf;
};

struct Dataset {
  Dataset(std::string name_in, rocksdb::DB* db_in,
          rocksdb::ColumnFamilyHandle* cf_in,
          std::shared_ptr<PolicyCell> policy_in, uint64_t floor,
          IteratorPools* pools)
      : name(std::move(name_in)),
        db(db_in),
        cf(cf_in),
        policy(std::move(policy_in)),
        iterators(pools->Add(name, db, cf)),
        bound(floor) {}
  ~Dataset() {
    iterators->Close();
    db->DestroyColumnFamilyHandle(cf);
  }

  const std::string name;
  rocksdb::DB* const db;
  rocksdb::ColumnFamilyHandle* const cf;
  const std::shared_ptr<PolicyCell> policy;
  const std::shared_ptr<IteratorPool> iterators;
  LatestBound bound;
  // Serialises commits that persist a new floor, so the persisted value
  // never goes backwards.
  std::mutex floor_mu;
  Attrs attrs;  // guarded by Store::Impl::datasets_mu
  // A follower's instance `db` belongs to; destroyed after the handle.
  std::shared_ptr<FollowerInstance> instance;
  // Writers hold it shared across their RocksDB write; a drop holds it
  // exclusively while it checks emptiness and drops, so no write lands in a
  // family being dropped.
  std::shared_mutex alive_mu;
  bool dropped = false;  // guarded by alive_mu
};
using DatasetPtr = std::shared_ptr<Dataset>;

namespace {

// An iterator over [lower, upper) of one column family, from a pool or
// made for the caller. Owns its bounds.
class RangeIterator {
 public:
  RangeIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                std::string lower, std::string upper,
                const rocksdb::Snapshot* snapshot = nullptr)
      : slot_(std::make_unique<IteratorSlot>(db, cf, std::move(lower),
                                             std::move(upper), snapshot)) {}
  RangeIterator(IteratorPool* pool, std::string lower, std::string upper)
      : pool_(pool), slot_(pool->Acquire(std::move(lower), std::move(upper))) {}
  ~RangeIterator() {
    if (pool_ != nullptr) pool_->Release(std::move(slot_));
  }
  RangeIterator(const RangeIterator&) = delete;
  RangeIterator& operator=(const RangeIterator&) = delete;
  rocksdb::Iterator* operator->() const { return slot_->it.get(); }
  rocksdb::Iterator* get() const { return slot_->it.get(); }
  const std::string& lower() const { return slot_->lower; }
  const std::string& upper() const { return slot_->upper; }

 private:
  IteratorPool* const pool_ = nullptr;
  std::unique_ptr<IteratorSlot> slot_;
};

// Every write rowfs hands to RocksDB goes through here.
rocksdb::Status WriteToRocksDB(rocksdb::DB* db, const rocksdb::WriteOptions& wo,
                               rocksdb::WriteBatch* wb) {
#if defined(__SANITIZE_THREAD__)
  // Debian's librocksdb is not instrumented: ThreadSanitizer cannot see the
  // write thread's own synchronisation, through which concurrent writers
  // share the group commit's buffers. One write at a time makes the order
  // RocksDB provides visible to it (ThreadSanitizer builds only).
  static std::mutex tsan_write_mu;
  std::lock_guard lock(tsan_write_mu);
#endif
  return db->Write(wo, wb);
}

class SnapshotImpl : public Snapshot {
 public:
  SnapshotImpl(rocksdb::DB* db, uint64_t time_ms)
      : db_(db), snapshot_(db->GetSnapshot()), time_ms_(time_ms) {}
  ~SnapshotImpl() override { db_->ReleaseSnapshot(snapshot_); }
  uint64_t time_ms() const override { return time_ms_; }
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* const db_;
  const rocksdb::Snapshot* const snapshot_;
  const uint64_t time_ms_;
};

// Snapshots are read on primaries and read-only stores only: RocksDB
// secondaries read at none, so the file system refuses snapshot views on a
// follower (whose instance may change anyway: see Store::CatchUp).
const rocksdb::Snapshot* RocksSnapshot(const ReadView& view) {
  return view.snapshot == nullptr
             ? nullptr
             : static_cast<const SnapshotImpl&>(*view.snapshot).get();
}

Status ParseOwnKey(const rocksdb::Slice& key, ParsedKey* parsed) {
  Status s = ParseKey(ToView(key), parsed);
  if (!s.ok()) {
    return Status::Corruption("undecodable key of " +
                              std::to_string(key.size()) +
                              " bytes: " + s.message());
  }
  return s;
}

// What to collect from one column.
struct ColumnReadSpec {
  size_t limit = 0;  // visible versions to collect (0 = all)
  uint64_t min_ts = 0;
  uint64_t max_ts = UINT64_MAX;
  bool values = false;
};

// Reads one column through `it` (any iterator whose range covers it):
// its meta record and its visible versions selected by `spec`.
// Visibility is decided by rank among all physical versions; since versions
// are newest first, the first invisible one ends the scan.
// `begin`/`end` are ColumnBegin/ColumnEnd of the column.
Status ReadColumn(rocksdb::Iterator* it, std::string_view begin,
                  std::string_view end, std::string_view column,
                  const Policy& policy, uint64_t now_ms,
                  const ColumnReadSpec& spec, ColumnInfo* info,
                  std::vector<Version>* values) {
  info->attrs.reset();
  info->versions.clear();
  uint64_t rank = 0;
  for (it->Seek(ToSlice(begin)); it->Valid() && ToView(it->key()) < end;
       it->Next()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (k.kind == KeyKind::kColumnMeta) {
      Attrs a;
      ROWFS_RETURN_IF_ERROR(DecodeAttrs(ToView(it->value()), &a));
      info->attrs = a;
      continue;
    }
    if (k.kind != KeyKind::kCell) {
      return Status::Corruption("row meta record inside column " +
                                std::string(column));
    }
    if (!IsVersionVisible(policy, now_ms, k.ts, rank++)) break;
    if (k.ts > spec.max_ts) continue;
    if (k.ts < spec.min_ts) break;
    info->versions.push_back({k.ts, it->value().size()});
    if (values) values->push_back({k.ts, it->value().ToString()});
    if (spec.limit != 0 && info->versions.size() >= spec.limit) break;
  }
  if (it->status().ok()) return Status::OK();  // no message to build
  return Status::FromRocksDB(it->status(), "reading " + std::string(column));
}

// Positions `it` on the first key at or after `from` and decides whether the
// row found there is visible: it has a meta record, or one of its columns
// has a live newest version (expired columns are skipped with one seek each).
// On return *row_name names the row found (empty at the end of the data) and
// *visible/*attrs describe it.
Status ProbeRow(rocksdb::Iterator* it, const std::string& from,
                const Policy& policy, uint64_t now_ms, uint64_t as_of,
                std::string* row_name, bool* visible,
                std::optional<Attrs>* attrs) {
  row_name->clear();
  *visible = false;
  attrs->reset();
  it->Seek(from);
  while (it->Valid()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (row_name->empty()) {
      row_name->assign(k.row);
    } else if (k.row != *row_name) {
      return Status::OK();  // left the row without finding anything visible
    }
    if (k.kind == KeyKind::kRowMeta) {
      Attrs a;
      ROWFS_RETURN_IF_ERROR(DecodeAttrs(ToView(it->value()), &a));
      *attrs = a;
      *visible = true;
      return Status::OK();
    }
    if (k.kind == KeyKind::kColumnMeta) {
      it->Next();
      continue;
    }
    if (k.ts > as_of) {
      // Versions after the view's time do not exist in it: skip to the
      // first one at or before it.
      it->Seek(CellKey(k.row, k.column, as_of));
      continue;
    }
    // The newest version of the column has rank 0, so only TTL can hide it.
    if (!IsExpired(policy, now_ms, k.ts)) {
      *visible = true;
      return Status::OK();
    }
    it->Seek(ColumnEnd(k.row, k.column));
  }
  return Status::FromRocksDB(it->status(), "scanning rows");
}

class RowCursorImpl : public RowCursor {
 public:
  RowCursorImpl(DatasetPtr ds, uint64_t now_ms, std::string start_after,
                ReadView view)
      : ds_(std::move(ds)),
        view_(std::move(view)),
        policy_(ds_->policy->Load()),
        now_ms_(now_ms),
        it_(ds_->db, ds_->cf, std::string(), std::string(),
            RocksSnapshot(view_)),
        next_from_(start_after.empty() ? std::string() : RowEnd(start_after)) {}

  bool Next(RowInfo* row) override {
    if (!status_.ok() || done_) return false;
    while (true) {
      bool visible = false;
      status_ = ProbeRow(it_.get(), next_from_, policy_, now_ms_, view_.as_of,
                         &row->name, &visible, &row->attrs);
      if (!status_.ok() || row->name.empty()) {
        done_ = true;
        return false;
      }
      next_from_ = RowEnd(row->name);
      if (visible) return true;
    }
  }
  Status status() const override { return status_; }

 private:
  DatasetPtr ds_;
  const ReadView view_;  // keeps the snapshot alive
  const Policy policy_;
  const uint64_t now_ms_;
  RangeIterator it_;
  std::string next_from_;
  Status status_;
  bool done_ = false;
};

}  // namespace

// A column a write touched: a put at `ts`, or another change storing
// versions up to `ts` (0 when it only removed).
struct ColumnChange {
  Dataset* ds;
  std::string column_key;  // ColumnBegin(row, column)
  bool put;
  uint64_t ts;
};

namespace {

// One change per key (meta records included) of a range a write removes or
// re-keys: removed keys change their column without a new timestamp, keys
// written under `to_row` bring theirs.
Status AddKeyChanges(
    Dataset* ds, const std::vector<std::pair<std::string, std::string>>& kvs,
    std::optional<std::string_view> to_row, std::vector<ColumnChange>* out) {
  for (const auto& kv : kvs) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(kv.first, &k));
    if (k.kind == KeyKind::kRowMeta) continue;
    const uint64_t ts = k.kind == KeyKind::kCell && to_row ? k.ts : 0;
    out->push_back(
        {ds, ColumnBegin(to_row.value_or(k.row), k.column), false, ts});
  }
  return Status::OK();
}

}  // namespace

// Holds the alive locks of every dataset a write touches, shared, and
// rejects the write when one was dropped in the meantime.
class DatasetGuard {
 public:
  // Adds a dataset to hold; one added twice is held once.
  void Add(const DatasetPtr& ds) {
    for (const auto& held : held_) {
      if (held.get() == ds.get()) return;
    }
    held_.push_back(ds);
  }

  // Takes every added dataset's lock shared, in name order: one global
  // order, so two writes across the same datasets in opposite directions
  // cannot deadlock against a drop waiting for one of them.
  // REQUIRES: called once, after the last Add.
  Status Lock() {
    std::sort(held_.begin(), held_.end(),
              [](const DatasetPtr& a, const DatasetPtr& b) {
                return a->name < b->name;
              });
    for (const DatasetPtr& ds : held_) {
      std::shared_lock lock(ds->alive_mu);
      if (ds->dropped) {
        return Status::NotFound("dataset '" + ds->name + "' was dropped");
      }
      locks_.push_back(std::move(lock));
    }
    return Status::OK();
  }

 private:
  std::vector<DatasetPtr> held_;
  std::vector<std::shared_lock<std::shared_mutex>> locks_;
};

// What one mutation locked: taken by Prepare(), released on destruction.
struct Locked {
  explicit Locked(LockTable* table) : locks(table) {}
  LockSet locks;
  DatasetGuard guard;
  DatasetPtr ds[2];  // the targets' datasets, in Prepare's order
};

// A target of a mutation: one column (locked exclusively, its row shared),
// or a whole row (exclusively) when `column` is unset.
struct LockTarget {
  std::string_view dataset, row;
  std::optional<std::string_view> column;
};

struct Store::Impl {
  StoreOptions options;
  std::string path;
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf = nullptr;
  rocksdb::ColumnFamilyOptions cf_template;
  std::shared_ptr<IteratorPools> iterator_pools =
      std::make_shared<IteratorPools>();
  std::shared_ptr<CompactionCorruptionGuard> corruption_guard =
      std::make_shared<CompactionCorruptionGuard>();
  mutable std::shared_mutex datasets_mu;
  std::map<std::string, DatasetPtr, std::less<>> datasets;
  LockTable locks;
  // What opening needs again when a follower reopens.
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> file_cfs;
  // A follower's current secondary instance. RocksDB secondaries neither
  // see families created after they opened nor survive the drop of one
  // (catch-up fails with Corruption for good), so a follower reopens
  // whenever the primary's families change, and `db`/`meta_cf` move to the
  // new instance (under datasets_mu). Each Dataset holds its instance, which
  // closes when the last one goes.
  std::shared_ptr<FollowerInstance> follower_instance;
  int follower_generation = 1;  // guarded by catch_up_mu
  // The dataset records when the follower last (re)opened; guarded by
  // catch_up_mu.
  DatasetRecordMap follower_records;
  std::mutex catch_up_mu;  // one catch-up at a time

  ~Impl() {
    corruption_guard->Stop();  // it reaches datasets
    datasets.clear();
    if (follower_instance != nullptr) return;  // closes with its last user
    if (db == nullptr) return;
    if (options.mode == StoreOptions::Mode::kReadWrite) {
      db->FlushWAL(/*sync=*/true).PermitUncheckedError();
    }
    if (meta_cf != nullptr) db->DestroyColumnFamilyHandle(meta_cf);
    db->Close().PermitUncheckedError();
    delete db;
  }

  uint64_t Now() const { return options.clock->NowMs(); }

  // The common start of every single-purpose mutation: the store is
  // writable, the names are valid, the datasets exist; then the locks are
  // taken and the datasets held alive. At most two targets.
  Status Prepare(std::string_view what,
                 std::initializer_list<LockTarget> targets, Locked* l);
  bool read_only() const {
    return options.mode != StoreOptions::Mode::kReadWrite;
  }

  // An explicit timestamp a write may store: within range and not more
  // than max_future_ms ahead of the clock.
  Status CheckStoredTimestamp(uint64_t ts) const {
    if (ts > kMaxTimestamp) {
      return Status::InvalidArgument("timestamp out of range");
    }
    const uint64_t now = Now();
    if (ts > now && ts - now > options.max_future_ms) {
      return Status::InvalidArgument(
          "timestamp " + std::to_string(ts) + " is more than " +
          std::to_string(options.max_future_ms / 1000) +
          " s ahead of the clock");
    }
    return Status::OK();
  }

  Status CheckWritable(std::string_view what) const {
    if (read_only())
      return Status::ReadOnly(std::string(what) + ": read-only store");
    return Status::OK();
  }

  rocksdb::ColumnFamilyOptions DatasetCfOptions(
      const std::shared_ptr<PolicyCell>& policy) const {
    rocksdb::ColumnFamilyOptions o = cf_template;
    o.compaction_filter_factory =
        std::make_shared<PolicyFilterFactory>(policy, options.clock);
    return o;
  }

  // What opening the existing families `names` takes: each one's options
  // (an options file's, when it names the family, with the policy filter of
  // a fresh policy in any case) and that policy.
  void DescribeFamilies(
      const std::vector<std::string>& names,
      std::vector<rocksdb::ColumnFamilyDescriptor>* descriptors,
      std::vector<std::shared_ptr<PolicyCell>>* policies) const {
    for (const std::string& name : names) {
      auto policy = std::make_shared<PolicyCell>();
      rocksdb::ColumnFamilyOptions o = cf_template;
      if (name != rocksdb::kDefaultColumnFamilyName) {
        o = DatasetCfOptions(policy);
        for (const auto& d : file_cfs) {
          if (d.name == name) {
            auto factory = o.compaction_filter_factory;
            o = d.options;
            o.compaction_filter_factory = factory;
          }
        }
      }
      descriptors->emplace_back(name, o);
      policies->push_back(std::move(policy));
    }
  }

  // A Dataset for an opened family, with its floor, attributes and policy
  // from the "default" family's records. The Dataset owns `handle` on
  // success only.
  Status LoadDataset(const std::string& name, rocksdb::DB* instance,
                     rocksdb::ColumnFamilyHandle* instance_meta_cf,
                     rocksdb::ColumnFamilyHandle* handle,
                     std::shared_ptr<PolicyCell> policy, DatasetPtr* out) {
    // A family without a floor record (made by another tool) gets no fast
    // path: every server-timestamped put reads the column's latest.
    uint64_t floor = UINT64_MAX;
    std::string floor_record;
    rocksdb::Status fs = instance->Get(rocksdb::ReadOptions(), instance_meta_cf,
                                       FloorRecordKey(name), &floor_record);
    if (fs.ok() && floor_record.size() == 8) {
      floor = DecodeFixed64BE(floor_record.data());
    } else if (!fs.ok() && !fs.IsNotFound()) {
      return Status::FromRocksDB(fs, "reading floor record " + name);
    }
    // Defaults for a family without a record (e.g. created by another tool).
    Attrs attrs{0755, 0, 0, 0};
    std::string record;
    rocksdb::Status rs = instance->Get(rocksdb::ReadOptions(), instance_meta_cf,
                                       DatasetRecordKey(name), &record);
    if (rs.ok()) {
      Policy p;
      ROWFS_RETURN_IF_ERROR(DecodeDatasetRecord(record, &attrs, &p));
      policy->Store(p);
    } else if (!rs.IsNotFound()) {
      return Status::FromRocksDB(rs, "reading dataset record " + name);
    }
    auto ds = std::make_shared<Dataset>(name, instance, handle, policy, floor,
                                        iterator_pools.get());
    ds->attrs = attrs;
    *out = std::move(ds);
    return Status::OK();
  }

  // The datasets' records in "default", by name. The primary writes a
  // dataset's record with its family and deletes it with the drop, so a
  // follower compares these few keys to notice either without reading the
  // MANIFEST; comparing their contents (attributes with the creation time)
  // also tells a dataset dropped and made again under the same name.
  // REQUIRES: on a follower, catch_up_mu held (or opening).
  Status DatasetRecords(DatasetRecordMap* records) const;
  // Opens a new secondary instance with every family the primary has now
  // and makes it current. `records`: the dataset records read before (it
  // becomes follower_records; reading them before listing the families
  // means a dataset created or dropped meanwhile causes one more reopen,
  // never none). REQUIRES: catch_up_mu held.
  Status ReopenFollower(DatasetRecordMap records);

  Status Find(std::string_view name, DatasetPtr* out) const {
    std::shared_lock lock(datasets_mu);
    auto it = datasets.find(name);
    if (it == datasets.end()) {
      return Status::NotFound("dataset '" + std::string(name) +
                              "' does not exist");
    }
    *out = it->second;
    return Status::OK();
  }

  // The named dataset, or every dataset when `name` is empty.
  Status FindAll(std::string_view name, std::vector<DatasetPtr>* out) const {
    out->clear();
    if (!name.empty()) {
      out->emplace_back();
      return Find(name, &out->back());
    }
    std::shared_lock lock(datasets_mu);
    for (const auto& kv : datasets) out->push_back(kv.second);
    return Status::OK();
  }

  RangeIterator ColumnIterator(const Dataset& ds, std::string_view row,
                               std::string_view column,
                               const ReadView& view = {}) const {
    if (view.snapshot == nullptr) {
      return RangeIterator(ds.iterators.get(), ColumnBegin(row, column),
                           ColumnEnd(row, column));
    }
    return RangeIterator(ds.db, ds.cf, ColumnBegin(row, column),
                         ColumnEnd(row, column), RocksSnapshot(view));
  }
  RangeIterator RowIterator(const Dataset& ds, std::string_view row,
                            const ReadView& view = {}) const {
    return RangeIterator(ds.db, ds.cf, RowBegin(row), RowEnd(row),
                         RocksSnapshot(view));
  }

  Status ReadColumnOf(const Dataset& ds, std::string_view row,
                      std::string_view column, ColumnReadSpec spec,
                      ColumnInfo* info, std::vector<Version>* values,
                      const ReadView& view = {}) const {
    spec.max_ts = std::min(spec.max_ts, view.as_of);
    RangeIterator it = ColumnIterator(ds, row, column, view);
    ROWFS_RETURN_IF_ERROR(ReadColumn(it.get(), it.lower(), it.upper(), column,
                                     ds.policy->Load(), Now(), spec, info,
                                     values));
    if (info->versions.empty()) {
      return Status::NotFound("no column " +
                              Describe("", row, column).substr(1));
    }
    info->name.assign(column);
    return Status::OK();
  }

  // The newest physical version's timestamp, visible or not.
  Status LatestPhysicalTs(const Dataset& ds, std::string_view row,
                          std::string_view column,
                          std::optional<uint64_t>* ts) const {
    ts->reset();
    RangeIterator it = ColumnIterator(ds, row, column);
    for (it->Seek(ColumnBegin(row, column)); it->Valid(); it->Next()) {
      ParsedKey k;
      ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
      if (k.kind == KeyKind::kCell) {
        *ts = k.ts;
        break;
      }
    }
    return Status::FromRocksDB(it->status());
  }

  // Every physical key and value of [begin, end), for moves and deletes.
  Status CollectRange(const Dataset& ds, std::string begin, std::string end,
                      std::vector<std::pair<std::string, std::string>>* kvs,
                      bool with_values) const {
    RangeIterator it(ds.db, ds.cf, begin, end);
    for (it->Seek(begin); it->Valid(); it->Next()) {
      kvs->emplace_back(it->key().ToString(),
                        with_values ? it->value().ToString() : std::string());
    }
    return Status::FromRocksDB(it->status());
  }

  // Commits `wb` and keeps each touched dataset's LatestBound true: a floor
  // record covering the new timestamps goes into the same batch, and the
  // changes are recorded before the caller releases its column locks.
  Status Commit(rocksdb::WriteBatch* wb, const WriteOptions& wo,
                std::string_view what,
                const std::vector<ColumnChange>& changes = {}) {
    std::map<Dataset*, uint64_t> max_ts;
    for (const ColumnChange& c : changes) {
      uint64_t& m = max_ts[c.ds];
      m = std::max(m, c.ts);
    }
    std::vector<std::unique_lock<std::mutex>> floor_locks;
    std::vector<std::pair<Dataset*, uint64_t>> floors;
    for (const auto& [ds, m] : max_ts) {  // map order: a global lock order
      if (!ds->bound.FloorToPersist(m)) continue;
      floor_locks.emplace_back(ds->floor_mu);
      if (std::optional<uint64_t> floor = ds->bound.FloorToPersist(m)) {
        std::string value;
        PutFixed64BE(&value, *floor);
        wb->Put(meta_cf, FloorRecordKey(ds->name), value);
        floors.emplace_back(ds, *floor);
      }
    }
    rocksdb::WriteOptions rwo;
    rwo.sync = wo.sync;
    Status s = Status::FromRocksDB(WriteToRocksDB(db, rwo, wb), what);
    if ((s.code() == Status::Code::kIOError ||
         s.code() == Status::Code::kNoSpace) &&
        ResumeAfterBackgroundError()) {
      s = Status::FromRocksDB(WriteToRocksDB(db, rwo, wb), what);
    }
    if (!s.ok()) return s;
    for (const auto& [ds, floor] : floors) ds->bound.SetPersisted(floor);
    for (const ColumnChange& c : changes) {
      if (c.put) {
        c.ds->bound.RecordPut(c.column_key, c.ts);
      } else {
        c.ds->bound.RecordOther(c.column_key, c.ts);
      }
    }
    return s;
  }

  Status WriteMetaRecord(std::string_view key, std::string_view value) {
    rocksdb::WriteBatch wb;
    wb.Put(meta_cf, ToSlice(key), ToSlice(value));
    // Structure changes are rare and must survive a crash: synced.
    return Commit(&wb, WriteOptions{.sync = true}, "writing metadata");
  }

  // After a failed write: a background error (a flush or compaction that
  // met EMFILE, EIO or a full disk) stops every write until RocksDB is told
  // to resume, even once the cause is gone. Tries that, at most once a
  // second; true when writes may be retried.
  bool ResumeAfterBackgroundError() {
    const uint64_t now = Clock::Real()->NowMs();
    uint64_t last = last_resume_ms.load(std::memory_order_relaxed);
    if (now - last < 1000 ||
        !last_resume_ms.compare_exchange_strong(last, now)) {
      return false;
    }
    rocksdb::Status s = db->Resume();
    if (s.ok()) {
      spdlog::warn("writes resumed after a background error");
      return true;
    }
    spdlog::error("cannot resume writes yet: {}", s.ToString());
    return false;
  }
  std::atomic<uint64_t> last_resume_ms{0};
};

Status Store::Impl::Prepare(std::string_view what,
                            std::initializer_list<LockTarget> targets,
                            Locked* l) {
  ROWFS_RETURN_IF_ERROR(CheckWritable(what));
  size_t i = 0;
  for (const LockTarget& t : targets) {
    ROWFS_RETURN_IF_ERROR(ValidateRowName(t.row));
    if (t.column) ROWFS_RETURN_IF_ERROR(ValidateColumnName(*t.column));
    ROWFS_RETURN_IF_ERROR(Find(t.dataset, &l->ds[i++]));
    if (t.column) {
      l->locks.AddColumn(t.dataset, t.row, *t.column);
    } else {
      l->locks.AddRowExclusive(t.dataset, t.row);
    }
  }
  l->locks.Lock();
  for (size_t j = 0; j < i; ++j) l->guard.Add(l->ds[j]);
  return l->guard.Lock();
}

// ---------------------------------------------------------------- Batch

void Batch::Put(std::string_view dataset, std::string_view row,
                std::string_view column, std::string_view value, uint64_t ts,
                const Attrs* attrs) {
  Op op{OpType::kPut,        std::string(dataset), std::string(row),
        std::string(column), std::string(value),   ts,
        std::nullopt};
  if (attrs != nullptr) op.attrs = *attrs;
  ops_.push_back(std::move(op));
}

void Batch::PutBorrowed(std::string_view dataset, std::string_view row,
                        std::string_view column, std::string_view value,
                        uint64_t ts, const Attrs* attrs) {
  Put(dataset, row, column, {}, ts, attrs);
  ops_.back().borrowed_value = value;
}

void Batch::DeleteVersion(std::string_view dataset, std::string_view row,
                          std::string_view column, uint64_t ts) {
  ops_.push_back({OpType::kDeleteVersion,
                  std::string(dataset),
                  std::string(row),
                  std::string(column),
                  {},
                  ts,
                  std::nullopt});
}

void Batch::DeleteColumn(std::string_view dataset, std::string_view row,
                         std::string_view column) {
  ops_.push_back({OpType::kDeleteColumn,
                  std::string(dataset),
                  std::string(row),
                  std::string(column),
                  {},
                  0,
                  std::nullopt});
}

void Batch::DeleteRow(std::string_view dataset, std::string_view row) {
  ops_.push_back({OpType::kDeleteRow,
                  std::string(dataset),
                  std::string(row),
                  {},
                  {},
                  0,
                  std::nullopt});
}

// ---------------------------------------------------------------- Open

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const { return impl_->path; }
bool Store::read_only() const { return impl_->read_only(); }
const StoreOptions& Store::options() const { return impl_->options; }
rocksdb::DB* Store::db() const { return impl_->db; }

namespace {

// Checks DB_DIR and creates it (private: 0700) when missing and allowed.
// An existing one that others can read is reported: its files hold every
// column's bytes whatever the columns' modes say.
Status PrepareDatabaseDirectory(const StoreOptions& options,
                                const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st)) {
    return Status::InvalidArgument(path + " is not a directory");
  }
  if (!std::filesystem::exists(st)) {
    if (options.mode != StoreOptions::Mode::kReadWrite ||
        !options.create_if_missing) {
      return Status::NotFound(path + " does not exist");
    }
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IOError("creating " + path + ": " + ec.message());
    if (chmod(path.c_str(), 0700) != 0) {
      return Status::IOError("chmod 0700 " + path + ": " +
                             std::strerror(errno));
    }
    return Status::OK();
  }
  using std::filesystem::perms;
  if ((st.permissions() & (perms::group_all | perms::others_all)) !=
      perms::none) {
    spdlog::warn(
        "database directory {} is accessible to other users (mode {:o}): "
        "they can read every column's bytes from its files; chmod 0700 it",
        path, static_cast<unsigned>(st.permissions()) & 0777);
  }
  return Status::OK();
}

}  // namespace

Status Store::Open(const StoreOptions& options, const std::string& path,
                   std::unique_ptr<Store>* store) {
  using Mode = StoreOptions::Mode;
  if (options.clock == nullptr) return Status::InvalidArgument("null clock");
  if (options.mode == Mode::kSecondary && options.secondary_path.empty()) {
    return Status::InvalidArgument("a follower needs a secondary path");
  }
  ROWFS_RETURN_IF_ERROR(PrepareDatabaseDirectory(options, path));

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->path = path;
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> file_cfs;
  ROWFS_RETURN_IF_ERROR(BuildRocksOptions(options, path, &db_options,
                                          &impl->cf_template, &file_cfs));
  db_options.listeners.push_back(impl->iterator_pools);
  db_options.listeners.push_back(impl->corruption_guard);

  std::vector<std::string> names;
  rocksdb::Status ls =
      rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (!ls.ok()) {
    if (options.mode != Mode::kReadWrite) {
      return Status::FromRocksDB(ls, "opening " + path);
    }
    // Only an empty directory may become a new database. One that holds
    // anything without a readable CURRENT (lost, or a half-made copy) is a
    // damaged database: RocksDB would create a new one there and delete
    // every table file and log it does not know.
    std::error_code ec;
    if (!std::filesystem::is_empty(path, ec)) {
      return Status::Corruption(
          path + " holds files but no database: its CURRENT file is " +
          (std::filesystem::exists(path + "/CURRENT", ec) ? "unreadable"
                                                          : "missing") +
          " (" + ls.ToString() +
          "); refusing to create a database there. Restore CURRENT "
          "(rowfs repair DB_DIR), or use an empty directory");
    }
    names = {rocksdb::kDefaultColumnFamilyName};
  }

  impl->file_cfs = file_cfs;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<std::shared_ptr<PolicyCell>> policies;
  impl->DescribeFamilies(names, &descriptors, &policies);

  ROWFS_RETURN_IF_ERROR(CheckWalBeforeOpen(options, path, &db_options));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s;
  switch (options.mode) {
    case Mode::kReadWrite:
      s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &impl->db);
      break;
    case Mode::kReadOnly:
      s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles,
                                       &impl->db);
      break;
    case Mode::kSecondary: {
      std::error_code ec;
      std::filesystem::create_directories(options.secondary_path, ec);
      db_options.max_open_files = -1;  // required by secondary instances
      s = rocksdb::DB::OpenAsSecondary(db_options, path, options.secondary_path,
                                       descriptors, &handles, &impl->db);
      break;
    }
  }
  if (!s.ok()) {
    Status st2 = Status::FromRocksDB(s, "opening " + path);
    if (st2.code() == Status::Code::kBusy) {
      return Status::Busy(path + " is in use by another process (" +
                          s.ToString() + ")");
    }
    return st2;
  }

  impl->db_options = db_options;
  for (size_t i = 0; i < handles.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      impl->meta_cf = handles[i];
    }
  }
  for (size_t i = 0; i < handles.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) continue;
    DatasetPtr ds;
    ROWFS_RETURN_IF_ERROR(impl->LoadDataset(names[i], impl->db, impl->meta_cf,
                                            handles[i], policies[i], &ds));
    impl->datasets.emplace(names[i], std::move(ds));
  }
  if (options.mode == Mode::kSecondary) {
    impl->follower_instance =
        std::make_shared<FollowerInstance>(impl->db, impl->meta_cf);
    for (auto& [name, ds] : impl->datasets) {
      ds->instance = impl->follower_instance;
    }
    ROWFS_RETURN_IF_ERROR(impl->DatasetRecords(&impl->follower_records));
  }
  impl->corruption_guard->SetFamilyResolver(
      [i = impl.get()](const std::string& name, const auto& fn) {
        if (name == rocksdb::kDefaultColumnFamilyName) {
          fn(i->db, i->meta_cf);
          return true;
        }
        DatasetPtr ds;
        if (!i->Find(name, &ds).ok()) return false;
        fn(ds->db, ds->cf);
        return true;
      });
  if (auto* logger = dynamic_cast<SpdlogLogger*>(db_options.info_log.get())) {
    logger->SetQuiet(false);  // open: from now on RocksDB's errors are news
  }
  store->reset(new Store(std::move(impl)));
  return Status::OK();
}

// ---------------------------------------------------------------- Datasets

Status Store::CreateDataset(std::string_view name, const Attrs& attrs) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("create dataset"));
  ROWFS_RETURN_IF_ERROR(ValidateDatasetName(name));
  std::unique_lock lock(impl_->datasets_mu);
  if (impl_->datasets.count(name) != 0) {
    return Status::AlreadyExists("dataset '" + std::string(name) + "' exists");
  }
  auto policy = std::make_shared<PolicyCell>();
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  rocksdb::Status s = impl_->db->CreateColumnFamily(
      impl_->DatasetCfOptions(policy), std::string(name), &handle);
  if (!s.ok())
    return Status::FromRocksDB(s, "creating dataset " + std::string(name));
  auto ds =
      std::make_shared<Dataset>(std::string(name), impl_->db, handle, policy,
                                /*floor=*/0, impl_->iterator_pools.get());
  ds->attrs = attrs;
  impl_->datasets.emplace(std::string(name), ds);
  rocksdb::WriteBatch wb;
  std::string floor;
  PutFixed64BE(&floor, 0);
  wb.Put(impl_->meta_cf, DatasetRecordKey(name),
         EncodeDatasetRecord(attrs, Policy{}));
  wb.Put(impl_->meta_cf, FloorRecordKey(name), floor);
  return impl_->Commit(&wb, WriteOptions{.sync = true}, "create dataset");
}

Status Store::DropDataset(std::string_view name, bool force) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("drop dataset"));
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(name, &ds));
  std::unique_lock alive(ds->alive_mu);
  if (ds->dropped) return Status::NotFound("dataset was dropped");
  if (!force) {
    Status s;
    std::unique_ptr<RowCursor> cursor = NewRowCursor(name, {}, &s);
    if (!s.ok()) return s;
    RowInfo row;
    if (cursor->Next(&row)) {
      return Status::NotEmpty("dataset '" + std::string(name) + "' has rows");
    }
    ROWFS_RETURN_IF_ERROR(cursor->status());
  }
  rocksdb::Status s = impl_->db->DropColumnFamily(ds->cf);
  if (!s.ok()) return Status::FromRocksDB(s, "dropping " + std::string(name));
  ds->dropped = true;
  ds->iterators->Clear();  // idle iterators would keep the data alive
  {
    std::unique_lock lock(impl_->datasets_mu);
    impl_->datasets.erase(impl_->datasets.find(name));
  }
  rocksdb::WriteBatch wb;
  wb.Delete(impl_->meta_cf, DatasetRecordKey(name));
  wb.Delete(impl_->meta_cf, FloorRecordKey(name));
  return impl_->Commit(&wb, WriteOptions{.sync = true}, "drop dataset");
}

std::vector<DatasetInfo> Store::ListDatasets() const {
  std::shared_lock lock(impl_->datasets_mu);
  std::vector<DatasetInfo> out;
  out.reserve(impl_->datasets.size());
  for (const auto& [name, ds] : impl_->datasets) {
    out.push_back({name, ds->attrs, ds->policy->Load()});
  }
  return out;
}

Status Store::GetDataset(std::string_view name, DatasetInfo* info) const {
  std::shared_lock lock(impl_->datasets_mu);
  auto it = impl_->datasets.find(name);
  if (it == impl_->datasets.end()) {
    return Status::NotFound("dataset '" + std::string(name) +
                            "' does not exist");
  }
  *info = {it->first, it->second->attrs, it->second->policy->Load()};
  return Status::OK();
}

Status Store::SetDatasetAttrs(std::string_view name, const Attrs& attrs) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("set dataset attributes"));
  std::unique_lock lock(impl_->datasets_mu);
  auto it = impl_->datasets.find(name);
  if (it == impl_->datasets.end()) {
    return Status::NotFound("dataset '" + std::string(name) +
                            "' does not exist");
  }
  ROWFS_RETURN_IF_ERROR(impl_->WriteMetaRecord(
      DatasetRecordKey(name),
      EncodeDatasetRecord(attrs, it->second->policy->Load())));
  it->second->attrs = attrs;
  return Status::OK();
}

Status Store::SetDatasetPolicy(std::string_view name, const Policy& policy) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("set dataset policy"));
  if (policy.ttl_seconds > kMaxTimestamp / 1000) {
    return Status::InvalidArgument("ttl out of range");
  }
  std::unique_lock lock(impl_->datasets_mu);
  auto it = impl_->datasets.find(name);
  if (it == impl_->datasets.end()) {
    return Status::NotFound("dataset '" + std::string(name) +
                            "' does not exist");
  }
  ROWFS_RETURN_IF_ERROR(impl_->WriteMetaRecord(
      DatasetRecordKey(name), EncodeDatasetRecord(it->second->attrs, policy)));
  it->second->policy->Store(policy);
  return Status::OK();
}

Status Store::GetRootAttrs(Attrs* attrs) const {
  std::string record;
  rocksdb::Status s;
  {
    std::shared_lock lock(impl_->datasets_mu);  // a follower may reopen
    s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta_cf,
                       ToSlice(kRootRecordKey), &record);
  }
  if (s.IsNotFound()) return Status::NotFound("root has no attributes yet");
  if (!s.ok()) return Status::FromRocksDB(s, "reading root attributes");
  return DecodeAttrs(record, attrs);
}

Status Store::SetRootAttrs(const Attrs& attrs) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("set root attributes"));
  return impl_->WriteMetaRecord(kRootRecordKey, EncodeAttrs(attrs));
}

// ---------------------------------------------------------------- Writes

Status Store::Write(const Batch& batch, const WriteOptions& options,
                    std::vector<uint64_t>* timestamps) {
  using OpType = Batch::OpType;
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("write"));
  // Validate everything before taking any lock.
  std::vector<DatasetPtr> datasets;
  datasets.reserve(batch.ops_.size());
  for (const Batch::Op& op : batch.ops_) {
    DatasetPtr ds;
    ROWFS_RETURN_IF_ERROR(ValidateDatasetName(op.dataset));
    ROWFS_RETURN_IF_ERROR(ValidateRowName(op.row));
    if (op.type != OpType::kDeleteRow) {
      ROWFS_RETURN_IF_ERROR(ValidateColumnName(op.column));
    }
    if (op.type == OpType::kPut && op.ts != kServerTimestamp) {
      ROWFS_RETURN_IF_ERROR(impl_->CheckStoredTimestamp(op.ts));
    }
    if (op.type == OpType::kDeleteVersion && op.ts > kMaxTimestamp) {
      return Status::InvalidArgument("timestamp out of range");
    }
    ROWFS_RETURN_IF_ERROR(impl_->Find(op.dataset, &ds));
    datasets.push_back(std::move(ds));
  }

  LockSet locks(&impl_->locks);
  for (const Batch::Op& op : batch.ops_) {
    if (op.type == OpType::kDeleteRow) {
      locks.AddRowExclusive(op.dataset, op.row);
    } else {
      locks.AddColumn(op.dataset, op.row, op.column);
    }
  }
  locks.Lock();
  DatasetGuard guard;
  for (const DatasetPtr& ds : datasets) guard.Add(ds);
  ROWFS_RETURN_IF_ERROR(guard.Lock());

  // Keys this batch puts, so that a later delete in it removes them and a
  // later server-timestamped put to the same column goes after them.
  // Keys this batch puts, so that a later delete in it removes them too.
  struct Pending {
    const Dataset* ds;
    std::string key;
  };
  std::vector<Pending> pending;
  std::vector<ColumnChange> changes;
  // Sized up front: a batch grown by doubling copies (and faults in) a large
  // value twice over.
  size_t reserve = 256;  // the floor record Commit may add
  for (const Batch::Op& op : batch.ops_) {
    // Cell key and meta record key, attrs and record headers.
    reserve += op.value().size() + 2 * (op.row.size() + op.column.size()) + 256;
  }
  rocksdb::WriteBatch wb(reserve);
  std::vector<uint64_t> assigned;
  const uint64_t now = impl_->Now();

  auto delete_range = [&](Dataset& ds, const std::string& begin,
                          const std::string& end) -> Status {
    std::vector<std::pair<std::string, std::string>> kvs;
    ROWFS_RETURN_IF_ERROR(impl_->CollectRange(ds, begin, end, &kvs, false));
    for (const Pending& p : pending) {
      if (p.ds == &ds && p.key >= begin && p.key < end)
        kvs.push_back({p.key, {}});
    }
    for (const auto& kv : kvs) {
      wb.Delete(ds.cf, kv.first);
      ParsedKey k;
      ROWFS_RETURN_IF_ERROR(ParseOwnKey(kv.first, &k));
      if (k.kind != KeyKind::kRowMeta) {
        changes.push_back({&ds, ColumnBegin(k.row, k.column), false, 0});
      }
    }
    return Status::OK();
  };

  for (size_t i = 0; i < batch.ops_.size(); ++i) {
    const Batch::Op& op = batch.ops_[i];
    Dataset& ds = *datasets[i];
    switch (op.type) {
      case OpType::kPut: {
        std::string column_key = ColumnBegin(op.row, op.column);
        uint64_t ts = op.ts;
        if (ts == kServerTimestamp) {
          std::optional<uint64_t> next = ds.bound.Next(column_key, now);
          if (!next) {
            std::optional<uint64_t> latest;
            ROWFS_RETURN_IF_ERROR(
                impl_->LatestPhysicalTs(ds, op.row, op.column, &latest));
            next = latest && *latest >= now ? *latest + 1 : now;
          }
          ts = *next;
          // After earlier puts to the same column in this batch.
          for (const ColumnChange& c : changes) {
            if (c.put && c.ds == &ds && c.column_key == column_key &&
                c.ts >= ts) {
              ts = c.ts + 1;
            }
          }
          if (ts > kMaxTimestamp) {
            return Status::InvalidArgument(
                "no timestamp left after the latest");
          }
        }
        std::string key = CellKey(op.row, op.column, ts);
        wb.Put(ds.cf, key, ToSlice(op.value()));
        if (op.attrs) {
          wb.Put(ds.cf, ColumnMetaKey(op.row, op.column),
                 EncodeAttrs(*op.attrs));
        }
        pending.push_back({&ds, std::move(key)});
        changes.push_back({&ds, std::move(column_key), true, ts});
        assigned.push_back(ts);
        break;
      }
      case OpType::kDeleteVersion:
        wb.Delete(ds.cf, CellKey(op.row, op.column, op.ts));
        changes.push_back({&ds, ColumnBegin(op.row, op.column), false, 0});
        break;
      case OpType::kDeleteColumn:
        ROWFS_RETURN_IF_ERROR(delete_range(ds, ColumnBegin(op.row, op.column),
                                           ColumnEnd(op.row, op.column)));
        break;
      case OpType::kDeleteRow:
        ROWFS_RETURN_IF_ERROR(
            delete_range(ds, RowBegin(op.row), RowEnd(op.row)));
        break;
    }
  }
  ROWFS_RETURN_IF_ERROR(impl_->Commit(&wb, options, "write batch", changes));
  if (timestamps != nullptr) *timestamps = std::move(assigned);
  return Status::OK();
}

Status Store::Put(std::string_view dataset, std::string_view row,
                  std::string_view column, std::string_view value, uint64_t ts,
                  uint64_t* ts_out, const WriteOptions& options) {
  Batch batch;
  batch.Put(dataset, row, column, value, ts);
  std::vector<uint64_t> timestamps;
  ROWFS_RETURN_IF_ERROR(Write(batch, options, &timestamps));
  if (ts_out != nullptr) *ts_out = timestamps[0];
  return Status::OK();
}

Status Store::CreateRow(std::string_view dataset, std::string_view row,
                        const Attrs& attrs) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare("create row", {{dataset, row}}, &l));
  const DatasetPtr& ds = l.ds[0];
  RowInfo existing;
  Status s = StatRow(dataset, row, &existing);
  if (s.ok()) {
    return Status::AlreadyExists("row " + Describe(dataset, row) + " exists");
  }
  if (!s.IsNotFound()) return s;
  rocksdb::WriteBatch wb;
  wb.Put(ds->cf, RowMetaKey(row), EncodeAttrs(attrs));
  return impl_->Commit(&wb, {}, "create row");
}

Status Store::SetRowAttrs(std::string_view dataset, std::string_view row,
                          const Attrs& attrs) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(
      impl_->Prepare("set row attributes", {{dataset, row}}, &l));
  const DatasetPtr& ds = l.ds[0];
  RowInfo existing;
  ROWFS_RETURN_IF_ERROR(StatRow(dataset, row, &existing));
  rocksdb::WriteBatch wb;
  wb.Put(ds->cf, RowMetaKey(row), EncodeAttrs(attrs));
  return impl_->Commit(&wb, {}, "set row attributes");
}

Status Store::SetColumnAttrs(std::string_view dataset, std::string_view row,
                             std::string_view column, const Attrs& attrs) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(
      impl_->Prepare("set column attributes", {{dataset, row, column}}, &l));
  const DatasetPtr& ds = l.ds[0];
  ColumnInfo info;
  ROWFS_RETURN_IF_ERROR(
      impl_->ReadColumnOf(*ds, row, column, {.limit = 1}, &info, nullptr));
  rocksdb::WriteBatch wb;
  wb.Put(ds->cf, ColumnMetaKey(row, column), EncodeAttrs(attrs));
  return impl_->Commit(&wb, {}, "set column attributes");
}

Status Store::DeleteVersion(std::string_view dataset, std::string_view row,
                            std::string_view column, uint64_t ts) {
  ColumnInfo info;
  ROWFS_RETURN_IF_ERROR(StatVersion(dataset, row, column, ts, &info));
  Batch batch;
  batch.DeleteVersion(dataset, row, column, ts);
  // The check above ran before the lock; a racing delete makes this a no-op,
  // which is the same outcome.
  return Write(batch);
}

Status Store::DeleteColumn(std::string_view dataset, std::string_view row,
                           std::string_view column) {
  ColumnInfo info;
  ROWFS_RETURN_IF_ERROR(StatColumn(dataset, row, column, &info));
  Batch batch;
  batch.DeleteColumn(dataset, row, column);
  return Write(batch);
}

Status Store::DeleteRow(std::string_view dataset, std::string_view row,
                        bool only_if_empty) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare("delete row", {{dataset, row}}, &l));
  const DatasetPtr& ds = l.ds[0];
  RowInfo info;
  ROWFS_RETURN_IF_ERROR(StatRow(dataset, row, &info));
  if (only_if_empty) {
    std::vector<ColumnInfo> columns;
    ROWFS_RETURN_IF_ERROR(ListColumns(dataset, row, &columns));
    if (!columns.empty()) {
      return Status::NotEmpty("row " + Describe(dataset, row) + " has columns");
    }
  }
  std::vector<std::pair<std::string, std::string>> kvs;
  ROWFS_RETURN_IF_ERROR(
      impl_->CollectRange(*ds, RowBegin(row), RowEnd(row), &kvs, false));
  rocksdb::WriteBatch wb;
  for (const auto& kv : kvs) wb.Delete(ds->cf, kv.first);
  std::vector<ColumnChange> changes;
  ROWFS_RETURN_IF_ERROR(AddKeyChanges(ds.get(), kvs, std::nullopt, &changes));
  return impl_->Commit(&wb, {}, "delete row", changes);
}

Status Store::Restamp(std::string_view dataset, std::string_view row,
                      std::string_view column, std::optional<uint64_t> from,
                      uint64_t to) {
  if (from && *from > kMaxTimestamp) {
    return Status::InvalidArgument("timestamp out of range");
  }
  ROWFS_RETURN_IF_ERROR(impl_->CheckStoredTimestamp(to));
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(
      impl_->Prepare("restamp", {{dataset, row, column}}, &l));
  const DatasetPtr& ds = l.ds[0];

  std::string value;
  uint64_t from_ts = 0;
  if (from) {
    ROWFS_RETURN_IF_ERROR(GetVersion(dataset, row, column, *from, &value));
    from_ts = *from;
  } else {
    Version latest;
    ROWFS_RETURN_IF_ERROR(GetLatest(dataset, row, column, &latest));
    from_ts = latest.ts;
    value = std::move(latest.value);
  }
  if (from_ts == to) return Status::OK();
  rocksdb::WriteBatch wb;
  std::string existing;
  Status gs = GetVersion(dataset, row, column, to, &existing);
  if (gs.ok() && existing != value) {
    // Setting a time must never destroy another version.
    return Status::AlreadyExists("another version of " +
                                 Describe(dataset, row, column) + " is at " +
                                 std::to_string(to));
  }
  if (!gs.ok() && !gs.IsNotFound()) return gs;
  if (!gs.ok()) wb.Put(ds->cf, CellKey(row, column, to), value);
  wb.Delete(ds->cf, CellKey(row, column, from_ts));
  return impl_->Commit(&wb, {}, "restamp",
                       {{ds.get(), ColumnBegin(row, column), false, to}});
}

namespace {

bool SameRef(const CellRef& a, const CellRef& b) {
  return a.dataset == b.dataset && a.row == b.row && a.column == b.column &&
         a.ts == b.ts;
}

}  // namespace

Status Store::MoveColumn(const CellRef& src, const CellRef& dst,
                         MoveMode mode) {
  if (src.ts && *src.ts > kMaxTimestamp) {
    return Status::InvalidArgument("timestamp out of range");
  }
  if (dst.ts) ROWFS_RETURN_IF_ERROR(impl_->CheckStoredTimestamp(*dst.ts));
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare(
      "rename",
      {{src.dataset, src.row, src.column}, {dst.dataset, dst.row, dst.column}},
      &l));
  const DatasetPtr& sds = l.ds[0];
  const DatasetPtr& dds = l.ds[1];

  // What src holds: its attrs and its content (the named or latest version).
  ColumnInfo sinfo;
  std::vector<Version> svalues;
  ColumnReadSpec one{.limit = 1, .values = true};
  if (src.ts) {
    one.min_ts = one.max_ts = *src.ts;
  }
  Status s =
      impl_->ReadColumnOf(*sds, src.row, src.column, one, &sinfo, &svalues);
  if (s.IsNotFound()) {
    return Status::NotFound("rename source " +
                            Describe(src.dataset, src.row, src.column, src.ts) +
                            " does not exist");
  }
  ROWFS_RETURN_IF_ERROR(s);
  if (SameRef(src, dst)) return Status::OK();

  // What dst holds.
  ColumnInfo dinfo;
  std::vector<Version> dvalues;
  ColumnReadSpec dspec{.limit = 1, .values = true};
  if (dst.ts) dspec.min_ts = dspec.max_ts = *dst.ts;
  s = impl_->ReadColumnOf(*dds, dst.row, dst.column, dspec, &dinfo, &dvalues);
  if (!s.ok() && !s.IsNotFound()) return s;
  const bool dst_exists = s.ok();
  const std::string dst_name =
      Describe(dst.dataset, dst.row, dst.column, dst.ts);

  rocksdb::WriteBatch wb;
  // Both columns change; `max_ts` is the newest timestamp written.
  auto commit = [&](std::string_view what, uint64_t max_ts) {
    return impl_->Commit(
        &wb, {}, what,
        {{sds.get(), ColumnBegin(src.row, src.column), false, max_ts},
         {dds.get(), ColumnBegin(dst.row, dst.column), false, max_ts}});
  };
  auto max_cell_ts =
      [](const std::vector<std::pair<std::string, std::string>>& kvs) {
        uint64_t m = 0;
        for (const auto& kv : kvs) {
          ParsedKey k;
          if (ParseKey(kv.first, &k).ok() && k.kind == KeyKind::kCell) {
            m = std::max(m, k.ts);
          }
        }
        return m;
      };
  if (mode == MoveMode::kNoReplace && dst_exists) {
    return Status::AlreadyExists("rename target " + dst_name + " exists");
  }
  if (mode == MoveMode::kExchange) {
    if (!dst_exists) {
      return Status::NotFound("exchange target " + dst_name +
                              " does not exist");
    }
    if (src.ts.has_value() != dst.ts.has_value()) {
      return Status::InvalidArgument("cannot exchange a column with a version");
    }
    if (src.ts) {
      wb.Put(sds->cf, CellKey(src.row, src.column, *src.ts), dvalues[0].value);
      wb.Put(dds->cf, CellKey(dst.row, dst.column, *dst.ts), svalues[0].value);
      return commit("exchange versions", std::max(*src.ts, *dst.ts));
    }
    // Two columns swap every key (meta and versions), re-keyed.
    std::vector<std::pair<std::string, std::string>> skv, dkv;
    ROWFS_RETURN_IF_ERROR(
        impl_->CollectRange(*sds, ColumnBegin(src.row, src.column),
                            ColumnEnd(src.row, src.column), &skv, true));
    ROWFS_RETURN_IF_ERROR(
        impl_->CollectRange(*dds, ColumnBegin(dst.row, dst.column),
                            ColumnEnd(dst.row, dst.column), &dkv, true));
    auto rekey = [](const std::string& key, const CellRef& to) {
      ParsedKey k;
      (void)ParseKey(key, &k);  // collected from a column range: valid
      return k.kind == KeyKind::kColumnMeta ? ColumnMetaKey(to.row, to.column)
                                            : CellKey(to.row, to.column, k.ts);
    };
    for (const auto& kv : skv) wb.Delete(sds->cf, kv.first);
    for (const auto& kv : dkv) wb.Delete(dds->cf, kv.first);
    for (const auto& kv : skv) wb.Put(dds->cf, rekey(kv.first, dst), kv.second);
    for (const auto& kv : dkv) wb.Put(sds->cf, rekey(kv.first, src), kv.second);
    return commit("exchange columns",
                  std::max(max_cell_ts(skv), max_cell_ts(dkv)));
  }

  const Version& content = svalues[0];
  const bool moving_whole_column = !src.ts && !dst.ts && !dst_exists;
  // Remove the source first: a put to the same key below (a move within one
  // column) then wins, as WriteBatch applies in order.
  if (src.ts) {
    wb.Delete(sds->cf, CellKey(src.row, src.column, *src.ts));
  } else {
    std::vector<std::pair<std::string, std::string>> skv;
    ROWFS_RETURN_IF_ERROR(impl_->CollectRange(
        *sds, ColumnBegin(src.row, src.column), ColumnEnd(src.row, src.column),
        &skv, moving_whole_column));
    for (const auto& kv : skv) wb.Delete(sds->cf, kv.first);
    if (moving_whole_column) {
      for (const auto& kv : skv) {
        ParsedKey k;
        ROWFS_RETURN_IF_ERROR(ParseOwnKey(kv.first, &k));
        wb.Put(dds->cf,
               k.kind == KeyKind::kColumnMeta
                   ? ColumnMetaKey(dst.row, dst.column)
                   : CellKey(dst.row, dst.column, k.ts),
               kv.second);
      }
      return commit("rename column", max_cell_ts(skv));
    }
  }
  // A rename replaces the target's owner and mode, as rename(2) would;
  // but a version moved into an existing column takes the column's.
  bool dst_column_exists = dst_exists && !dst.ts;
  if (dst.ts) {
    ColumnInfo column;
    Status cs = impl_->ReadColumnOf(*dds, dst.row, dst.column, {.limit = 1},
                                    &column, nullptr);
    if (!cs.ok() && !cs.IsNotFound()) return cs;
    dst_column_exists = cs.ok();
  }
  if (sinfo.attrs && !(dst.ts && dst_column_exists)) {
    wb.Put(dds->cf, ColumnMetaKey(dst.row, dst.column),
           EncodeAttrs(*sinfo.attrs));
  }
  uint64_t written_ts = 0;
  if (dst.ts) {
    written_ts = *dst.ts;
    wb.Put(dds->cf, CellKey(dst.row, dst.column, *dst.ts), content.value);
  } else if (!dst_exists) {
    written_ts = content.ts;
    wb.Put(dds->cf, CellKey(dst.row, dst.column, content.ts), content.value);
  } else {
    std::string at_src_ts;
    rocksdb::Status gs =
        dds->db->Get(rocksdb::ReadOptions(), dds->cf,
                     CellKey(dst.row, dst.column, content.ts), &at_src_ts);
    if (!gs.ok() && !gs.IsNotFound()) return Status::FromRocksDB(gs, "rename");
    const bool identical = gs.ok() && at_src_ts == content.value;
    if (!identical) {
      std::optional<uint64_t> latest;
      ROWFS_RETURN_IF_ERROR(
          impl_->LatestPhysicalTs(*dds, dst.row, dst.column, &latest));
      uint64_t ts = content.ts;
      if (latest && *latest >= ts) ts = *latest + 1;
      if (ts > kMaxTimestamp)
        return Status::InvalidArgument("timestamp overflow");
      written_ts = ts;
      wb.Put(dds->cf, CellKey(dst.row, dst.column, ts), content.value);
    }
  }
  return commit("rename column", written_ts);
}

Status Store::MoveRow(std::string_view src_dataset, std::string_view src_row,
                      std::string_view dst_dataset, std::string_view dst_row,
                      MoveMode mode) {
  Locked l(&impl_->locks);
  ROWFS_RETURN_IF_ERROR(impl_->Prepare(
      "rename row", {{src_dataset, src_row}, {dst_dataset, dst_row}}, &l));
  const DatasetPtr& sds = l.ds[0];
  const DatasetPtr& dds = l.ds[1];

  RowInfo info;
  ROWFS_RETURN_IF_ERROR(StatRow(src_dataset, src_row, &info));
  if (src_dataset == dst_dataset && src_row == dst_row) return Status::OK();
  Status s = StatRow(dst_dataset, dst_row, &info);
  if (!s.ok() && !s.IsNotFound()) return s;
  const bool dst_exists = s.ok();
  const std::string dst_name = Describe(dst_dataset, dst_row);
  if (mode == MoveMode::kNoReplace && dst_exists) {
    return Status::AlreadyExists("rename target " + dst_name + " exists");
  }
  if (mode == MoveMode::kExchange && !dst_exists) {
    return Status::NotFound("exchange target " + dst_name + " does not exist");
  }
  if (mode == MoveMode::kReplace && dst_exists) {
    std::vector<ColumnInfo> columns;
    ROWFS_RETURN_IF_ERROR(ListColumns(dst_dataset, dst_row, &columns));
    if (!columns.empty()) {
      return Status::NotEmpty("rename target " + dst_name + " is not empty");
    }
  }
  std::vector<std::pair<std::string, std::string>> skv, dkv;
  ROWFS_RETURN_IF_ERROR(impl_->CollectRange(*sds, RowBegin(src_row),
                                            RowEnd(src_row), &skv, true));
  ROWFS_RETURN_IF_ERROR(impl_->CollectRange(*dds, RowBegin(dst_row),
                                            RowEnd(dst_row), &dkv,
                                            mode == MoveMode::kExchange));
  // Re-keying swaps the row prefix; the rest of the key is unchanged.
  auto rekey = [](const std::string& key, std::string_view from,
                  std::string_view to) {
    std::string out(to);
    out.append(key, from.size());
    return out;
  };
  rocksdb::WriteBatch wb;
  for (const auto& kv : skv) wb.Delete(sds->cf, kv.first);
  for (const auto& kv : dkv) wb.Delete(dds->cf, kv.first);
  for (const auto& kv : skv) {
    wb.Put(dds->cf, rekey(kv.first, src_row, dst_row), kv.second);
  }
  if (mode == MoveMode::kExchange) {
    for (const auto& kv : dkv) {
      wb.Put(sds->cf, rekey(kv.first, dst_row, src_row), kv.second);
    }
  }
  std::vector<ColumnChange> changes;
  ROWFS_RETURN_IF_ERROR(AddKeyChanges(sds.get(), skv, std::nullopt, &changes));
  ROWFS_RETURN_IF_ERROR(AddKeyChanges(dds.get(), dkv, std::nullopt, &changes));
  ROWFS_RETURN_IF_ERROR(AddKeyChanges(dds.get(), skv, dst_row, &changes));
  if (mode == MoveMode::kExchange) {
    ROWFS_RETURN_IF_ERROR(AddKeyChanges(sds.get(), dkv, src_row, &changes));
  }
  return impl_->Commit(&wb, {}, "rename row", changes);
}

// ---------------------------------------------------------------- Reads

Status Store::GetLatest(std::string_view dataset, std::string_view row,
                        std::string_view column, Version* version,
                        const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  ColumnInfo info;
  std::vector<Version> values;
  ROWFS_RETURN_IF_ERROR(impl_->ReadColumnOf(
      *ds, row, column, {.limit = 1, .values = true}, &info, &values, view));
  *version = std::move(values[0]);
  return Status::OK();
}

Status Store::GetVersion(std::string_view dataset, std::string_view row,
                         std::string_view column, uint64_t ts,
                         std::string* value, const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  ColumnInfo info;
  std::vector<Version> values;
  Status s = impl_->ReadColumnOf(
      *ds, row, column,
      {.limit = 1, .min_ts = ts, .max_ts = ts, .values = true}, &info, &values,
      view);
  if (s.IsNotFound()) {
    return Status::NotFound("no version " + Describe(dataset, row, column, ts));
  }
  ROWFS_RETURN_IF_ERROR(s);
  *value = std::move(values[0].value);
  return Status::OK();
}

Status Store::ListVersions(std::string_view dataset, std::string_view row,
                           std::string_view column, const VersionQuery& query,
                           std::vector<Version>* versions,
                           const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  versions->clear();
  ColumnInfo info;
  Status s = impl_->ReadColumnOf(*ds, row, column,
                                 {.limit = query.limit,
                                  .min_ts = query.min_ts,
                                  .max_ts = query.max_ts,
                                  .values = true},
                                 &info, versions, view);
  return s.IsNotFound() ? Status::OK() : s;
}

Status Store::StatColumn(std::string_view dataset, std::string_view row,
                         std::string_view column, ColumnInfo* info,
                         size_t max_versions, const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  return impl_->ReadColumnOf(*ds, row, column, {.limit = max_versions}, info,
                             nullptr, view);
}

Status Store::StatVersion(std::string_view dataset, std::string_view row,
                          std::string_view column, uint64_t ts,
                          ColumnInfo* info, const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  Status s = impl_->ReadColumnOf(*ds, row, column,
                                 {.limit = 1, .min_ts = ts, .max_ts = ts}, info,
                                 nullptr, view);
  if (s.IsNotFound()) {
    return Status::NotFound("no version " + Describe(dataset, row, column, ts));
  }
  return s;
}

Status Store::StatRow(std::string_view dataset, std::string_view row,
                      RowInfo* info, const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  RangeIterator it = impl_->RowIterator(*ds, row, view);
  bool visible = false;
  ROWFS_RETURN_IF_ERROR(ProbeRow(it.get(), RowBegin(row), ds->policy->Load(),
                                 impl_->Now(), view.as_of, &info->name,
                                 &visible, &info->attrs));
  if (!visible) {
    return Status::NotFound("row " + Describe(dataset, row) +
                            " does not exist");
  }
  return Status::OK();
}

Status Store::ListColumns(std::string_view dataset, std::string_view row,
                          std::vector<ColumnInfo>* columns,
                          const ReadView& view) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  columns->clear();
  const Policy policy = ds->policy->Load();
  const uint64_t now = impl_->Now();
  RangeIterator it = impl_->RowIterator(*ds, row, view);
  bool row_exists = false;
  ColumnInfo current;
  uint64_t rank = 0;
  bool current_done = false;
  auto finish = [&]() {
    if (!current.versions.empty()) columns->push_back(std::move(current));
    current = ColumnInfo{};
  };
  for (it->Seek(RowBegin(row)); it->Valid(); it->Next()) {
    ParsedKey k;
    ROWFS_RETURN_IF_ERROR(ParseOwnKey(it->key(), &k));
    if (k.kind == KeyKind::kRowMeta) {
      row_exists = true;
      continue;
    }
    if (k.column != current.name) {
      finish();
      current.name.assign(k.column);
      rank = 0;
      current_done = false;
    }
    if (k.kind == KeyKind::kColumnMeta) {
      Attrs a;
      ROWFS_RETURN_IF_ERROR(DecodeAttrs(ToView(it->value()), &a));
      current.attrs = a;
      continue;
    }
    if (current_done) continue;
    if (!IsVersionVisible(policy, now, k.ts, rank++)) {
      // Older versions are invisible too; skip the rest of the column.
      current_done = true;
      continue;
    }
    if (k.ts > view.as_of) continue;  // after the view's time
    current.versions.push_back({k.ts, it->value().size()});
  }
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(it->status(), "listing row"));
  finish();
  if (!row_exists && columns->empty()) {
    return Status::NotFound("row " + Describe(dataset, row) +
                            " does not exist");
  }
  return Status::OK();
}

std::unique_ptr<RowCursor> Store::NewRowCursor(std::string_view dataset,
                                               std::string_view start_after,
                                               Status* status,
                                               const ReadView& view) const {
  DatasetPtr ds;
  *status = impl_->Find(dataset, &ds);
  if (!status->ok()) return nullptr;
  return std::make_unique<RowCursorImpl>(std::move(ds), impl_->Now(),
                                         std::string(start_after), view);
}

Status Store::ListRows(std::string_view dataset, std::string_view start_after,
                       size_t limit, std::vector<RowInfo>* rows,
                       std::string* next_start_after,
                       const ReadView& view) const {
  Status s;
  std::unique_ptr<RowCursor> cursor =
      NewRowCursor(dataset, start_after, &s, view);
  if (!s.ok()) return s;
  rows->clear();
  next_start_after->clear();
  RowInfo row;
  while ((limit == 0 || rows->size() < limit) && cursor->Next(&row)) {
    rows->push_back(std::move(row));
  }
  ROWFS_RETURN_IF_ERROR(cursor->status());
  if (limit != 0 && rows->size() == limit && cursor->Next(&row)) {
    *next_start_after = rows->back().name;
  }
  return cursor->status();
}

std::shared_ptr<const Snapshot> Store::NewSnapshot() const {
  return std::make_shared<SnapshotImpl>(impl_->db, impl_->Now());
}

// ---------------------------------------------------------------- Maintenance

Status Store::GetStats(std::string_view dataset, Stats* stats) const {
  std::vector<DatasetPtr> targets;
  ROWFS_RETURN_IF_ERROR(impl_->FindAll(dataset, &targets));
  *stats = Stats{};
  for (const auto& ds : targets) {
    auto add = [&](const rocksdb::Slice& property, uint64_t* sum) {
      uint64_t v = 0;
      if (ds->db->GetIntProperty(ds->cf, property, &v)) *sum += v;
    };
    add(rocksdb::DB::Properties::kEstimateLiveDataSize,
        &stats->live_data_bytes);
    add(rocksdb::DB::Properties::kTotalSstFilesSize, &stats->sst_bytes);
    add(rocksdb::DB::Properties::kCurSizeAllMemTables, &stats->memtable_bytes);
    add(rocksdb::DB::Properties::kEstimateNumKeys, &stats->keys);
    add(rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
        &stats->pending_compaction_bytes);
  }
  std::shared_lock lock(impl_->datasets_mu);  // a follower may reopen
  if (const auto& st = impl_->db->GetOptions().statistics) {
    stats->block_cache_hits = st->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
    stats->block_cache_misses = st->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
  }
  uint64_t usage = 0;
  if (impl_->db->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage,
                                &usage)) {
    stats->block_cache_bytes = usage;
  }
  return Status::OK();
}

Status Store::Impl::DatasetRecords(DatasetRecordMap* records) const {
  records->clear();
  std::string end = DatasetRecordKey("");
  ++end.back();  // just past every "dataset/..." key
  RangeIterator it(db, meta_cf, DatasetRecordKey(""), std::move(end));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    records->emplace(ToView(it->key()).substr(DatasetRecordKey("").size()),
                     ToView(it->value()));
  }
  return Status::FromRocksDB(it->status(), "listing dataset records");
}

Status Store::Impl::ReopenFollower(DatasetRecordMap records) {
  std::vector<std::string> names;
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      rocksdb::DB::ListColumnFamilies(db_options, path, &names),
      "listing the primary's datasets"));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<std::shared_ptr<PolicyCell>> policies;
  DescribeFamilies(names, &descriptors, &policies);
  // Each instance keeps its own info LOG; the previous one may still be
  // open (its datasets in use), so every generation gets a directory.
  const int generation = follower_generation + 1;
  const std::string dir =
      options.secondary_path + "/gen-" + std::to_string(generation);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* opened = nullptr;
  ROWFS_RETURN_IF_ERROR(Status::FromRocksDB(
      rocksdb::DB::OpenAsSecondary(db_options, path, dir, descriptors, &handles,
                                   &opened),
      "reopening the follower"));
  rocksdb::ColumnFamilyHandle* opened_meta = nullptr;
  for (size_t i = 0; i < handles.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      opened_meta = handles[i];
      handles[i] = nullptr;
    }
  }
  auto instance = std::make_shared<FollowerInstance>(opened, opened_meta);
  std::map<std::string, DatasetPtr, std::less<>> loaded;
  Status s;
  for (size_t i = 0; i < handles.size(); ++i) {
    if (handles[i] == nullptr) continue;
    DatasetPtr ds;
    if (s.ok()) {
      s = LoadDataset(names[i], opened, opened_meta, handles[i], policies[i],
                      &ds);
    }
    if (!s.ok()) {
      opened->DestroyColumnFamilyHandle(handles[i]);
      continue;
    }
    ds->instance = instance;
    loaded.emplace(names[i], std::move(ds));
  }
  if (!s.ok()) return s;  // `loaded` and `instance` go; the current stays
  {
    std::unique_lock lock(datasets_mu);
    datasets.swap(loaded);
    db = opened;
    meta_cf = opened_meta;
    follower_instance = std::move(instance);
  }
  // Not the datasets opened: a record without a family (a drop that crashed
  // halfway) must not cause a reopen at every catch-up.
  follower_records = std::move(records);
  // The generation before the previous one has been closed or is closing;
  // its directory holds only its log.
  if (generation >= 3) {
    std::filesystem::remove_all(
        options.secondary_path + "/gen-" + std::to_string(generation - 2), ec);
  }
  follower_generation = generation;
  spdlog::info("follower reopened on {} datasets (the primary's changed)",
               names.size() - 1);
  return Status::OK();  // the old datasets go as their last users finish
}

Status Store::CatchUp() {
  if (impl_->options.mode != StoreOptions::Mode::kSecondary) {
    return Status::NotSupported("only a follower catches up");
  }
  std::lock_guard catching_up(impl_->catch_up_mu);
  // Only this function changes impl_->db, under catch_up_mu.
  Status s = Status::FromRocksDB(impl_->db->TryCatchUpWithPrimary(),
                                 "catching up with the primary");
  DatasetRecordMap records;
  if (s.ok()) s = impl_->DatasetRecords(&records);
  // A failed catch-up: most likely the primary dropped a family this
  // instance never knew (created after it opened), which a secondary cannot
  // get past. A new instance can.
  if (!s.ok() || records != impl_->follower_records) {
    if (!s.ok()) {
      // The records are unknown: the next catch-up reads them again (and
      // reopens once more when there are any).
      spdlog::info("follower reopens after: {}", s.ToString());
      records.clear();
    }
    ROWFS_RETURN_IF_ERROR(impl_->ReopenFollower(records));
  }
  std::unique_lock lock(impl_->datasets_mu);
  // Attributes and policies from the records just read (after a reopen
  // they are the new datasets' already).
  for (auto& [name, ds] : impl_->datasets) {
    auto record = records.find(name);
    if (record == records.end()) continue;  // never described
    Policy policy;
    if (DecodeDatasetRecord(record->second, &ds->attrs, &policy).ok()) {
      ds->policy->Store(policy);
    }
  }
  return Status::OK();
}

Status Store::SyncWal() {
  if (impl_->read_only()) return Status::OK();
  return Status::FromRocksDB(impl_->db->FlushWAL(/*sync=*/true), "syncing WAL");
}

Status Store::Flush() {
  if (impl_->read_only()) return Status::OK();
  std::vector<DatasetPtr> all;
  ROWFS_RETURN_IF_ERROR(impl_->FindAll("", &all));
  std::vector<rocksdb::ColumnFamilyHandle*> handles{impl_->meta_cf};
  for (const auto& ds : all) handles.push_back(ds->cf);
  return Status::FromRocksDB(impl_->db->Flush(rocksdb::FlushOptions(), handles),
                             "flush");
}

Status Store::CompactDataset(std::string_view dataset) {
  ROWFS_RETURN_IF_ERROR(impl_->CheckWritable("compact"));
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  return Status::FromRocksDB(
      ds->db->CompactRange(options, ds->cf, nullptr, nullptr),
      "compacting " + std::string(dataset));
}

Status Store::RawKeys(std::string_view dataset, size_t limit,
                      std::vector<std::string>* keys) const {
  DatasetPtr ds;
  ROWFS_RETURN_IF_ERROR(impl_->Find(dataset, &ds));
  keys->clear();
  RangeIterator it(ds->db, ds->cf, std::string(), std::string());
  for (it->SeekToFirst(); it->Valid() && (limit == 0 || keys->size() < limit);
       it->Next()) {
    keys->push_back(it->key().ToString());
  }
  return Status::FromRocksDB(it->status());
}

Status Store::GetProperty(std::string_view dataset, std::string_view property,
                          std::string* value) const {
  std::vector<DatasetPtr> targets;
  ROWFS_RETURN_IF_ERROR(impl_->FindAll(dataset, &targets));
  if (targets.size() == 1) {
    if (!targets[0]->db->GetProperty(targets[0]->cf, ToSlice(property),
                                     value)) {
      return Status::NotFound("no property " + std::string(property));
    }
    return Status::OK();
  }
  uint64_t sum = 0;
  for (const auto& ds : targets) {
    uint64_t v = 0;
    if (!ds->db->GetIntProperty(ds->cf, ToSlice(property), &v)) {
      return Status::NotFound("no integer property " + std::string(property));
    }
    sum += v;
  }
  *value = std::to_string(sum);
  return Status::OK();
}

}  // namespace rowfs
