#include "fs/tree/inode_table.h"

#include "util/log.h"

namespace hfm {

InodeTable::InodeTable(std::shared_ptr<const Node> root) {
  by_key_[root->key] = kRootInode;
  slots_[kRootInode] = Slot{std::move(root), 1};
}

uint64_t InodeTable::Add(std::shared_ptr<const Node> node) {
  MutexLock lock(&mu_);
  auto it = by_key_.find(node->key);
  if (it != by_key_.end()) {
    slots_[it->second].lookups++;
    return it->second;
  }
  const uint64_t ino = next_++;
  by_key_[node->key] = ino;
  slots_[ino] = Slot{std::move(node), 1};
  return ino;
}

std::shared_ptr<const Node> InodeTable::Get(uint64_t ino) const {
  MutexLock lock(&mu_);
  auto it = slots_.find(ino);
  return it == slots_.end() ? nullptr : it->second.node;
}

void InodeTable::Forget(uint64_t ino, uint64_t count) {
  if (ino == kRootInode) return;
  MutexLock lock(&mu_);
  auto it = slots_.find(ino);
  if (it == slots_.end()) {
    LogWarning("kernel forgot unknown inode " + std::to_string(ino));
    return;
  }
  if (count >= it->second.lookups) {
    by_key_.erase(it->second.node->key);
    slots_.erase(it);
  } else {
    it->second.lookups -= count;
  }
}

std::vector<uint64_t> InodeTable::FilesWithContent(const ContentHash& hash) const {
  std::vector<uint64_t> out;
  MutexLock lock(&mu_);
  for (const auto& [ino, slot] : slots_) {
    if (slot.node->shape == NodeShape::kRepoFile && slot.node->entry->hash == hash) out.push_back(ino);
  }
  return out;
}

size_t InodeTable::size() const {
  MutexLock lock(&mu_);
  return slots_.size();
}

}  // namespace hfm
