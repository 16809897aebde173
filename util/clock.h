// Clock: the time source behind every deadline, TTL and backoff, so tests can
// drive time by hand (FakeClock) instead of sleeping.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "util/thread_annotations.h"

namespace hfm {

class CondVar;
class Mutex;

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for deadlines and TTLs.
  virtual TimePoint Now() const = 0;
  // Seconds since the Unix epoch, for timestamps stored in the cache.
  virtual int64_t WallSeconds() const = 0;
  // Waits on `cv` (`mu` held) until woken, spuriously or not, or until
  // Now() reaches `deadline`; false once it has. Every wait with a deadline
  // on this clock goes through here, so a FakeClock's time governs it.
  virtual bool WaitUntil(CondVar* cv, Mutex* mu, TimePoint deadline) const REQUIRES(mu) = 0;
};

// The process-wide real clock. Never null; never destroyed.
Clock* SystemClock();

// A clock that moves only when told to. A wait on it returns once Advance()
// has taken Now() past its deadline (it looks again every millisecond of
// real time, so an Advance needs no wakeup of its own).
class FakeClock : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  int64_t WallSeconds() const override {
    return 1'700'000'000 + std::chrono::duration_cast<std::chrono::seconds>(Duration(now_.load())).count();
  }
  bool WaitUntil(CondVar* cv, Mutex* mu, TimePoint deadline) const override REQUIRES(mu);
  void Advance(Duration d) { now_ += d.count(); }
  // Threads in WaitUntil now: a test advances the clock once its reader waits.
  int waiters() const { return waiters_.load(); }

 private:
  std::atomic<Duration::rep> now_{0};
  mutable std::atomic<int> waiters_{0};
};

}  // namespace hfm
