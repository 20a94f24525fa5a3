// Store: the wide-column model (HBase/Bigtable cells) on RocksDB, storage
// format 2.
//
//   dataset  -> a RocksDB column family (the "default" family holds metadata)
//   row      -> a contiguous key range inside it
//   column   -> a contiguous sub-range of the row: its meta record, then its
//               entries newest first
//   entry    -> one key (row, column, inverted ts): a version record (size,
//               shown mtime, content inline or as a chunk map) or a
//               deletion marker
//   content  -> chunks of content objects, in the dataset's reserved key
//               space (key_codec.h), shared between versions
//
// See key_codec.h for the byte layout, src/version_record.h for records and
// names.h for what a name may be.
//
// Versions. A column's versions are ordered newest first. A write with
// kServerTimestamp gets max(now, latest + 1), so entries of one column
// never collide; a write with an explicit timestamp stores or replaces
// exactly that version (backfill, restore). Timestamps more than
// StoreOptions::max_future_ms ahead of the clock are refused.
//
// History belongs to the name. DeleteColumn writes a deletion marker: the
// column disappears, its versions stay (for the dataset's keep_deleted)
// and are listed again when the column is written again. A version's
// shown mtime is separate from its timestamp (SetVersionTime), so setting a
// time never reorders history.
//
// Policies. Per dataset, `max_versions` (0 = unlimited), `ttl_seconds`
// (0 = forever) and `keep_deleted_seconds`. Reads skip what they remove at
// once (column_history.h); compactions remove it physically, and garbage
// collection then the content chunks no record refers to.
//
// Metadata. Datasets, rows and columns carry Attrs (mode, owner, times).
// A row exists while it has a meta record or an existing column.
//
// Consistency. Every read call sees one consistent view (one RocksDB
// iterator, hence one implicit snapshot), or the explicit Snapshot of its
// ReadView. Every write call is one atomic RocksDB WriteBatch, across
// datasets when it spans several.
//
// Thread-safety: all methods may be called concurrently. Writes to one column
// (and row-wide operations against writes inside the row) are serialised by
// an internal lock table, which makes "latest + 1" race-free.
#ifndef ROWFS_STORE_H_
#define ROWFS_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rowfs/status.h"
#include "rowfs/store_options.h"

namespace rocksdb {
class DB;
}

namespace rowfs {

// "Assign the timestamp at write time."
inline constexpr uint64_t kServerTimestamp = UINT64_MAX;

// Ownership, permissions and (for directories) modification time.
struct Attrs {
  uint32_t mode = 0;  // permission bits (07777); the type is implied
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t mtime_ms = 0;  // datasets and rows only; a version has its own
  uint32_t flags = 0;     // kAttr* bits, meaning is the caller's
  bool operator==(const Attrs&) const = default;
};

// The filesystem's mark on a column created only through version files
// ("col@ts"): it is not shown as "col" until "col" itself is written.
inline constexpr uint32_t kAttrImplicitColumn = 1;

// How long a deleted column's history is kept unless a dataset says.
inline constexpr uint64_t kDefaultKeepDeletedSeconds = 30ull * 24 * 3600;

struct Policy {
  uint64_t max_versions = 0;  // 0 = unlimited
  uint64_t ttl_seconds = 0;   // 0 = never expire
  // Seconds a deleted column's versions are kept (0 = removed at once).
  uint64_t keep_deleted_seconds = kDefaultKeepDeletedSeconds;
  bool operator==(const Policy&) const = default;
};

struct DatasetInfo {
  std::string name;
  Attrs attrs;
  Policy policy;
};

struct RowInfo {
  std::string name;
  std::optional<Attrs> attrs;  // set when the row has a meta record
};

struct VersionInfo {
  uint64_t ts = 0;
  uint64_t size = 0;
  uint64_t mtime_ms = 0;  // the time it shows (its ts unless set otherwise)
  uint64_t ctime_ms = 0;  // when it or its time last changed
};

struct ColumnInfo {
  std::string name;
  std::optional<Attrs> attrs;         // set when the column has a meta record
  std::vector<VersionInfo> versions;  // visible versions, newest first
};

struct Version {
  uint64_t ts = 0;
  std::string value;
  uint64_t mtime_ms = 0;
};

// Names one column, or one version of it when `ts` is set.
struct CellRef {
  std::string_view dataset;
  std::string_view row;
  std::string_view column;
  std::optional<uint64_t> ts;
};

// Selects versions of one column: newest first, at most `limit` (0 = all),
// with min_ts <= ts <= max_ts (both bounds inclusive).
struct VersionQuery {
  size_t limit = 0;
  uint64_t min_ts = 0;
  uint64_t max_ts = UINT64_MAX;
};

struct WriteOptions {
  bool sync = false;  // sync the WAL before returning (fsync semantics)
};

// A set of mutations applied atomically by Store::Write, in order.
// Not thread-safe; owns copies of every name and value.
class Batch {
 public:
  // Stores `value` as a version of the column; `ts` = kServerTimestamp
  // assigns max(now, latest + 1). With `attrs`, the column's meta record is
  // written too (creating a column with an owner and mode). Large values
  // are chunked as a file's would be.
  void Put(std::string_view dataset, std::string_view row,
           std::string_view column, std::string_view value,
           uint64_t ts = kServerTimestamp, const Attrs* attrs = nullptr);
  // Removes one version; absent versions are ignored.
  void DeleteVersion(std::string_view dataset, std::string_view row,
                     std::string_view column, uint64_t ts);
  // Deletes a column as `rm` does: a deletion marker (its versions kept for
  // the dataset's keep_deleted), or every key when keep_deleted is 0.
  void DeleteColumn(std::string_view dataset, std::string_view row,
                    std::string_view column);
  // Removes a row: every entry and meta record in it.
  void DeleteRow(std::string_view dataset, std::string_view row);

  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }

