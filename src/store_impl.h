// Store::Impl and what the store_*.cc files share. Internal.
//
// The store's implementation is split by concern, as RocksDB's DBImpl is:
//   store_open.cc         opening, datasets' families, format check
//   store_datasets.cc     datasets, policies, root attributes
//   store_write.cc        batches, rows, attributes, deletes, commits
//   store_history.cc      a column's entries as readers see them; utimens
//   store_move.cc         renames of columns, versions and rows
//   store_read.cc         reads, listings, row cursors, snapshots
//   store_content.cc      version readers and file writers
//   store_gc.cc           garbage collection and content checks
//   store_follower.cc     a follower's catch-up and reopen
//   store_maintenance.cc  flush, compaction, statistics, tools
#ifndef ROWFS_SRC_STORE_IMPL_H_
#define ROWFS_SRC_STORE_IMPL_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "chunk_io.h"
#include "column_history.h"
#include "content_space.h"
#include "corruption_guard.h"
#include "iterator_pool.h"
#include "latest_bound.h"
#include "lock_table.h"
#include "policy_filter.h"
#include "rowfs/key_codec.h"
#include "rowfs/store.h"
#include "version_record.h"

namespace rowfs {

// "dataset/row/column[@ts]" for messages.
std::string Describe(std::string_view dataset, std::string_view row = {},
                     std::string_view column = {},
                     std::optional<uint64_t> ts = std::nullopt);

// ParseKey for keys read from the store: Corruption when undecodable.
Status ParseOwnKey(const rocksdb::Slice& key, ParsedKey* parsed);

// One secondary instance of a follower and its "default" family handle.
// A family made ahead of need (records.h, FamilyRecordKey), with the
// policy its compaction filter reads.
struct SpareFamily {
  rocksdb::ColumnFamilyHandle* handle;
  std::shared_ptr<PolicyCell> policy;
};

struct FollowerInstance {
  FollowerInstance(rocksdb::DB* db_in, rocksdb::ColumnFamilyHandle* meta_in)
      : db(db_in), meta_cf(meta_in) {}
  ~FollowerInstance();
  FollowerInstance(const FollowerInstance&) = delete;
  FollowerInstance& operator=(const FollowerInstance&) = delete;
  rocksdb::DB* const db;
  rocksdb::ColumnFamilyHandle* const meta_cf;
  // Spare families: their handles stay open with the instance (a secondary
  // whose family handles were destroyed crashes in its next catch-up).
  std::vector<SpareFamily> spares;
};

// One dataset: its column family, live policy and content space. Shared by
// in-flight operations so that a concurrent drop cannot free the handle
// under them.
struct Dataset {
  Dataset(std::string name_in, rocksdb::DB* db_in,
          rocksdb::ColumnFamilyHandle* cf_in,
          std::shared_ptr<PolicyCell> policy_in, uint64_t floor,
          IteratorPools* pools)
      : name(std::move(name_in)),
        db(db_in),
        cf(cf_in),
        policy(std::move(policy_in)),
        iterators(pools->Add(cf_in->GetName(), db, cf)),
        content(db_in, cf_in),
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
  ContentSpace content;
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
  // Version records removed since the last garbage collection (a hint of
  // how much content may have become garbage).
  std::atomic<uint64_t> removed_records{0};
  std::atomic<uint64_t> last_gc_ms{0};
  // Whether its family carries kDatasetFormatKey (format 2); set at load.
  bool format2 = true;
};
using DatasetPtr = std::shared_ptr<Dataset>;
using DatasetRecordMap = std::map<std::string, std::string, std::less<>>;
using DatasetMap = std::map<std::string, DatasetPtr, std::less<>>;

// A column a write touched: a put at `ts`, or another change storing
// entries up to `ts` (0 when it only removed).
struct ColumnChange {
  Dataset* ds;
  std::string column_key;  // ColumnBegin(row, column)
  bool put;
  uint64_t ts;
};

// Holds the alive locks of every dataset a write touches, shared, and
// rejects the write when one was dropped in the meantime.
class DatasetGuard {
 public:
  // Adds a dataset to hold; one added twice is held once.
  void Add(const DatasetPtr& ds);
  // Takes every added dataset's lock shared, in name order: one global
  // order, so two writes across the same datasets in opposite directions
  // cannot deadlock against a drop waiting for one of them.
  // REQUIRES: called once, after the last Add.
  Status Lock();

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

// The RocksDB snapshot of a view (null for the live database).
const rocksdb::Snapshot* RocksSnapshot(const ReadView& view);

// One entry of a column as stored: a version or a deletion marker.
struct ColumnEntry {
  uint64_t ts = 0;
  VersionRecord record;  // the header only, unless read with content
};

// A column's stored state: its meta record and every entry, newest first.
struct ColumnState {
  std::optional<Attrs> attrs;
  std::vector<ColumnEntry> entries;
};

// What a reader sees of a column at `as_of`: the indices (into
// ColumnState::entries) of its visible versions, newest first; none when
// the column does not exist then (no version, or deleted).
std::vector<size_t> VisibleVersions(const ColumnState& column,
                                    const Policy& policy, uint64_t now_ms,
                                    uint64_t as_of);

// `value` as a version record: inline when small, else chunks of a new
// content object put into `wb` (its id in *content, pinned: the caller
// unpins it after the commit; 0 when inline). No expiry, mtime or ctime.
Status RecordForValue(Dataset& ds, std::string_view value,
                      rocksdb::WriteBatch* wb, VersionRecord* record,
                      uint64_t* content);

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
  DatasetMap datasets;
  // Serialises making and dropping datasets, and guards the spare families.
  std::mutex families_mu;
  std::vector<SpareFamily> spare_families;
  uint64_t next_family_seq = 1;  // the next pooled family's number
  // Families held open but never used: spares and families of dropped
  // datasets on a read-only or follower store. Guarded by families_mu.
  std::vector<SpareFamily> idle_families;
  // Families of dropped datasets, not yet dropped from RocksDB (each
  // Dataset keeps its handle open); guarded by families_mu.
  std::vector<DatasetPtr> dropped_families;
  LockTable locks;
  DirtyBudget dirty_budget{64 << 20};
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
  std::atomic<uint64_t> last_resume_ms{0};
  // Snapshots handed out and still alive: garbage collection keeps what
  // their records refer to.
  mutable std::mutex snapshots_mu;
  mutable std::vector<std::weak_ptr<const SnapshotImpl>> snapshots;

