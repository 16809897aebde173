// LmdbMetaStore: MetaStore over the "meta" database of an LmdbEnv, so small
// metadata shares the block cache's file, quota and durability. Internal to
// cache/; OpenLmdbCache() builds it.
//
// A write that finds the map full evicts block files to make room: metadata
// is cheaper to keep than to refetch. Large values (a big repo's tree listing)
// live in overflow pages like blocks; they are written rarely, so their odd
// sizes fragment the free list little.
//
// Thread safety: thread-safe; readers never block each other or writers.
#pragma once

#include <memory>

#include "cache/block_store.h"
#include "cache/lmdb_env.h"
#include "cache/lmdb_evictor.h"

namespace hfm {

std::unique_ptr<MetaStore> NewLmdbMetaStore(std::shared_ptr<LmdbEnv> env,
                                            std::shared_ptr<LmdbEvictor> evictor);

}  // namespace hfm