 private:
  friend class Store;
  enum class OpType { kPut, kDeleteVersion, kDeleteColumn, kDeleteRow };
  struct Op {
    OpType type;
    std::string dataset, row, column, value;
    uint64_t ts = kServerTimestamp;
    std::optional<Attrs> attrs;
  };
  std::vector<Op> ops_;
};

// A forward cursor over the visible rows of one dataset, in key order.
// Holds one RocksDB iterator (one consistent view) and O(1) memory.
// Not thread-safe; must not outlive its Store.
class RowCursor {
 public:
  virtual ~RowCursor() = default;
  // Fills *row with the next row and returns true, or returns false at the
  // end or on error (then status() says which).
  virtual bool Next(RowInfo* row) = 0;
  virtual Status status() const = 0;
};

// A point-in-time read view of the whole database (a RocksDB snapshot).
// Reads through it see exactly what was committed when it was taken, across
// rows and datasets. Thread-safe; must not outlive its Store.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  // Wall-clock time when it was taken (ms since the epoch).
  virtual uint64_t time_ms() const = 0;
};

// What a read sees: the live database or a Snapshot, and optionally the
// database "as of" a time (HBase's time-range read): each column shows its
// newest visible entry with ts <= as_of, and newer ones do not exist.
struct ReadView {
  std::shared_ptr<const Snapshot> snapshot;  // null: the live database
  uint64_t as_of = UINT64_MAX;               // UINT64_MAX: no time limit
};

// One version's content, read by range: only the chunks a read covers are
// loaded. Holds the version's record (small) and keeps its chunks from
// garbage collection while it lives, whatever happens to the version.
// Not thread-safe; must not outlive its Store.
class VersionReader {
 public:
  virtual ~VersionReader() = default;
  virtual uint64_t ts() const = 0;
  virtual uint64_t size() const = 0;
  virtual uint64_t mtime_ms() const = 0;
  // Up to `n` bytes at `offset` (short at the end).
  virtual Status ReadAt(uint64_t offset, size_t n, std::string* out) = 0;
};

// A file's new content, streamed in bounded memory (a few MiB of dirty
// chunks; stored chunks stay invisible until CommitWriter makes the
// version). Starts as a version's content (or empty) and shares every chunk
// it does not change with it. Not thread-safe; must not outlive its Store.
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  virtual uint64_t size() const = 0;
  // Whether anything was written or truncated since it started or was last
  // committed.
  virtual bool changed() const = 0;
  virtual Status Read(uint64_t offset, size_t n, std::string* out) = 0;
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  virtual Status Truncate(uint64_t size) = 0;
};

// How CommitWriter stores a version.
struct CommitOptions {
  uint64_t ts = kServerTimestamp;  // or exactly this version
  uint64_t mtime_ms = 0;           // the time it shows; 0 = its ts
  // Written as the column's meta record when set (a new file's owner).
  std::optional<Attrs> attrs;
  bool sync = false;
};

