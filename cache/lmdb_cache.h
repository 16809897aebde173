// LMDB cache settings that production leaves at their defaults and tests or
// the daemon may turn: the clock behind last-access times, the eviction water
// marks, the sync interval. OpenLmdbCache(options) in block_store.h is this
// with the defaults.
//
// Thread safety: plain values.
#pragma once

#include <chrono>

#include "cache/block_store.h"
#include "util/clock.h"

namespace hfm {

// Block size: LMDB stores each block in one run of contiguous pages, and
// tree pages and free-list records are single pages that split such runs.
// Small blocks therefore leave freed space too fragmented to reuse after
// eviction, and rewriting slows sharply: use 1 MiB (the default) or more
// (tests/cache/block_size_bench.cc measures it).
struct LmdbCacheTuning {
  // Last-access times (Clock::WallSeconds) order eviction. Not owned; must
  // outlive the cache.
  Clock* clock = SystemClock();
  // Fractions of CacheOptions::max_bytes: a commit above high_water evicts
  // least recently used files down to low_water.
  double high_water = 0.90;
  double low_water = 0.70;
  // How often commits are flushed to disk (see cache/lmdb_env.h for why
  // commits themselves do not sync).
  std::chrono::milliseconds sync_interval{5000};
  // How long a write waits for another process's write (cache/write_lock.h)
  // before it is skipped, on `clock`. Well under a read's timeout, so a
  // stopped writer elsewhere never makes a read here time out.
  Duration write_lock_timeout = std::chrono::seconds(2);
};

Result<Cache> OpenLmdbCache(const CacheOptions& options, const LmdbCacheTuning& tuning);

}  // namespace hfm
