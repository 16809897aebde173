// ReadPathEnv: the services one mount's read path shares, handed to each
// unit of a FileContent at construction (as LevelDB hands Options and Env to
// a DB): the cache, the Hub, the thread pools, the memory budget, the
// counters and the clock. Every pointer is borrowed and outlives the units.
//
// Thread safety: plain data; what the pointers point at is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "fs/read/buffer_pool.h"
#include "fs/read/link_estimator.h"
#include "fs/read/memory_budget.h"
#include "fs/read/mount_stats.h"
#include "fs/read/work_queue.h"
#include "util/clock.h"

namespace hfm {

struct ReadPathOptions {
  bool strict = false;                                   // verify=strict
  Duration read_timeout = std::chrono::seconds(30);      // a read's wait for its bytes
  Duration fetch_timeout = std::chrono::seconds(60);     // one ranged GET, start to end
  // The largest readahead GET, in blocks (-o fetch_size). With a
  // LinkEstimator, readahead GETs grow to it as the measured round trip
  // asks (one block on a near link); without one, every readahead GET is
  // this size. GETs a reader waits on stay one block either way when a
  // LinkEstimator sizes them (README, "Design notes: the read path").
  uint32_t max_blocks_per_fetch = 1;
  // Blocks one background prefetch pass looks at; the budget decides how many
  // it actually fetches.
  uint32_t background_window_blocks = 64;
  // HF_HUB_OFFLINE=1: no GET at all; blocks not in the cache fail at once.
  bool offline = false;
};

struct ReadPathEnv {
  BlockStore* store = nullptr;
  HubClient* hub = nullptr;
  WorkQueue* fetch_queue = nullptr;   // ranged GETs for readahead and background prefetch
  WorkQueue* urgent_queue = nullptr;  // ranged GETs a reader waits for
  WorkQueue* writer = nullptr;        // one thread: stores fetched blocks
  WorkQueue* hasher = nullptr;        // one thread: feeds each file's hash in order
  MemoryBudget* budget = nullptr;     // bounds fetched bytes in memory
  BufferPool* buffers = nullptr;      // block buffers between uses
  MountCounters* counters = nullptr;
  LinkEstimator* link = nullptr;      // sizes GETs from the measured link; null: fixed size
  Clock* clock = SystemClock();
  ReadPathOptions options;
};

}  // namespace hfm
