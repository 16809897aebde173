// MemoryBudget: one daemon-wide bound on the file bytes held in memory between
// a ranged GET and the cache (in flight, waiting for readers, or queued for
// the cache writer), so readahead and background prefetch of many files
// together stay under `-o max_memory=`.
//
// Readahead and background prefetch ask with TryReserve() and simply fetch
// less when the budget is spent; the blocks a reader is waiting for right now
// use Reserve(), which never refuses (a reader must not fail because others
// prefetch), so the total may exceed the limit by what blocked readers need.
// Readers first WaitForRoom(): when the cache writer falls behind the
// network, fetched blocks pile up in memory, and readers wait for it rather
// than let the pile grow (backpressure from the disk to the network).
//
// `-o max_memory=` is the ceiling; the bound in force (limit()) is a working
// limit that starts at 32 MiB and follows the link (SetInFlightTarget): a
// far link needs its bandwidth-delay product in flight (LinkEstimator), a
// near one no more than the start, so a loopback or LAN mount keeps its
// small footprint and only a mount that measured a long round trip grows.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "util/clock.h"
#include "util/mutex.h"

namespace hfm {

class MemoryBudget {
 public:
  // The working limit a mount starts with (at most the ceiling).
  static constexpr uint64_t kStartBytes = 32ull << 20;

  // `clock` (borrowed) times WaitForRoom's deadline. The working limit
  // starts at min(`start_bytes`, `ceiling_bytes`).
  explicit MemoryBudget(uint64_t ceiling_bytes, const Clock* clock = SystemClock(),
                        uint64_t start_bytes = kStartBytes)
      : ceiling_(ceiling_bytes),
        start_(std::min(start_bytes, ceiling_bytes)),
        clock_(clock),
        limit_(start_) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Takes `bytes` if they fit under three quarters of the limit; false
  // (taking nothing) if not. The last quarter is kept for readers' own
  // blocks, so prefetch alone never makes a reader wait in WaitForRoom().
  bool TryReserve(uint64_t bytes);
  // Takes `bytes` whatever the limit says.
  void Reserve(uint64_t bytes);
  // Gives back bytes taken by either call, then tells the release listener.
  void Release(uint64_t bytes);
  // Waits until less than the limit is in use, or `deadline`. False if the
  // deadline came first (the caller goes ahead anyway: a slow disk must not
  // fail reads).
  bool WaitForRoom(TimePoint deadline);

  // Blocks that arrived ahead of their file's hash frontier may wait in
  // memory for it (see HashStash), but together hold at most a quarter of
  // the limit. Their bytes are already counted above; this bounds how much
  // of the prefetch share they may keep from new fetches. Without it, one
  // block slow to arrive (a server that paces each connection) lets the
  // blocks after it fill the budget while it crawls in, and fetches in
  // flight dwindle to one or two.
  bool TryHoldAhead(uint64_t bytes);
  void ReleaseAhead(uint64_t bytes);
  uint64_t held_ahead() const { return ahead_.load(); }

  // Called (outside any lock of this class) after each Release, so work that
  // TryReserve turned away can try again. Set once, before use.
  void SetReleaseListener(std::function<void()> listener) { listener_ = std::move(listener); }

  // Sets the working limit so that prefetch's share (three quarters) holds
  // `bytes` in flight, within [the start, the ceiling]. A smaller limit
  // than what is in use only turns new prefetch away until it drains.
  void SetInFlightTarget(uint64_t bytes);

  uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  uint64_t ceiling() const { return ceiling_; }
  uint64_t used() const { return used_.load(); }
  uint64_t peak() const { return peak_.load(); }

 private:
  void NotePeak(uint64_t now_used);

  const uint64_t ceiling_;
  const uint64_t start_;
  const Clock* const clock_;
  // The working limit; prefetch may take three quarters of it, blocks held
  // ahead of their hash a quarter.
  std::atomic<uint64_t> limit_;
  std::atomic<uint64_t> ahead_{0};
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> peak_{0};
  std::function<void()> listener_;
  Mutex room_mu_;  // orders a Release's wakeup after a waiter's check of used_
  CondVar room_cv_{&room_mu_};
};

}  // namespace hfm
