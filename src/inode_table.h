// The daemon's inode table: FUSE node ids <-> namespace entries, with the
// kernel's lookup counts (as in libfuse's passthrough_ll).
//
// A node exists while the kernel holds a lookup on it (or a handle is open);
// FORGET releases it, so memory is bounded by what the kernel caches, not by
// the size of the database. The node id is an opaque handle allocated here;
// the inode number reported in st_ino is derived from the entry's identity,
// at the node's creation, so it is stable across lookups and remounts ("stable
// for the life of an entry"), and a rename keeps it, as rename(2) keeps an
// inode. The table keeps the numbers of live nodes unique: a name whose hash
// a live node already holds (a file renamed away from it, a collision) gets
// a perturbed one.
//
// Thread-safety: every method may be called concurrently.
#ifndef ROWFS_SRC_INODE_TABLE_H_
#define ROWFS_SRC_INODE_TABLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace rowfs {

class OpenFile;

using NodeId = uint64_t;  // fuse_ino_t
inline constexpr NodeId kRootNodeId = 1;

enum class NodeKind : uint8_t {
  kRoot,  // "/" (view 0) or the root of a view ("/@snapshot/NAME")
  kDataset,
  kRow,
  kColumn,
  kVersion,
  kSnapshotDir,  // "/@snapshot": the named snapshots
  kAsofDir,      // "/@asof": "as of T" views, looked up by T
};

// Which entry a node stands for. Fields beyond the kind's level are empty.
// `view` is 0 for the live tree, else the id of a read-only view whose tree
// this entry belongs to.
struct NodeKey {
  NodeKind kind = NodeKind::kRoot;
  std::string dataset, row, column;
  uint64_t ts = 0;  // kVersion only
  uint32_t view = 0;

  static NodeKey Root(uint32_t view = 0) {
    return {NodeKind::kRoot, {}, {}, {}, 0, view};
  }
  static NodeKey Special(NodeKind kind) { return {kind, {}, {}, {}, 0, 0}; }
  static NodeKey Dataset(std::string_view ds, uint32_t view = 0) {
    return {NodeKind::kDataset, std::string(ds), {}, {}, 0, view};
  }
  static NodeKey Row(std::string_view ds, std::string_view row,
                     uint32_t view = 0) {
    return {NodeKind::kRow, std::string(ds), std::string(row), {}, 0, view};
  }
  static NodeKey Column(std::string_view ds, std::string_view row,
                        std::string_view col, uint32_t view = 0) {
    return {NodeKind::kColumn,
            std::string(ds),
            std::string(row),
            std::string(col),
            0,
            view};
  }
  static NodeKey Version(std::string_view ds, std::string_view row,
                         std::string_view col, uint64_t ts, uint32_t view = 0) {
    return {NodeKind::kVersion,
            std::string(ds),
            std::string(row),
            std::string(col),
            ts,
            view};
  }
  // The parent directory's key (the live root for the root, a view's root
  // and the view directories).
  NodeKey Parent() const;
  // The entry's name inside its parent ("" for root).
  std::string Name() const;
  // "/ds/row/col@ts", for messages; "/@view<id>/..." inside a view.
  std::string Path() const;
  bool IsFile() const {
    return kind == NodeKind::kColumn || kind == NodeKind::kVersion;
  }

  // Ordered so that a dataset's, a row's and a column's nodes are contiguous.
  bool operator<(const NodeKey& o) const;
  bool operator==(const NodeKey& o) const = default;
};

// The stable st_ino of an entry (1 for the root).
uint64_t StableInodeNumber(const NodeKey& key);

// A kernel dentry that no longer names what it did: (parent node, name).
struct EntryInvalidation {
  NodeId parent;
  std::string name;
};

// A copy of a node's state.
struct NodeInfo {
  NodeId id = 0;
  NodeKey key;
  uint64_t st_ino = 0;
  bool detached = false;  // no longer in the namespace (unlinked, replaced)
  std::shared_ptr<OpenFile> open_file;
};

