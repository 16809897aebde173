// MountStats: what a mount has done, for /.hfmirror/stats.json (JSON, for
// `hfmirror status` and scripts) and /.hfmirror/metrics (Prometheus text
// format, hfmirror_ prefix, for node_exporter's textfile collector or a
// scrape through a tiny HTTP shim).
//
// MountCounters are bumped on the read path (relaxed atomics: they are
// statistics, not synchronisation); a MountStats is one consistent-enough
// picture of them and of the endpoints, the memory budget and the cache.
//
// Thread safety: MountCounters is thread-safe; the rest are values.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "cache/block_store.h"
#include "fetch/hub_client.h"

namespace hfm {

struct MountCounters {
  std::atomic<uint64_t> reads{0};              // read requests answered (the kernel's, not the app's)
  std::atomic<uint64_t> read_errors{0};        // ...of which failed
  std::atomic<uint64_t> bytes_served{0};       // bytes returned by reads
  std::atomic<uint64_t> blocks_from_cache{0};  // blocks a read copied from the cache
  std::atomic<uint64_t> blocks_fetched{0};     // blocks that arrived from the network
  std::atomic<uint64_t> bytes_fetched{0};      // ...and their bytes, and direct reads'
  std::atomic<uint64_t> direct_reads{0};       // reads served by a GET of just their bytes
  std::atomic<int64_t> fetches_in_flight{0};   // ranged GETs running now
  std::atomic<int64_t> open_files{0};          // file handles open now
};

struct MountStats {
  std::string version;
  int64_t uptime_seconds = 0;
  uint64_t reads = 0, read_errors = 0, bytes_served = 0;
  uint64_t blocks_from_cache = 0, blocks_fetched = 0, bytes_fetched = 0, direct_reads = 0;
  int64_t fetches_in_flight = 0, open_files = 0;
  uint64_t memory_used = 0, memory_peak = 0, memory_limit = 0, memory_ceiling = 0;
  // What the read path measured of the link (LinkEstimator): 0 before any GET.
  double link_round_trip_ms = 0;
  uint64_t readahead_get_bytes = 0;
  BlockStoreStats cache;
  std::vector<EndpointStats> endpoints;

  // Blocks served from the cache over all blocks read (cache + network);
  // 0 before any.
  double cache_hit_ratio() const;
};

// Reads the counters into `stats` (the other fields are the caller's).
void ReadCounters(const MountCounters& counters, MountStats* stats);

std::string StatsJson(const MountStats& stats);
std::string PrometheusText(const MountStats& stats);

}  // namespace hfm
