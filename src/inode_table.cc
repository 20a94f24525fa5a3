#include "inode_table.h"

#include <functional>
#include <tuple>

#include "open_file.h"
#include "rowfs/names.h"

namespace rowfs {

NodeKey NodeKey::Parent() const {
  switch (kind) {
    case NodeKind::kRoot:
    case NodeKind::kSnapshotDir:
    case NodeKind::kAsofDir:
      return Root();
    case NodeKind::kDataset:
      return Root(view);
    case NodeKind::kRow:
      return Dataset(dataset, view);
    case NodeKind::kColumn:
    case NodeKind::kVersion:
      return Row(dataset, row, view);
  }
  return Root();
}

std::string NodeKey::Name() const {
  switch (kind) {
    case NodeKind::kRoot:
      return "";
    case NodeKind::kSnapshotDir:
      return "@snapshot";
    case NodeKind::kAsofDir:
      return "@asof";
    case NodeKind::kDataset:
      return dataset;
    case NodeKind::kRow:
      return row;
    case NodeKind::kColumn:
      return column;
    case NodeKind::kVersion:
      return VersionName(column, ts);
  }
  return "";
}

std::string NodeKey::Path() const {
  const std::string prefix = view == 0 ? "" : "/@view" + std::to_string(view);
  if (kind == NodeKind::kRoot) return prefix.empty() ? "/" : prefix;
  if (kind == NodeKind::kSnapshotDir || kind == NodeKind::kAsofDir) {
    return "/" + Name();
  }
  std::string p = prefix + "/" + dataset;
  if (kind == NodeKind::kDataset) return p;
  p += "/" + row;
  if (kind == NodeKind::kRow) return p;
  return p + "/" + Name();
}

bool NodeKey::operator<(const NodeKey& o) const {
  return std::tie(view, dataset, row, column, kind, ts) <
         std::tie(o.view, o.dataset, o.row, o.column, o.kind, o.ts);
}

uint64_t StableInodeNumber(const NodeKey& key) {
  if (key.kind == NodeKind::kRoot && key.view == 0) return 1;
  // FNV-1a over the identity, then a splitmix64 finaliser for avalanche.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator: names never contain it as a whole byte run
    h *= 1099511628211ull;
  };
  mix(std::string_view(reinterpret_cast<const char*>(&key.kind), 1));
  mix(key.dataset);
  mix(key.row);
  mix(key.column);
  mix(std::to_string(key.ts));
  if (key.view != 0) mix(std::to_string(key.view));
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h <= 1 ? h + 2 : h;  // 0 is invalid, 1 is the root
}

InodeTable::InodeTable() {
  auto root = std::make_unique<Node>();
  root->id = kRootNodeId;
  root->key = NodeKey::Root();
  root->st_ino = 1;
  root->nlookup = 1;  // the kernel never forgets the root
  inos_[1] = kRootNodeId;
  by_key_[root->key] = root.get();
  by_id_[kRootNodeId] = std::move(root);
}

NodeInfo InodeTable::InfoOf(const Node& n) const {
  return NodeInfo{n.id, n.key, n.st_ino, n.detached, n.open_file};
}

uint64_t InodeTable::UniqueInoLocked(const NodeKey& key) const {
  uint64_t ino = StableInodeNumber(key);
  while (inos_.count(ino) != 0 || ino <= 1) {
    ino = ino * 6364136223846793005ull + 1442695040888963407ull;
  }
  return ino;
}

NodeInfo InodeTable::Lookup(const NodeKey& key) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  Node* n;
  if (it != by_key_.end()) {
    n = it->second;
  } else {
    auto node = std::make_unique<Node>();
    node->id = next_id_++;
    node->key = key;
    node->st_ino = UniqueInoLocked(key);
    inos_[node->st_ino] = node->id;
    if (key.view != 0) ++view_nodes_[key.view];
    n = node.get();
    by_key_[key] = n;
    by_id_[n->id] = std::move(node);
  }
  ++n->nlookup;
  return InfoOf(*n);
}

bool InodeTable::Get(NodeId id, NodeInfo* info) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  *info = InfoOf(*it->second);
  return true;
}

std::optional<NodeInfo> InodeTable::Find(const NodeKey& key) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return InfoOf(*it->second);
}

void InodeTable::Forget(NodeId id, uint64_t n) {
  if (id == kRootNodeId) return;
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  Node* node = it->second.get();
  node->nlookup = n >= node->nlookup ? 0 : node->nlookup - n;
  MaybeEraseLocked(node);
}

void InodeTable::MaybeEraseLocked(Node* n) {
  if (n->nlookup != 0 || n->open_file != nullptr || n->id == kRootNodeId) {
    return;
  }
  if (!n->detached) by_key_.erase(n->key);
  inos_.erase(n->st_ino);
  if (n->key.view != 0) {
    auto it = view_nodes_.find(n->key.view);
    if (it != view_nodes_.end() && --it->second == 0) view_nodes_.erase(it);
  }
  by_id_.erase(n->id);
}

void InodeTable::DetachLocked(Node* n) {
  if (n->detached) return;
  by_key_.erase(n->key);
  n->detached = true;
}

std::shared_ptr<OpenFile> InodeTable::AttachOpenFile(
    NodeId id, const std::function<std::shared_ptr<OpenFile>()>& make) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  Node* n = it->second.get();
  if (n->open_file == nullptr) n->open_file = make();
  n->open_file->handles.fetch_add(1);
  return n->open_file;
}

void InodeTable::DetachOpenFile(NodeId id, const OpenFile* file) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  Node* n = it->second.get();
  if (n->open_file.get() == file && file->handles.load() == 0) {
    n->open_file.reset();
  }
  MaybeEraseLocked(n);
}

