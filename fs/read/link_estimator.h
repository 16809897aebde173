// LinkEstimator: one mount's view of its link to the servers that send file
// bytes: the round trip and the rate of one connection, measured from the
// ranged GETs themselves, and the GET size and bytes in flight they call for.
//
// A GET of S bytes on a connection of rate R with round trip T takes
// S/R + T, so it delivers S/(S/R + T): the round trip it waits before the
// first byte is dead time unless S is large against R*T, the connection's
// bandwidth-delay product. A CDN caps each connection (the bench's paced
// server: 25 MiB/s), so 1 MiB GETs at 100 ms get 7 MiB/s each; 8 MiB GETs
// get 19 MiB/s. So a sequential run's readahead GETs are sized
// S = k * R * T (k = 4: three quarters of each connection's time carries
// bytes), rounded up to a power of two of blocks (then the groups of every
// size start on each other's boundaries) and clamped to [1 block, the
// largest GET]. The round trip is the minimum time to first byte over the
// last GETs (as TCP keeps a windowed minimum RTT: queueing and a fresh
// connection's handshake only ever add to it); the rate is the fastest
// body of the last GETs (bytes after the first over the time they took:
// one connection's best, which slow start and a busy client only lower).
// Under kNearRtt (loopback, a LAN, a slow local server) every GET stays one
// block: there a round trip costs less than a quarter of a block's transfer
// at a CDN's 25 MiB/s, and fetch_threads one-block GETs already keep the
// link busy, so nothing changes from the fixed size. So does it until
// kMinSamples GETs were timed: a few slow answers (a server warming up, a
// busy client) must not grow a near mount's GETs and memory.
//
// From S follow the bytes to keep in flight for one sequential reader,
// parallel() * S (the memory budget's working limit grows to hold them, up
// to max_memory), and the readahead window that keeps that many GETs going.
// On a far link parallel() is far_fetch_threads, not fetch_threads: a CDN
// caps each connection, and once GETs are large the round trip is paid per
// connection too, so speed there comes from more connections (aria2c's 16
// are its most); near, more GETs would only cost memory.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "util/clock.h"
#include "util/mutex.h"

namespace hfm {

class LinkEstimator {
 public:
  struct Options {
    uint32_t block_size = 1u << 20;
    uint32_t fetch_threads = 16;
    // GETs in flight on a far link (0: fetch_threads).
    uint32_t far_fetch_threads = 0;
    // The largest GET, in blocks (-o fetch_size); 1 turns sizing off.
    uint32_t max_fetch_blocks = 16;
    // The memory budget's ceiling (-o max_memory): fetch_threads GETs of the
    // largest size must fit in prefetch's share of it (three quarters).
    uint64_t max_memory = 192ull << 20;
  };
  // Below this round trip, GETs stay one block (see above).
  static constexpr Duration kNearRtt = std::chrono::milliseconds(10);
  // GETs timed before the size may leave one block.
  static constexpr int kMinSamples = 32;
  // The GETs a measurement is taken over. Long: on a loaded client the
  // time to first byte of most loopback GETs is 5-50 ms of local queueing
  // (one transfer thread serves every GET), and only the odd one shows the
  // true sub-millisecond round trip; the minimum must not forget it soon.
  static constexpr int kWindow = 256;
  // S = kRttMultiple * rate * round trip.
  static constexpr int kRttMultiple = 4;

  explicit LinkEstimator(const Options& options);
  LinkEstimator(const LinkEstimator&) = delete;
  LinkEstimator& operator=(const LinkEstimator&) = delete;

  // One clean GET of `bytes`: its first byte came `first_byte` after it was
  // sent, the rest in `body` after that. Returns true if the GET size
  // changed.
  bool OnGet(Duration first_byte, uint64_t bytes, Duration body) EXCLUDES(mu_);

  // Blocks per readahead GET (a power of two, at least 1).
  uint32_t fetch_blocks() const { return fetch_blocks_.load(std::memory_order_relaxed); }
  // Readahead GETs to keep in flight: fetch_threads, far_fetch_threads on a
  // far link (GETs past one block).
  uint32_t parallel() const { return fetch_blocks() > 1 ? far_threads_ : options_.fetch_threads; }
  // Bytes to keep in flight for one sequential reader: parallel() GETs.
  uint64_t in_flight_bytes() const { return uint64_t{parallel()} * fetch_blocks() * options_.block_size; }
  // The same, in blocks: what a sequential reader's readahead must reach.
  uint32_t in_flight_blocks() const { return parallel() * fetch_blocks(); }

  // The last measurement (for stats and logs); zero before any GET.
  Duration rtt() const EXCLUDES(mu_);
  double bytes_per_second() const EXCLUDES(mu_);

 private:
  struct Sample {
    Duration first_byte{};
    double bytes_per_second = 0;  // of the body; 0: too short to say
  };
  uint32_t BlocksFor(Duration rtt, double rate) const;

  const Options options_;
  const uint32_t far_threads_;
  const uint32_t max_blocks_;  // the largest power of two the options allow

  mutable Mutex mu_;
  std::array<Sample, kWindow> samples_ GUARDED_BY(mu_){};
  int count_ GUARDED_BY(mu_) = 0;  // samples taken, ever
  Duration rtt_ GUARDED_BY(mu_){};
  double rate_ GUARDED_BY(mu_) = 0;
  // Read without the lock on every Schedule.
  std::atomic<uint32_t> fetch_blocks_{1};
};

}  // namespace hfm