enum class MoveMode {
  kReplace,    // rename(2): an existing target gets the source as a new
               // version (columns) or must be empty (rows)
  kNoReplace,  // RENAME_NOREPLACE: AlreadyExists when the target exists
  kExchange,   // RENAME_EXCHANGE: both exist; their contents swap
};

// What CheckContent found in one dataset.
struct ContentReport {
  uint64_t records = 0;       // version records
  uint64_t chunks = 0;        // stored chunks
  uint64_t dangling = 0;      // chunks a record refers to that are missing
  uint64_t unreferenced = 0;  // stored chunks no record refers to
  uint64_t chunk_bytes = 0;   // bytes of stored chunks
};

class Store {
 public:
  // The on-disk format this code reads and writes.
  static constexpr int kFormat = 2;

  // Opens (creating when allowed and missing) the database at `path` with
  // every column family it has. On success *store is set; on failure it is
  // left unchanged. Busy when another process holds the database. A
  // format-1 database is upgraded when opened read-write (after a
  // checkpoint of it, see Upgrade), refused otherwise; a newer format is
  // refused (NotSupported).
  static Status Open(const StoreOptions& options, const std::string& path,
                     std::unique_ptr<Store>* store);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Syncs the WAL, flushes the memtables (so the next start replays little)
  // and closes the database.
  ~Store();

  const std::string& path() const;
  bool read_only() const;
  const StoreOptions& options() const;

  // ---- Datasets ----
  // AlreadyExists, InvalidArgument/NameTooLong for bad names.
  Status CreateDataset(std::string_view name, const Attrs& attrs);
  // Drops the dataset. NotEmpty while it has a visible row (unless `force`).
  Status DropDataset(std::string_view name, bool force = false);
  // Every dataset, sorted by name.
  std::vector<DatasetInfo> ListDatasets() const;
  Status GetDataset(std::string_view name, DatasetInfo* info) const;
  Status SetDatasetAttrs(std::string_view name, const Attrs& attrs);
  Status SetDatasetPolicy(std::string_view name, const Policy& policy);

  // The mount root's attributes. NotFound until first set.
  Status GetRootAttrs(Attrs* attrs) const;
  Status SetRootAttrs(const Attrs& attrs);

  // ---- Writes ----
  // Applies the batch atomically. On success, *timestamps (when not null)
  // receives the timestamp of each Put, in batch order. Validates every name
  // first (InvalidArgument/NameTooLong/NotFound for a missing dataset) and
  // writes nothing when any is bad.
  Status Write(const Batch& batch, const WriteOptions& options = {},
               std::vector<uint64_t>* timestamps = nullptr);
  // One Put as its own batch. *ts_out (when not null) gets its timestamp.
  Status Put(std::string_view dataset, std::string_view row,
             std::string_view column, std::string_view value,
             uint64_t ts = kServerTimestamp, uint64_t* ts_out = nullptr,
             const WriteOptions& options = {});

  // Creates an empty row holding only its meta record. AlreadyExists.
  Status CreateRow(std::string_view dataset, std::string_view row,
                   const Attrs& attrs);
  // Writes the row's meta record (chmod/chown/utimens of a row).
  Status SetRowAttrs(std::string_view dataset, std::string_view row,
                     const Attrs& attrs);
  // Writes the column's meta record. NotFound when the column does not exist.
  Status SetColumnAttrs(std::string_view dataset, std::string_view row,
                        std::string_view column, const Attrs& attrs);

  // Each NotFound when the target does not exist.
  Status DeleteVersion(std::string_view dataset, std::string_view row,
                       std::string_view column, uint64_t ts);
  // `rm col`: see Batch::DeleteColumn.
  Status DeleteColumn(std::string_view dataset, std::string_view row,
                      std::string_view column);
  // Removes every key of a deleted column (its kept history) at once.
  // NotFound when it has none; NotEmpty (nothing removed) while it exists.
  Status PurgeColumn(std::string_view dataset, std::string_view row,
                     std::string_view column);
  // With `only_if_empty`, NotEmpty while the row has a visible column.
  Status DeleteRow(std::string_view dataset, std::string_view row,
                   bool only_if_empty);

  // utimens of version `from` (the latest when unset): it shows `to` as its
  // mtime; where `to` keeps it in its place among its column's entries
  // (after the one before it, before the one after it, and not more than
  // max_future_ms ahead) it is also renamed to `to`. When `to` is exactly
  // the time of the version just before it (markers aside) and both hold
  // the same bytes, the version is a copy of that one (a restore of what was
  // there before a deletion) and goes, with the markers between. Never
  // changes which content is the latest otherwise, never removes another
  // version. *ts_out (when not null): the version's timestamp afterwards
  // (the one it was a copy of, when it went).
  Status SetVersionTime(std::string_view dataset, std::string_view row,
                        std::string_view column, std::optional<uint64_t> from,
                        uint64_t to, uint64_t* ts_out = nullptr);

