// Node: what one inode of the mount is. The subtree that made it (subtree.h)
// serves every operation on it and reads `type` in its own terms, so a new
// kind of node is added in that subtree's file alone. `shape` is what every
// caller may ask of any node: directory, file or symlink, and where a file's
// bytes come from.
//
// Thread safety: immutable once made; shared as shared_ptr<const Node>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fetch/hub_client.h"
#include "fs/tree/snapshot.h"

namespace hfm {

class Subtree;

enum class NodeShape : uint8_t {
  kDirectory,
  kRepoFile,  // a file of one snapshot: `entry`'s bytes, read through fs/read
  kMadeFile,  // bytes the mount makes at each open (a ref, a control file)
  kSymlink,
};

struct Node {
  Subtree* subtree = nullptr;  // serves this node; outlives it
  uint8_t type = 0;            // a value of `subtree`'s own enum of node types
  NodeShape shape = NodeShape::kDirectory;
  std::string key;  // identity; unique per distinct node
  RepoKind repo_kind = RepoKind::kModel;  // the folders above repos: which kind they hold
  std::string org;                        // an org folder's name
  // The repo and the revision of the repo directory it was reached through
  // ("" = default branch); `pinned` if that revision is a full commit, so
  // nothing below can ever change.
  RepoId repo;
  std::string revision;
  bool pinned = false;
  // The snapshot and the entry in it (kept alive by `snapshot`).
  std::shared_ptr<const Snapshot> snapshot;
  const SnapshotEntry* entry = nullptr;
  // What a subtree keeps beside (the HF cache view's refs prefix or
  // revision, a control file's name).
  std::string ref;

  bool is_dir() const { return shape == NodeShape::kDirectory; }
};

// A new node of `owner`'s, of its own `type`.
template <typename Type>
std::shared_ptr<Node> MakeNode(Subtree* owner, Type type, NodeShape shape, std::string key) {
  auto node = std::make_shared<Node>();
  node->subtree = owner;
  node->type = static_cast<uint8_t>(type);
  node->shape = shape;
  node->key = std::move(key);
  return node;
}

// `node`'s type in its subtree's enum (the caller's own nodes only).
template <typename Type>
Type TypeOf(const Node& node) {
  return static_cast<Type>(node.type);
}

}  // namespace hfm