  ~Impl();

  uint64_t Now() const { return options.clock->NowMs(); }
  bool read_only() const {
    return options.mode != StoreOptions::Mode::kReadWrite;
  }
  Status CheckWritable(std::string_view what) const;
  // An explicit timestamp a write may store: within range and not more
  // than max_future_ms ahead of the clock.
  Status CheckStoredTimestamp(uint64_t ts) const;

  // ---- Opening (store_open.cc) ----
  rocksdb::ColumnFamilyOptions DatasetCfOptions(
      const std::shared_ptr<PolicyCell>& policy) const;
  // What opening the existing families `names` takes: each one's options
  // (an options file's, when it names the family, with the policy filter of
  // a fresh policy in any case) and that policy.
  void DescribeFamilies(
      const std::vector<std::string>& names,
      std::vector<rocksdb::ColumnFamilyDescriptor>* descriptors,
      std::vector<std::shared_ptr<PolicyCell>>* policies) const;
  // A Dataset for an opened family, with its floor, attributes and policy
  // from the "default" family's records. The Dataset owns `handle` on
  // success only.
  Status LoadDataset(const std::string& name, rocksdb::DB* instance,
                     rocksdb::ColumnFamilyHandle* instance_meta_cf,
                     rocksdb::ColumnFamilyHandle* handle,
                     std::shared_ptr<PolicyCell> policy, DatasetPtr* out);