  // Renames a column or one version (src.ts set) to a column or a version.
  //  * column to column: src's latest content becomes the newest version of
  //    dst, keeping its shown mtime and (as rename(2)) src's owner and mode;
  //    dst's history, if any, continues; nothing is added when dst's latest
  //    already holds the same bytes and time, and a deleted dst whose last
  //    version is that content is simply restored. src is then deleted as
  //    by DeleteColumn, except a src of a single version (a temporary file),
  //    which leaves nothing behind. Content is shared, not copied, within a
  //    dataset.
  //  * a version source: that version moves (to a new column, or as a new
  //    version of an existing one, or onto exactly dst.ts);
  //  * kNoReplace: AlreadyExists when the target exists;
  //  * kExchange: both must exist and be of the same kind (two columns: their
  //    histories swap; two versions: their contents swap), else
  //    InvalidArgument.
  // src == dst is a no-op. One atomic batch, across rows and datasets.
  Status MoveColumn(const CellRef& src, const CellRef& dst, MoveMode mode);

  // Renames a row, to another name and/or dataset, moving every key. The
  // target must not exist or must be empty (its meta record is replaced);
  // otherwise NotEmpty. kNoReplace: AlreadyExists when the target exists.
  // kExchange swaps two existing rows.
  Status MoveRow(std::string_view src_dataset, std::string_view src_row,
                 std::string_view dst_dataset, std::string_view dst_row,
                 MoveMode mode);

  // ---- Content ----
  // A reader of version `ts` (the latest when unset) as `view` sees it.
  // NotFound when there is none.
  Status OpenVersion(std::string_view dataset, std::string_view row,
                     std::string_view column, std::optional<uint64_t> ts,
                     const ReadView& view,
                     std::unique_ptr<VersionReader>* reader) const;
  // A writer of the dataset starting from the content `base` reads (made
  // by OpenVersion on this store; null: an empty file). It keeps that
  // content whatever becomes of its version meanwhile (an unlinked file
  // written through an open descriptor).
  Status NewWriter(std::string_view dataset, const VersionReader* base,
                   std::unique_ptr<FileWriter>* writer);
  // Stores what `writer` holds as one version of the column, atomically
  // (its record, its last chunks and the meta record in one batch); the
  // writer then continues from that version. *ts_out gets its timestamp.
  Status CommitWriter(FileWriter* writer, std::string_view dataset,
                      std::string_view row, std::string_view column,
                      const CommitOptions& options, uint64_t* ts_out);

  // ---- Reads ----
  // The latest visible version, whole. NotFound when the column has none.
  Status GetLatest(std::string_view dataset, std::string_view row,
                   std::string_view column, Version* version,
                   const ReadView& view = {}) const;
  // The bytes of one visible version. NotFound when there is none at `ts`.
  Status GetVersion(std::string_view dataset, std::string_view row,
                    std::string_view column, uint64_t ts, std::string* value,
                    const ReadView& view = {}) const;
  // Visible versions selected by `query`, with their bytes. OK with an empty
  // result when nothing matches.
  Status ListVersions(std::string_view dataset, std::string_view row,
                      std::string_view column, const VersionQuery& query,
                      std::vector<Version>* versions,
                      const ReadView& view = {}) const;

  // A column's attrs and its newest visible versions (records only, never
  // content), at most `max_versions` of them (0 = all). NotFound when it
  // does not exist (no version, or deleted).
  Status StatColumn(std::string_view dataset, std::string_view row,
                    std::string_view column, ColumnInfo* info,
                    size_t max_versions = 1, const ReadView& view = {}) const;
  // One visible version's size, plus the column's attrs, in info->versions[0].
  Status StatVersion(std::string_view dataset, std::string_view row,
                     std::string_view column, uint64_t ts, ColumnInfo* info,
                     const ReadView& view = {}) const;
  // The row's attrs. NotFound when the row does not exist.
  Status StatRow(std::string_view dataset, std::string_view row, RowInfo* info,
                 const ReadView& view = {}) const;
  // Every existing column of the row, in key order, each with its visible
  // versions (records only). NotFound when the row does not exist.
  Status ListColumns(std::string_view dataset, std::string_view row,
                     std::vector<ColumnInfo>* columns,
                     const ReadView& view = {}) const;

