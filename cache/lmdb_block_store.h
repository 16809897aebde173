// LmdbBlockStore: BlockStore over the "blocks" and "files" databases of an
// LmdbEnv. Internal to cache/; OpenLmdbCache() builds it.
//
// Transactions: every call is one transaction, but DropFile, which deletes in
// steps (see DeleteFileStep). Reads renew a pooled read transaction, copy
// straight out of the map and end it, so no snapshot outlives a memcpy. Each
// PutBlock is its own write transaction: with MDB_NOSYNC a commit is a write()
// of the block's pages, no fsync, which at 1 MiB blocks is far faster than
// any network (tests/cache/block_size_bench.cc), so batching callers' blocks
// into shared commits is not needed for speed. It would save each commit's copies of tree
// and free-list pages, single pages that also split runs of free pages:
// worth revisiting if fragmentation shows at scale.
//
// Last access: PutBlock, MarkComplete and Touch stamp the file's record with
// the clock's wall seconds, at most once per kTouchInterval per file so reads
// do not turn into writes.
//
// Thread safety: thread-safe; readers never block each other or writers.
#pragma once

#include <cstdint>
#include <memory>

#include "cache/block_store.h"
#include "cache/lmdb_env.h"
#include "cache/lmdb_evictor.h"
#include "cache/pin_set.h"
#include "util/clock.h"

namespace hfm {

// `clock` is not owned and must outlive the store.
std::unique_ptr<BlockStore> NewLmdbBlockStore(std::shared_ptr<LmdbEnv> env,
                                              std::shared_ptr<LmdbEvictor> evictor,
                                              std::shared_ptr<PinSet> pins, uint32_t block_size,
                                              uint64_t quota, Clock* clock);

}  // namespace hfm
