// InodeTable: the mount's inode numbers and the kernel's lookup counts.
//
// A Node describes what an inode is (the mount root, a repo directory, a file
// at one commit, ...). Numbers come from a counter and are never reused, so a
// stale number from the kernel can never name a different node. A node's
// `key` names its identity: looking up the same thing again yields the same
// number while the kernel still holds it.
//
// Thread safety: one mutex guards the map and the counts; callers hold
// shared_ptr<const Node>, never a reference into the table.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fetch/hub_client.h"
#include "fs/tree/snapshot.h"

namespace hfm {

enum class NodeType {
  kRoot,      // the mount point
  kKindDir,   // /datasets, /spaces
  kOrgDir,    // /ORG, /datasets/ORG
  kRepoRoot,  // /ORG/NAME[@REV]: resolves its revision on use
  kDir,       // a folder of one snapshot
  kFile,      // a file of one snapshot (also a blob of the HF cache view)
  // The Hugging Face cache view (fs/hf_cache_view.h):
  kHfRoot,          // /.hf-cache
  kHfHub,           // /.hf-cache/hub
  kHfRepo,          // .../models--ORG--NAME
  kHfRefsDir,       // .../refs, .../refs/refs, .../refs/refs/pr (`ref`: the prefix)
  kHfRefFile,       // .../refs/REV: holds the commit (`ref`: the revision)
  kHfSnapshotsDir,  // .../snapshots
  kHfSnapshotDir,   // .../snapshots/COMMIT[/DIR...]
  kHfLink,          // .../snapshots/COMMIT/PATH: a symlink into blobs/
  kHfBlobsDir,      // .../blobs
  // The control folder:
  kCtlDir,   // /.hfmirror
  kCtlFile,  // /.hfmirror/stats.json, /.hfmirror/metrics (`ref`: the name)
};

struct Node {
  NodeType type = NodeType::kRoot;
  std::string key;  // identity; unique per distinct node
  RepoKind kind = RepoKind::kModel;
  std::string org;  // kOrgDir
  // kRepoRoot, kDir, kFile: the repo and the revision of the repo directory
  // it was reached through ("" = default branch); `pinned` if that revision
  // is a full commit, so nothing below can ever change.
  RepoId repo;
  std::string revision;
  bool pinned = false;
  // kDir, kFile: the snapshot and the entry in it (kept alive by `snapshot`).
  std::shared_ptr<const Snapshot> snapshot;
  const SnapshotEntry* entry = nullptr;

  // kHfRefsDir: the refs prefix ("", "refs/", "refs/pr/"); kHfRefFile: the revision.
  std::string ref;

  bool is_dir() const {
    return type != NodeType::kFile && type != NodeType::kHfRefFile && type != NodeType::kHfLink &&
           type != NodeType::kCtlFile;
  }
};

constexpr uint64_t kRootInode = 1;

class InodeTable {
 public:
  InodeTable();

  // The number for `node` (an existing one if a node with the same key is
  // live), counting one kernel lookup.
  uint64_t Add(std::shared_ptr<const Node> node);
  // nullptr if the kernel forgot `ino` (or never had it).
  std::shared_ptr<const Node> Get(uint64_t ino) const;
  // The kernel drops `count` lookups; the node goes when none remain.
  // The root is never forgotten.
  void Forget(uint64_t ino, uint64_t count);
  size_t size() const;
  // Live file inodes whose content is `hash`.
  std::vector<uint64_t> FilesWithContent(const ContentHash& hash) const;

 private:
  struct Slot {
    std::shared_ptr<const Node> node;
    uint64_t lookups = 0;
  };
  mutable std::mutex mu_;
  uint64_t next_ = kRootInode + 1;                  // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, Slot> slots_;        // GUARDED_BY(mu_)
  std::unordered_map<std::string, uint64_t> by_key_;  // GUARDED_BY(mu_)
};

}  // namespace hfm