  // A cursor over the dataset's rows strictly after `start_after` (from the
  // first row when empty). Finds each row with one seek past the previous
  // one; never visits every cell. On error returns null and sets *status.
  std::unique_ptr<RowCursor> NewRowCursor(std::string_view dataset,
                                          std::string_view start_after,
                                          Status* status,
                                          const ReadView& view = {}) const;
  // A page of up to `limit` rows after `start_after`; *next_start_after is
  // the value to pass for the next page, or empty at the end.
  Status ListRows(std::string_view dataset, std::string_view start_after,
                  size_t limit, std::vector<RowInfo>* rows,
                  std::string* next_start_after,
                  const ReadView& view = {}) const;

  // A snapshot of the whole database, released when the last reference
  // goes. Reads through it on a follower (kSecondary) answer NotSupported:
  // RocksDB secondaries read at no snapshot.
  std::shared_ptr<const Snapshot> NewSnapshot() const;

  // ---- Maintenance ----
  // A follower (kSecondary) reads what the primary wrote since the last
  // call. NotSupported for other modes.
  Status CatchUp();

  // Syncs the WAL (fsync of everything written so far).
  Status SyncWal();
  // Flushes memtables of every dataset to SST files.
  Status Flush();
  // Full compaction of one dataset (runs the policy filter over every key),
  // then garbage collection of its content.
  Status CompactDataset(std::string_view dataset);
  // Removes the content chunks no version record of the dataset refers to
  // (after versions were deleted, expired or compacted away), except those
  // of writers and readers still at work. Crash-safe: it removes nothing a
  // record refers to, and what one pass leaves the next one removes.
  Status CollectGarbage(std::string_view dataset);
  // Collects garbage in every dataset where versions were removed (deleted,
  // expired or dropped by compactions) and which was not collected in the
  // last `min_interval_ms`. For a background thread.
  Status CollectDueGarbage(uint64_t min_interval_ms);
  // Removes the version records that refer to a missing chunk (content
  // lost with a damaged table file; rowfs repair). *dropped: how many.
  Status DropDanglingVersions(std::string_view dataset, uint64_t* dropped);
  // Checks that every chunk a record refers to exists (none dangling) and
  // counts the chunks no record refers to (garbage until collected).
  Status CheckContent(std::string_view dataset, ContentReport* report) const;
  // The raw keys of a dataset's column family in order (for tests and
  // tools); at most `limit` (0 = all).
  Status RawKeys(std::string_view dataset, size_t limit,
                 std::vector<std::string>* keys) const;
  // A RocksDB property of one dataset ("" = summed over all of them where
  // the property is numeric), e.g. "rocksdb.estimate-num-keys".
  Status GetProperty(std::string_view dataset, std::string_view property,
                     std::string* value) const;
  // Size and health figures of one dataset, or of all of them summed when
  // `dataset` is empty (the block cache figures are database-wide).
  struct Stats {
    uint64_t live_data_bytes = 0;  // rocksdb.estimate-live-data-size
    uint64_t sst_bytes = 0;        // rocksdb.total-sst-files-size
    uint64_t blob_bytes = 0;       // rocksdb.total-blob-file-size
    uint64_t memtable_bytes = 0;   // rocksdb.cur-size-all-mem-tables
    uint64_t keys = 0;             // rocksdb.estimate-num-keys
    uint64_t pending_compaction_bytes =
        0;  // ...estimate-pending-compaction-bytes
    uint64_t block_cache_hits = 0;
    uint64_t block_cache_misses = 0;
    uint64_t block_cache_bytes = 0;  // in use
    uint64_t dirty_bytes = 0;        // held by writers, not yet stored
  };
  Status GetStats(std::string_view dataset, Stats* stats) const;

  // The underlying database, for tools. Never null while the Store lives.
  rocksdb::DB* db() const;

  struct Impl;

 private:
  // One step of SetVersionTime; *restored is set when it restored a
  // deleted column's last version, which then needs the time.
  Status SetVersionTimeOnce(std::string_view dataset, std::string_view row,
                            std::string_view column,
                            std::optional<uint64_t> from, uint64_t to,
                            uint64_t* ts_out,
                            std::optional<uint64_t>* restored);
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rowfs

#endif  // ROWFS_STORE_H_