  // ---- Families (store_families.cc) ----
  // Sorts opened families (`names`, their `handles` and `policies`) by the
  // family records in `instance_meta_cf` into the datasets they hold (added
  // to `loaded`), spares (added to `spares`) and families of dropped
  // datasets (added to `dropped`), and raises `max_seq` to
  // the highest pooled family number seen. Every handle is owned by someone on
  // return: the ones not taken are destroyed, and `handles` left null.
  // `handles` may include `instance_meta_cf`, which is skipped.
  Status AdoptFamilies(rocksdb::DB* instance,
                       rocksdb::ColumnFamilyHandle* instance_meta_cf,
                       const std::vector<std::string>& names,
                       std::vector<rocksdb::ColumnFamilyHandle*>* handles,
                       const std::vector<std::shared_ptr<PolicyCell>>& policies,
                       DatasetMap* loaded, std::vector<SpareFamily>* spares,
                       std::vector<SpareFamily>* dropped, uint64_t* max_seq);
  // A spare family for a new dataset, refilling the pool when it is empty.
  // REQUIRES: families_mu held; read-write store.
  Status TakeSpareFamily(SpareFamily* out);
  // Drops the families of dropped datasets from RocksDB, all at once; only
  // when there are at least `at_least`. REQUIRES: families_mu held.
  Status DropMarkedFamilies(size_t at_least);
  // Deletes the markers of `families`, which RocksDB has dropped.
  Status ForgetDroppedFamilies(const std::vector<std::string>& families);
  // At open: drops the `marked` families (of datasets dropped before) from
  // RocksDB; a read-only or follower store keeps them in idle_families.
  Status DropFamiliesAtOpen(std::vector<SpareFamily>* marked);
  // The dataset whose family is named `family`; null when none is.
  DatasetPtr FindByFamily(std::string_view family) const;
  void ReleaseSpareFamilies();

  // ---- Followers (store_follower.cc) ----
  // The datasets' records in "default", by name, each with the name of its
  // family (compared to see the primary's changes). REQUIRES: on a follower,
  // catch_up_mu held (or opening).
  Status DatasetRecords(DatasetRecordMap* records) const;
  // Opens a new secondary instance with every family the primary has now
  // and makes it current. REQUIRES: catch_up_mu held.
  Status ReopenFollower(DatasetRecordMap records);

  // ---- Datasets ----
  Status Find(std::string_view name, DatasetPtr* out) const;
  // The named dataset, or every dataset when `name` is empty.
  Status FindAll(std::string_view name, std::vector<DatasetPtr>* out) const;

