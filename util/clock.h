// Clock: the time source behind every deadline, TTL and backoff, so tests can
// drive time by hand (FakeClock) instead of sleeping.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hfm {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for deadlines and TTLs.
  virtual TimePoint Now() const = 0;
  // Seconds since the Unix epoch, for timestamps stored in the cache.
  virtual int64_t WallSeconds() const = 0;
};

// The process-wide real clock. Never null; never destroyed.
Clock* SystemClock();

// A clock that moves only when told to.
class FakeClock : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  int64_t WallSeconds() const override {
    return 1'700'000'000 + std::chrono::duration_cast<std::chrono::seconds>(Duration(now_.load())).count();
  }
  void Advance(Duration d) { now_ += d.count(); }

 private:
  std::atomic<Duration::rep> now_{0};
};

}  // namespace hfm
