// InodeTable: the mount's inode numbers and the kernel's lookup counts.
//
// A Node (node.h) describes what an inode is (the mount root, a repo
// directory, a file at one commit, ...). Numbers come from a counter and are
// never reused, so a stale number from the kernel can never name a different
// node. A node's
// `key` names its identity: looking up the same thing again yields the same
// number while the kernel still holds it.
//
// Thread safety: one mutex guards the map and the counts; callers hold
// shared_ptr<const Node>, never a reference into the table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/tree/node.h"
#include "util/content_hash.h"
#include "util/mutex.h"

namespace hfm {

constexpr uint64_t kRootInode = 1;

class InodeTable {
 public:
  // `root` becomes kRootInode, for good.
  explicit InodeTable(std::shared_ptr<const Node> root);

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
  mutable Mutex mu_;
  uint64_t next_ GUARDED_BY(mu_) = kRootInode + 1;
  std::unordered_map<uint64_t, Slot> slots_ GUARDED_BY(mu_);
  std::unordered_map<std::string, uint64_t> by_key_ GUARDED_BY(mu_);
};

}  // namespace hfm