class InodeTable {
 public:
  InodeTable();
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  // Finds or creates the node for `key` and counts one kernel lookup.
  NodeInfo Lookup(const NodeKey& key);
  // Copies the node's state. False for an unknown id.
  bool Get(NodeId id, NodeInfo* info) const;
  // The live (attached) node at `key`, if any; counts nothing.
  std::optional<NodeInfo> Find(const NodeKey& key) const;
  // Drops `n` kernel lookups; the node goes when none remain and no file
  // is open on it. Unknown ids are ignored.
  void Forget(NodeId id, uint64_t n);

  // Returns the node's OpenFile, creating it with `make` when none exists,
  // with one more handle counted (atomically with the lookup, so a release
  // cannot detach it in between). Null for an unknown node.
  std::shared_ptr<OpenFile> AttachOpenFile(
      NodeId id, const std::function<std::shared_ptr<OpenFile>()>& make);
  // After a release brought `file`'s handles to zero: detaches it from the
  // node unless an open attached it again meanwhile, and frees the node if
  // the kernel forgot it.
  void DetachOpenFile(NodeId id, const OpenFile* file);
  // Every node with an open file.
  std::vector<std::pair<NodeId, std::shared_ptr<OpenFile>>> AllOpenFiles()
      const;
  // The open files of the column and version nodes inside a row.
  std::vector<std::pair<NodeKey, std::shared_ptr<OpenFile>>> OpenFilesIn(
      const NodeKey& row) const;

  // Removes the node at `key` (and, for a column, its version nodes) from
  // the namespace. Kernel dentries of the removed versions are returned.
  void Remove(const NodeKey& key, std::vector<EntryInvalidation>* stale);
  // A column or version rename: the node at `from` moves to `to`, the
  // node previously at `to` is detached; version nodes of a renamed column
  // are detached and their dentries returned. `exchange` swaps instead.
  void Rename(const NodeKey& from, const NodeKey& to, bool exchange,
              std::vector<EntryInvalidation>* stale);
  // A row rename: every node under `from` moves under `to`; nodes under
  // `to` are detached, or moved to `from` when `exchange`. Returns the ids of
  // the nodes that now have another name (their attributes changed).
  std::vector<NodeId> RenameRow(const NodeKey& from, const NodeKey& to,
                                bool exchange);
  // Node ids of the column's node and its version nodes.
  std::vector<NodeId> ColumnNodes(std::string_view dataset,
                                  std::string_view row,
                                  std::string_view column) const;
  // The attached nodes of a dataset's tree as seen in `view` (0: live): its
  // own, its rows', columns' and versions'.
  std::vector<NodeInfo> DatasetNodes(std::string_view dataset,
                                     uint32_t view) const;

  size_t size() const;
  // Nodes (attached or not) of view `view`'s tree.
  size_t NodesInView(uint32_t view) const;

 private:
  struct Node {
    NodeId id;
    NodeKey key;
    uint64_t st_ino;
    uint64_t nlookup = 0;
    bool detached = false;
    std::shared_ptr<OpenFile> open_file;
  };
  NodeInfo InfoOf(const Node& n) const;
  uint64_t UniqueInoLocked(const NodeKey& key) const;
  void DetachLocked(Node* n);
  void MaybeEraseLocked(Node* n);
  // Nodes under (kind-level prefix of) `key`: same dataset [and row [and
  // column]] as `key` up to `depth` (1, 2 or 3 name components).
  std::vector<Node*> UnderLocked(const NodeKey& key, int depth) const;

  mutable std::mutex mu_;
  NodeId next_id_ = kRootNodeId + 1;
  std::unordered_map<NodeId, std::unique_ptr<Node>> by_id_;
  std::unordered_map<uint64_t, NodeId> inos_;  // st_ino of every live node
  std::map<NodeKey, Node*> by_key_;
  std::unordered_map<uint32_t, size_t> view_nodes_;  // views other than 0
};

}  // namespace rowfs

#endif  // ROWFS_SRC_INODE_TABLE_H_
