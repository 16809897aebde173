// HashStash: blocks of one file that arrived ahead of its hash frontier
// (ranged GETs run in parallel and finish out of order), kept in memory until
// the frontier gets to them, so the hash need not read them back from the
// cache (a second copy of the bytes).
//
// What the stash may keep is bounded by MemoryBudget::TryHoldAhead over all
// files. A block it turns away is still stored by the cache writer, and the
// hash reads it from the cache when the frontier arrives.
//
// Thread safety: none; FileContent guards it with its hash lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "fs/read/memory_budget.h"

namespace hfm {

class HashStash {
 public:
  explicit HashStash(MemoryBudget* budget) : budget_(budget) {}
  ~HashStash() { Clear(); }
  HashStash(const HashStash&) = delete;
  HashStash& operator=(const HashStash&) = delete;

  // Keeps `data` as block `index`; false if the budget's share for blocks
  // ahead of the frontier is spent (or the block is stashed already).
  bool Add(uint32_t index, std::shared_ptr<const std::string> data);
  // Hands block `index` over and forgets it; null if not stashed.
  std::shared_ptr<const std::string> Take(uint32_t index);
  void Clear();
  bool empty() const { return blocks_.empty(); }

 private:
  MemoryBudget* const budget_;
  std::map<uint32_t, std::shared_ptr<const std::string>> blocks_;
  uint64_t bytes_ = 0;  // held ahead in budget_, for blocks_
};

}  // namespace hfm