  // ---- Writing (store_write.cc) ----
  // The common start of every single-purpose mutation: the store is
  // writable, the names are valid, the datasets exist; then the locks are
  // taken and the datasets held alive. At most two targets.
  Status Prepare(std::string_view what,
                 std::initializer_list<LockTarget> targets, Locked* l);
  // Commits `wb` and keeps each touched dataset's LatestBound true: a floor
  // record covering the new timestamps goes into the same batch, and the
  // changes are recorded before the caller releases its column locks.
  Status Commit(rocksdb::WriteBatch* wb, const WriteOptions& wo,
                std::string_view what,
                const std::vector<ColumnChange>& changes = {});
  Status WriteMetaRecord(std::string_view key, std::string_view value);
  // After a failed write: asks RocksDB to resume after a background error,
  // at most once a second; true when the write may be retried.
  bool ResumeAfterBackgroundError();
  // The timestamp of a server-stamped write to the column: max(now,
  // newest entry + 1), after `earlier` puts of the same batch.
  Status NextTimestamp(Dataset& ds, std::string_view row,
                       std::string_view column,
                       const std::vector<ColumnChange>& earlier, uint64_t* ts);
  // Writes `value` as version `ts` of the column into `wb` (*encoded: its
  // record): inline, or as chunks of a new content object (a Batch::Put of
  // a large value), whose id *pinned_content the caller unpins after the
  // commit (0 when none).
  Status StageValue(Dataset& ds, std::string_view row, std::string_view column,
                    uint64_t ts, std::string_view value, uint64_t expires_ms,
                    rocksdb::WriteBatch* wb, std::string* encoded,
                    uint64_t* pinned_content);
  // Whether the column's meta record says it is deleted: one point read,
  // which a write makes before it may bring a deleted column back.
  Status ColumnDeleted(Dataset& ds, std::string_view row,
                       std::string_view column, bool* deleted);
  // An entry a batch puts before a later operation of the same batch.
  struct PendingEntry {
    Dataset* ds;
    std::string key;
    std::string value;
  };
  // The keys and records that deleting the column (rm) puts into `wb`: a
  // deletion marker at a new timestamp and an expiry on its entries
  // (`pending` ones of the batch too), or, with keep_deleted 0, the removal
  // of every key. *marker_ts: the marker's timestamp (0 when everything
  // was removed).
  Status StageDeleteColumn(Dataset& ds, std::string_view row,
                           std::string_view column,
                           const std::vector<ColumnChange>& earlier,
                           const std::vector<PendingEntry>& pending,
                           rocksdb::WriteBatch* wb, uint64_t* marker_ts);
  // Before a version at `new_ts` of a deleted column is stored: when it is
  // newer than the deletion, the column's kept entries lose their expiry
  // and the column its deleted mark (the history continues); when older
  // (a backfill), *new_expiry is the one it must carry. Puts into `wb`.
  Status StageRevive(Dataset& ds, std::string_view row, std::string_view column,
                     uint64_t new_ts, rocksdb::WriteBatch* wb,
                     uint64_t* new_expiry);

  // ---- Reading (store_history.cc, store_read.cc) ----
  RangeIterator ColumnIterator(const Dataset& ds, std::string_view row,
                               std::string_view column,
                               const ReadView& view = {}) const;
  RangeIterator RowIterator(const Dataset& ds, std::string_view row,
                            const ReadView& view = {}) const;
  // The column's meta record and entries (headers only unless `content`).
  Status ReadColumn(const Dataset& ds, std::string_view row,
                    std::string_view column, const ReadView& view, bool content,
                    ColumnState* state) const;
  // The newest stored entry's timestamp, live or not.
  Status LatestPhysicalTs(const Dataset& ds, std::string_view row,
                          std::string_view column,
                          std::optional<uint64_t>* ts) const;
  // Every physical key and value of [begin, end), for moves and deletes.
  Status CollectRange(const Dataset& ds, std::string begin, std::string end,
                      std::vector<std::pair<std::string, std::string>>* kvs,
                      bool with_values) const;
  // Whether two versions hold the same bytes (shared chunks compare
  // without reading them).
  Status SameContent(Dataset& ds, const VersionRecord& a,
                     const VersionRecord& b, bool* same) const;
  // Copies a record's content into another dataset: a new content object
  // there, written into `wb`; *out refers to it. (Within a dataset records
  // share content; across families they cannot.)
  Status CopyContent(Dataset& from, Dataset& to, const VersionRecord& record,
                     rocksdb::WriteBatch* wb, VersionRecord* out);
  // Reads a record and pins its contents, safe from a concurrent garbage
  // collection (see ContentSpace::protect_mu()).
  Status ReadPinned(Dataset& ds, std::string_view row, std::string_view column,
                    std::optional<uint64_t> ts, const ReadView& view,
                    uint64_t* found_ts, VersionRecord* record) const;

  // ---- Snapshots ----
  std::shared_ptr<const Snapshot> NewSnapshot() const;
  std::vector<std::shared_ptr<const SnapshotImpl>> LiveSnapshots() const;
};

}  // namespace rowfs

#endif  // ROWFS_SRC_STORE_IMPL_H_
