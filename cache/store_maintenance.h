// Maintenance of a BlockStore as a whole, for `hfmirror cache verify | gc |
// purge`: re-hashing what is marked complete, and dropping whole files least
// recently used first. Works on any BlockStore, so also while a mount uses the
// same LMDB cache: a file dropped under a reader is a cache miss to it (it
// fetches again), never wrong bytes.
//
// Thread safety: each call is independent; the store serializes the writes.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "cache/block_store.h"
#include "util/status.h"

namespace hfm {

struct VerifyOutcome {
  uint64_t checked_files = 0;  // complete files re-hashed
  uint64_t checked_bytes = 0;
  std::vector<StoredFile> dropped;  // complete files whose bytes no longer match their hash
  uint64_t partial_files = 0;  // not complete: their hash needs bytes not cached, so not checked
};

// Re-hashes every complete file from its stored blocks. A file whose bytes do
// not match its hash (a damaged disk, a bug) is dropped, so the next read
// fetches it again. `on_file` (may be empty) is told of each checked file and
// whether it matched, as it goes.
Result<VerifyOutcome> VerifyStore(BlockStore* store,
                                  const std::function<void(const StoredFile&, bool matched)>& on_file);

struct ShrinkOutcome {
  uint64_t dropped_files = 0;
  uint64_t freed_bytes = 0;      // bytes of the dropped blocks
  uint64_t remaining_bytes = 0;  // bytes of blocks left
};

// Drops whole files, least recently used first, until the stored blocks take
// at most `max_bytes` (0: every file). The LMDB data file keeps its size: its
// freed pages are reused by later writes.
Result<ShrinkOutcome> ShrinkStore(BlockStore* store, uint64_t max_bytes);

}  // namespace hfm