std::vector<std::pair<NodeId, std::shared_ptr<OpenFile>>>
InodeTable::AllOpenFiles() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<NodeId, std::shared_ptr<OpenFile>>> out;
  for (const auto& [id, n] : by_id_) {
    if (n->open_file != nullptr) out.emplace_back(id, n->open_file);
  }
  return out;
}

std::vector<std::pair<NodeKey, std::shared_ptr<OpenFile>>>
InodeTable::OpenFilesIn(const NodeKey& row) const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<NodeKey, std::shared_ptr<OpenFile>>> out;
  for (Node* n : UnderLocked(row, 2)) {
    if (n->key.IsFile() && n->open_file != nullptr) {
      out.emplace_back(n->key, n->open_file);
    }
  }
  return out;
}

std::vector<InodeTable::Node*> InodeTable::UnderLocked(const NodeKey& key,
                                                       int depth) const {
  NodeKey lo;
  lo.view = key.view;
  lo.dataset = key.dataset;
  if (depth >= 2) lo.row = key.row;
  if (depth >= 3) lo.column = key.column;
  std::vector<Node*> out;
  for (auto it = by_key_.lower_bound(lo); it != by_key_.end(); ++it) {
    const NodeKey& k = it->first;
    if (k.view != key.view || k.dataset != key.dataset) break;
    if (depth >= 2 && k.row != key.row) break;
    if (depth >= 3 && k.column != key.column) break;
    out.push_back(it->second);
  }
  return out;
}

void InodeTable::Remove(const NodeKey& key,
                        std::vector<EntryInvalidation>* stale) {
  std::lock_guard lock(mu_);
  std::vector<Node*> victims;
  if (key.kind == NodeKind::kColumn) {
    victims = UnderLocked(key, 3);
  } else if (auto it = by_key_.find(key); it != by_key_.end()) {
    victims.push_back(it->second);
  }
  auto parent = by_key_.find(key.Parent());
  for (Node* n : victims) {
    if (n->key.kind == NodeKind::kVersion && n->key != key &&
        parent != by_key_.end()) {
      stale->push_back({parent->second->id, n->key.Name()});
    }
    DetachLocked(n);
    MaybeEraseLocked(n);
  }
}

void InodeTable::Rename(const NodeKey& from, const NodeKey& to, bool exchange,
                        std::vector<EntryInvalidation>* stale) {
  if (from == to) return;  // a no-op rename must not detach its own node
  std::lock_guard lock(mu_);
  // Version nodes of a column that changed identity no longer name anything.
  auto detach_versions = [&](const NodeKey& col) {
    if (col.kind != NodeKind::kColumn) return;
    auto parent = by_key_.find(col.Parent());
    for (Node* n : UnderLocked(col, 3)) {
      if (n->key.kind != NodeKind::kVersion) continue;
      if (parent != by_key_.end()) {
        stale->push_back({parent->second->id, n->key.Name()});
      }
      DetachLocked(n);
      MaybeEraseLocked(n);
    }
  };
  detach_versions(from);
  if (exchange) detach_versions(to);

  Node* src = nullptr;
  Node* dst = nullptr;
  if (auto it = by_key_.find(from); it != by_key_.end()) src = it->second;
  if (auto it = by_key_.find(to); it != by_key_.end()) dst = it->second;
  if (src != nullptr) by_key_.erase(from);
  if (dst != nullptr) by_key_.erase(to);
  if (src != nullptr) {
    src->key = to;
    by_key_[to] = src;
  }
  if (dst != nullptr) {
    if (exchange) {
      dst->key = from;
      by_key_[from] = dst;
    } else {
      dst->detached = true;
      MaybeEraseLocked(dst);
    }
  }
}

std::vector<NodeId> InodeTable::RenameRow(const NodeKey& from,
                                          const NodeKey& to, bool exchange) {
  if (from == to) return {};
  std::lock_guard lock(mu_);
  std::vector<Node*> moving = UnderLocked(from, 2);
  std::vector<Node*> displaced = UnderLocked(to, 2);
  for (Node* n : moving) by_key_.erase(n->key);
  for (Node* n : displaced) by_key_.erase(n->key);
  std::vector<NodeId> renamed;
  for (Node* n : moving) {
    n->key.dataset = to.dataset;
    n->key.row = to.row;
    by_key_[n->key] = n;
    renamed.push_back(n->id);
  }
  for (Node* n : displaced) {
    if (exchange) {
      n->key.dataset = from.dataset;
      n->key.row = from.row;
      by_key_[n->key] = n;
      renamed.push_back(n->id);
    } else {
      n->detached = true;
      MaybeEraseLocked(n);
    }
  }
  return renamed;
}

std::vector<NodeId> InodeTable::ColumnNodes(std::string_view dataset,
                                            std::string_view row,
                                            std::string_view column) const {
  std::lock_guard lock(mu_);
  std::vector<NodeId> out;
  for (Node* n : UnderLocked(NodeKey::Column(dataset, row, column), 3)) {
    out.push_back(n->id);
  }
  return out;
}

std::vector<NodeInfo> InodeTable::DatasetNodes(std::string_view dataset,
                                               uint32_t view) const {
  std::lock_guard lock(mu_);
  std::vector<NodeInfo> out;
  for (Node* n : UnderLocked(NodeKey::Dataset(dataset, view), 1)) {
    if (!n->detached) out.push_back(InfoOf(*n));
  }
  return out;
}

size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

}  // namespace rowfs

namespace rowfs {

size_t InodeTable::NodesInView(uint32_t view) const {
  std::lock_guard lock(mu_);
  auto it = view_nodes_.find(view);
  return it == view_nodes_.end() ? 0 : it->second;
}

}  // namespace rowfs
